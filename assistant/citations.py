"""Grounding check: every sentence of the model's answer must be backed by a passage.

The model receives numbered passages [1]..[n] and writes a Dutch answer with inline markers.
A tiny local model forgets markers, cites the wrong passage, copies the passage header, drifts
into English or invents figures, so ``check_answer`` re-checks the answer sentence by sentence:

* a sentence its cited passage supports stays (``ok``); a sentence another passage supports is
  re-pointed (``added`` when the model wrote no marker, ``corrected`` when it was wrong);
  a sentence no passage supports is dropped, or kept with " (niet gevonden in de bronnen)";
* markers are renumbered 1..m in order of first appearance and each citation carries the exact
  passage sentence (``quote``) that backs it;
* an empty, English or wholly unsupported answer becomes a quote-only answer
  (``quote_fallback``): the passage sentences that best match the question, verbatim.

Trade-off: support is *lexical* (overlap of crudely stemmed content words, with a few
acronym/expansion aliases such as AI = kunstmatige intelligentie), optionally blended with an
embedding similarity the caller passes in. Lexical overlap is cheap, explainable (the quote
shows why) and needs no model, but it misses real paraphrases; so the threshold is lenient
(60% of the sentence's content words, numbers and names must be found in one passage sentence
or two adjacent ones; prefixes and compound heads match: gebruik/gebruikt,
omgeving/werkomgeving) and precision comes from a hard rule instead: every number (26%,
"26 procent", 3,5, 2025) and every capitalised name or acronym that is not sentence-initial
(KPN, Integron, Motivaction, also "Nederland") must occur in the passage, otherwise support is
0. Invented figures and names are what hurts most in a research answer; a paraphrase that is
dropped by mistake costs less, because the quote fallback still shows the user the right
passage. Known misses: loose paraphrases ("spelen een rol") and number words in the answer
("zeven") are not checked (only digits are; "zes" in a passage does match "6").

Trivial sentences ("Ja.", headings, "Volgens de bronnen:": at most 3 content words, no
number, no name, no marker) are kept unchecked and do not count in ``supported_rate``; a short
line the model did cite ("- Personeelstekort [1]") is checked.

Embedding blend: ``score = max(lexical, 0.5 * lexical + 0.5 * rescaled)`` where ``rescaled``
maps the cosine from [SIM_FLOOR, SIM_CEIL] onto [0, 1] (values measured for
multilingual-e5-small, whose cosines for unrelated Dutch sentences are already ~0.8). The blend
can only raise a lexical score, never lower it, cannot override the hard rule, and cannot carry
a sentence that shares almost no words with the passage (lexical < 2 * threshold - 1).

All user-facing texts except the fixed suffix are parameters (they live in ``prompts/``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from assistant.chunks import Chunk
from assistant.keyword import fold

NOT_FOUND_SUFFIX = " (niet gevonden in de bronnen)"
DEFAULT_THRESHOLD = 0.6  # lexical coverage needed; tuned on the cases in tests/test_citations.py
TRIVIAL_MAX_CONTENT = 3  # a sentence with at most this many content words (and no number or
# name) makes no checkable claim: "Ja.", a heading, "Volgens de bronnen:"
SIM_FLOOR = 0.80  # e5 cosine at or below this counts as "unrelated" (rescaled 0)
SIM_CEIL = 0.92  # e5 cosine at or above this counts as "same statement" (rescaled 1)
WHOLE_PASSAGE_WEIGHT = 0.9  # a claim spread over a passage counts a little less than one window
QUOTE_OPEN, QUOTE_CLOSE = "„", '"'

Similarity = Callable[[list[str], list[str]], list[list[float]]]
# cosines between one question (embedded as a query) and candidate sentences (as passages)
QuestionSimilarity = Callable[[str, list[str]], list[float]]
Blocked = Callable[[str], bool]  # text that must never be shown (planted instruction, prompt)
Status = Literal["ok", "added", "corrected", "unsupported"]
Mode = Literal["answer", "quotes", "refusal"]


@dataclass(frozen=True)
class Passage:
    """A numbered passage as given to the model."""

    n: int
    chunk: Chunk


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence. ``cited`` and ``passage`` use the passage numbers given to
    the model (``Passage.n``); ``text`` shows the renumbered markers of the final answer."""

    text: str
    cited: tuple[int, ...]
    passage: int | None
    quote: str
    supported: bool
    status: Status
    trivial: bool = False  # no checkable claim; kept as is, not counted in supported_rate


@dataclass(frozen=True)
class Citation:
    n: int  # marker number as shown in the final answer
    chunk: Chunk
    quote: str  # exact substring of chunk.text


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    sentences: tuple[SentenceCheck, ...]
    citations: tuple[Citation, ...]
    mode: Mode
    # share of non-trivial sentences of the *model's* answer that are supported; 0.0 in the
    # quotes/refusal modes (the fallback is only used when nothing was supported)
    supported_rate: float


# --------------------------------------------------------------------------- markers

_NUMS = r"\d{1,3}(?:\s*(?:,|;|&|\ben\b|\band\b|-|–)\s*\d{1,3})*"
_MARKER = (
    rf"[\[【〔]\s*(?:(?:bronnen|bron|passages?|sources?|ref)\s*)?(?:{_NUMS})\s*[\]】〕]"
    rf"|\(\s*(?:bronnen|bron|passages?)\s+(?:{_NUMS})\s*\)"
)
_MARKER_RE = re.compile(_MARKER, re.IGNORECASE)
_MARKER_RUN_RE = re.compile(rf"(?:{_MARKER})(?:[ \t]*(?:{_MARKER}))*", re.IGNORECASE)
_NUMS_IN_MARKER_RE = re.compile(r"(\d{1,3})(?:\s*[-–]\s*(\d{1,3}))?")


def _marker_numbers(marker_text: str) -> list[int]:
    out: list[int] = []
    for m in _NUMS_IN_MARKER_RE.finditer(marker_text):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        out.extend(range(lo, hi + 1) if 0 <= hi - lo <= 10 else (lo, hi))
    return out


def _dedupe(items: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(items))


def parse_markers(text: str) -> list[int]:
    """Passage numbers cited in ``text``, in order of first appearance, without duplicates.

    Understands "[1]", "[1, 3]", "[1][2]", "[1] [2]", "[1-3]", "【1】", "[bron 2]", "(bron 2)".
    Numbers of four digits ("[2025]") are not markers.
    """
    return _dedupe(n for m in _MARKER_RE.finditer(text) for n in _marker_numbers(m.group(0)))


