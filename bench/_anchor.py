"""The plain recipe, for the lab only (the evaluation's anchor in bench/retrieval.py is the
reference): 900-character chunks (RecursiveCharacterTextSplitter, 150 overlap) of the cleaned
page text, e5-small, the project's Dutch BM25, plain RRF k=60 over 40 candidates each;
nothing else (no rewrite, no routing, no floor)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.chunks import Chunk, ScoredChunk

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/retrieval_anchor_cache.json")


@dataclass
class _Res:
    query: str
    passages: list[ScoredChunk]
    relevant: bool = True


class PlainRecipe:
    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, emb) -> None:  # noqa: ANN001
        from assistant.keyword import KeywordIndex

        self.chunks = chunks
        self.by_id = {c.id: c for c in chunks}
        self.vectors = vectors
        self.emb = emb
        self.kw = KeywordIndex.build(chunks)

    @classmethod
    def load(cls) -> PlainRecipe:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.embeddings import make_embeddings
        from assistant.settings import load_settings
        from ingest import loaders
        from ingest.clean import clean_document

        settings = load_settings()
        splitter = RecursiveCharacterTextSplitter(chunk_size=900, chunk_overlap=150)
        chunks = []
        for path in sorted((ROOT / "corpus").iterdir()):
            if not loaders.is_supported(path) or loaders.is_sidecar(path):
                continue
            raw = loaders.load(path)
            info = loaders.document_info(path, loaders.read_sidecar(path), raw.meta)
            for page in clean_document(raw, info.title):
                for i, text in enumerate(splitter.split_text(page.text)):
                    chunks.append(
                        Chunk(
                            id=f"{path.stem}:{page.number}:{i}",
                            text=text,
                            source=path.name,
                            page=page.number,
                            index=i,
                        )
                    )
        emb = make_embeddings(settings.embeddings)
        cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
        todo = [c.text for c in chunks if _h(c.text) not in cache]
        for text, vec in zip(todo, emb.embed_documents(todo), strict=True):
            cache[_h(text)] = vec
        if todo:
            CACHE.write_text(json.dumps(cache))
        vectors = np.asarray([cache[_h(c.text)] for c in chunks], dtype=np.float32)
        return cls(chunks, vectors, emb)

    def retrieve(self, question, history=None, *, mode="hybrid", top_k=4, previous=None):  # noqa: ANN001, ANN201
        q = np.asarray(self.emb.embed_query(question), dtype=np.float32)
        sims = self.vectors @ q
        dense = [self.chunks[i].id for i in np.argsort(-sims)[:40]]
        kw = [cid for cid, _ in self.kw.search(question, 40)]
        scores: dict[str, float] = {}
        for ranking in (dense, kw):
            for r, cid in enumerate(ranking, 1):
                scores[cid] = scores.get(cid, 0.0) + 1 / (60 + r)
        ordered = sorted(scores, key=lambda c: -scores[c])[:top_k]
        return _Res(question, [ScoredChunk(self.by_id[c], scores[c]) for c in ordered])


def _h(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()
