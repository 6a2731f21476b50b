"""Figures in passages, and where sources disagree about one.

A *figure* is a percentage or share ("26%", "64 procent", "de helft", "1 op de 5") in a
sentence of a passage, with what it measures: the *group* it is a share of ("van de
directieleden", "onder niet-gebruikers", "Grotere bedrijven (55%)") and the *measure*, the
content words of its clause without the figure, the group and qualifiers ("slechts", "ruim").
Everything is read with the keyword analyser (``assistant.keyword.analyse``: folded, stemmed,
compounds split), so "gebruikt AI" and "gebruik van AI-tools" share terms.

``compare(question, passages)`` picks the figures that are about what the question asks
(at least two thirds of the question's measure terms, same polarity: "gebruikt geen AI" is not
"gebruikt AI") and reports a disagreement when they come from more than one document or year
with more than one value. The answer then lists every such figure side by side with its source,
year and the clause it stands in (cited [n]); nothing is averaged or explained away.
``cluster`` groups figures by measure for the briefing's "Cijfers" section.

Trade-offs: no parser, only generic surface rules of Dutch report prose (the group follows the
figure after "van" or precedes it after "onder/bij", or stands before a parenthesised figure;
a finite verb ends it: words ending in -t/-dt or a short list of auxiliaries). A clause that
refers back ("dat percentage", "dit percentage") inherits the measure of the figure before it
in the same sentence. Misreadings make a group label too long or empty, never a figure wrong:
the value and the clause are always copied from the passage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.dutch.text import NEGATION_RE
from assistant.keyword import analyse

_NUM = r"\d{1,3}(?:[,.]\d{1,2})?"
# a percentage ("26%", "39,2 procent"), not a percentage point
PERCENT_RE = re.compile(rf"(?<![\d,.])({_NUM})\s*(?:%|procent\b(?!punt))", re.IGNORECASE)
_NUMBER_WORDS = {
    w: i for i, w in enumerate("een twee drie vier vijf zes zeven acht negen tien".split(), start=1)
} | {"één": 1}
_COUNT = r"\d{1,3}|" + "|".join(_NUMBER_WORDS)
_RATIO_RE = re.compile(rf"\b({_COUNT}) op (?:de|het totaal van de) ({_COUNT})\b", re.IGNORECASE)
_SHARES = {
    "de helft": 50.0,
    "een derde": 100 / 3,
    "twee derde": 200 / 3,
    "een kwart": 25.0,
    "driekwart": 75.0,
    "drie kwart": 75.0,
}
_SHARE_RE = re.compile(r"\b(" + "|".join(_SHARES) + r")\b(?!\s*\(\s*\d)", re.IGNORECASE)
# any amount a "hoeveel" question may get: a share, or a number that is not a year or a
# footnote mark glued to a word ("12 miljoen euro", "2 procentpunt", "tussen 0,3 en 0,8")
_AMOUNT_RE = re.compile(r"(?<![\w,.])(?!(?:19|20)\d\d\b)\d{1,3}(?:[.,]\d{1,3})*\b")
_SENTENCE_RE = re.compile(r"[^\n.!?;]*(?:[.!?;]+(?=\s|$)|\n|$)")
_ALIASES = ((re.compile(r"\bkunstmatige\s+intelligentie\b", re.IGNORECASE), "AI"),)
_QUALIFIERS = re.compile(
    r"\b(?:slechts|ruim|bijna|ongeveer|circa|maar liefst|zo'n|rond|nog|inmiddels|liefst|"
    r"zelfs|tot|meer dan|minder dan|dat|dit|percentage|procent|aandeel)\b",
    re.IGNORECASE,
)
_GROUP_AFTER_RE = re.compile(
    r"^\s*(?:van|onder)\s+(?:de|het|alle|onze|deze|hun)?\s*", re.IGNORECASE
)
_GROUP_BEFORE_RE = re.compile(
    r"(?:\b(?:onder|bij)|^\W*van)\s+(?:de|het|alle|onze|deze)?\s*([^,;:()]+?)\s*$",
    re.IGNORECASE,
)
# words reports use for one another: people at work, and the organisations employing them
_SAME_GROUP = {
    "medewerker": "werknemer",
    "personeel": "werknemer",
    "loontrek": "werknemer",
    "werkver": "bedrijf",  # werkgever(s)
    "organiseer": "bedrijf",  # organisatie(s)
    "onderneem": "bedrijf",  # onderneming(en)
}
# other words reports use for one another (not people: ``focus`` keeps those out of a measure)
_SAME_THING = {
    "job": "baan",  # Flemish reports say "jobs" where Dutch ones say "banen"
    "inzet": "bruik",  # AI "inzetten" is using it
    "krap": "tekort",  # (arbeidsmarkt)krapte: a shortage of staff
}
# Words that end a noun group ("werknemers | die ...", "bedrijven | verwachten ..."): pronouns,
# conjunctions and verbs. Not a stop-word list: "de", "het", "van" belong inside a group, and
# "gebruiken", "werken" are content words elsewhere.
_GROUP_END = frozenset(
    "die dat welke wat is zijn was waren wordt worden werd heeft hebben had kan kunnen zal "
    "zullen wil willen moet moeten ligt liggen zegt zeggen vinden zien denken gebruiken maken "
    "werken geven gaan verwachten en of maar dan als om te".split()
)
_NOT_PLURAL = frozenset("zoals tussen boven onder tegen tijdens zonder binnen buiten".split())
_NOUN_T = frozenset("recht markt dienst product contract concept budget effect".split())
# a question answered by a share: it asks for a number or an extent, or it is a yes/no
# question about a state ("Gebruiken werkgevers AI al?", "Zien werknemers AI als oplossing?")
_ASKS_FIGURE_RE = re.compile(
    r"\b(?:hoeveel|percentages?|procent|aandeel|welk\s+deel|cijfers?|hoe\s+groot|"
    r"getallen?|deel\s+van|hoe\s+vaak|in\s+welke\s+mate|hoe\s+breed|hoe\s+veel)\b"
    r"|^\s*(?!wat\b|wie\b|welke?\b|waar\w*\b|wanneer\b|hoe\b|waarom\b)\w+(?:t|en)\s+\w+",
    re.IGNORECASE,
)
_QUESTION_WORDS = frozenset(
    analyse(
        "hoeveel welk welke wat percentage procent aandeel deel cijfer cijfers getal bron "
        "bronnen noemen noemt zeggen volgens onderzoek rapport groot"
    )
)
# the measure of a clause ignores these: they say what kind of number it is, not of what
_MEASURE_NOISE = _QUESTION_WORDS | frozenset(
    analyse("slechts ruim bijna ongeveer liefst tegenover vergeleken versus terwijl")
)

SHARE = (
    r"procent|percent|%|\bhelft|\bderde\b|\bkwart|\bvijfde|\bmeerderheid|\bminderheid|"
    r"\b\w+\s+op\s+de\s+(?:\d+|twee|drie|vier|vijf|zes|zeven|acht|negen|tien)\b"
)
# hours, also as the tail of a compound ("400 studiebelastingsuren", "werkuren"); not every
# word ending in "uur" (cultuur, natuur, duur)
HOURS = r"\buur|\buren|\w{3,}s(?:uur|uren)\b|(?:werk|les|over|contact|arbeids)(?:uur|uren)\b"
DURATION = rf"minu|{HOURS}|\bdag|\bweek|\bweken|\bmaand|\bjaar|\bjaren|second"
UNITS: dict[str, str] = {  # "hoeveel <unit>": the figure must come with that unit
    "minuten": r"minu",
    "minuut": r"minu",
    "uur": HOURS,
    "uren": HOURS,
    "dagen": r"\bdag",
    "weken": r"\bweek|\bweken",
    "maanden": r"\bmaand",
    "jaar": r"\bjaar",
    "jaren": r"\bjaar|\bjaren",
    # an amount of money, or a share of one (a fee of "15% van het jaarsalaris")
    "euro": r"euro|€|\$|dollar|\bsalaris|\bloon|procent|%",
    "seconden": r"second",
    # "hoeveel tijd(winst)": a duration, in any unit of time
    "tijd": DURATION,
    "tijdwinst": DURATION,
    "kilometer": r"kilometer|\bkm\b",
    "procent": r"procent|percent|%",
    # "welk aandeel": a share, as a percentage or a fraction ("de helft", "een op de vijf")
    "aandeel": SHARE,
}


# verbs and adverbs that carry no measure of their own ("maakt actief gebruik", "is
# daadwerkelijk transparant", "vindt dat ..."): the head of a clause is the first other term
LIGHT = frozenset(
    analyse(
        "maakt maken doet doen krijgt krijgen ligt liggen geeft geven aan vindt vinden denkt "
        "denken meent menen daadwerkelijk actief regelmatig dagelijks vaak soms echt"
    )
)


@dataclass(frozen=True)
class Figure:
    value: float  # percent
    shown: str  # as written: "26%", "64 procent", "de helft"
    clause: str  # exact substring of the passage: the clause the figure stands in
    group: str  # the group it is a share of, as written ("" when not named)
    measure: frozenset[str]  # analysed terms of what it measures
    group_terms: frozenset[str]
    head: tuple[str, ...]  # the clause's first measure term ("maakt actief gebruik": bruik)
    negated: bool
    passage: int  # number of the passage it was found in
    source: str = ""
    year: str = ""
    label: str = ""  # who says it: organisation, else title

    @property
    def document(self) -> tuple[str, str]:
        return (self.source, self.year)


# --------------------------------------------------------------------------- extraction


def _terms(text: str) -> frozenset[str]:
    for pattern, replacement in _ALIASES:
        text = pattern.sub(replacement, text)
    return frozenset(t for t in analyse(text) if not t[0].isdigit())


def _ordered_terms(text: str) -> list[str]:
    """Measure terms in text order (first occurrence), figures and noise left out."""
    for pattern, replacement in _ALIASES:
        text = pattern.sub(replacement, text)
    terms = [t for t in analyse(text) if not t[0].isdigit() and t not in _MEASURE_NOISE]
    return list(dict.fromkeys(terms))


def _group_terms(text: str) -> frozenset[str]:
    return frozenset(_SAME_GROUP.get(t, t) for t in _terms(text))


@lru_cache(maxsize=65536)  # the sources block reads a sentence up to three times
def same_terms(text: str) -> frozenset[str]:
    """The analysed terms of ``text`` with the words reports use for one another made one
    ("kunstmatige intelligentie" = "AI", "werkgevers" = "bedrijven", "jobs" = "banen");
    numbers left out."""
    return frozenset(_SAME_THING.get(t, t) for t in _group_terms(text))


def _noun_group(words_in: list[str], verbs: bool = True) -> str:
    """The leading words of ``words_in`` up to a pronoun, punctuation or (``verbs``) a word
    that looks like a finite verb."""
    words: list[str] = []
    for raw in words_in:
        word = raw.strip()
        bare = word.strip(",;:.()\"'„”").lower()
        if not bare or bare in _GROUP_END or len(words) >= 6:
            break
        verb = bare.endswith(("t", "dt")) and bare not in _NOUN_T and bare.isalpha()
        if verbs and verb and words:
            break  # a finite verb: "gebruikt", "vindt", "ziet"
        words.append(word.strip("„”\"'"))
        if word.endswith((",", ";", ":", ".", ")")) or _plural_noun(bare):
            break  # "van de werknemers | AI actief": a plural noun ends the group
    return " ".join(words).strip(",;:.() ")


def _plural_noun(word: str) -> bool:
    return (
        len(word) >= 5 and word.isalpha() and word.endswith(("s", "en")) and word not in _NOT_PLURAL
    )


def _group_after(rest: str, direct: bool = False) -> str:
    """The noun group right after a figure ("van de Nederlandse werknemers gebruikt ...");
    ``direct``: right after it without "van" ("vier op de tien bedrijven die ...")."""
    m = _GROUP_AFTER_RE.match(rest)
    if direct:
        prefix, words = "", rest.split()
    elif m and m.group(0).strip():
        prefix, words = m.group(0).strip(), rest[m.end() :].split()
    else:
        return ""
    group = _noun_group(words)
    if not group:
        return ""
    after = words[len(group.split()) :]
    if after and after[0].lower() in ("die", "dat") and len(after) > 1:
        # "van de werknemers die AI gebruiken (vindt ...)": the relative clause is part of
        # the group, up to its verb at the end
        for i, word in enumerate(after[1:9], start=1):
            bare = word.strip(",;:.").lower()
            if bare.isalpha() and len(bare) > 2 and bare.endswith(("en", "t")):
                group += " " + " ".join(after[: i + 1]).rstrip(",;:.")
                break
    return f"{prefix} {group}".strip()


def _group_of(clause: str, start: int, end: int) -> str:
    after = _group_after(clause[end:], direct=" op " in clause[start:end])
    if after:
        return after
    before = clause[:start]
    if before.rstrip().endswith("("):  # "Grotere bedrijven (55%)": the words before "("
        words = re.findall(r"[^\W\d][\w-]*", before.rstrip()[:-1].rsplit(")", 1)[-1])
        words = words[-3:]
        while words and words[0].lower() in _GROUP_END:
            words.pop(0)
        return " ".join(words)
    m = _GROUP_BEFORE_RE.search(before)
    if m:
        prefix = before[m.start() : m.start(1)].strip(" \t\n•-–")
        # "Van de managers gebruikt 40%": a verb ends the group; "bij X zonder Y ligt
        # dat percentage op": there the pronoun does, and "klantcontact" is no verb
        verbs = prefix.lower().startswith("van")
        group = _noun_group(m.group(1).split(), verbs=verbs)
        return f"{prefix} {group}" if group else ""
    return ""


def _clauses(sentence: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A clause per figure: the sentence cut at the last , ; – "maar" or "terwijl" between
    two figures; figures with no such cut between them share their clause ("Polen (41%)
    en Duitsland (40%)")."""
    cuts: list[int | None] = []
    for (_, prev_end), (next_start, _) in zip(spans, spans[1:], strict=False):
        between = sentence[prev_end:next_start]
        cuts_at = [",", ";", "–", " maar ", " terwijl "] + ([] if "(" in between else [" en "])
        cut = max(between.rfind(c) for c in cuts_at)
        cuts.append(prev_end + cut + 1 if cut >= 0 else None)
    out: list[tuple[int, int]] = []
    for i in range(len(spans)):
        lo = next((c for c in reversed(cuts[:i]) if c is not None), 0)
        hi = next((c for c in cuts[i:] if c is not None), len(sentence))
        out.append((lo, hi))
    return out


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _matches(sentence: str) -> list[tuple[int, int, float, str]]:
    found: list[tuple[int, int, float, str]] = []
    for m in PERCENT_RE.finditer(sentence):
        found.append((m.start(), m.end(), float(m.group(1).replace(",", ".")), m.group(0)))
    for m in _RATIO_RE.finditer(sentence):
        a, b = _count(m.group(1)), _count(m.group(2))
        if 0 < a <= b:
            found.append((m.start(), m.end(), 100 * a / b, m.group(0)))
    for m in _SHARE_RE.finditer(sentence):
        found.append((m.start(), m.end(), _SHARES[m.group(1).lower()], m.group(0)))
    return sorted(found)


