"""Dutch words as values: folding, a light stemmer, stop words (one home), number words, names.

Trade-off: the stemmer here is crude and consistent (-heden, -en/-e, -s, undoubling) rather
than correct, and stems match by prefix or compound head (gebruik/gebruikt,
omgeving/werkomgeving). It serves the answer check and quote ranking, which compare a short
sentence with a passage and must explain themselves. The keyword index uses Snowball with
compound splitting instead (``assistant.keyword``): it ranks a whole corpus, where recall
across inflections matters more; both fold text with ``fold`` below.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Set as AbstractSet
from functools import lru_cache

# Combining marks left by NFKD (the Unicode blocks of combining diacritics). A regex over the
# whole text is ~10x faster than testing unicodedata.combining() per character.
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower case without diacritics: 'Efficiënt' -> 'efficient', 'ĳ' -> 'ij'."""
    text = text.lower()
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()  # "Ĳ" -> "IJ" -> "ij"


# Accent-folded, lower case. The one home of Dutch stop words: a base of function words
# (articles, pronouns, prepositions, auxiliaries, question words: no topic) and one extension
# per consumer, because each reads text for a different purpose.
FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    aan al aldus alle als ander andere ben bent bij bijna binnen boven buiten daar daardoor
    dan dat de deze die dit doen doet door dus echter een eigen en er erg even gaan gaat
    geen haar had hadden hebben heeft heel hen het hier hij hoe hoeveel hun iets ik in is je
    jij kan kon konden kunnen maar mag meer men met mijn moet moeten mogen na naar naast
    niet niets nog nu of om omdat onder ons onze ook op over per reeds sinds steeds te tegen
    toch tot tussen u uit uw van vanaf veel via voor vooral waar waarbij waardoor waarom
    wanneer want waren was wat we weer wel welk welke werd werden wie wij wil willen word
    worden wordt zal ze zeer zich zij zijn zo zodat zonder zou zouden zullen
    """.split()
)
# The answer check and quote ranking: also the hedges, connectives and words about sources
# that every answer sentence carries without stating a fact ("volgens", "ongeveer", "bron").
STOP_WORDS: frozenset[str] = FUNCTION_WORDS | frozenset(
    """
    alles bijv bijvoorbeeld blijken blijkt bovendien bron bronnen ca circa daarnaast elk
    elke enz etc hierdoor ieder iedere indien meest meeste minder namelijk oa onderzoek
    ongeveer passage passages percent procent ruim slechts tekst terwijl tevens verder
    volgens weinig zoals
    """.split()
)
# The keyword index (and the follow-up rules, which count a question's words as it does):
# the rest of the closed word classes, but not "procent" or "onderzoek", which are searched
# for. Index terms depend on it: a change needs a new keyword.ANALYSER_VERSION.
INDEX_STOP_WORDS: frozenset[str] = FUNCTION_WORDS | frozenset(
    """
    aangezien achter af alleen alsnog alsof altijd anders beide daarbij daarin daarmee
    daarna daarom daarop daarvan deed dezelfde doch eens eerder enige enkel enkele ergens
    evenals ga geweest geworden heb hebt hele hem hetzelfde hierbij hierin hiervan hoelang
    hoewel hoezo iemand ja jou jouw jullie kunt laat me mede mij mocht moest moesten nee net
    nogal ofwel pas samen sommige toe vaak vanuit waarin waarop wiens wier wilt zei zelf
    zoals zowel zulke zult
    """.split()
)
NUMBER_WORDS = {
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "twintig": 20,
    "dertig": 30,
    "veertig": 40,
    "vijftig": 50,
    "zestig": 60,
    "zeventig": 70,
    "tachtig": 80,
    "negentig": 90,
    "honderd": 100,
    "duizend": 1000,
    "dertien": 13,
    "veertien": 14,
    "vijftien": 15,
    "zestien": 16,
    "zeventien": 17,
    "achttien": 18,
    "negentien": 19,
}
# "vijfentachtig", "tweeënveertig" (folded "tweeenveertig"): a unit, "en", a ten
_COMPOUND_NUMBER_RE = re.compile(
    r"(een|twee|drie|vier|vijf|zes|zeven|acht|negen)en(twintig|dertig|veertig|vijftig|zestig|"
    r"zeventig|tachtig|negentig)"
)


def number_word(word: str) -> int | None:
    """The value of a written-out Dutch number (folded): "zestig", "vijfentachtig"."""
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    m = _COMPOUND_NUMBER_RE.fullmatch(word)
    if m:
        units = 1 if m.group(1) == "een" else NUMBER_WORDS[m.group(1)]
        return units + NUMBER_WORDS[m.group(2)]
    return None


# Acronyms that are common nouns, not names: exempt from the name rule. Each may be written
# out in a passage; an alias makes either spelling match the other.
ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "ai": (
        ("kunstmatige", "intelligentie"),
        ("artificiele", "intelligentie"),
        ("artificial", "intelligence"),
    ),
    "it": (("informatietechnologie",), ("ict",)),
    "ict": (("informatietechnologie",), ("it",)),
    "hr": (("human", "resources"), ("personeelszaken",)),
    "mkb": (("midden", "kleinbedrijf"),),
    "zzp": (("zelfstandige",), ("zzper",)),
}
# Country and region abbreviations as people type them ("hoeveel NL bedrijven ..."): the name
# is in a passage when one of its written-out forms is.
PLACE_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "nl": ("nederland", "nederlands", "nederlandse", "nederlanders"),
    "be": ("belgie", "belgische", "belgen"),
    "vl": ("vlaanderen", "vlaamse"),
    "eu": ("europa", "europese"),
    "vs": ("verenigde staten", "amerikaanse"),
    "uk": ("verenigd koninkrijk", "britse"),
}
COMMON_ACRONYMS = frozenset(ALIASES) | frozenset(
    "ceo cio cto cfo kpi api ml roi fte saas it ict hr nb ok".split()
)
_WORD_RE = re.compile(r"[^\W\d_]+")
# a digit glued to a letter is part of a name ("8vance", "5G", "e5"), not a figure
_NUMBER_RE = re.compile(r"(?<![^\W_])\d+(?:[.,]\d+)*(?![^\W_])")


@lru_cache(maxsize=8192)
def light_stem(word: str) -> str:
    """Crude Dutch stemming, consistent rather than correct: -heden, -en/-e, -s, undoubling."""
    if len(word) > 6 and word.endswith("heden"):
        word = word[:-5] + "heid"
    for suffix in ("en", "e"):
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    if len(word) > 3 and word[-1] in "vz":
        word = word[:-1] + {"v": "f", "z": "s"}[word[-1]]
    return word


def words_of(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))


_CONTENT_WORD_RE = re.compile(r"[^\W\d_]{3,}")


def content_words(text: str) -> list[str]:
    """The folded words of ``text`` of three letters or more that are not index stop words."""
    return [w for w in _CONTENT_WORD_RE.findall(fold(text)) if w not in INDEX_STOP_WORDS]


def content_stems(text: str) -> set[str]:
    return {light_stem(w) for w in words_of(text) if len(w) > 1 and w not in STOP_WORDS}


def stems_match(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 4 and long.startswith(short) and len(short) >= 0.6 * len(long):
        return True  # gebruik / gebruikt
    return len(short) >= 5 and long.endswith(short)  # omgeving / werkomgeving


def stem_found(stem: str, stems: AbstractSet[str]) -> bool:
    if stem in stems:
        return True
    if isinstance(stems, frozenset):
        return _found_in(stem, stems)
    return any(stems_match(stem, s) for s in stems)


@lru_cache(maxsize=65536)
def _found_in(stem: str, stems: frozenset[str]) -> bool:
    """``stem_found`` for a frozen set, cached: the same terms are looked up in the same sentences
    for every question about them (the retriever's answer-type ranking, the check).
    ``stems_match`` inlined: this is the hot loop of ranking ~40 passages per question."""
    n = len(stem)
    for s in stems:
        m = len(s)
        short, long, k = (s, stem, m) if m <= n else (stem, s, n)
        if k >= 4 and k >= 0.6 * len(long) and long.startswith(short):
            return True
        if k >= 5 and long.endswith(short):
            return True
    return False


_ALIAS_STEMS = {
    acronym: [frozenset(light_stem(w) for w in exp) for exp in expansions]
    for acronym, expansions in ALIASES.items()
}


def with_aliases(stems: set[str]) -> set[str]:
    """Add the acronym for a written-out term present in ``stems`` and vice versa."""
    out = set(stems)
    for acronym, expanded in _ALIAS_STEMS.items():
        if acronym in stems:
            for exp in expanded:
                out |= exp
        if any(exp <= stems for exp in expanded):
            out.add(acronym)
    return out


def number_value(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):  # 1.000 / 10.000.000
        raw = raw.replace(".", "")
    elif "," in raw and "." in raw:  # 1.234,5
        raw = raw.replace(".", "")
    raw = raw.replace(",", ".")
    try:
        return round(float(raw), 6)
    except ValueError:  # "1.2.3" and the like: compare as digits
        return float(re.sub(r"\D", "", raw) or 0)


def numbers_of(text: str, *, words: bool = False) -> set[float]:
    found = {number_value(m.group(0)) for m in _NUMBER_RE.finditer(text)}
    if words:
        found |= {float(n) for w in words_of(text) if (n := number_word(w)) is not None}
    return found


_NAME_TOKEN_RE = re.compile(r"[^\W\d_][^\W_]*(?:[-'’][^\W_]+)*")
_INITIAL_OPENERS = "?!:;„“\"'‘(*"


@lru_cache(maxsize=16384)
def names_of(text: str) -> frozenset[str]:
    """Folded capitalised names/acronyms that a passage must contain.

    A capitalised word counts unless it starts the sentence (or follows a colon or an opening
    quote); an all-caps acronym counts anywhere. Common-noun acronyms (AI, IT, HR) do not count.
    Cached: the same sentences are read for many questions.
    """
    names: set[str] = set()
    for i, m in enumerate(_NAME_TOKEN_RE.finditer(text)):
        k = m.start() - 1
        while k >= 0 and text[k].isspace():
            k -= 1
        initial = i == 0 or (k >= 0 and text[k] in _INITIAL_OPENERS)
        token = m.group(0)
        parts = re.split(r"[-'’]", token) if any(c in token for c in "-'’") else [token]
        for j, part in enumerate(parts):
            if not part or not part[0].isupper():
                continue
            acronym = len(part) >= 2 and part.isupper()
            folded = fold(part)
            if folded in COMMON_ACRONYMS or (folded in STOP_WORDS and not acronym):
                continue
            if acronym or not (initial and j == 0):
                names.add(folded)
    return frozenset(names)


@lru_cache(maxsize=16384)
def terms_of(text: str) -> frozenset[str]:
    """Content stems of ``text`` with aliases; cached (candidate sentences recur across
    questions, and a frozenset lets ``stem_found`` cache its answers)."""
    return frozenset(with_aliases(content_stems(text)))


NEGATION_RE = re.compile(r"\b(?:geen|niet|nooit|niets)\b", re.IGNORECASE)
YEAR_RE = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?![\d.,]\d)")
MONTH_NAMES = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
)
MONTH_NAME_RE = re.compile(rf"\b(?:{MONTH_NAMES})\b")


TYPO_MATCH = 0.8  # difflib ratio at which two spellings are one word ("McKinsy" / "McKinsey")


def same_spelling(a: str, b: str) -> bool:
    """Whether two folded words are one word written with a typo: a letter left out, added or
    swapped (at most two letters' difference in length)."""
    return abs(len(a) - len(b)) <= 2 and difflib.SequenceMatcher(None, a, b).ratio() >= TYPO_MATCH
