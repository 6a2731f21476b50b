"""Hybrid retrieval for Dutch questions: dense e5 search + Dutch BM25, fused by weighted RRF.

``Retriever.retrieve`` takes a ``Question`` (already rewritten and analysed, see
``assistant.question``) and, in order: runs two retrievers, ``candidates`` each (dense e5
finds paraphrases; the keyword index finds figures, names and rare terms a 384-d embedding
blurs); routes to the documents the question names (``KeywordView.named_documents``: a
boost, not a filter, so a wrong routing costs rank, not recall; inside them, and for the
order of the whole-index dense ranking, the question is searched without the words that name
them, ``without_names``, while the floor keeps the whole question's cosines); fuses by
reciprocal rank (no calibration between cosine and BM25 scales, robust when either retriever
misses); drops near-duplicates; and applies a relevance floor (``judge_relevance``) that
refuses questions the sources cannot answer.

Off by default, each behind a setting, because their gain on the check half of the question
bank was not clearly above zero (``bench/README.md``, ablation): the answer-type ranking,
dense searches on other forms of the question (the X of "over X", a follow-up's own words),
``without_source``, the previous answer's passages, tuned fusion weights, a cap per document,
and reranking on sentence windows (``assistant.windows``). Trade-off: rules and fixed
weights, not a trained reranker: nothing more to run on two cores, and every decision is
explainable in ``Retrieval.reason``. Measurements: ``bench/README.md``.

A request to sum up a document the question names, with nothing else to search for ("Vat het
VIVO-rapport samen", "Welke conclusies trekt het rapport van ...?"), gets that document's
summary and conclusion sections, or its section openings (``chunks.summary_chunks``), instead
of a search: no passage matches "conclusies" better than the conclusions themselves, and a
search for the words of the request finds the acknowledgements or the table of contents.

The modes ``dense`` and ``keyword`` (for evaluation) differ from ``hybrid`` only in which
retrievers run; rewriting, routing, diversity and the floor are the same.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal

import numpy as np

from assistant.chunks import Chunk, Passage, ScoredChunk, summary_chunks
from assistant.errors import IndexMissing
from assistant.evidence import answer_type_scores, evidence_gap
from assistant.fusion import diversify, rrf
from assistant.keyword import KeywordIndex
from assistant.keyword_view import KeywordView, coverage
from assistant.llm import Message
from assistant.question import SUMMARY_WORDS, Question, carry_weight
from assistant.search_text import without_names, without_source
from assistant.settings import RetrievalSettings
from assistant.store import Store
from assistant.windows import WindowIndex

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "keyword"]

NAME_WEIGHT = 0.25  # keyword weight of name terms when searching inside the named documents
# The answer-type ranking reads this many fused candidates (~1 ms each; 15, 20, 30 and 40
# gave the same ranks on gold_dev)
ANSWER_TYPE_CANDIDATES = 20
# The evidence floor reads the retrievers' first top_k passages and this many more: the
# answer-type ranking lifts an answering passage from just below the first top_k (gold_dev: one
# answerable question refused at 0, none at 1-4; the unanswerable ones refused alike at 1-4).
FLOOR_EXTRA_PASSAGES = 1
KEYWORD_ONLY_COVERAGE = 0.3  # the floor without a dense score (keyword mode): coverage alone
OVERFETCH_MAX = 300  # most dense hits fetched unfiltered to filter on collections here
NAMED_EXACT_MAX = 2000  # named documents up to this many chunks are scored from their vectors
# A briefing limited to some documents searches this many passages (at least) and keeps
# those of its documents: the named documents may not lead the whole index.
SOURCES_MIN_PASSAGES = 20
SOURCES_TOP_K_FACTOR = 5


@dataclass
class Retrieval:
    query: str  # the standalone question that was searched
    passages: list[ScoredChunk]
    relevant: bool  # False: below the relevance floor, the assistant should refuse
    best_dense: float = 0.0
    best_keyword: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    coverage: float = 0.0  # IDF-weighted share of the question's terms in the best passages
    followup: bool = False  # the question was resolved against the conversation
    named: list[str] = field(default_factory=list)  # sources the question names (routing)
    reason: str = ""  # why the floor refused or accepted (logs, evaluation)
    fused: list[str] = field(default_factory=list)  # chunk ids in fused order, before diversity
    signal: RelevanceSignal | None = None  # what the floor judged (calibration, logs)
    summary: bool = False  # the passages sum up the named documents (``_summary``)


# --------------------------------------------------------------------------------------------
# Relevance floor
# --------------------------------------------------------------------------------------------


@dataclass
class RelevanceSignal:
    best_dense: float | None  # best cosine of the dense search (None: no dense search)
    coverage: float  # IDF-weighted share of question terms found in the best passages
    best_keyword: float = 0.0
    unknown: tuple[str, ...] = ()  # names in the question that occur nowhere in the sources
    evidence_gap: str = ""  # "topic" | "kind": no passage sentence can answer (see below)


EVIDENCE_GAPS = {
    "topic": "what the question is about occurs in none of the best passages",
    "kind": "no sentence of the best passages gives the figure, name or date asked for",
}


def judge_relevance(signal: RelevanceSignal, settings: RetrievalSettings) -> tuple[bool, str]:
    """(relevant, reason) by the rule in the module docstring.

    Between the two cosine floors a question must also have ``min_coverage`` and no name
    that occurs nowhere in the sources ("Frankrijk", "G20"): a question about something the
    sources never mention, at a middling cosine, is off-topic. ``relevance_floor`` 0 turns the
    floor off. Without a dense score (keyword mode) the decision rests on coverage alone.
    """
    floor = settings.relevance_floor
    if floor <= 0:
        return True, "floor off"
    if signal.evidence_gap and settings.evidence_floor:
        return False, EVIDENCE_GAPS[signal.evidence_gap]
    cov, need = signal.coverage, settings.min_coverage
    if signal.best_dense is None:
        if signal.best_keyword <= 0:
            return False, "no keyword match"
        need = KEYWORD_ONLY_COVERAGE
        ok = cov >= need
        return ok, f"coverage {cov:.2f} {'>=' if ok else '<'} {need:.2f}"
    d = signal.best_dense
    if d < floor:
        return False, f"best cosine {d:.3f} < {floor:.3f}"
    if d >= settings.relevance_floor_strong:
        return True, f"best cosine {d:.3f} >= {settings.relevance_floor_strong:.3f}"
    if cov < need:
        return False, f"best cosine {d:.3f} and coverage {cov:.2f} < {need:.2f}"
    if signal.unknown:
        return False, (f"best cosine {d:.3f} and not in the sources: " + ", ".join(signal.unknown))
    return True, f"best cosine {d:.3f}, coverage {cov:.2f}"


@dataclass
class _Candidates:
    """The rankings of one query, with what is known about their chunks."""

    rankings: dict[str, list[str]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)
    dense: dict[str, float] = field(default_factory=dict)  # chunk id -> cosine
    keyword: dict[str, float] = field(default_factory=dict)  # chunk id -> BM25
    gone: set[str] = field(default_factory=set)  # ids no longer in the index
    timings: dict[str, float] = field(default_factory=dict)
    vector: list[float] | None = None  # the question's e5 vector (None: no dense search)

    def add(self, name: str, weight: float, hits: list[tuple[Chunk, float]]) -> None:
        self.rankings[name] = [chunk.id for chunk, _ in hits]
        self.weights[name] = weight
        for chunk, sim in hits:
            self.chunks.setdefault(chunk.id, chunk)
            self.dense.setdefault(chunk.id, sim)

    def add_scores(self, name: str, weight: float, hits: list[tuple[str, float]]) -> None:
        """A dense ranking of ids only (their chunks are read when they are needed)."""
        self.rankings[name] = [cid for cid, _ in hits]
        self.weights[name] = weight
        for cid, sim in hits:
            self.dense.setdefault(cid, sim)

    def add_keyword(self, name: str, weight: float, hits: list[tuple[str, float]]) -> None:
        self.rankings[name] = [cid for cid, _ in hits]
        self.weights[name] = weight
        for cid, score in hits:
            self.keyword.setdefault(cid, score)


class Retriever:
    """Hybrid retriever over the store's active generation."""

    def __init__(self, store: Store, settings: RetrievalSettings) -> None:
        self.store = store
        self.settings = settings
        self._keyword: tuple[str, KeywordIndex, KeywordView] | None = None
        self._windows: tuple[str, WindowIndex | None] | None = None
        self._lock = threading.Lock()

    def keyword_index(self) -> KeywordIndex:
        """The keyword index of the active generation; rebuilt from Chroma when missing."""
        return self._keyword_state()[0]

    def keyword_view(self) -> KeywordView:
        return self._keyword_state()[1]

    def _keyword_state(self) -> tuple[KeywordIndex, KeywordView]:
        manifest = self.store.require_manifest()
        name = manifest.collection
        with self._lock:
            if self._keyword is not None and self._keyword[0] == name:
                return self._keyword[1], self._keyword[2]
            path = self.store.keyword_dir(name)
            try:
                index = KeywordIndex.load(path)
            except (OSError, ValueError, IndexMissing) as exc:
                log.info("keyword index for %s missing (%s); rebuilding from Chroma", name, exc)
                index = KeywordIndex.build(self.store.all_chunks())
                index.save(path)
            view = KeywordView(index, manifest.documents)
            self._keyword = (name, index, view)
            return index, view

    def window_index(self) -> WindowIndex | None:
        """The sentence windows of the active generation (None: not built for it)."""
        name = self.store.require_manifest().collection
        with self._lock:
            if self._windows is None or self._windows[0] != name:
                try:
                    windows: WindowIndex | None = WindowIndex.load(self.store.windows_dir(name))
                except (OSError, ValueError) as exc:
                    log.warning("no sentence windows for %s (%s): ranking without them", name, exc)
                    windows = None
                self._windows = (name, windows)
            return self._windows[1]

    # ---- dense ---------------------------------------------------------------------------

    def _dense(
        self, vector: list[float], k: int, collections: set[str] | None, view: KeywordView
    ) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks of ``collections`` by cosine.

        Chroma applies a ``where`` filter by reading every matching row's metadata first: at
        100,000 chunks a filter on two of five collections costs ~300 ms against ~10 ms
        unfiltered. So when the allowed chunks are a large share, this over-fetches unfiltered
        (k / share, x1.5) and filters here, on each hit's own collection metadata (as strict
        as Chroma's filter); when they are a small share, or the over-fetch came back short, it
        lets Chroma filter (cheap then: few matching rows).
        """
        share = view.share(collections)
        if collections is None or share >= 1.0:
            return self.store.query(vector, k, None)
        fetch = math.ceil(1.5 * k / max(share, 1e-9)) + 10
        if share > 0 and fetch <= OVERFETCH_MAX:
            hits = self.store.query(vector, fetch, None)
            allowed = [(c, sim) for c, sim in hits if c.collection in collections]
            if len(allowed) >= k or len(hits) < fetch:  # enough, or the whole index seen
                return allowed[:k]
        return self.store.query(vector, k, collections)

    def _dense_in(
        self,
        vector: list[float],
        k: int,
        collections: set[str] | None,
        view: KeywordView,
        named: list[str],
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, cosine) inside the named documents.

        Scored exactly from the chunks' stored vectors (one read by id, a few ms for a few
        hundred chunks) rather than by a Chroma ``where`` on the source, which reads metadata
        of the whole index (~180 ms at 100,000 chunks). Very long documents go to Chroma.
        """
        rows = view.rows_of(named)
        mask = view.mask(collections)
        if mask is not None:
            rows = rows[mask[rows]]
        if rows.size == 0:
            return []
        if rows.size > NAMED_EXACT_MAX:
            hits = self.store.query(vector, max(1, k), collections, sources=named)
            return [(chunk.id, sim) for chunk, sim in hits]
        found, vectors = self.store.vectors([view.index.ids[i] for i in rows])
        if not found:
            return []
        matrix = np.asarray(vectors, dtype=np.float32)
        q = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = matrix @ q / np.where(norms > 0, norms, 1.0)
        order = np.argsort(-sims, kind="stable")[:k]
        return [(found[i], float(sims[i])) for i in order]

    # ---- the query -----------------------------------------------------------------------

    def retrieve(
        self,
        question: Question | str,
        history: list[Message] | None = None,
        *,
        mode: Mode = "hybrid",
        collections: set[str] | None = None,
        top_k: int | None = None,
        previous: list[Chunk] | None = None,
        sources: set[str] | None = None,
    ) -> Retrieval:
        """Passages for ``question`` (see the module docstring).

        ``question``: the analysed question (``Question.of``); a plain string is analysed here
        against ``history`` (which is otherwise not read). ``collections``: only chunks of
        these collections (``None``: all); enforced in every search and on ``previous``.
        ``previous``: the passages of the previous answer, used when the question is a
        follow-up that refers back to it. ``sources``: only passages of these documents (a
        briefing limited to some reports). ``top_k``: passages to return (default
        ``settings.top_k``); the relevance floor always judges the first
        ``settings.top_k``, the passages the model would get.
        """
        q = question if isinstance(question, Question) else Question.of(question, history or [])
        if q.followup and not self.settings.rewrite_followups:
            q = Question.of(q.asked, [])  # searched as asked, without the conversation
        if sources:
            return self._retrieve_in(q, sources, mode, collections, top_k, previous)
        t0 = time.perf_counter()
        if collections is not None and not collections:
            return Retrieval(
                q.query,
                [],
                False,
                followup=q.followup,
                reason="no collections",
                timings={"retrieve_s": time.perf_counter() - t0},
            )
        summary = self._summary(q, collections, top_k or self.settings.top_k)
        if summary is not None:
            summary.timings["retrieve_s"] = time.perf_counter() - t0
            return summary
        c, view, named = self._rank(q, mode, collections, previous)
        s = self.settings
        judged = self._rerank(q, c, collections, named)
        t = time.perf_counter()
        floor_k = s.top_k + FLOOR_EXTRA_PASSAGES
        want = top_k or s.top_k
        # one fusion for both: a shorter passage list is a prefix of a longer one
        fused, passages = self._fuse(c, collections, named, want if judged else max(want, floor_k))
        floor_read = (judged or passages)[:floor_k]
        passages = passages[:want]
        c.timings["fuse_s"] = time.perf_counter() - t
        out = self._judge(q, c, view, mode, passages, floor_read)
        out.named = named
        out.fused = [p.chunk.id for p in fused[: s.candidates]]
        c.timings["retrieve_s"] = time.perf_counter() - t0
        return out

    def _summary(self, q: Question, collections: set[str] | None, want: int) -> Retrieval | None:
        """The passages that sum up the documents ``q`` names, when it asks for that and
        nothing else (see the module docstring); None otherwise."""
        if not q.kind.summary or not self.settings.summarise_named:
            return None
        _, view = self._keyword_state()
        named, name_terms = self._route(view, q.query, collections)
        if not named or view.asks_more(q.query, name_terms, SUMMARY_WORDS):
            return None
        per_document = [
            summary_chunks(
                [
                    c
                    for c, _ in self.store.iter_chunks(where={"source": src})
                    if collections is None or c.collection in collections
                ],
                want,
            )
            for src in named
        ]
        # several documents ("het KPN-nieuwsbericht" may be either of two): take turns
        chosen = [c for group in zip_longest(*per_document) for c in group if c is not None]
        passages = [ScoredChunk(c, 1.0 / (1 + i)) for i, c in enumerate(chosen[:want])]
        return Retrieval(
            q.query,
            passages,
            bool(passages),
            followup=q.followup,
            named=named,
            reason="summary of the named documents",
            fused=[p.chunk.id for p in passages],
            summary=True,
        )

    def _rerank(
        self, q: Question, c: _Candidates, collections: set[str] | None, named: list[str]
    ) -> list[ScoredChunk] | None:
        """The optional rerankings (sentence windows, answer type) on the candidates ``c``;
        returns the passages the floor judges when the answer-type ranking ran, else None."""
        s = self.settings
        if s.window_weight > 0 and c.vector is not None:
            t = time.perf_counter()
            self._window_ranking(c)
            c.timings["windows_s"] = time.perf_counter() - t
        judged: list[ScoredChunk] | None = None
        if s.answer_type_weight > 0 and q.kind.specific:
            t = time.perf_counter()
            # The evidence floor judges the retrievers' own best passages: the answer-type
            # ranking brings up *some* sentence with a figure or a name for any question.
            _, judged = self._fuse(c, collections, named, s.top_k + FLOOR_EXTRA_PASSAGES)
            self._answer_type_ranking(c, q.query)
            c.timings["answer_type_s"] = time.perf_counter() - t
        return judged

    def _retrieve_in(
        self,
        q: Question,
        sources: set[str],
        mode: Mode,
        collections: set[str] | None,
        top_k: int | None,
        previous: list[Chunk] | None,
    ) -> Retrieval:
        """``retrieve`` limited to the documents ``sources``: a wider search, then only the
        passages of those documents (refused when none is left)."""
        want = top_k or self.settings.top_k
        wide = max(SOURCES_MIN_PASSAGES, SOURCES_TOP_K_FACTOR * want)
        res = self.retrieve(q, mode=mode, collections=collections, top_k=wide, previous=previous)
        res.passages = [p for p in res.passages if p.chunk.source in sources][:want]
        res.relevant = res.relevant and bool(res.passages)
        return res

    def _rank(
        self,
        q: Question,
        mode: Mode,
        collections: set[str] | None,
        previous: list[Chunk] | None,
    ) -> tuple[_Candidates, KeywordView, list[str]]:
        """The rankings of every retriever that runs (not yet fused), the keyword view and
        the documents the question names."""
        s = self.settings
        t = time.perf_counter()
        index, view = self._keyword_state()
        terms = self._weighted_terms(view, q)
        named, name_terms = self._route(view, q.query, collections)
        c = _Candidates(timings={"analyse_s": time.perf_counter() - t})
        if mode in ("hybrid", "dense"):
            self._dense_rankings(c, view, q, named, collections, name_terms)
        if mode in ("hybrid", "keyword"):
            self._keyword_rankings(c, index, view, q.query, terms, named, name_terms, collections)
        if previous and q.refers_back and s.previous_weight > 0:
            # Only when the question points back ("daarover", "die drie"): after "En in de
            # zorg?" the previous passages are about what the user moved away from.
            c.rankings["previous"] = list(dict.fromkeys(p.id for p in previous))[: s.candidates]
            c.weights["previous"] = s.previous_weight
        return c, view, named

    def _judge(
        self,
        q: Question,
        c: _Candidates,
        view: KeywordView,
        mode: Mode,
        passages: list[ScoredChunk],
        floor_read: list[ScoredChunk],
    ) -> Retrieval:
        """The relevance floor over the fused passages (see ``judge_relevance``)."""
        s = self.settings
        best_dense = max(c.dense.values(), default=0.0)
        best_kw = max(c.keyword.values(), default=0.0)
        cov = coverage(q.query, [p.chunk for p in passages[: s.top_k]], view)
        unknown = tuple(view.unknown_names(q.query))
        gap = evidence_gap(q.query, [Passage(i, p.chunk) for i, p in enumerate(floor_read, 1)])
        signal = RelevanceSignal(
            best_dense if mode != "keyword" else None, cov, best_kw, unknown, gap
        )
        relevant, reason = judge_relevance(signal, s)
        if not passages:
            relevant, reason = False, "no passages"
        return Retrieval(
            q.query,
            passages,
            relevant,
            best_dense,
            best_kw,
            c.timings,
            coverage=cov,
            followup=q.followup,
            reason=reason,
            signal=signal,
        )

    def _read(self, c: _Candidates, ids: list[str]) -> None:
        """Read the chunks of ``ids`` not yet known into ``c`` (one Chroma read); ids no
        longer in the index are remembered as gone."""
        missing = [cid for cid in ids if cid not in c.chunks and cid not in c.gone]
        if missing:
            found = {ch.id: ch for ch in self.store.get_chunks(missing)}
            c.chunks.update(found)
            c.gone.update(cid for cid in missing if cid not in found)

    def _window_ranking(self, c: _Candidates) -> None:
        """The first ``window_candidates`` fused candidates ranked by their best sentence
        window (``assistant.windows``): a ranking of its own in the fusion, weight
        ``window_weight``. Like the answer-type ranking it only reorders what the retrievers
        found."""
        windows = self.window_index()
        if windows is None or c.vector is None:
            return
        s = self.settings
        head = [cid for cid, _, _ in rrf(c.rankings, s.rrf_k, c.weights)[: s.window_candidates]]
        best = windows.best(c.vector, head)
        c.rankings["windows"] = sorted(best, key=lambda cid: -best[cid])
        c.weights["windows"] = s.window_weight

    def _answer_type_ranking(self, c: _Candidates, query: str) -> None:
        """For "hoeveel / wie / wanneer ...?": the fused candidates whose sentences give the
        kind of fact asked for, ranked by the key-term share of that sentence (a ranking of
        its own in the fusion, weight ``answer_type_weight``). Only the current candidates are
        re-ranked, so nothing the other rankings did not find (or may not be read) enters."""
        s = self.settings
        n = min(s.candidates, ANSWER_TYPE_CANDIDATES)
        head = [cid for cid, _, _ in rrf(c.rankings, s.rrf_k, c.weights)[:n]]
        self._read(c, head)
        ids = [cid for cid in head if cid in c.chunks]
        scores = answer_type_scores(query, [c.chunks[cid] for cid in ids])
        if scores is None:
            return
        ranked = sorted((i for i, sc in enumerate(scores) if sc >= 0), key=lambda i: -scores[i])
        c.rankings["answer_type"] = [ids[i] for i in ranked]
        c.weights["answer_type"] = s.answer_type_weight

    def _route(
        self, view: KeywordView, query: str, collections: set[str] | None
    ) -> tuple[list[str], set[str]]:
        """Documents the question names (that the user may read) and the name terms used."""
        if self.settings.document_weight <= 0 or not view.name_terms:
            return [], set()
        named, name_terms = view.named_documents(query)
        named = [src for src in named if view.readable(src, collections)]
        return named, (name_terms if named else set())

    def _dense_rankings(
        self,
        c: _Candidates,
        view: KeywordView,
        q: Question,
        named: list[str],
        collections: set[str] | None,
        name_terms: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        s = self.settings
        t = time.perf_counter()
        text = without_source(q.query) if s.dense_without_source else q.query
        vector = self.store.embeddings.embed_query(text or q.query)
        c.vector = vector
        c.timings["embed_s"] = time.perf_counter() - t
        t = time.perf_counter()
        c.add("dense", s.dense_weight, self._dense(vector, s.candidates, collections, view))
        if named:
            inner_vector = vector
            if s.inner_without_names:
                inner = without_names(q.query, view, name_terms)
                if inner and inner not in (q.query, text):
                    inner_vector = self.store.embeddings.embed_query(inner)
            if s.global_without_names and inner_vector is not vector:
                self._rank_without_names(c, inner_vector, collections, view)
            c.add_scores(
                "dense_doc",
                s.document_weight * s.dense_weight,
                self._dense_in(inner_vector, s.candidates, collections, view, named),
            )
        c.timings["dense_s"] = time.perf_counter() - t
        if s.window_search_weight > 0:
            windows = self.window_index()
            if windows is not None:
                t = time.perf_counter()
                # ids only: a window's cosine is not the chunk's (the floor reads ``dense``)
                hits = windows.search(vector, s.candidates)
                c.rankings["window_search"] = [cid for cid, _ in hits]
                c.weights["window_search"] = s.window_search_weight * s.dense_weight
                c.timings["window_search_s"] = time.perf_counter() - t
        for name, text, weight in self._rewritten_forms(q):
            # One more embedding per extra form, only for the questions that have one.
            t = time.perf_counter()
            tv = self.store.embeddings.embed_query(text)
            weight *= s.dense_weight
            c.add(f"dense_{name}", weight, self._dense(tv, s.candidates, collections, view))
            if named:
                c.add_scores(
                    f"dense_{name}_doc",
                    s.document_weight * weight,
                    self._dense_in(tv, s.candidates, collections, view, named),
                )
            c.timings[f"dense_{name}_s"] = time.perf_counter() - t

    def _rank_without_names(
        self, c: _Candidates, vector: list[float], collections: set[str] | None, view: KeywordView
    ) -> None:
        """Order the whole-index dense ranking by the name-free question: a report's name
        pulls e5 towards the passages *about* that report (its foreword, its aims) in every
        document, not only inside it. The cosines stay those of the whole question: the floor
        judges what was asked, not a shortened question."""
        hits = self._dense(vector, self.settings.candidates, collections, view)
        c.rankings["dense"] = [chunk.id for chunk, _ in hits]
        for chunk, _ in hits:
            c.chunks.setdefault(chunk.id, chunk)

    def _rewritten_forms(self, q: Question) -> list[tuple[str, str, float]]:
        """(name, text, weight) of the question's other forms searched densely besides it.

        - *topic*: X of "Wat zeggen de studies in hoofdstuk 3 over X?": the words that
          say where to look pull e5 towards passages *about* the research (its method
          section); X alone finds what they say about X.
        - *focus*: a follow-up's own words ("Welke systemen vallen daar dan onder?"): the
          standalone question is mostly the previous one, whose passages were already found;
          the new words alone find the passage that answers the new part.
        """
        s = self.settings
        forms = []
        topic = q.topic if s.topic_weight > 0 else ""
        if topic:
            forms.append(("topic", topic, s.topic_weight))
        if q.followup and s.focus_weight > 0 and q.focus.strip() != q.query.strip():
            forms.append(("focus", q.focus, s.focus_weight))
        return forms

    def _keyword_rankings(
        self,
        c: _Candidates,
        index: KeywordIndex,
        view: KeywordView,
        query: str,
        terms: dict[str, float],
        named: list[str],
        name_terms: set[str],
        collections: set[str] | None,
    ) -> None:
        s = self.settings
        t = time.perf_counter()
        if view.ok:
            hits = view.search(terms, s.candidates, view.mask(collections))
        else:  # no access to the BM25 matrix: the index's own search, unweighted
            hits = index.search(query, s.candidates, collections)
        c.add_keyword("keyword", s.keyword_weight, hits)
        if named and view.ok:
            # Inside the named documents their names say nothing: weigh them down, or the
            # introduction that repeats the report's name wins.
            inner = {t_: w * (NAME_WEIGHT if t_ in name_terms else 1.0) for t_, w in terms.items()}
            hits = view.search(inner, s.candidates, view.mask(collections), view.rows_of(named))
            c.add_keyword("keyword_doc", s.document_weight * s.keyword_weight, hits)
        c.timings["keyword_s"] = time.perf_counter() - t

    def _fuse(
        self, c: _Candidates, collections: set[str] | None, named: list[str], top_k: int
    ) -> tuple[list[ScoredChunk], list[ScoredChunk]]:
        """(fused candidates, the diversified passages) by weighted RRF.

        Keyword hits and previous passages are only ids: their text and metadata are read
        from Chroma, and checked against ``collections``, for a window at the head of the
        ranking first (one small read), and for the rest only when diversity needs more.
        """
        s = self.settings
        ranked = rrf(c.rankings, s.rrf_k, c.weights)
        uncapped = {src.rsplit(".", 1)[0] for src in named}
        window = 3 * top_k + 10
        while True:
            self._read(c, [cid for cid, _, _ in ranked[:window]])
            fused = [
                ScoredChunk(c.chunks[cid], score, c.dense.get(cid), c.keyword.get(cid), ranks)
                for cid, score, ranks in ranked[:window]
                if cid in c.chunks
                and (collections is None or c.chunks[cid].collection in collections)
            ]
            passages = diversify(fused, top_k, s.max_per_document, uncapped)
            if len(passages) >= top_k or window >= len(ranked):
                return fused, passages
            window *= 3

    @staticmethod
    def _weighted_terms(view: KeywordView, rw: Question) -> dict[str, float]:
        """Query terms with weights: the new question's words 1, carried-over words less
        (``question.carry_weight``)."""
        terms = dict.fromkeys(view.analyse(rw.focus), 1.0)
        if rw.followup:
            carried = [t for t in dict.fromkeys(view.analyse(rw.query)) if t not in terms]
            if carried:
                terms.update(dict.fromkeys(carried, carry_weight(len(terms), len(carried))))
        return terms