def has_amount(text: str) -> bool:
    """``text`` gives a share or another amount (not only a year)."""
    return bool(_matches(text)) or bool(_AMOUNT_RE.search(text))


def figures_in(text: str, passage: int = 0, meta: object = None) -> list[Figure]:
    """Every percentage or share in ``text`` with its clause, group and measure.

    ``meta`` (a ``Chunk`` or anything with ``source``, ``date``, ``organisation``, ``title``)
    fills in the source, year and label."""
    from assistant.dates import year_of

    source = str(getattr(meta, "source", "") or "")
    year = year_of(str(getattr(meta, "date", "") or ""))
    label = str(getattr(meta, "organisation", "") or getattr(meta, "title", "") or source)
    out: list[Figure] = []
    for sm in _SENTENCE_RE.finditer(text):
        sentence = sm.group(0)
        found = _matches(sentence)
        if not found:
            continue
        previous: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ())
        for (start, end, value, shown), (c0, c1) in zip(
            found, _clauses(sentence, [(s, e) for s, e, _, _ in found]), strict=True
        ):
            clause = sentence[c0:c1]
            group = _group_of(clause, start - c0, end - c0)
            bare = clause.replace(shown, " ")
            bare = _QUALIFIERS.sub(" ", bare.replace(group, " ") if group else bare)
            ordered = _ordered_terms(re.sub(r"\([^()]*\)", " ", bare))
            measure, head = frozenset(ordered), tuple(t for t in ordered if t not in LIGHT)[:1]
            if not measure or re.search(
                r"\b(?:dat|dit|hetzelfde)\s+(?:percentage|aandeel)\b", clause, re.I
            ):  # "bij X ligt dat percentage op 17%", "57% ..., tegenover 17% van Y"
                measure, head = measure | previous[0], previous[1]
            previous = (measure, head)
            quote = " ".join(clause.split()).strip(" ,;:–-")
            exact = re.search(r"\s+".join(map(re.escape, quote.split())), text)
            out.append(
                Figure(
                    value=value,
                    shown=shown.strip(),
                    clause=exact.group(0) if exact else quote,
                    group=group,
                    measure=frozenset(measure),
                    group_terms=_group_terms(group),
                    head=head,
                    negated=bool(NEGATION_RE.search(bare)),
                    passage=passage,
                    source=source,
                    year=year,
                    label=label,
                )
            )
    return out


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Focus:
    """What a question asks a figure of: the measure terms and the group terms."""

    measure: frozenset[str]
    group: frozenset[str]
    negated: bool


