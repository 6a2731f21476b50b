"""What a checked answer says about its sources after its own text: where the sources give
different figures for what was asked (``figures.compare``), what each source says on a broad
question (``statements``), and that it rests only on old sources (``dates.age_note``).

All are fixed Dutch text built from the passages, never from the model: the figures block
lists each figure with the clause it stands in, its source and year, and a citation [n] to its
passage (a passage the answer did not cite yet gets the next number; its clause becomes the
citation's quote, so the source card highlights it). The age note is decided on every source
the final answer cites, the figures block's included.

The statements block ("Wat de bronnen zeggen:") serves questions across the corpus that name
no source, or that name sources and say they differ ("X zegt iets anders dan Y"):
a yes/no question ("Lopen X voor of achter?") or a "hoeveel/welk deel" one. When
two or more *voices* each have a sentence sharing enough of the question's terms (an amount
too for "hoeveel", and for "hoeveel X" a share of X), it gives per voice its best sentences
verbatim (up to three; every voice its best before any its second), each with the sentences
after it in its paragraph that stay on the question, cited. Terms are read as
``figures.same_terms`` reads them ("kunstmatige intelligentie" = "AI", "werkgevers" =
"bedrijven"), with what a sentence leaves unsaid as its context: the heading of its section,
and for a sentence a term short by itself the sentence before it. "Best" is by meaning
as well: the sentences with the most terms are embedded (e5, as the question's query vector;
at most ``SourceSettings.meaning`` a question) and ranked by terms plus similarity; for a
yes/no question a sentence one term short is admitted when it is close in meaning (it says
the rest in other words), and one with the terms but far in meaning is dropped. A voice is
a document and year, or inside a compilation the study it quotes (a dated header line such as
"Onderzoek X - 16 mei 2024" or "Volgens onderzoek van X", looked for up to the sentence's
end and in the chunks before it). Sentences are those of the project's one splitter
(``assistant.dutch.sentences``: abbreviations, list bullets and line ends as everywhere
else). Beyond the passages given to the model it also reads the next fused candidates
(``SourceSettings.more``) and, when ``asks_across`` says the question is one for this
block, each document's own best chunks (``SourceSettings.per_document``, searched by the
service): another source's answer often ranks far below the first source's passages.
Trade-offs: terms and a sentence embedding are still a shallow test of "answers the
question": e5 cosines of sentences on one subject lie close together, so the meaning route
admits only one term short and only for yes/no questions (for "hoeveel" questions every
share of AI use came close in meaning); a sentence outside the candidate chunks is never
seen (a sentence index would find some, at ingest cost); embedding costs time after the
answer (bounded per question, vectors cached). The block may list a sentence the model's
answer already gives; it never reconciles or ranks the voices, it only sets their words
side by side.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from assistant.citations import Citation
from assistant.citations.types import nest_quotes
from assistant.dates import age_note, sort_key, title_key, year_of
from assistant.dutch.sentences import sentence_spans, split_sentences
from assistant.evidence import QuestionSimilarity, heading_like, rescale_similarity
from assistant.figures import LIGHT, Figure, compare, figures_in, focus, has_amount, same_terms
from assistant.fusion import near_duplicate
from assistant.keyword import analyse
from assistant.question import META_WORDS
from assistant.safety import has_link

if TYPE_CHECKING:
    from assistant.chunks import Chunk
    from assistant.service import Answer
    from assistant.settings import SourceSettings

FIGURES_INTRO = "**De bronnen noemen verschillende cijfers hierover:**"
FIGURES_OUTRO = "De cijfers staan naast elkaar zoals de bronnen ze geven; ze zijn niet verrekend."
OTHER_GROUPS = "Ze gaan niet allemaal over dezelfde groep."
MAX_FIGURES = 6
MAX_CLAUSE = 180


def annotate(
    answer: Answer,
    settings: SourceSettings,
    today: date,
    more: Sequence[Chunk] = (),
    lookup: Callable[[list[str]], Sequence[Chunk]] | None = None,
    similarity: QuestionSimilarity | None = None,
) -> Answer:
    """``answer`` with the figures or statements block and the age note added (answers and
    quotes only). ``more``: further retrieved candidates, after the passages given to the
    model, where another source's answering sentence may stand (cited like a passage);
    ``lookup``: chunks by id, to find which study a passage of a compilation belongs to;
    ``similarity``: e5 cosines of the question and sentences, to pick statements by meaning."""
    checked = answer.checked
    if checked is None or answer.mode not in ("answer", "quotes") or not checked.citations:
        return answer
    citations = list(checked.citations)
    parts = [answer.text]
    if settings.disagreement:
        question = answer.query or answer.question
        pool = [*answer.passages, *_one_version(answer.passages, more)]
        # a question that names its source compares only what the model was given
        among = pool if asks_across(question, answer.passages) else answer.passages
        figures = compare(question, among)[:MAX_FIGURES]
        if figures:
            block, citations = figures_block(figures, among, citations)
            parts.append(block)
        else:
            meaning = similarity if settings.meaning else None
            said = statements(question, pool, lookup, meaning, settings.meaning)
            if said:
                block, citations = statements_block(said, pool, citations)
                parts.append(block)
    note = age_note([c.chunk.date for c in citations], today, settings.max_age_years)
    if note:
        parts.append(f"{note} Er kan nieuwere informatie zijn.")
    if len(parts) == 1:
        return answer
    text = "\n\n".join(p for p in parts if p)
    checked = dataclasses.replace(checked, text=text, citations=tuple(citations))
    return dataclasses.replace(answer, text=text, checked=checked)


def figures_block(
    figures: list[Figure], pool: Sequence[Chunk], citations: list[Citation]
) -> tuple[str, list[Citation]]:
    """The Dutch block listing ``figures`` (their passage numbers index ``pool``), and the
    citations extended to cover them."""
    citations = list(citations)
    lines = [FIGURES_INTRO]
    for fig in figures:
        chunk = pool[fig.passage - 1]
        n = next((c.n for c in citations if c.chunk.id == chunk.id), None)
        quote = _clip(fig.clause)
        if n is None:
            n = max((c.n for c in citations), default=0) + 1
        if not any(c.n == n and c.quote == quote for c in citations):
            citations.append(Citation(n, chunk, quote))
        who = ", ".join(x for x in (fig.label, fig.year or "zonder jaar") if x)
        group = f" {fig.group}" if fig.group and fig.group not in fig.shown else ""
        lines.append(f"- {fig.shown}{group}: {_quoted(quote)} ({who}) [{n}]")
    named = [f.group_terms for f in figures if f.group_terms]
    apart = any(not (a & b) for i, a in enumerate(named) for b in named[i + 1 :])
    outro = FIGURES_OUTRO + (f" {OTHER_GROUPS}" if apart else "")
    return "\n".join(lines) + "\n\n" + outro, citations


def _clip(clause: str, limit: int = MAX_CLAUSE) -> str:
    """A clause cut at a word before ``limit`` characters (still a substring)."""
    clause = clause.strip(" •-–")
    if len(clause) <= limit:
        return clause
    return clause[:limit].rsplit(" ", 1)[0]


# --------------------------------------------------------------------------- statements

STATEMENTS_INTRO = "**Wat de bronnen zeggen:**"
STATEMENTS_OUTRO = (
    "Elke bron staat er met eigen woorden; de uitspraken zijn niet met elkaar verrekend."
)
MAX_VOICES = 4
PER_VOICE = 3  # a study's headline, its figure and a breakdown are often separate sentences
MAX_STATEMENTS = 8  # four voices, two sentences each
MAX_EMBEDDED = 24  # sentences embedded per question (``SourceSettings.meaning``)
MEANING_ADMITS = 0.75  # rescaled similarity that admits a sentence one term short
MEANING_FLOOR = 0.3  # below it a sentence that has the terms is about something else
RUN_ON_CHARS = 300  # a statement with the sentences after it in its paragraph, up to this
# who speaks inside a compilation: a dated header line ("Onderzoek Indeed - 22 maart 2024",
# "ING-rapport - 12 april 2024", "FNV standpunt- 20 maart 2024") or "Volgens onderzoek van X"
_HEADER_RE = re.compile(
    r"^[ \t]*(?!\W)([^\n]{2,70}?)\s*[-–]\s*(?:\d{1,2}\s+[a-z]+\s+)?((?:19|20)\d\d)[ \t]*$",
    re.MULTILINE,
)
_HEADER_WORDS_RE = re.compile(
    r"^(?:onderzoek|rapport|enquête|peiling|studie)\s+(?:van\s+|door\s+)?|"
    r"[- ](?:rapport|onderzoek|standpunt|studie)$",
    re.IGNORECASE,
)
_NAME = r"([A-Z][\w&.]*(?:[ -][A-Z][\w&.]*){0,3})"
_SAID_BY_RE = re.compile(
    rf"\b(?:[Vv]olgens|[Uu]it)\s+(?:een\s+|het\s+)?onderzoek\s+(?:van|door)\s+"
    rf"(?:[a-z-]+\s+)?{_NAME}"
)
LOOK_BACK_PAGES = 2  # how far back a compilation's section header is looked for
# a question that asks for one source's view names it
_STUDY = r"(?:rapport|onderzoek|artikel|essay|studie|whitepaper|peiling|enquête|monitor)"
_NAMES_A_SOURCE_RE = re.compile(
    rf"\b(?:volgens|in|uit)\s+(?:het|dit|dat|de|deze)\s+{_STUDY}\b"  # "in het rapport"
    rf"|\w-{_STUDY}\b"  # "het ING-rapport", "het Werkmonitor-onderzoek"
    # "volgens (de) AWVN", "onderzoek van Indeed"
    rf"|\b(?:[Vv]olgens|{_STUDY}\s+(?:van|door))\s+(?:de\s+|het\s+)?[A-Z][\w&]{{2,}}",
)
# "voor of achter", "kost ... of levert ...": the alternatives are asked about as words
_ALTERNATIVES_RE = re.compile(r"\b(\w{3,})\s*,?\s+of\s+(?:\w+\s+){0,3}?(\w{3,})\b", re.I)
# a yes/no question starts with its verb: not with a question word, nor with a preposition
# that leads to one ("Bij wat voor organisaties ...", "In welke sector ...")
_YES_NO_RE = re.compile(
    r"^\s*(?!(?:(?:bij|in|op|voor|van|met|uit|naar|over|tot|door|aan|om|sinds|tijdens|"
    r"volgens|per)\s+)?(?:wat|wie|welke?|waar\w*|wanneer|hoe\w*|waarom)\b)"
    r"(?!(?:bij|in|op|voor|van|met|uit|naar|over|tot|door|aan|om|sinds|tijdens|volgens|per)\b)"
    r"[a-z]\w*\s+\w+",
    re.IGNORECASE,
)
_HOW_MUCH_RE = re.compile(
    r"\b(?:hoeveel|welk\s+deel|hoe\s+vaak|hoe\s+veel|hoe\s+groot|welk\s+percentage|"
    r"hoe\s+breed|in\s+welke\s+mate)\b",
    re.IGNORECASE,
)
# the user says the sources differ ("X zegt iets anders dan Y", "twee
# verschillende dingen", "ze zijn het oneens"): a named source then does not narrow the block
# (not "verschillende" alone: "Welke verschillende tools ..." asks for kinds; not "het
# verschil tussen X en Y": a comparison of groups, not of sources)
_CONTRAST_RE = re.compile(
    r"\b(?:(?:twee|heel)\s+verschillende|verschillende\s+(?:dingen|cijfers|getallen|"
    r"uitkomsten|conclusies|antwoorden|beelden)|oneens|tegenstrijdig\w*|tegenspr\w+|"
    r"spreken\s+elkaar\s+tegen|(?:iets|heel)\s+anders|lopen\s+uiteen|uiteenlopende?)\b",
    re.IGNORECASE,
)
# question words, fillers of spoken Dutch ("nou", "eigenlijk") and words about sources
# ("welke cijfers geven de bronnen daarover") are not what a sentence must share
_NOT_TOPIC = frozenset(
    analyse(
        "hoeveel deel percentage procent mate echt al nog wel nou eigenlijk daarover cijfers "
        "genoeg voldoende"
    )
) | frozenset(analyse(" ".join(sorted(META_WORDS))))
_ANYONE = frozenset(analyse("mensen personen"))
# a function word as alternative ("voor of achter") counts only as the start of a longer
# word ("voorop", "voorloper"): as a word of its own it is mostly a preposition
_FUNCTION_WORDS = frozenset("voor na om op in aan bij door over onder tegen".split())


@dataclass(frozen=True)
class Statement:
    passage: int  # number of the passage, from 1
    quote: str  # exact substring of the passage: the sentence
    voice: str  # who says it: the study a compilation quotes, else the organisation
    year: str
    score: float  # share of the question's terms, plus rescaled similarity when measured


def _topic(question: str) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """The terms a sentence must share with a broad question, and the raw alternatives
    ("voor", "achter") matched as word beginnings; None for other questions."""
    question = _without_contrast(question)
    how_much = _HOW_MUCH_RE.search(question)
    if not (how_much or _YES_NO_RE.match(question)):
        return None
    # "hoe breed", "hoe vaak" ask for an extent; elsewhere "breed" is the topic
    asked = _HOW_MUCH_RE.sub(" ", question)
    # "maakt zich zorgen", "doen ze": light verbs carry no topic (``figures.LIGHT``)
    terms = same_terms(asked) - _NOT_TOPIC - LIGHT
    alts = tuple(
        w.lower()
        for m in _ALTERNATIVES_RE.finditer(question)
        if m.group(2).lower() not in ("niet", "wel")  # "..., of niet?" asks yes or no
        for w in m.groups()
    )
    return (terms, alts) if terms else None


def _contrasts(question: str) -> bool:
    """The user says the sources differ on what is asked."""
    return bool(_CONTRAST_RE.search(question))


def _without_contrast(question: str) -> str:
    """``question`` without its sentences that only say the sources differ ("De bond zegt
    iets anders dan het ministerie."): their words are not the topic."""
    kept = [s for s in split_sentences(question) if not _CONTRAST_RE.search(s)]
    return " ".join(kept) if kept else question


def _one_source(question: str, passages: Sequence[object]) -> bool:
    """The question asks for one source's view: it names a source and does not say the
    sources differ."""
    if _contrasts(question):
        return False
    return bool(_NAMES_A_SOURCE_RE.search(question)) or _names_a_source(question, passages)


def asks_across(question: str, passages: Sequence[object]) -> bool:
    """The question is one the sources block may serve (broad, or asking a figure) and does
    not ask for one source's view: worth looking for other documents' answers too."""
    if _one_source(question, passages):
        return False
    return _topic(question) is not None or focus(question) is not None


def _speaker(text: str) -> tuple[str, str] | None:
    """The last study ``text`` names: (name, year or "")."""
    found: list[tuple[int, str, str]] = []
    for m in _HEADER_RE.finditer(text):
        name = _HEADER_WORDS_RE.sub("", m.group(1).strip()).strip(" -–,:")
        if name and len(name.split()) <= 6:
            found.append((m.start(), name, m.group(2)))
    found += [(m.start(), m.group(1).strip(), "") for m in _SAID_BY_RE.finditer(text)]
    if not found:
        return None
    _, name, year = max(found)
    return name, year


def _voice(chunk: object, before: str, earlier: str = "") -> tuple[str, str]:
    """The last study named up to the sentence's end (in the passage, else in the text of
    the document before it, ``earlier``), else the document's organisation."""
    year = year_of(str(getattr(chunk, "date", "") or ""))
    label = str(getattr(chunk, "organisation", "") or getattr(chunk, "title", "") or "")
    said = _speaker(before) or _speaker(earlier)
    if said:
        name, when = said
        return (f"{name} (in: {label})" if label else name), when or year
    return label or str(getattr(chunk, "source", "")), year


def _earlier_ids(chunk: object) -> list[str]:
    """Ids of the chunks before ``chunk`` in its document, up to ``LOOK_BACK_PAGES`` pages."""
    try:
        stem, page, index = str(getattr(chunk, "id", "")).rsplit(":", 2)
        p, i = int(page), int(index)
    except ValueError:
        return []
    ids = [f"{stem}:{q}:{j}" for q in range(max(1, p - LOOK_BACK_PAGES), p) for j in range(40)]
    return ids + [f"{stem}:{p}:{j}" for j in range(i)]


def _hits(sentence: str, terms: frozenset[str], alts: tuple[str, ...], context: str = "") -> int:
    """How many of the question's terms the sentence (or its ``context``: the heading of its
    section, perhaps the sentence before it) has; a long term also counts for a word of the
    same first six letters ("strategie" / "strategisch"), and an alternative for a word it
    begins ("achter" / "achterloper"; a function word only for a longer one)."""
    have = set(same_terms(sentence)) | set(same_terms(context) if context else ())
    stems = {t[:6] for t in have if len(t) >= 6}
    words = re.findall(r"\w+", sentence.lower())
    found = sum(1 for t in terms if t in have or (len(t) >= 6 and t[:6] in stems))
    return found + sum(1 for a in alts if any(_begins(w, a) for w in words))


def _begins(word: str, alternative: str) -> bool:
    if alternative in _FUNCTION_WORDS:
        return word.startswith(alternative) and len(word) > len(alternative) + 1
    return word.startswith(alternative)


def statements(
    question: str,
    passages: Sequence[object],
    lookup: Callable[[list[str]], Sequence[object]] | None = None,
    similarity: QuestionSimilarity | None = None,
    embed_limit: int = MAX_EMBEDDED,
) -> list[Statement]:
    """Per voice the passage sentences that best answer a broad ``question``, when two or
    more voices (documents, years, or studies a compilation quotes) answer it; else [].
    ``lookup`` (chunk ids -> chunks) lets a passage inside a compilation find the header of
    the study it belongs to in the chunks before it. ``similarity`` (question, sentences ->
    e5 cosines) ranks the sentences by meaning and admits one a term short of the rule
    (``_answering``), at most ``embed_limit`` sentences."""
    topic = _topic(question)
    if topic is None or _one_source(question, passages):
        return []
    found = _answering(question, topic, passages, similarity, embed_limit)

    def on_topic(piece: str) -> bool:  # a run-on sentence gives a figure or a term asked
        return bool(figures_in(piece)) or _hits(piece, *topic) > 0

    earlier = _earlier_texts([c for _, c, _, _, _ in found], lookup)
    by_voice: dict[tuple[str, str], list[Statement]] = {}
    seen: list[str] = []
    for n, chunk, start, sentence, score in sorted(found, key=lambda f: -f[4]):
        if any(near_duplicate(sentence, other) for other in seen):
            continue  # overlapping chunks, or a report's summary, repeat a sentence
        seen.append(sentence)
        text = str(getattr(chunk, "text", ""))
        # the sentence itself may name its study ("Volgens onderzoek van X ...")
        said_in = text[: start + len(sentence)]
        voice, year = _voice(chunk, said_in, earlier.get(str(getattr(chunk, "id", "")), ""))
        quote = _run_on(text, start, sentence, on_topic)
        by_voice.setdefault((voice, year), []).append(Statement(n, quote, voice, year, score))
    if len(by_voice) < 2:
        return []
    # the best voices first; every voice its best sentence before any voice a second one
    voices = sorted(by_voice.values(), key=lambda v: -v[0].score)[:MAX_VOICES]
    ranked = [_apart(v)[:PER_VOICE] for v in voices]
    chosen = [v[r] for r in range(PER_VOICE) for v in ranked if r < len(v)][:MAX_STATEMENTS]
    keep = {id(s) for s in chosen}
    flat_order = [s for v in ranked for s in v if id(s) in keep]
    return sorted(flat_order, key=lambda s: (s.year or "9999", s.voice))


def _answering(
    question: str,
    topic: tuple[frozenset[str], tuple[str, ...]],
    passages: Sequence[object],
    similarity: QuestionSimilarity | None,
    embed_limit: int = MAX_EMBEDDED,
) -> list[tuple[int, object, int, str, float]]:
    """(passage number, chunk, offset, sentence, score) of the sentences that answer.

    The term rule: a sentence shares ``need`` of the question's terms (its section heading
    counts, and the sentence before it for one a term short by itself: ``_in_context``); a
    "hoeveel" question also needs an amount (``has_amount``). With ``similarity``, the
    sentences that share at least one term fewer are embedded (at most ``embed_limit``, the
    most terms first) and, for a yes/no question, one a term short is admitted when its
    meaning is close (``MEANING_ADMITS``); one whose meaning is far (below
    ``MEANING_FLOOR``) is dropped even with all the terms. Score: the share of terms plus the
    rescaled similarity, so meaning decides among sentences with the same terms."""
    terms, alts = topic
    # words every passage shares ("AI", "gebruik") make two hits cheap: three when there are
    total = len(terms) + len(alts)
    need = max(min(3, total), math.ceil(0.4 * total))
    wants_figure = bool(_HOW_MUCH_RE.search(question))
    # a term short only for a yes/no question: sentences with a share of "AI use" are all
    # close in meaning to any "hoeveel" question about AI use (noise on the fact questions)
    near = need - 1 if similarity is not None and need > 1 and not wants_figure else need
    group = _asked_group(question) if wants_figure else frozenset()
    cands: list[tuple[int, object, int, str, int]] = []
    for n, chunk in enumerate(passages, start=1):
        text, heading = str(getattr(chunk, "text", "")), str(getattr(chunk, "heading", "") or "")
        for start, sentence, section, before in _in_context(text, heading):
            if len(sentence) < 25 or (wants_figure and not has_amount(sentence)):
                continue
            if sentence.endswith(":") or heading_like(sentence) or has_link(sentence):
                continue  # a list's lead-in, a heading or a footnote's link states nothing
            if group and not group & same_terms(sentence):
                continue  # a share of another group ("hoeveel werkzoekenden ...")
            hits = _hits(sentence, terms, alts, section)
            # the subject named one sentence earlier, for a sentence a term short of its own
            if before and hits < need and _hits(sentence, terms, alts) == need - 1:
                hits = _hits(sentence, terms, alts, f"{section} {before}")
            if hits >= near:
                cands.append((n, chunk, start, sentence, hits))
    meaning = _meaning(question, cands, similarity, embed_limit)
    out: list[tuple[int, object, int, str, float]] = []
    for i, (n, chunk, start, sentence, hits) in enumerate(cands):
        sim = meaning.get(i)
        if hits < need and (sim is None or sim < MEANING_ADMITS):
            continue  # a term short: only when the meaning answers
        if sim is not None and sim < MEANING_FLOOR:
            continue  # the question's words, another subject
        out.append((n, chunk, start, sentence, hits / total + (sim or 0.0)))
    return out


def _in_context(text: str, heading: str) -> Iterator[tuple[int, str, str, str]]:
    """(offset, sentence, section heading, sentence before) of the sentences of ``text``.
    What a sentence leaves unsaid stands there: the heading of its section (the last heading
    line above it in the chunk, else the chunk's heading: a list item under "Impact op
    werknemers") and the sentence before it in its paragraph, whose subject a finding often
    does not repeat ("De meeste werknemers ... Slechts 26% maakt ..."; a list item is a
    paragraph of its own)."""
    previous, last_end = "", 0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        same_paragraph = "\n" not in text[last_end:start]
        yield start, sentence, heading, previous if same_paragraph else ""
        if heading_like(sentence):
            heading, previous = sentence, ""
        else:
            previous = sentence
        last_end = end


def _meaning(
    question: str,
    cands: list[tuple[int, object, int, str, int]],
    similarity: QuestionSimilarity | None,
    limit: int,
) -> dict[int, float]:
    """Rescaled e5 similarity (0-1, the quote ranking's scale) of the candidates with the
    most terms, by index; at most ``limit`` are embedded (e5 costs ~1/30 to 1/5 s a
    sentence on two cores; the service caches the vectors)."""
    if similarity is None or not cands or limit <= 0:
        return {}
    order = sorted(range(len(cands)), key=lambda i: (-cands[i][4], cands[i][0]))
    chosen = order[:limit]
    cosines = similarity(question, [cands[i][3] for i in chosen])
    return {i: rescale_similarity(c) for i, c in zip(chosen, cosines, strict=True)}


def _run_on(
    text: str, start: int, sentence: str, on_topic: Callable[[str], bool] = lambda _: True
) -> str:
    """The sentence with the sentences after it in its paragraph that stay ``on_topic``, up
    to ``RUN_ON_CHARS`` (an exact substring of ``text``): a finding is often stated first
    and given its figure in the next sentence ("Nederland loopt achter. 39% investeert niet
    ..."), while an aside after it only adds noise."""
    end = start + len(sentence)
    for s, e in sentence_spans(text):
        if s < end:
            continue
        piece = text[s:e]
        if "\n" in text[end:s] or heading_like(piece) or not on_topic(piece):
            break  # a new line (paragraph, list item), a heading, or an aside
        if e - start > RUN_ON_CHARS:
            break
        end = e
    return text[start:end]


def _apart(voice: list[Statement]) -> list[Statement]:
    """A voice's statements best first, without one a better one's run-on already holds."""
    out: list[Statement] = []
    for st in sorted(voice, key=lambda s: -s.score):
        if not any(st.quote in other.quote or other.quote in st.quote for other in out):
            out.append(st)
    return out


def _asked_group(question: str) -> frozenset[str]:
    """Whom a "hoeveel X ..." question counts (``figures.focus``), unless it is anyone."""
    want = focus(question)
    return want.group - _ANYONE if want else frozenset()


def _earlier_texts(
    chunks: list[object], lookup: Callable[[list[str]], Sequence[object]] | None
) -> dict[str, str]:
    """Per chunk id the text of its document before it (one look-up for all chunks)."""
    if lookup is None or not chunks:
        return {}
    wanted = {str(getattr(c, "id", "")): _earlier_ids(c) for c in chunks}
    ids = sorted({i for v in wanted.values() for i in v})
    by_id = {str(getattr(c, "id", "")): str(getattr(c, "text", "")) for c in lookup(ids)}
    return {cid: "\n\n".join(by_id[i] for i in v if i in by_id) for cid, v in wanted.items()}


def _quoted(quote: str) -> str:
    """A source's words on one line of the block, between Dutch quotation marks."""
    return f"„{nest_quotes(' '.join(quote.split()))}”"


def _names_a_source(question: str, passages: Sequence[object]) -> bool:
    """The question names the organisation of one of the passages ("Wat zegt Integron ...")."""
    words = set(re.findall(r"\w+", question.lower()))
    for chunk in passages:
        org = str(getattr(chunk, "organisation", "") or "")
        first = re.findall(r"\w+", org.lower())[:1]
        if first and len(first[0]) > 2 and first[0] in words:
            return True
    return False


def _one_version(passages: Sequence[Chunk], more: Sequence[Chunk]) -> list[Chunk]:
    """``more`` without other versions of a document (same title, other source): the
    passages' version wins (retrieval already chose it, see ``dates.supersede``), else the
    newest candidate's."""
    chosen = {title_key(c.title): c.source for c in passages if c.title}
    for c in sorted(more, key=lambda c: sort_key(c.date), reverse=True):
        if c.title:
            chosen.setdefault(title_key(c.title), c.source)
    return [c for c in more if not c.title or chosen[title_key(c.title)] == c.source]


def statements_block(
    found: list[Statement], pool: Sequence[Chunk], citations: list[Citation]
) -> tuple[str, list[Citation]]:
    """The Dutch block giving each voice's sentences verbatim, each cited: ``pool`` holds
    the chunks the statements' passage numbers refer to."""
    citations = list(citations)
    lines = [STATEMENTS_INTRO]
    for st in found:
        chunk = pool[st.passage - 1]
        quote = _clip(st.quote, RUN_ON_CHARS)
        n = next((c.n for c in citations if c.chunk.id == chunk.id), None)
        if n is None:
            n = max((c.n for c in citations), default=0) + 1
        if not any(c.n == n and c.quote == quote for c in citations):
            citations.append(Citation(n, chunk, quote))
        who = ", ".join(x for x in (st.voice, st.year or "zonder jaar") if x)
        lines.append(f"- {who}: {_quoted(quote)} [{n}]")
    return "\n".join(lines) + "\n\n" + STATEMENTS_OUTRO, citations
