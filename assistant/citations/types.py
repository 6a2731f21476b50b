"""The values of the answer check: numbered passages, sentence verdicts, citations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.chunks import Chunk

QUOTE_OPEN, QUOTE_CLOSE = "„", '"'
_INNER = str.maketrans({"„": "‚", "“": "‘", "”": "’", '"': "'"})


def nest_quotes(text: str) -> str:
    """``text`` ready to stand between quote marks: a quotation that is wholly quoted in the
    source (a focus-group remark “…”) loses its own marks, and double quote marks inside become
    single ones („… ‘Wat voor mensen heb je in huis?’ …"), as Dutch typography nests them.
    Only for display: citations keep the source's exact words for finding them on the page."""
    t = text.strip()
    if len(t) > 2 and t[0] in '“„"' and t[-1] in '”"' and not any(q in t[1:-1] for q in '“„”"'):
        return t[1:-1].strip()
    return t.translate(_INNER)


Status = Literal["ok", "added", "corrected", "unsupported"]
Mode = Literal["answer", "quotes", "refusal"]


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