def focus(question: str) -> Focus | None:
    """The figure the question asks about, or None when it asks for no figure."""
    if not _ASKS_FIGURE_RE.search(question):
        return None
    m = re.search(
        r"\b(?:procent|percentage|deel|aandeel)\s+van\s+(?:de|het|alle)?\s*(.*)",
        question,
        re.IGNORECASE,
    ) or re.search(r"\bhoeveel\s+(.*)", question, re.IGNORECASE)
    if m:
        group_text = _noun_group(m.group(1).split())
    elif not re.match(r"\s*(?:wat|wie|welke?|waar\w*|wanneer|hoe|waarom)\b", question, re.I):
        # a yes/no question: the subject follows the verb ("Gebruiken werkgevers AI al?")
        group_text = _noun_group(question.split()[1:], verbs=False)
    else:
        group_text = ""
    raw = _terms(group_text) - _QUESTION_WORDS
    group = frozenset(_SAME_GROUP.get(t, t) for t in raw)
    # who is counted is never what is measured: group words leave the measure
    people = set(_SAME_GROUP) | set(_SAME_GROUP.values())
    measure = _terms(question) - _QUESTION_WORDS - raw - group - people
    if not measure:
        return None
    return Focus(frozenset(measure), group, bool(NEGATION_RE.search(question)))


