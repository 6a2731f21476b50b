"""A briefing on a topic: cited points per section (aanleiding, kernpunten, cijfers,
aanbevelingen) and a list of sources, built from ordinary assistant answers.

For each section the assistant answers one to three sub-questions (``prompts/briefing.md``;
the length setting picks how many). Every answer goes through the same retrieval and citation
check as a chat answer (``Assistant.answer``), and only sentences that the check supported
become points, each with the passage and the exact quote that backs it. Points repeated by
several sub-questions are kept once. Sources are numbered over the whole briefing in order of
first use.

Trade-off: sub-questions instead of one long "write a briefing" prompt. A small local model
cannot write a long structured text with reliable citations, but it answers a focused question
in a few checkable sentences; the structure comes from the sections, not from the model.

Restricting a briefing to chosen documents: ``Assistant.ask(..., sources=...)`` searches
wider and keeps only the passages of those documents; the answer is generated and checked
like any other.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assistant.errors import AssistantError
from assistant.export import ExportDoc, Note, note_text, source_label
from assistant.limits import RateLimited
from assistant.safety import sanitize_model_output

if TYPE_CHECKING:
    from assistant.chunks import Chunk
    from assistant.figures import Figure
    from assistant.service import Answer, Assistant

log = logging.getLogger(__name__)

Length = Literal["kort", "normaal", "uitgebreid"]
QUESTIONS_PER_SECTION: dict[str, int] = {"kort": 1, "normaal": 2, "uitgebreid": 3}
POINTS_PER_SECTION: dict[str, int] = {"kort": 3, "normaal": 5, "uitgebreid": 8}
MAX_TOPIC_CHARS = 200
Progress = Callable[[int, int, str], None]  # (done, total, Dutch label)

_MARKERS_RE = re.compile(r"\s*\[\d{1,3}\]")


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    questions: tuple[str, ...]


def load_sections(prompts_dir: Path) -> list[SectionSpec]:
    """The sections and their sub-questions from ``prompts/briefing.md``."""
    path = Path(prompts_dir) / "briefing.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssistantError(f"Het bestand met de briefingvragen ontbreekt ({path.name}).") from exc
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    sections: list[SectionSpec] = []
    key = title = ""
    questions: list[str] = []
    for line in [*text.splitlines(), "## einde: einde"]:
        head = re.match(r"^##\s*([\w-]+)\s*:\s*(.+?)\s*$", line)
        if head:
            if key and questions:
                sections.append(SectionSpec(key, title, tuple(questions)))
            key, title, questions = head.group(1), head.group(2), []
        elif line.strip().startswith("- ") and key:
            questions.append(line.strip()[2:].strip())
    return sections


@dataclass(frozen=True)
class BriefingPoint:
    text: str  # the checked sentence, markers removed (model text: sanitize before showing)
    source: int  # number in ``Briefing.sources``
    quote: str  # exact substring of the source passage that backs the point
    note: str = ""  # "Let op: deze bron is uit 2019." when the point rests on an old source
    measure: str = ""  # Cijfers: what the point's figure measures, in the source's words


def source_year(chunk: Chunk) -> str:
    """ "Integron, 2025": who says it and when (for figures)."""
    from assistant.dates import year_of

    who = chunk.organisation or chunk.title or chunk.source
    return ", ".join(x for x in (who, year_of(chunk.date) or "zonder jaar") if x)


def group_by_measure(points: list[BriefingPoint], chunks: dict[int, Chunk]) -> list[BriefingPoint]:
    """Points with a figure grouped by what the figure measures (``figures.cluster``), each
    labelled with that measure; points without a figure keep their order at the end."""
    from assistant.figures import cluster, figures_in, measure_label

    first: dict[int, Figure] = {}
    for i, p in enumerate(points):
        chunk = chunks[p.source]
        figs = figures_in(p.quote, p.source, chunk) or figures_in(p.text, p.source, chunk)
        if figs:
            first[i] = figs[0]
    by_fig = {id(f): i for i, f in first.items()}
    out: list[BriefingPoint] = []
    for group in cluster(first.values()):
        label = measure_label(group[0])
        out += [dataclasses.replace(points[by_fig[id(f)]], measure=label) for f in group]
    return out + [p for i, p in enumerate(points) if i not in first]


@dataclass
class BriefingSection:
    key: str
    title: str
    points: list[BriefingPoint] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)  # the queries actually searched


@dataclass
class BriefingSource:
    n: int
    chunk: Chunk
    quotes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return source_label(self.chunk)


@dataclass
class Briefing:
    topic: str
    length: str
    sections: list[BriefingSection]
    sources: list[BriefingSource]
    model: str = ""
    documents: list[str] = field(default_factory=list)  # document titles it was limited to
    notices: list[str] = field(default_factory=list)  # e.g. the model was unavailable
    created_at: datetime = field(default_factory=datetime.now)
    seconds: float = 0.0

    @property
    def point_count(self) -> int:
        return sum(len(s.points) for s in self.sections)

    def to_export(self) -> ExportDoc:
        doc = ExportDoc(f"Briefing: {self.topic}")
        scope = ", ".join(self.documents) if self.documents else "alle documenten"
        doc.add(
            "meta",
            f"Gemaakt op {self.created_at:%d-%m-%Y %H:%M} · lengte: {self.length}"
            f" · model: {self.model} · bronnen: {scope}",
        )
        doc.add(
            "meta",
            "Elk punt is gecontroleerd tegen de geciteerde passage; de voetnoot "
            "geeft de bron en het letterlijke citaat.",
        )
        for notice in self.notices:
            doc.add("meta", notice)
        by_n = {s.n: s for s in self.sources}
        for section in self.sections:
            doc.add("heading", section.title)
            if not section.points:
                doc.add("meta", "De bronnen zeggen hier niets over.")
            measure = ""
            for p in section.points:
                if p.measure and p.measure != measure:
                    doc.add("subheading", p.measure)
                measure = p.measure
                chunk = by_n[p.source].chunk
                text = sanitize_model_output(p.text).replace("\\$", "$")
                after = f" ({source_year(chunk)})" if section.key == "cijfers" else ""
                after += f" {p.note}" if p.note else ""
                doc.add("bullet", text, Note(note_text(chunk, p.quote)), after)
        if self.sources:
            doc.add("heading", "Bronnen")
            for s in self.sources:
                doc.add("numbered", s.label)
        return doc


def points_of(answer: Answer) -> list[tuple[str, Chunk, str]]:
    """(text, passage, quote) for each supported, substantive sentence of a checked answer."""
    if answer.checked is None or answer.mode == "refusal":
        return []
    out: list[tuple[str, Chunk, str]] = []
    for s in answer.checked.sentences:
        if s.trivial or not s.supported or s.status == "unsupported" or not s.quote:
            continue
        if s.passage is None or not 1 <= s.passage <= len(answer.passages):
            continue
        text = _MARKERS_RE.sub("", s.text).strip()
        if text and not text.endswith(":"):  # "De bevindingen zijn:" introduces, says nothing
            out.append((text, answer.passages[s.passage - 1], s.quote))
    return out


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def ask_limited(
    assistant: Assistant,
    question: str,
    documents: Sequence[str] | None = None,
    collections: set[str] | None = None,
) -> Answer:
    """``assistant.answer(question)`` within the user's ``collections``, limited to
    ``documents`` (source names) when given."""
    if not documents:
        return assistant.answer(question, collections=collections)
    return assistant.answer(question, collections=collections, sources=set(documents))


def _asked(
    ask: Callable[[str], Answer], question: str, briefing: Briefing, left: int, total: int
) -> Answer | None:
    """The answer to one sub-question, or None (and a notice) once over the rate limit."""
    try:
        return ask(question)
    except RateLimited as exc:
        briefing.notices.append(
            f"{exc.message} {left} van de {total} deelvragen zijn daarom niet gesteld."
        )
        return None


def _date_points(assistant: Assistant, briefing: Briefing) -> None:
    """Age notes on points that rest on an old source; figures grouped in "Cijfers"."""
    from assistant.dates import age_note

    today = assistant.today()
    limit = assistant.settings.sources.max_age_years
    chunks = {s.n: s.chunk for s in briefing.sources}
    for section in briefing.sections:
        section.points = [
            dataclasses.replace(p, note=age_note([chunks[p.source].date], today, limit))
            for p in section.points
        ]
        if section.key == "cijfers":
            section.points = group_by_measure(section.points, chunks)


def make_briefing(
    assistant: Assistant,
    topic: str,
    *,
    documents: Sequence[str] | None = None,
    length: str = "normaal",
    collections: set[str] | None = None,
    progress: Progress | None = None,
    ask: Callable[[str], Answer] | None = None,
    budget: Callable[[int], None] | None = None,
) -> Briefing:
    """Build a briefing on ``topic`` (see module doc); ``progress(done, total, label)``.

    ``collections`` are the user's access groups (None = all), as for ``Assistant.ask``.
    ``ask(question) -> Answer``: how a sub-question is asked; the page and the API pass the
    front door (``assistant.frontdoor``: rate limit per sub-question, stripping, audit), which
    also carries the user's collections and the chosen documents. ``budget(n)`` is called
    once with the number of sub-questions before any is asked and raises (a Dutch
    ``RateLimited`` saying how long to wait) when they do not all fit: the whole briefing or
    nothing. Should the limit still be hit half-way (another tab of the same user), the
    briefing stops asking and says so in a notice.
    """
    topic = _valid_topic(topic, length)
    t0 = time.perf_counter()
    specs = load_sections(assistant.settings.prompts_dir)
    plan = _plan(specs, topic, length)
    if budget:
        budget(len(plan))
    briefing = Briefing(
        topic=topic,
        length=length,
        sections=[BriefingSection(spec.key, spec.title) for spec in specs],
        sources=[],
        model=assistant.chat.label,
        documents=_titles(assistant, documents),
    )
    sections = {s.key: s for s in briefing.sections}
    collector = _Collector(POINTS_PER_SECTION[length])
    ask_one = ask or (lambda q: ask_limited(assistant, q, documents, collections))
    for i, (spec, question) in enumerate(plan):
        if progress:
            progress(i, len(plan), f"{spec.title}: vraag {i + 1} van {len(plan)}")
        section = sections[spec.key]
        answer = _asked(ask_one, question, briefing, len(plan) - i, len(plan))
        if answer is None:
            break
        section.questions.append(question)
        section.searched.append(answer.query)
        if answer.mode == "unavailable" and answer.notice and answer.notice not in briefing.notices:
            briefing.notices.append(answer.notice)
        collector.add(section, answer)
    briefing.sources = list(collector.sources.values())
    _date_points(assistant, briefing)
    briefing.seconds = time.perf_counter() - t0
    if progress:
        progress(len(plan), len(plan), "Klaar")
    return briefing


def _plan(specs: list[SectionSpec], topic: str, length: str) -> list[tuple[SectionSpec, str]]:
    """(section, sub-question) in the order they are asked."""
    per_section = QUESTIONS_PER_SECTION[length]
    return [
        (spec, q.replace("{onderwerp}", topic))
        for spec in specs
        for q in spec.questions[:per_section]
    ]


def _valid_topic(topic: str, length: str) -> str:
    topic = " ".join(topic.split())
    if not topic:
        raise AssistantError("Geef een onderwerp voor de briefing.")
    if len(topic) > MAX_TOPIC_CHARS:
        raise AssistantError(f"Het onderwerp is te lang (maximaal {MAX_TOPIC_CHARS} tekens).")
    if length not in QUESTIONS_PER_SECTION:
        raise AssistantError("Kies als lengte kort, normaal of uitgebreid.")
    return topic


def _titles(assistant: Assistant, documents: Sequence[str] | None) -> list[str]:
    """The titles of the chosen documents (their source name when the index has none)."""
    manifest = assistant.store.manifest()
    by_source = {d.source: d for d in manifest.documents.values()} if manifest else {}
    return [(by_source[n].title if n in by_source else "") or n for n in documents or ()]


@dataclass
class _Collector:
    """Points over the whole briefing: each once, at most ``limit`` per section; sources
    numbered in order of first use."""

    limit: int
    sources: dict[str, BriefingSource] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def add(self, section: BriefingSection, answer: Answer) -> None:
        for text, chunk, quote in points_of(answer):
            key = _key(text)
            if key in self.seen or len(section.points) >= self.limit:
                continue
            self.seen.add(key)
            source = self.sources.get(chunk.id)
            if source is None:
                source = self.sources[chunk.id] = BriefingSource(len(self.sources) + 1, chunk)
            if quote not in source.quotes:
                source.quotes.append(quote)
            section.points.append(BriefingPoint(text, source.n, quote))
