"""The values of the answer check: numbered passages, sentence verdicts, citations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.chunks import Chunk

QUOTE_OPEN, QUOTE_CLOSE = "„", '"'

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