def about(fig: Figure, want: Focus) -> bool:
    """The figure measures what the question asks: same polarity, every measure term of the
    question (two thirds of them when it has more than three; adverbs such as "actief" do not
    count), and the clause's head term among them; the question's group terms may be met by
    the figure's measure or group."""
    if fig.negated != want.negated:
        return False
    have = fig.measure | fig.group_terms
    terms = want.measure - LIGHT or want.measure
    hits = sum(1 for t in terms if t in have)
    if hits < (len(terms) if len(terms) <= 3 else math.ceil(len(terms) * 2 / 3)):
        return False
    # what the clause says first must be asked about too: "37% van de werkgevers is
    # transparant over het gebruik van AI" is not a share that uses AI
    return not fig.head or any(t in want.measure or t in want.group for t in fig.head)


def _compatible(a: Figure, b: Figure) -> bool:
    return not a.group_terms or not b.group_terms or bool(a.group_terms & b.group_terms)


def _of_group(fig: Figure, want: Focus) -> bool:
    """The figure is about the group the question names (or it names none). A figure that
    names no group ("Slechts 26% maakt ...") counts only when the group is in its clause:
    the passage's subject may be anyone."""
    if not want.group:
        return True
    return bool(want.group & (fig.group_terms | fig.measure))


def compare(question: str, passages: Sequence[object]) -> list[Figure]:
    """The figures of ``passages`` (chunks, numbered from 1) about what ``question`` asks, when
    they disagree: more than one document or year, more than one value, and two of them of a
    compatible group. [] when they agree or the question asks for no figure."""
    want = focus(question)
    if want is None:
        return []
    seen: set[tuple[str, float, str]] = set()
    relevant: list[Figure] = []
    for n, chunk in enumerate(passages, start=1):
        for fig in figures_in(str(getattr(chunk, "text", "")), n, chunk):
            key = (fig.source, round(fig.value, 1), fig.group.lower())
            if about(fig, want) and _of_group(fig, want) and key not in seen:
                seen.add(key)
                relevant.append(fig)
    disagree = any(
        a.document != b.document and abs(a.value - b.value) >= 0.5 and _compatible(a, b)
        for i, a in enumerate(relevant)
        for b in relevant[i + 1 :]
    )
    if not disagree:
        return []
    return sorted(relevant, key=lambda f: (f.year or "9999", f.source, f.passage))


def cluster(figures: Iterable[Figure], min_overlap: float = 0.5) -> list[list[Figure]]:
    """Figures grouped by what they measure (overlap of measure terms >= ``min_overlap`` of
    the smaller set, linked transitively), in order of first appearance."""
    groups: list[list[Figure]] = []
    for fig in figures:
        home = None
        for group in groups:
            if any(_similar(fig.measure, other.measure, min_overlap) for other in group):
                home = group
                break
        if home is None:
            groups.append([fig])
        else:
            home.append(fig)
    return groups


def _similar(a: frozenset[str], b: frozenset[str], min_overlap: float) -> bool:
    if not a or not b:
        return False
    return len(a & b) >= max(1, math.ceil(min(len(a), len(b)) * min_overlap))


def measure_label(fig: Figure, limit: int = 90) -> str:
    """What a figure measures, in the source's words: its clause without figure and group."""
    text = fig.clause.replace(fig.shown, " ")
    if fig.group:
        text = text.replace(fig.group, " ")
    text = _QUALIFIERS.sub(" ", text)
    text = re.sub(r"\([^()]*\)", " ", text)
    text = " ".join(text.split()).strip(" ,;:–-.")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + "…"
    return text
