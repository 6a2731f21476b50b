"""Sentence windows of every chunk, embedded at ingest, for passage-level reranking.

A chunk of ~180 tokens holds four or five sentences; its one e5 vector averages them, so a
chunk whose answer is one sentence among others about something else ranks below chunks that
are about the question's topic throughout. Reranking scores each fused candidate by its best
*window* (``size`` consecutive sentences, cut by the one Dutch splitter,
``assistant.dutch.sentences``): the cosine of the question to the passage's most relevant
part. ``Retriever`` adds that as one more ranking to the fusion (``window_weight``).

Trade-off: e5 embeds ~5 passages a second on two cores, so windows cannot be embedded at query
time: they are embedded at ingest (about three per chunk, so ingest takes ~3x as long) and
kept in a file next to the keyword index (``Store.windows_dir``), not in Chroma: a reranker
reads the windows of 30 known chunks, which is a dictionary lookup here and a metadata scan in
Chroma. Vectors are stored as float16 (half the memory; cosines change in the fourth decimal)
and memory-mapped, so a large index costs disk, not memory. A window whose text is unchanged
keeps its vector on the next ingest (keyed by a hash of the text and the embedder), so only
new and changed documents are embedded again. A reader without the file (another replica, an
index from before windows) ranks without them and says so in the log once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.chunks import Chunk
from assistant.dutch.sentences import split_spans

FORMAT = 1
EMBED_BATCH = 32  # windows per embedder call (progress is reported per batch)


def windows_of(text: str, size: int) -> list[str]:
    """The runs of ``size`` consecutive sentences of ``text`` (stride one sentence).

    A text of ``size`` sentences or fewer is one window (the whole text, trimmed), so every
    chunk has at least one.
    """
    spans = split_spans(text)
    if len(spans) <= size:
        whole = text.strip()
        return [whole] if whole else []
    return [text[spans[i][0] : spans[i + size - 1][1]] for i in range(len(spans) - size + 1)]


def window_key(text: str, model: str) -> str:
    return hashlib.sha1(f"{model}\x00{text}".encode()).hexdigest()[:20]


@dataclass
class WindowIndex:
    """Window vectors of a set of chunks: rows ``starts[i]:starts[i+1]`` belong to ``ids[i]``."""

    size: int
    model: str
    ids: list[str]
    starts: np.ndarray  # int64, len(ids) + 1
    vectors: np.ndarray  # (windows, dim), L2-normalised rows
    keys: list[str]  # window_key of every row (reuse on the next ingest)
    _row: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._row = {cid: i for i, cid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(
        cls,
        chunks: Sequence[Chunk],
        embed: Callable[[list[str]], list[list[float]]],
        size: int,
        model: str,
        previous: WindowIndex | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> WindowIndex:
        """Windows of ``chunks``, embedded by ``embed`` (passages); rows of ``previous`` with
        the same text, size and model are reused instead of embedded again."""
        texts: list[str] = []
        starts = [0]
        for chunk in chunks:
            texts.extend(windows_of(chunk.text, size))
            starts.append(len(texts))
        keys = [window_key(t, model) for t in texts]
        known: dict[str, np.ndarray] = {}
        if previous is not None and previous.size == size and previous.model == model:
            wanted = set(keys)
            known = {k: previous.vectors[i] for i, k in enumerate(previous.keys) if k in wanted}
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))
        for i in range(0, len(todo), EMBED_BATCH):
            batch = todo[i : i + EMBED_BATCH]
            for text, vec in zip(batch, embed(batch), strict=True):
                known[window_key(text, model)] = np.asarray(vec, dtype=np.float32)
            if progress is not None:
                progress(min(i + EMBED_BATCH, len(todo)), len(todo))
        dim = len(next(iter(known.values()))) if known else 0
        matrix = np.zeros((len(keys), dim), dtype=np.float16)
        for row, key in enumerate(keys):
            v = np.asarray(known[key], dtype=np.float32)
            matrix[row] = v / (np.linalg.norm(v) or 1.0)
        return cls(size, model, [c.id for c in chunks], np.asarray(starts, np.int64), matrix, keys)

    def best(self, vector: Sequence[float], ids: Sequence[str]) -> dict[str, float]:
        """Chunk id -> highest cosine of ``vector`` to one of its windows, for the ``ids``
        that have windows (the others are left out)."""
        q = np.asarray(vector, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        out: dict[str, float] = {}
        for cid in ids:
            i = self._row.get(cid)
            if i is None:
                continue
            a, b = int(self.starts[i]), int(self.starts[i + 1])
            if b > a:
                out[cid] = float(np.max(np.asarray(self.vectors[a:b], np.float32) @ q))
        return out

    def search(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The ``k`` chunks with the highest best-window cosine, best first (exact: one
        matrix product over every window)."""
        if not self.ids or len(self) == 0:
            return []
        q = np.asarray(vector, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        sims = np.asarray(self.vectors, dtype=np.float32) @ q
        starts = self.starts[:-1]
        has = self.starts[1:] > starts
        best = np.full(len(self.ids), -np.inf, dtype=np.float32)
        best[has] = np.maximum.reduceat(sims, starts[has])
        k = min(k, int(has.sum()))
        top = np.argpartition(-best, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.argsort(-best[top], kind="stable")]
        return [(self.ids[i], float(best[i])) for i in top]

    # -- files -------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write to ``path`` (a new folder per generation) via a temporary sibling and a
        rename, so a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            np.save(tmp / "vectors.npy", np.asarray(self.vectors, dtype=np.float16))
            meta = {
                "format": FORMAT,
                "size": self.size,
                "model": self.model,
                "ids": self.ids,
                "starts": [int(s) for s in self.starts],
                "keys": self.keys,
            }
            (tmp / "index.json").write_text(json.dumps(meta), encoding="utf-8")
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: Path) -> WindowIndex:
        """Raises OSError or ValueError when the folder is missing or not a window index."""
        meta = json.loads((path / "index.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown window index format {meta.get('format')!r}")
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        starts = np.asarray(meta["starts"], dtype=np.int64)
        if len(starts) != len(meta["ids"]) + 1 or int(starts[-1]) != len(vectors):
            raise ValueError("window index is inconsistent")
        return cls(
            int(meta["size"]), str(meta["model"]), meta["ids"], starts, vectors, meta["keys"]
        )
