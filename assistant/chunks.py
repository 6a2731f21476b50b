"""The unit the whole pipeline passes around: a chunk of one page of one document.

A chunk's id is ``stem:page:index`` (stable across runs, so re-ingest is an idempotent upsert
and an id is a citation). Chroma metadata must be flat scalars, so ``to_metadata`` /
``from_metadata`` are the one place that maps between the two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class DocumentInfo:
    """What a citation shows about a document (from its sidecar, the file, or its name)."""

    source: str  # file name, e.g. "003_90755cba00074a80.pdf"
    title: str
    organisation: str = ""
    date: str = ""
    kind: str = ""
    collection: str = "algemeen"  # access group; see the access issue


@dataclass(frozen=True)
class Chunk:
    id: str  # "stem:page:index"
    text: str
    source: str
    page: int  # 1-based page number; 1 for formats without pages
    index: int  # position of the chunk within its page
    title: str = ""
    organisation: str = ""
    date: str = ""
    kind: str = ""
    collection: str = "algemeen"
    heading: str = ""  # nearest heading above the chunk, if any
    start: int = 0  # character offsets of ``text`` within the cleaned page text
    end: int = 0
    doc_hash: str = ""  # content hash of the whole source file

    @property
    def stem(self) -> str:
        return self.id.split(":", 1)[0]

    def to_metadata(self) -> dict[str, str | int]:
        meta = asdict(self)
        meta.pop("id")
        meta.pop("text")
        return meta

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict) -> Chunk:
        known = {f.name for f in fields(cls)} - {"id", "text"}
        kwargs = {k: v for k, v in (meta or {}).items() if k in known}
        return cls(id=chunk_id, text=text, **kwargs)


def chunk_id(stem: str, page: int, index: int) -> str:
    return f"{stem}:{page}:{index}"


@dataclass
class ScoredChunk:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float  # fused score used for ranking
    dense: float | None = None  # cosine similarity from the vector search
    keyword: float | None = None  # BM25 score
    ranks: dict[str, int] = field(default_factory=dict)


def indexed_text(chunk: Chunk, *, title: bool = True) -> str:
    """The text a chunk is *found by*: its document's title and its section heading above its
    own text. A chunk in the middle of a section ("Ten tweede kan AI ...") does not repeat
    what the section is about ("2. Vakmatige efficiëntie") nor which report it is from, so a
    question that names either would miss it. Only the search sees this; the passage shown
    and cited stays ``chunk.text``. The heading is left out when the text starts with it."""
    parts = [chunk.title] if title and chunk.title else []
    heading = chunk.heading.strip()
    if heading and not chunk.text.lstrip().startswith(heading):
        parts.append(heading)
    parts.append(chunk.text)
    return "\n".join(parts)


# the headings of the parts of a report that sum it up ("Samenvatting", "Conclusies en
# aanbevelingen", "Algemeen besluit", "Kortom"); a summary proper comes first
SUMMING_HEADING_RE = re.compile(
    r"samenvat|samengevat|conclusie|besluit|kortom|tot slot|slotsom|summary|conclusion", re.I
)
SUMMARY_HEADING_RE = re.compile(r"samenvat|samengevat|summary", re.I)


def summary_chunks(chunks: Sequence[Chunk], k: int) -> list[Chunk]:
    """The ``k`` chunks of one document that sum it up: those under a summary or conclusion
    heading, the first chunk of each such section before the rest (four chunks cover four
    sections rather than one long one; a summary proper first); a document without such a
    heading (a news item, an essay) is summed up by its opening."""
    ordered = sorted(chunks, key=lambda c: (c.page, c.index))
    sections: list[list[Chunk]] = []
    for c in ordered:
        if sections and sections[-1][0].heading == c.heading:
            sections[-1].append(c)
        else:
            sections.append([c])
    summing = [s for s in sections if SUMMING_HEADING_RE.search(s[0].heading)]
    if not summing:
        return ordered[:k]
    summing.sort(key=lambda s: not SUMMARY_HEADING_RE.search(s[0].heading))
    return ([s[0] for s in summing] + [c for s in summing for c in s[1:]])[:k]


@dataclass(frozen=True)
class Passage:
    """A numbered passage as given to the model."""

    n: int
    chunk: Chunk