def _render(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([.,;:!?…])", r"\1", text)
    return re.sub(r"[ \t]+\n", "\n", text).strip(" \t")


def strip_invalid_markers(text: str, valid: set[int]) -> str:
    """Remove marker numbers that point at no passage and normalise runs to "[1][3]"."""

    def repl(m: re.Match[str]) -> str:
        return _render([n for n in _dedupe(_marker_numbers(m.group(0))) if n in valid])

    return _tidy(_MARKER_RUN_RE.sub(repl, text))


def _remove_markers(text: str) -> str:
    return _tidy(_MARKER_RUN_RE.sub("", text))


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset(
    """bijv bv b.v o.a ca nr nrs d.w.z m.a.w e.d enz etc i.p.v t.o.v incl excl resp mln mld mrd
    dhr mevr drs dr prof ir mr ing jl vgl zgn z.g.n evt ong blz p pp pag art min max gem o.b.v
    a.d.h.v m.b.t v.w.b t.a.v i.v.m i.h.k.v e.a c.q n.a.v t/m jan feb mrt apr jun jul aug sep
    sept okt nov dec st vs z.o.z a.s o.m m.n i.e e.g fig tab hfst par red vnl n.v nl""".split()
)
_BULLET_RE = re.compile(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s+")
_TERMINAL_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*")
_AFTER_MARKERS_RE = re.compile(rf"(?:[ \t]*(?:{_MARKER}))+", re.IGNORECASE)


def _is_boundary(line: str, m: re.Match[str]) -> int | None:
    """End offset of the sentence if the terminal punctuation ``m`` ends one, else None."""
    end = m.end()
    trailing = _AFTER_MARKERS_RE.match(line, end)  # "… werk. [1]" belongs to "… werk."
    if trailing:
        end = trailing.end()
    rest = line[end:]
    if rest and not rest[0].isspace():
        return None  # "3.5", "o.a.", "www.kpn.nl"
    nxt = rest.lstrip()
    if nxt and nxt[0].islower():
        return None  # "ca. de helft": unknown abbreviation, not a new sentence
    if m.group(0)[0] == ".":
        head = line[: m.start()]
        token = head.rsplit(None, 1)[-1] if head.strip() else ""
        token = token.lstrip("(„“\"'‘").lower()
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return None
    return end


def _line_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of one line, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _TERMINAL_RE.finditer(line):
        if m.start() < start:
            continue  # inside markers already consumed
        end = _is_boundary(line, m)
        if end is not None:
            spans.append((start, end))
            start = end
    spans.append((start, len(line)))
    out = []
    for s, e in spans:
        piece = line[s:e]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((s + lead, s + len(piece.rstrip())))
    return out


def _text_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans over a whole text: lines and list bullets are boundaries too."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        bullet = _BULLET_RE.match(line)
        skip = bullet.end() if bullet else 0
        spans.extend((offset + skip + s, offset + skip + e) for s, e in _line_spans(line[skip:]))
        offset += len(line) + 1
    return spans


def split_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text`` (see ``split_sentences``)."""
    return _text_spans(text)


def split_sentences(text: str) -> list[str]:
    """Dutch-aware sentence split; bullets and newlines are boundaries, bullets are dropped.

    Does not split on abbreviations ("bijv.", "o.a.", "ca.", "nr.", "d.w.z."), initials, decimals
    ("3,5", "3.5") or before a lowercase word; "26%. Ook" does split. Markers after the full stop
    ("… werk. [1]") stay with the sentence before them.
    """
    return [text[s:e] for s, e in _text_spans(text)]


# --------------------------------------------------------------------------- words

_STOPWORDS = frozenset(
    """de het een en of maar want dus van in op aan met voor door bij naar uit over onder
    tussen tot om te als dan dat die dit deze daar hier er wat wie welke waar wanneer hoe
    waarom niet geen wel ook nog al zo zeer heel erg meer meest meeste minder veel weinig is
    zijn was waren wordt worden werd werden word ben bent heeft hebben had hadden kan kunnen
    kon konden zal zullen zou zouden moet moeten mag mogen wil willen gaat gaan doet doen
    zich hun hen haar hij zij ze we wij ik je jij u uw ons onze mijn men iets niets alle alles
    elk elke ieder iedere andere ander eigen volgens ongeveer circa ca bijna ruim slechts
    vooral echter namelijk daarnaast bovendien tevens verder bijvoorbeeld bijv oa etc enz toch
    steeds even nu reeds weer per sinds zonder tegen na vanaf via binnen buiten boven naast
    blijkt blijken aldus waarbij waardoor daardoor hierdoor omdat terwijl indien zodat
    hoeveel welk wanneer procent percent bron bronnen passage passages tekst onderzoek""".split()
)
_NUMBER_WORDS = {
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


def _number_word(word: str) -> int | None:
    """The value of a written-out Dutch number (folded): "zestig", "vijfentachtig"."""
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    m = _COMPOUND_NUMBER_RE.fullmatch(word)
    if m:
        units = 1 if m.group(1) == "een" else _NUMBER_WORDS[m.group(1)]
        return units + _NUMBER_WORDS[m.group(2)]
    return None


# Acronyms that are common nouns, not names: exempt from the name rule. Each may be written
# out in a passage; an alias makes either spelling match the other.
_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
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
_COMMON_ACRONYMS = frozenset(_ALIASES) | frozenset(
    "ceo cio cto cfo kpi api ml roi fte saas it ict hr nb ok".split()
)
_WORD_RE = re.compile(r"[^\W\d_]+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


_fold = fold  # lower case without diacritics, as the keyword index folds


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
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


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(_fold(text))


def _content_stems(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if len(w) > 1 and w not in _STOPWORDS}


def _stems_match(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 4 and long.startswith(short) and len(short) >= 0.6 * len(long):
        return True  # gebruik / gebruikt
    return len(short) >= 5 and long.endswith(short)  # omgeving / werkomgeving


def _found(stem: str, stems: AbstractSet[str]) -> bool:
    if stem in stems:
        return True
    if isinstance(stems, frozenset):
        return _found_in(stem, stems)
    return any(_stems_match(stem, s) for s in stems)


@lru_cache(maxsize=65536)
def _found_in(stem: str, stems: frozenset[str]) -> bool:
    """``_found`` for a frozen set, cached: the same terms are looked up in the same sentences
    for every question about them (the retriever's answer-type ranking, the check).
    ``_stems_match`` inlined: this is the hot loop of ranking ~40 passages per question."""
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
    acronym: [frozenset(_stem(w) for w in exp) for exp in expansions]
    for acronym, expansions in _ALIASES.items()
}


def _with_aliases(stems: set[str]) -> set[str]:
    """Add the acronym for a written-out term present in ``stems`` and vice versa."""
    out = set(stems)
    for acronym, expanded in _ALIAS_STEMS.items():
        if acronym in stems:
            for exp in expanded:
                out |= exp
        if any(exp <= stems for exp in expanded):
            out.add(acronym)
    return out


def _number_value(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):  # 1.000 / 10.000.000
        raw = raw.replace(".", "")
    elif "," in raw and "." in raw:  # 1.234,5
        raw = raw.replace(".", "")
    raw = raw.replace(",", ".")
    try:
        return round(float(raw), 6)
    except ValueError:  # "1.2.3" and the like: compare as digits
        return float(re.sub(r"\D", "", raw) or 0)


def _numbers(text: str, *, words: bool = False) -> set[float]:
    found = {_number_value(m.group(0)) for m in _NUMBER_RE.finditer(text)}
    if words:
        found |= {float(n) for w in _words(text) if (n := _number_word(w)) is not None}
    return found


_NAME_TOKEN_RE = re.compile(r"[^\W\d_][^\W_]*(?:[-'’][^\W_]+)*")
_INITIAL_OPENERS = ":;„“\"'‘(*"


@lru_cache(maxsize=16384)
def _names(text: str) -> frozenset[str]:
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
            folded = _fold(part)
            if folded in _COMMON_ACRONYMS or (folded in _STOPWORDS and not acronym):
                continue
            if acronym or not (initial and j == 0):
                names.add(folded)
    return frozenset(names)


# --------------------------------------------------------------------------- language

_DUTCH_WORDS = frozenset(
    """de het een en van dat die te voor met zijn niet aan er ook als bij om door maar naar
    dan wordt worden uit dit deze ze hun wat meer nog kan zo tot wel geen hebben heeft werd
    veel onder tussen volgens waar omdat zich zij vooral procent blijkt bijna ongeveer hoe
    welke daarom echter op je wij mensen werknemers organisaties""".split()
)
_ENGLISH_WORDS = frozenset(
    """the and to are that this with for it on be by from have has which not or but they
    their these can than most also there what about employees would will were been its into
    more only such other our we you your he she do does while used using because however
    people organisations organizations""".split()
)


def _language_counts(text: str) -> tuple[int, int]:
    words = _words(_remove_markers(text))
    return (sum(w in _DUTCH_WORDS for w in words), sum(w in _ENGLISH_WORDS for w in words))


def is_dutch(text: str) -> bool:
    """Cheap language check: more common Dutch function words than English ones.

    Loanwords (AI, cloud, hybride werken) are not function words, so they do not tip a Dutch
    answer over; a text with no function words of either language counts as Dutch (the support
    check decides about it). An empty text is not Dutch.
    """
    if not text.strip():
        return False
    nl, en = _language_counts(text)
    return nl > en or nl == en == 0


def _english_sentence(text: str) -> bool:
    nl, en = _language_counts(text)
    return en >= 2 and en > nl


# --------------------------------------------------------------------------- support


@dataclass(frozen=True)
class _Claim:
    """What a sentence asserts, in checkable form."""

    stems: frozenset[str]
    numbers: frozenset[float]
    names: frozenset[str]

    @classmethod
    def of(cls, sentence: str) -> _Claim:
        body = _remove_markers(sentence)
        body = _BULLET_RE.sub("", body)
        # a month is checked like a name: "in mei 2025" needs "mei" in the cited passage
        months = frozenset(m.group(0) for m in _MONTH_NAME_RE.finditer(_fold(body)))
        return cls(
            frozenset(_content_stems(body)),
            frozenset(_numbers(body)),
            frozenset(_names(body)) | months,
        )

    @property
    def size(self) -> int:
        return len(self.stems) + len(self.numbers) + len(self.names)

    @property
    def trivial(self) -> bool:
        return len(self.stems) <= TRIVIAL_MAX_CONTENT and not self.numbers and not self.names


@dataclass(frozen=True)
class _Window:
    start: int
    end: int
    stems: frozenset[str]
    numbers: frozenset[float]
    tokens: frozenset[str]  # every stemmed word, stop words included (for names)


@dataclass(frozen=True)  # cached and shared (``_passage_index``): never changed
class _PassageIndex:
    text: str
    windows: list[_Window] = field(default_factory=list)  # single sentences, then pairs
    singles: int = 0
    whole: _Window | None = None

    @classmethod
    def of(cls, text: str) -> _PassageIndex:
        """The index of ``text``; cached, since the same passages recur across questions
        (retrieval ranks ~40 candidates per question, the check reads the same four)."""
        return _passage_index(text)

    @classmethod
    def build(cls, text: str) -> _PassageIndex:
        spans = _text_spans(text)
        singles = [cls._window(text, s, e) for s, e in spans]
        pairs = [cls._window(text, a[0], b[1]) for a, b in zip(spans, spans[1:], strict=False)]
        whole = cls._window(text, 0, len(text))
        return cls(text, singles + pairs, len(singles), whole)

    @staticmethod
    def _window(text: str, start: int, end: int) -> _Window:
        piece = text[start:end]
        return _Window(
            start,
            end,
            frozenset(_with_aliases(_content_stems(piece))),
            frozenset(_numbers(piece, words=True)),
            frozenset(_stem(w) for w in _words(piece)),
        )


@lru_cache(maxsize=4096)
def _passage_index(text: str) -> _PassageIndex:
    return _PassageIndex.build(text)


def _rescale(similarity: float | None) -> float:
    if similarity is None:
        return 0.0
    return min(1.0, max(0.0, (similarity - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR)))


def _hard_rule_ok(claim: _Claim, whole: _Window) -> bool:
    if not claim.numbers <= whole.numbers:
        return False
    return all(_found(_stem(name), set(whole.tokens)) for name in claim.names)


def _coverage(claim: _Claim, window: _Window) -> float:
    if claim.size == 0:
        return 0.0
    stems = set(window.stems)
    hits = sum(_found(s, stems) for s in claim.stems)
    hits += len(claim.numbers & window.numbers)
    tokens = set(window.tokens)
    hits += sum(_found(_stem(n), tokens) for n in claim.names)
    return hits / claim.size


def _support(claim: _Claim, index: _PassageIndex, similarity: float | None) -> tuple[float, str]:
    if index.whole is None or claim.size == 0 or not _hard_rule_ok(claim, index.whole):
        return 0.0, ""
    best, quote = 0.0, ""
    for w in index.windows:
        if not claim.numbers <= w.numbers:
            continue  # a figure must stand in the quote itself, not elsewhere in the passage
        score = _coverage(claim, w)
        # prefer the shorter window on a tie: single sentences come first in ``windows``
        if score > best:
            best, quote = score, index.text[w.start : w.end]
    if claim.numbers and not quote:
        return 0.0, ""  # the figures occur, but never together with the claim
    lexical = (
        best if claim.numbers else max(best, WHOLE_PASSAGE_WEIGHT * _coverage(claim, index.whole))
    )
    score = max(lexical, 0.5 * lexical + 0.5 * _rescale(similarity))
    if score > 0 and not quote and index.windows:  # raised by similarity alone
        quote = index.text[index.windows[0].start : index.windows[0].end]
    return score, quote


def support(sentence: str, passage_text: str, similarity: float | None = None) -> tuple[float, str]:
    """Support score in [0, 1] of ``sentence`` by ``passage_text``, and the best quote.

    The score is the share of the sentence's content words, numbers and names found in the best
    passage sentence or pair of adjacent sentences (the quote, an exact substring of
    ``passage_text``). It is 0 when a number or a non-initial capitalised name of the sentence
    does not occur in the passage. ``similarity`` (a cosine, e.g. from e5) can raise the score:
    ``max(lexical, 0.5 * lexical + 0.5 * rescaled)``, so a sentence that shares almost no
    words with the passage (lexical below ``2 * threshold - 1``) is never carried by it.
    """
    return _support(_Claim.of(sentence), _PassageIndex.of(passage_text), similarity)


# --------------------------------------------------------------------------- checking

_HEADER_ECHO_RE = re.compile(
    r"^(\s*(?:[-*•]\s*)?)[\[【]\d{1,3}[\]】][^\n]{0,200}?,\s*(?:p|pag|blz|pagina)\.?\s*\d+"
    r"\s*[:.–-]?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_PREFIX_ECHO_RE = re.compile(
    r"^(\s*)(?:antwoord|(?:bron)?passage\s*\d+|fragment\s*\d+)\s*:[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_DROP_LINE_RE = re.compile(
    r"^\s*(?:bronnen|bron|referenties|sources?|vraag)\s*:.*$", re.IGNORECASE | re.MULTILINE
)
_FINAL_PUNCT_RE = re.compile(r"^(.*?)([.!?…]+[\"'”’»)\]]*)?$", re.DOTALL)


def _is_title_echo(line: str, titles: list[str]) -> bool:
    """ "[2] Titel van het rapport (KPN, 2025)": a passage header copied without its page."""
    line = _BULLET_RE.sub("", line).strip()
    if not _MARKER_RE.match(line):
        return False
    body = _fold(_remove_markers(line))
    return any(body.startswith(t) and len(body) <= len(t) + 60 for t in titles)


def _clean(raw: str, passages: list[Passage]) -> str:
    """Strip echoes of the passage headers and titles, "Bronnen:" lists, invalid markers."""
    text = raw.replace("\r\n", "\n")
    text = _HEADER_ECHO_RE.sub(r"\1", text)
    text = _PREFIX_ECHO_RE.sub(r"\1", text)
    text = _DROP_LINE_RE.sub("", text)
    titles = [_fold(p.chunk.title.strip()) for p in passages if len(p.chunk.title.strip()) >= 8]
    if titles:
        text = "\n".join(ln for ln in text.split("\n") if not _is_title_echo(ln, titles))
    return strip_invalid_markers(text, {p.n for p in passages})


def _with_suffix(body: str, suffix: str) -> str:
    """Put ``suffix`` (markers or the not-found note) before the final punctuation."""
    m = _FINAL_PUNCT_RE.match(body)
    assert m is not None  # the pattern matches any string
    head, punct = m.group(1).rstrip(), m.group(2) or ""
    return f"{head}{suffix}{punct}"


def _trivial(sentence: str) -> bool:
    """No checkable claim: few content words, no number or name, and no marker (a short line
    the model did cite, like "- Personeelstekort en talentbehoud [1]", is checked)."""
    claim = _Claim.of(sentence)
    return claim.trivial and (len(claim.stems) <= 1 or not parse_markers(sentence))


@dataclass
class _Verdict:
    body: str
    cited: list[int]
    trivial: bool
    passages: list[int] = field(default_factory=list)  # backing passages, best first
    quotes: dict[int, tuple[float, str]] = field(default_factory=dict)
    status: Status = "unsupported"


def _judge(v: _Verdict, scores: dict[int, tuple[float, str]], threshold: float) -> None:
    v.quotes = scores
    passing = [n for n in v.cited if scores.get(n, (0.0, ""))[0] >= threshold]
    if passing:
        v.passages = sorted(passing, key=lambda n: -scores[n][0])
        v.status = "ok"
        return
    best = max(scores, key=lambda n: scores[n][0], default=None)
    if best is not None and scores[best][0] >= threshold:
        v.passages = [best]
        v.status = "corrected" if v.cited else "added"


def _similarities(
    similarity: Similarity | None, bodies: list[str], passages: list[Passage]
) -> list[list[float | None]]:
    if similarity is None or not bodies or not passages:
        return [[None] * len(passages) for _ in bodies]
    matrix = similarity(bodies, [p.chunk.text for p in passages])
    return [list(row) for row in matrix]


def _segment(text: str) -> list[tuple[str, list[str]]]:
    """Lines as (bullet prefix, sentences); a blank line is ("", [])."""
    lines: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        bullet = _BULLET_RE.match(line)
        prefix = bullet.group(0).strip() + " " if bullet else ""
        rest = line[bullet.end() :] if bullet else line
        lines.append((prefix, [rest[s:e] for s, e in _line_spans(rest)]))
    return lines


def _assemble(lines: list[tuple[str, list[str | None]]]) -> str:
    out: list[str] = []
    for prefix, sentences in lines:
        kept = [s for s in sentences if s]
        if kept:
            out.append(prefix + " ".join(kept))
        elif not sentences and out and out[-1] != "":
            out.append("")  # keep one blank line between paragraphs
    return "\n".join(out).strip()


def _renumber(verdicts: list[_Verdict]) -> dict[int, int]:
    order = _dedupe(n for v in verdicts for n in v.passages)
    return {n: i for i, n in enumerate(order, start=1)}


def _shown(v: _Verdict, numbering: dict[int, int], drop_unsupported: bool) -> str | None:
    if v.trivial:
        return v.body
    if v.passages:
        markers = _render([numbering[n] for n in v.passages])
        if v.body.startswith(QUOTE_OPEN):  # a terse sentence shown as its quote
            return f"{v.body} {markers}"
        return _with_suffix(v.body, " " + markers)
    return None if drop_unsupported else _with_suffix(v.body, NOT_FOUND_SUFFIX)


def _citations(
    verdicts: list[_Verdict], numbering: dict[int, int], by_n: dict[int, Passage]
) -> tuple[Citation, ...]:
    best: dict[int, tuple[float, str]] = {}
    for v in verdicts:
        for n in v.passages:
            score, quote = v.quotes[n]
            if n not in best or score > best[n][0]:
                best[n] = (score, quote)
    ordered = sorted(numbering, key=numbering.__getitem__)
    return tuple(Citation(numbering[n], by_n[n].chunk, best[n][1]) for n in ordered)


def check_answer(  # noqa: C901 - one pass, steps in order (see docstring)
    raw: str,
    passages: list[Passage],
    *,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    drop_unsupported: bool = True,
    question: str = "",
    fallback_intro: str = "",
    evidence_intro: str = "",
    max_quotes: int = 3,
    blocked: Blocked | None = None,
    compose: bool = True,
) -> CheckedAnswer:
    """Check the model's answer sentence by sentence against ``passages`` (see module doc).

    Falls back to ``quote_fallback(question or raw, ...)`` with ``fallback_intro`` when the
    answer is empty, not Dutch, or has no supported substantive sentence. With ``question``
    and ``compose``, also when what is left does not answer the question (it shares too few of
    its key terms, or lacks the figure, name or date the question asks for); and a terse
    sentence ("43% [1]") is shown as the passage sentence that backs it, and a thin answer gets
    the best matching passage sentence added after ``evidence_intro``. ``blocked(text)`` marks
    text that must never be shown (an instruction planted in a passage, the system prompt):
    a sentence that is, or is backed by, such text counts as unsupported.
    """
    by_n = {p.n: p for p in passages}
    ranked: list[Quote] | None = None

    def quotes() -> list[Quote]:
        nonlocal ranked
        if ranked is None:
            ranked = rank_quotes(
                question or raw,
                passages,
                similarity=similarity,
                question_similarity=question_similarity,
                blocked=blocked,
            )
        return ranked

    def fallback() -> CheckedAnswer:
        return _quote_answer(question or raw, quotes(), max_quotes, fallback_intro)

    text = _clean(raw or "", passages)
    if not _remove_markers(text).strip() or not is_dutch(text):
        return fallback()
    lines = _segment(text)
    verdicts = [
        _Verdict(_remove_markers(s), [n for n in parse_markers(s) if n in by_n], _trivial(s))
        for _, sentences in lines
        for s in sentences
    ]
    verdicts = [v for v in verdicts if v.body.strip()]
    if blocked is not None:
        for v in verdicts:
            if v.trivial and blocked(v.body):
                v.trivial = False  # checked (and dropped) like any claim
    substantive = [v for v in verdicts if not v.trivial]
    sims = _similarities(similarity, [v.body for v in substantive], passages)
    indexes = [_PassageIndex.of(p.chunk.text) for p in passages]
    for v, row in zip(substantive, sims, strict=True):
        if _english_sentence(v.body) or (blocked is not None and blocked(v.body)):
            continue
        claim = _Claim.of(v.body)
        scores = {
            p.n: _support(claim, idx, sim)
            for p, idx, sim in zip(passages, indexes, row, strict=True)
        }
        if blocked is not None:
            scores = {n: (0.0, "") if blocked(q) else (sc, q) for n, (sc, q) in scores.items()}
        _judge(v, scores, threshold)
    supported = [v for v in substantive if v.passages]
    if not supported:
        return fallback()
    evidence: Quote | None = None
    if question and compose:
        if not _answer_relevant(question, supported, passages, similarity, question_similarity):
            return fallback()  # supported, but about something else than the question
        ask = asked(question)
        if not provides(ask, question, " ".join(v.body for v in supported)):
            return fallback()  # e.g. no figure for "hoeveel": quotes that give one, or refusal
        for v in supported:
            if _terse(v.body):
                v.body = QUOTE_OPEN + v.quotes[v.passages[0]][1].strip() + QUOTE_CLOSE
        evidence = _evidence(supported, quotes())
    numbering = _renumber(verdicts)
    citations = list(_citations(verdicts, numbering, by_n))
    if evidence is not None and evidence.passage.n not in numbering:
        numbering[evidence.passage.n] = len(numbering) + 1
    it = iter(verdicts)
    shown_lines: list[tuple[str, list[str | None]]] = []
    checks: list[SentenceCheck] = []
    for prefix, sentences in lines:
        shown: list[str | None] = []
        for s in sentences:
            if not _remove_markers(s).strip():
                continue
            v = next(it)
            display = _shown(v, numbering, drop_unsupported)
            shown.append(display)
            best = v.passages[0] if v.passages else None
            checks.append(
                SentenceCheck(
                    text=display if display is not None else v.body,
                    cited=tuple(v.cited),
                    passage=best,
                    quote=v.quotes[best][1] if best is not None else "",
                    supported=v.trivial or best is not None,
                    status="ok" if v.trivial else v.status,
                    trivial=v.trivial,
                )
            )
        shown_lines.append((prefix, shown))
    body = _assemble(shown_lines)
    if evidence is not None:
        n = numbering[evidence.passage.n]
        line = f"{QUOTE_OPEN}{evidence.text}{QUOTE_CLOSE} [{n}]"
        body = (
            f"{body}\n\n{evidence_intro.strip()} {line}".strip()
            if evidence_intro.strip()
            else f"{body}\n\n{line}"
        )
        checks.append(SentenceCheck(line, (), evidence.passage.n, evidence.text, True, "ok"))
        if all(c.n != n for c in citations):
            citations.append(Citation(n, evidence.passage.chunk, evidence.text))
    return CheckedAnswer(
        text=body,
        sentences=tuple(checks),
        citations=tuple(citations),
        mode="answer",
        supported_rate=len(supported) / len(substantive),
    )


def _answer_relevant(
    question: str,
    supported: list[_Verdict],
    passages: list[Passage],
    similarity: Similarity | None,
    question_similarity: QuestionSimilarity | None,
) -> bool:
    """Whether one kept sentence (with the passage sentence backing it) is relevant to the
    question by the same measure as a quote (``Quote.usable``)."""
    order = {p.n: i for i, p in enumerate(passages)}
    by_n = {p.n: p for p in passages}
    texts = [f"{v.body} {v.quotes[v.passages[0]][1]}" for v in supported]
    sims: list[float | None] = [None] * len(texts)
    if question_similarity is not None:
        sims = list(question_similarity(question, [v.body for v in supported]))
    elif similarity is not None:
        sims = [x - 0.03 for x in similarity([question], [v.body for v in supported])[0]]
    for v, text, sim in zip(supported, texts, sims, strict=True):
        n = v.passages[0]
        rel = _relevance(question, text, _header(by_n[n]))
        score, rescaled = _score(rel, sim, order[n])
        if _relevant(score, rel, rescaled):
            return True
    return False


def _terse(body: str) -> bool:
    """ "43%", "Motivaction", "2025": a bare fact without what it is about."""
    claim = _Claim.of(body)
    return len(claim.stems) <= 2 and claim.size <= 3


def _evidence(supported: list[_Verdict], ranked: list[Quote]) -> Quote | None:
    """The best relevant passage sentence the answer does not already rest on, to add when
    the model's answer is thin (one substantive sentence). Only near the best quote's score:
    a weaker sentence is not worth the reader's time."""
    if len(supported) > 1 or not ranked or not ranked[0].usable:
        return None
    own = {v.quotes[n][1].strip() for v in supported for n in v.passages}
    used = " ".join([v.body for v in supported] + sorted(own))
    # what the answer rests on, as ranked for the question: an added quote must rank higher
    rests_on = [q for q in ranked if q.text in own or any(q.text in o for o in own)]
    own_score = max((q.score for q in rests_on), default=-1.0)
    # nor may it share fewer of the question's key terms: a closer embedding alone does not
    # make a sentence a better answer than the one the model used
    own_relevance = max((q.relevance for q in rests_on), default=0.0)
    for quote in ranked:
        if not quote.usable or quote.score < ranked[0].score - EVIDENCE_MARGIN:
            break
        if quote.score <= own_score:
            break
        if quote.relevance < own_relevance:
            continue
        if quote.text not in used and _overlap(quote.text, used) < 0.7:
            return quote
    return None


def _overlap(text: str, other: str) -> float:
    """Share of ``text``'s content words and numbers that also occur in ``other``."""
    claim, window = _Claim.of(text), _PassageIndex._window(other, 0, len(other))
    return _coverage(claim, window)


# --------------------------------------------------------------------------- what is asked

_ASK_NUMBER_RE = re.compile(
    r"\b(?:hoeveel|hoe\s+(?:groot|hoog|veel|vaak|lang|oud|duur|snel)|"
    r"welke?\s+(?:percentage|aandeel|deel|bedrag|aantal|getal|cijfer|score|plaats|positie|"
    r"omvang|salaris)|wat\s+(?:is|was|zijn|waren)\s+(?:het|de)\s+(?:percentage|aandeel|aantal|"
    r"bedrag|omvang|salaris)|wat\s+(?:verdien\w*|kost\w*|strijk\w*)|op\s+welke\s+plaats|"
    r"how\s+(?:many|much)|what\s+(?:percentage|share|proportion|number|amount))\b"
)
_ASK_NAME_RE = re.compile(
    r"^(?:\W*)(?:(?:en|maar)\s+)?(?:wie|who)\b|\b(?:door|van|namens|bij)\s+wie\b|"
    r"\bwelke?\s+(?:bureau|onderzoeksbureau|organisatie|bedrijf|instantie|auteur|blad|"
    r"tijdschrift|krant|uitgever|persoon|minister)\b|\bwhich\s+(?:company|organisation|"
    r"organization|agency|magazine)\b"
)
_ASK_DATE_RE = re.compile(r"\b(?:wanneer|in\s+welk\s+jaar|welke\s+datum|sinds\s+wanneer|when)\b")
_SHARE = (
    r"procent|percent|%|\bhelft|\bderde\b|\bkwart|\bvijfde|\bmeerderheid|\bminderheid|"
    r"\b\w+\s+op\s+de\s+(?:\d+|twee|drie|vier|vijf|zes|zeven|acht|negen|tien)\b"
)
_UNITS: dict[str, str] = {  # "hoeveel <unit>": the figure must come with that unit
    "minuten": r"minu",
    "minuut": r"minu",
    "uur": r"\buur|\buren",
    "uren": r"\buur|\buren",
    "dagen": r"\bdag",
    "weken": r"\bweek|\bweken",
    "maanden": r"\bmaand",
    "jaar": r"\bjaar",
    "jaren": r"\bjaar|\bjaren",
    "euro": r"euro|€|\$|dollar|\bsalaris|\bloon",
    "seconden": r"second",
    "kilometer": r"kilometer|\bkm\b",
    "procent": r"procent|percent|%",
    # "welk aandeel": a share, as a percentage or a fraction ("de helft", "een op de vijf")
    "aandeel": _SHARE,
    "plaats": r"\bplaats|\bpositie|\bnummer\s+\d|\b\d+(?:e|ste|de)\b|\b(?:eerste|tweede|derde)\b",
}
# "Wat zeggen de bronnen over X?": X is the topic; an answer must be about it
_TOPIC_RE = re.compile(  # X of "wat zeggen de bronnen over X?"
    r"\b(?:zeg\w*|zei|vertel\w*|meld\w*|schrijf\w*|schrijv\w*|stel\w*|say\w*|tell\w*)\b"
    r"[^?]*?\b(?:over|about)\s+(.+?)\s*(?:\?|$)",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?![\d.,]\d)")
_MONTH_NAMES = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
)
_MONTH_NAME_RE = re.compile(rf"\b(?:{_MONTH_NAMES})\b")
_MONTHS_RE = re.compile(rf"\b(?:{_MONTH_NAMES}|voorjaar|najaar|zomer|winter)\b")


_AGENT_RE = re.compile(
    r"auteur|schrijver|geschreven|ondertekend|directeur|voorzitter|uitgevoerd|opgesteld|"
    r"in\s+opdracht"
)
# "door" before a name ("door Motivaction", "door de VIVO-werkgroep"), not "door de opkomst
# van AI": case matters, so this reads the text as written
_BY_NAME_RE = re.compile(r"\b(?:[Dd]oor|[Bb]y)\s+(?:(?:de|het|the)\s+)?[A-Z]")
# Where something appeared: a name after it is a venue ("gepubliceerd in Management Scope"),
# an answer to "in welk blad ...?" but not to "wie heeft ... geschreven?".
_VENUE_RE = re.compile(r"gepubliceerd|verschenen")
_PARTICIPLE_RE = re.compile(r"^(?:ge|uitge|opge|vastge|onderge)\w{3,}(?:d|t|en)$")


def _names_agent(question: str, text: str, folded_text: str) -> bool:
    """For a name question: the text names someone *as* the one who did it ("door X",
    "uitgevoerd", "X, directeur"), or, unless the question asks "wie", where it appeared
    ("gepubliceerd in Y"); or it uses the question's own participle."""
    if _AGENT_RE.search(folded_text) or _BY_NAME_RE.search(text):
        return True
    if _VENUE_RE.search(folded_text) and not re.search(r"\bwie\b", _fold(question)):
        return True
    verbs = {_stem(w) for w in _words(question) if _PARTICIPLE_RE.match(w)}
    stems = _content_stems(folded_text)
    return any(_found(v, stems) for v in verbs)


@dataclass(frozen=True)
class Asked:
    """What kind of fact a question asks for, when it asks for a specific one."""

    number: bool = False  # "hoeveel", "welk percentage", "hoe groot"
    unit: str = ""  # "hoeveel minuten": the figure must come with the unit
    name: bool = False  # "wie", "welk bureau", "in welk blad"
    date: bool = False  # "wanneer", "in welk jaar"
    topic: tuple[str, ...] = ()  # stems of X in "wat zeggen de bronnen over X"

    @property
    def specific(self) -> bool:
        return self.number or self.name or self.date


@lru_cache(maxsize=1024)
def asked(question: str) -> Asked:
    """The kind of fact ``question`` asks for (a cheap Dutch/English pattern match)."""
    q = _fold(question)
    number = bool(_ASK_NUMBER_RE.search(q))
    unit = ""
    m = re.search(r"\bhoeveel\s+(\w+)", q)
    if m and m.group(1) in _UNITS:
        unit = m.group(1)
    elif re.search(r"\b(?:welk|wat\s+is\s+het)\s+percentage\b|\bhoeveel\s+procent\b", q):
        unit = "procent"
    elif re.search(r"\b(?:welke?|wat\s+is\s+het)\s+(?:aandeel|deel)\b", q):
        unit = "aandeel"
    elif re.search(r"\b(?:verdien\w*|salaris\w*|loon|lonen|kost\w*|prijs)\b", q) and number:
        unit = "euro"
    elif re.search(r"\bop\s+welke\s+plaats\b|\bwelke\s+(?:plaats|positie)\b|\bhoeveelste\b", q):
        unit = "plaats"
    topic_terms = tuple(
        sorted(s for s in _content_stems(topic_phrase(question)) if s not in _QUESTION_WORDS)
    )
    return Asked(
        number=number,
        unit=unit,
        name=bool(_ASK_NAME_RE.search(q)),
        date=bool(_ASK_DATE_RE.search(q)),
        topic=topic_terms,
    )


def topic_phrase(question: str) -> str:
    """X of "wat zeggen de bronnen over X?" as the user wrote it, or ""."""
    m = _TOPIC_RE.search(" ".join(question.split()))
    return m.group(1).strip() if m else ""


def provides(ask: Asked, question: str, text: str) -> bool:
    """Whether ``text`` gives a fact of the kind ``ask`` describes (any of the kinds asked)
    and is about the question's topic ("over X": at least half of X's content words)."""
    if ask.topic:
        terms = _terms_of(text)
        if 2 * sum(_found(t, terms) for t in ask.topic) < len(ask.topic):
            return False
    return not ask.specific or any(_kinds_given(ask, question, text))


def _kinds_given(ask: Asked, question: str, text: str) -> list[bool]:
    """Per kind of fact ``ask`` asks for (figure, name, date): whether ``text`` gives one."""
    new_numbers = _numbers(text, words=True) - _numbers(question, words=True)
    folded = _fold(text)
    checks = []
    if ask.number:
        unit = _UNITS.get(ask.unit)
        # a year ("in 2025") is no answer to "hoeveel" / "welk aandeel", unless years are asked
        amounts = (
            new_numbers
            if ask.unit in ("jaar", "jaren")
            else (_numbers(_YEAR_RE.sub(" ", text), words=True) - _numbers(question, words=True))
        )
        # for "welk aandeel" a fraction word ("de helft") is an amount too
        amount = bool(amounts) or (ask.unit == "aandeel" and bool(re.search(_SHARE, folded)))
        checks.append(amount and (unit is None or bool(re.search(unit, folded))))
    if ask.name:
        new_name = bool(_names(text) - _names(question) - {_fold(w) for w in _words(question)})
        checks.append(new_name and _names_agent(question, text, folded))
    if ask.date:
        checks.append(bool(new_numbers) or bool(_MONTHS_RE.search(folded)))
    return checks


def evidence_gap(question: str, passages: list[Passage]) -> str:
    """Why no sentence of ``passages`` can answer ``question``, or "" when one may.

    "topic": the question asks what the sources say *over X* and X occurs in none of the
    passages. "kind": it asks for a figure (with its unit), a name or a date, and no passage
    sentence that says something beyond the question gives one (``rank_quotes``' candidates,
    lexical only: no embedding, so the retriever can afford it). Used by the retrieval floor;
    the same measure as the answer check's, so floor and check agree.
    """
    ask = asked(question)
    if ask.topic and not any(
        provides(Asked(topic=ask.topic), question, p.chunk.text) for p in passages
    ):
        return "topic"
    if ask.specific and not any(q.provides for q in rank_quotes(question, passages)):
        return "kind"
    return ""


def answer_type_scores(question: str, chunks: list[Chunk]) -> list[float] | None:
    """For a question that asks for a figure, name or date: per chunk, the key-term share of
    its best sentence that gives one (``rank_quotes``, lexical; terms only in the chunk's
    title, organisation or heading count half, as in the answer check), or -1 when no
    sentence does. None when the question asks for no particular kind of fact.

    Lets retrieval rank up the passages that can answer "hoeveel ...?" or "wie ...?" over
    ones that only share its words (an introduction that repeats a report's name).
    """
    if not asked(question).specific:
        return None
    out = []
    for chunk in chunks:  # one at a time: term rarity within the passage
        ranked = rank_quotes(question, [Passage(1, chunk)])
        out.append(max((q.relevance for q in ranked if q.provides), default=-1.0))
    return out


# --------------------------------------------------------------------------- relevance

# Words of a question that say how to answer, not what about: never key terms.
_QUESTION_WORDS = frozenset(
    """zeg zegg zegt bronn bron rapport rapporten document documenten noem noemt genoemd
    vertel vertellen beschrijf geef lat waarin waarom wat welke welk hoe wie waar wanneer
    belangrijk belangrijkste verschil verschill verschillen samen elkaar naast eens
    volgens gemiddeld ongeveer precies vooral daarover hierover erover""".split()
)
# A quote (or the model's answer) is relevant enough to show when it has CLEAR_RELEVANCE of the
# question's key terms, or its score reaches MIN_SCORE and it has MIN_RELEVANCE of the key
# terms or a rescaled similarity of MIN_SIMILARITY. Measured on the dev questions (retrieved
# passages, e5): the sentence that answers scores 0.42-0.87 for most answerable questions
# (paraphrased ones lower), the best candidates of unanswerable ones 0.30-0.46.
MIN_SCORE = 0.40
MIN_RELEVANCE = 0.25
MIN_SIMILARITY = 0.5
EVIDENCE_MARGIN = 0.1  # an added quote scores at most this much below the best one
ALL_KINDS_BONUS = 0.2  # score added to a sentence that gives every kind of fact asked for
CLEAR_RELEVANCE = 0.45  # this share of the key terms is relevant enough on its own
QUOTE_SIM_FLOOR = 0.78  # e5 query-passage cosine at or below this: unrelated (rescaled 0)
QUOTE_SIM_CEIL = 0.90  # at or above this: as related as it gets (rescaled 1)


# "volgens Integron", "in het HRM-rapport", "van KPN en Motivaction": where the answer should
# come from, not what it says. Such terms weigh little; the passage header usually has them.
_SOURCE_PHRASE_RE = re.compile(
    r"\b(?:volgens|according\s+to)\s+((?:(?:het|de|een)\s+)?[\w'’-]+(?:\s+[\w'’-]+)?)"
    r"|\b(?:in|uit|van)\s+(?:het|de)\s+([\w'’-]*(?:rapport|onderzoek|whitepaper|essay|"
    r"artikel|studie))\b"
)
CONTEXT_WEIGHT = 0.3  # weight of a source term relative to a content term


@lru_cache(maxsize=1024)
def _source_terms(question: str) -> frozenset[str]:
    found: set[str] = set()
    for m in _SOURCE_PHRASE_RE.finditer(question):
        found |= _content_stems(m.group(1) or m.group(2) or "")
    return frozenset(found)


@lru_cache(maxsize=1024)
def _key_terms(question: str) -> tuple[str, ...]:
    claim = _Claim.of(question)
    stems = {s for s in claim.stems if s not in _QUESTION_WORDS and len(s) > 1}
    stems |= {_stem(n) for n in claim.names}
    return tuple(sorted(stems))


@lru_cache(maxsize=16384)
def _terms_of(text: str) -> frozenset[str]:
    """Content stems of ``text`` with aliases; cached (candidate sentences recur across
    questions, and a frozenset lets ``_found`` cache its answers)."""
    return frozenset(_with_aliases(_content_stems(text)))


def sentence_scores(question: str, sentences: list[str]) -> list[float]:
    """Weighted share of the question's key terms in each sentence (rare terms weigh more)."""
    terms = _key_terms(question)
    sets = [_terms_of(s) for s in sentences]
    weights = _weights(terms, sets)
    return [_relevance(question, s, "", weights) for s in sentences]


def _weights(terms: Sequence[str], sets: Sequence[AbstractSet[str]]) -> dict[str, float]:
    """Rarity of each term among the candidate sentences: log((n + 1) / (df + 0.5)) + 0.5."""
    n = len(sets)
    return {t: math.log((n + 1) / (sum(_found(t, s) for s in sets) + 0.5)) + 0.5 for t in terms}


def _header(p: Passage) -> str:
    c = p.chunk
    return " ".join(x for x in (c.title, c.organisation, c.heading) if x)


def _relevance(
    question: str, text: str, header: str = "", weights: dict[str, float] | None = None
) -> float:
    """Weighted share of the question's key terms found in ``text`` (full weight) or only in
    the passage ``header`` (title, organisation: half weight; they say where, not what)."""
    terms = _key_terms(question)
    if not terms:
        return 0.0
    found, context = _terms_of(text), _terms_of(header) if header else set()
    sources = _source_terms(question)
    total = got = 0.0
    for t in terms:
        w = (weights or {}).get(t, 1.0)
        if t in sources:
            w *= CONTEXT_WEIGHT
            if _found(t, context):
                found = found | {t}  # named as the source, and the passage is from it
        total += w
        if _found(t, found):
            got += w
        elif context and _found(t, context):
            got += 0.5 * w
    return got / total if total else 0.0


# --------------------------------------------------------------------------- quotes


@dataclass(frozen=True)
class Quote:
    """A passage sentence ranked as a quote for a question."""

    passage: Passage
    text: str  # exact substring of passage.chunk.text
    score: float  # ranking score
    relevance: float  # weighted share of the question's key terms (see ``_relevance``)
    provides: bool  # gives the kind of fact the question asks for (always True if none)
    similarity: float = 0.0  # rescaled embedding similarity to the question (0 if none)
    complete: bool = False  # gives every kind of fact a two-part question asks for

    @property
    def usable(self) -> bool:
        return self.provides and _relevant(self.score, self.relevance, self.similarity)


def _relevant(score: float, relevance: float, similarity: float) -> bool:
    if relevance >= CLEAR_RELEVANCE:
        return True  # most of the question's key terms, whatever the embedding says
    return score >= MIN_SCORE and (relevance >= MIN_RELEVANCE or similarity >= MIN_SIMILARITY)


def _score(relevance: float, similarity: float | None, rank: int) -> tuple[float, float]:
    """(ranking score, rescaled similarity) of a text for a question; ``rank`` is the
    0-based retrieval rank of its passage."""
    prior = max(0.0, 1.0 - 0.15 * rank)
    if similarity is None:
        return 0.9 * relevance + 0.1 * prior, 0.0
    rescaled = min(
        1.0, max(0.0, (similarity - QUOTE_SIM_FLOOR) / (QUOTE_SIM_CEIL - QUOTE_SIM_FLOOR))
    )
    return 0.5 * relevance + 0.4 * rescaled + 0.1 * prior, rescaled


def _novelty(quote: str, q_terms: AbstractSet[str], question: str) -> int:
    """How much ``quote`` adds to the question: new content words, figures count double."""
    new_stems = {s for s in _content_stems(quote) if not _found(s, q_terms)}
    new_numbers = _numbers(quote, words=True) - _numbers(question, words=True)
    return len(new_stems) + 2 * len(new_numbers)


def _heading_like(sentence: str) -> bool:
    return not re.search(r"[.!?…:]['\"”’»)]*\s*$", sentence) and len(sentence.split()) < 9


def rank_quotes(
    question: str,
    passages: list[Passage],
    *,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    blocked: Blocked | None = None,
) -> list[Quote]:
    """Passage sentences ranked as answers to ``question``, best first.

    score = 0.5 * key-term share (terms weighted by rarity among the candidates; a term only in
    the passage's title or organisation counts half) + 0.4 * embedding similarity to the
    question (rescaled; ``question_similarity`` embeds the question as a query, else
    ``similarity``) + 0.1 * retrieval rank prior (passage 1 = 1.0, then -0.15 a rank).
    Without any similarity the lexical part weighs 0.9. Headings, sentences that only repeat
    the question, ``blocked`` text and, when the question asks for a figure, name or date,
    sentences without one are ranked last (``provides`` False); when it asks for more than one
    kind, a sentence that gives them all scores ``ALL_KINDS_BONUS`` more.
    """
    terms = _key_terms(question)
    ask = asked(question)
    multi_kind = ask.number + ask.name + ask.date > 1
    q_terms = _terms_of(question)
    candidates: list[tuple[int, Passage, str]] = []
    for rank, p in enumerate(passages):
        index = _PassageIndex.of(p.chunk.text)
        for w in index.windows[: index.singles]:
            quote = p.chunk.text[w.start : w.end].strip()
            if "\n" in quote or _heading_like(quote):
                continue
            if _Claim.of(quote).trivial and not _numbers(quote, words=True):
                continue  # short and says no figure ("Vijfentachtig procent wil dat." does)
            if _novelty(quote, q_terms, question) < 2:
                continue  # says nothing the question does not already say
            if blocked is not None and blocked(quote):
                continue
            candidates.append((rank, p, quote))
    if not candidates or not terms:
        return []
    weights = _weights(terms, [_terms_of(q) for _, _, q in candidates])
    sims: list[float | None] = [None] * len(candidates)
    if question.strip():
        texts = [q for _, _, q in candidates]
        if question_similarity is not None:
            sims = list(question_similarity(question, texts))
        elif similarity is not None:
            sims = [s - 0.03 for s in similarity([question], texts)[0]]  # passage-style
    out = []
    for (rank, p, quote), sim in zip(candidates, sims, strict=True):
        rel = _relevance(question, quote, _header(p), weights)
        score, rescaled = _score(rel, sim, rank)
        gives = provides(ask, question, quote)
        # "Wanneer ..., en welk bureau ...?": a sentence that gives both beats one that gives a
        # year and repeats the question's words
        complete = gives and multi_kind and all(_kinds_given(ask, question, quote))
        score += ALL_KINDS_BONUS if complete else 0.0 if gives else -1.0
        out.append(Quote(p, quote, score, rel, gives, rescaled, complete))
    out.sort(key=lambda q: -q.score)
    return out


def quote_fallback(
    question: str,
    passages: list[Passage],
    *,
    max_quotes: int = 3,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    blocked: Blocked | None = None,
    intro: str,
) -> CheckedAnswer:
    """Quote the passage sentences that best answer ``question`` verbatim, with markers.

    Candidates are ranked by ``rank_quotes``; only usable ones count: they contain at least
    ``MIN_RELEVANCE`` of the question's key terms and, when the question asks for a figure,
    name or date, give one. Quotes much weaker than the best one are left out, and quotes from
    a passage already quoted count a bit less, to spread quotes over passages. With no usable
    candidate the result is mode "refusal" with an empty text (the caller shows its message).
    """
    ranked = rank_quotes(
        question,
        passages,
        similarity=similarity,
        question_similarity=question_similarity,
        blocked=blocked,
    )
    return _quote_answer(question, ranked, max_quotes, intro)


def _quote_answer(question: str, ranked: list[Quote], max_quotes: int, intro: str) -> CheckedAnswer:
    usable = [q for q in ranked if q.usable]
    if not usable or not question.strip():
        return CheckedAnswer("", (), (), "refusal", 0.0)
    if usable[0].complete:  # one sentence answers every part: partial ones add only noise
        usable = [q for q in usable if q.complete]
    best = usable[0].score
    picked = _pick([q for q in usable if q.score >= best - 0.2], max_quotes)
    numbering = {n: i for i, n in enumerate(_dedupe(q.passage.n for q in picked), start=1)}
    checks, citations, seen = [], [], set()
    for q in picked:
        p = q.passage
        line = f"{QUOTE_OPEN}{q.text}{QUOTE_CLOSE} [{numbering[p.n]}]"
        checks.append(SentenceCheck(line, (), p.n, q.text, True, "ok"))
        if p.n not in seen:
            seen.add(p.n)
            citations.append(Citation(numbering[p.n], p.chunk, q.text))
    body = "\n".join(f"- {c.text}" for c in checks)
    text = f"{intro.strip()}\n\n{body}" if intro.strip() else body
    return CheckedAnswer(text, tuple(checks), tuple(citations), "quotes", 0.0)


def _pick(ranked: list[Quote], max_quotes: int) -> list[Quote]:
    """Greedy best-first, each earlier pick from the same passage discounting by 15%."""
    remaining = list(ranked)
    picked: list[Quote] = []
    taken: dict[int, int] = {}
    while remaining and len(picked) < max_quotes:
        i = max(
            range(len(remaining)),
            key=lambda k: remaining[k].score - 0.15 * taken.get(remaining[k].passage.n, 0),
        )
        q = remaining.pop(i)
        if any(x.text == q.text for x in picked):
            continue
        picked.append(q)
        taken[q.passage.n] = taken.get(q.passage.n, 0) + 1
    return picked
