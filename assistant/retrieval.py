"""Hybrid retrieval for Dutch questions: dense e5 search + Dutch BM25, fused by rank.

Dense search (multilingual-e5-small) finds paraphrases ("AI inzetten" ~ "kunstmatige
intelligentie gebruiken"); the keyword index (``assistant.keyword``: Dutch stemming, compound
splitting) finds exact figures, names and rare terms that a 384-dimension embedding blurs.
Reciprocal rank fusion combines the two rankings without calibrating their scores against each
other. Then near-duplicates are dropped (the KPN survey is reported in two documents) and the
passages per document are capped, so the context covers more than one passage's wording.

Relevance floor: e5 cosine similarities are compressed (unrelated Dutch text still scores
~0.78), so the floor looks at the best dense score *and* at whether the keyword index matched
the question's content words at all; only when both are weak is the question refused.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from assistant.chunks import Chunk, ScoredChunk
from assistant.errors import IndexMissing
from assistant.llm import Message
from assistant.settings import RetrievalSettings
from assistant.store import Store

log = logging.getLogger(__name__)

RRF_K = 60  # the constant from Cormack et al.; damps the weight of the very first ranks
Mode = Literal["hybrid", "dense", "keyword"]


@dataclass
class Retrieval:
    query: str  # the standalone question that was searched
    passages: list[ScoredChunk]
    relevant: bool  # False: below the relevance floor, the assistant should refuse
    best_dense: float = 0.0
    best_keyword: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def rrf(rankings: dict[str, list[str]], k: int = RRF_K) -> list[tuple[str, float, dict[str, int]]]:
    """Reciprocal rank fusion: id → sum of 1/(k + rank) over the rankings it appears in."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in rankings.items():
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(cid, {})[name] = rank
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(cid, score, ranks[cid]) for cid, score in ordered]


def _words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return {w for w in re.findall(r"\w+", folded) if len(w) > 2}


def near_duplicate(a: str, b: str, threshold: float = 0.7) -> bool:
    """Jaccard overlap of word sets; catches the same passage reported twice."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= threshold


def diversify(items: list[ScoredChunk], top_k: int, max_per_document: int) -> list[ScoredChunk]:
    """Best-first selection without near-duplicates and with a cap per document."""
    chosen: list[ScoredChunk] = []
    per_doc: dict[str, int] = {}
    for item in items:
        stem = item.chunk.stem
        if per_doc.get(stem, 0) >= max_per_document:
            continue
        if any(near_duplicate(item.chunk.text, c.chunk.text) for c in chosen):
            continue
        chosen.append(item)
        per_doc[stem] = per_doc.get(stem, 0) + 1
        if len(chosen) >= top_k:
            break
    return chosen


FOLLOWUP_START = re.compile(
    r"^(en|maar|ook|dus|en wat|wat dan|hoe zit het|hoe dan|waarom dan|en hoe|en waarom)\b", re.I
)
REFERRING = re.compile(
    r"\b(dat|dit|die|deze|daar|daarvan|daarbij|daarvoor|hun|zij|ze|het rapport|dat onderzoek|"
    r"die sector|hetzelfde|zo'n|zulke)\b",
    re.I,
)


def is_followup(question: str, history: list[Message]) -> bool:
    if not any(t["role"] == "user" for t in history):
        return False
    q = question.strip()
    return bool(FOLLOWUP_START.match(q)) or len(_words(q)) <= 4 or bool(REFERRING.search(q))


def standalone_question(question: str, history: list[Message]) -> str:
    """Make a follow-up searchable on its own by prefixing the previous question's topic.

    Trade-off: a rule, not a model call. The 0.5B model rewrites poorly and costs seconds;
    prefixing the previous question keeps its topic words for both retrievers, and the new
    question's words still rank first because they are the ones that differ.
    """
    if not is_followup(question, history):
        return question.strip()
    previous = next(t["content"] for t in reversed(history) if t["role"] == "user")
    q = FOLLOWUP_START.sub("", question.strip()).lstrip(" ,")
    return f"{previous.strip().rstrip('?')}: {q}".strip()


class Retriever:
    """Hybrid retriever over the store's active generation."""

    def __init__(self, store: Store, settings: RetrievalSettings) -> None:
        self.store = store
        self.settings = settings
        self._keyword: tuple[str, object] | None = None
        self._lock = threading.Lock()

    def keyword_index(self):  # noqa: ANN201 - KeywordIndex, imported lazily
        """The keyword index of the active generation; rebuilt from Chroma when missing."""
        from assistant.keyword import KeywordIndex

        name = self.store.require_manifest().collection
        with self._lock:
            if self._keyword is not None and self._keyword[0] == name:
                return self._keyword[1]
            path = self.store.keyword_dir(name)
            try:
                index = KeywordIndex.load(path)
            except (OSError, ValueError, IndexMissing) as exc:
                log.info("keyword index for %s missing (%s); rebuilding from Chroma", name, exc)
                index = KeywordIndex.build(self.store.all_chunks())
                index.save(path)
            self._keyword = (name, index)
            return index

    def retrieve(
        self,
        question: str,
        history: list[Message] | None = None,
        *,
        mode: Mode = "hybrid",
        collections: set[str] | None = None,
        top_k: int | None = None,
    ) -> Retrieval:
        t0 = time.perf_counter()
        query = standalone_question(question, history or [])
        k = self.settings.candidates
        timings: dict[str, float] = {}
        rankings: dict[str, list[str]] = {}
        chunks: dict[str, Chunk] = {}
        dense_scores: dict[str, float] = {}
        kw_scores: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            t = time.perf_counter()
            for chunk, sim in self.store.dense_search(query, k, collections):
                chunks[chunk.id] = chunk
                dense_scores[chunk.id] = sim
            rankings["dense"] = list(dense_scores)
            timings["dense_s"] = time.perf_counter() - t
        if mode in ("hybrid", "keyword"):
            t = time.perf_counter()
            hits = self.keyword_index().search(query, k, collections)
            kw_scores = dict(hits)
            rankings["keyword"] = [cid for cid, _ in hits]
            missing = [cid for cid in kw_scores if cid not in chunks]
            for chunk in self.store.get_chunks(missing):
                chunks[chunk.id] = chunk
            timings["keyword_s"] = time.perf_counter() - t
        fused = [
            ScoredChunk(chunks[cid], score, dense_scores.get(cid), kw_scores.get(cid), ranks)
            for cid, score, ranks in rrf(rankings)
            if cid in chunks
        ]
        passages = diversify(fused, top_k or self.settings.top_k, self.settings.max_per_document)
        best_dense = max(dense_scores.values(), default=0.0)
        best_kw = max(kw_scores.values(), default=0.0)
        relevant = self.is_relevant(best_dense, best_kw, mode) and bool(passages)
        timings["retrieve_s"] = time.perf_counter() - t0
        return Retrieval(query, passages, relevant, best_dense, best_kw, timings)

    def is_relevant(self, best_dense: float, best_keyword: float, mode: Mode) -> bool:
        floor = self.settings.relevance_floor
        if mode == "keyword":
            return best_keyword > 0
        return best_dense >= floor
