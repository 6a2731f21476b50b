"""Retrieval only: recall@1/3/5/10 and MRR@10, and what the evidence floor refused.

A hit is a passage **as given to the model** (the retriever asked for ``top_k=10``, so
duplicates removed and the per-document cap applied) of a source document that holds an
evidence quote (``rules.holds_evidence``). An answerable case without evidence quotes (an
injection whose legitimate part names only its documents) is scored at document level and
counted as such in the summary. History is the earlier *user* questions only (a follow-up's
``history`` user turns, a conversation's earlier turns), and ``previous`` is the passages
the retriever gave the previous question, as the page passes them.

Any object with ``retrieve(question, history, *, mode, top_k, previous)`` returning
``query``, ``passages`` (each with ``.chunk.text``/``.chunk.source``), ``relevant`` and
``reason`` can be scored: the project's ``Retriever`` and the plain-recipe anchor in
``bench/retrieval.py``.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant.evaluation.gold import cases_of, is_answerable, is_unanswerable, user_turns
from assistant.evaluation.rules import holds_evidence, stem_of
from assistant.evaluation.stats import mean, percentile, share

KS = (1, 3, 5, 10)
DEPTH = 10


def is_hit(chunk: Any, case: dict[str, Any]) -> bool:
    if case.get("evidence"):
        return holds_evidence(chunk.text, chunk.source, case)
    return stem_of(chunk.source) in {stem_of(s) for s in case.get("sources") or []}


def first_hit(passages: list[Any], case: dict[str, Any]) -> int | None:
    """1-based rank of the first hit among the first ``DEPTH`` passages."""
    return next((i for i, p in enumerate(passages[:DEPTH], start=1) if is_hit(p.chunk, case)), None)


def retrieval_row(
    retriever: Any,
    case: dict[str, Any],
    history: list[dict[str, str]],
    previous: list[Any] | None,
    mode: str,
) -> tuple[dict[str, Any], list[Any]]:
    """(the scored row, the passages' chunks: ``previous`` for a next turn)."""
    t = time.perf_counter()
    res = retriever.retrieve(
        case["question"], history, mode=mode, top_k=DEPTH, previous=previous or None
    )
    latency = time.perf_counter() - t
    answerable = is_answerable(case)
    row = {
        "id": case["id"],
        "half": case["half"],
        "type": case["type"],
        "question": case["question"],
        "query": res.query,
        "rank": first_hit(res.passages, case) if answerable else None,
        "hit_level": "evidence" if case.get("evidence") else "document",
        "answerable": answerable,
        "unanswerable": is_unanswerable(case),
        "refused": not res.relevant,
        "reason": getattr(res, "reason", ""),
        "latency_s": latency,
        "top": [getattr(p.chunk, "id", "") for p in res.passages[:5]],
    }
    return row, given(retriever, res.passages)


def given(retriever: Any, passages: list[Any]) -> list[Any]:
    """The chunks the model would have been given (the retriever's ``top_k``): the page
    passes those as ``previous`` with the next question."""
    top_k = getattr(getattr(retriever, "settings", None), "top_k", DEPTH)
    return [p.chunk for p in passages[:top_k]]


def retrieval_rows(retriever: Any, item: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    """Rows for one bank item: one, or one per conversation turn."""
    history: list[dict[str, str]] = []
    previous: list[Any] | None = None
    if not item.get("turns"):
        for question in user_turns(item):
            res = retriever.retrieve(question, history, mode=mode, previous=previous or None)
            previous = given(retriever, res.passages)
            history.append({"role": "user", "content": question})
    rows = []
    for case in cases_of(item):
        row, previous = retrieval_row(retriever, case, list(history), previous, mode)
        rows.append(row)
        history.append({"role": "user", "content": case["question"]})
    return rows


def retrieval_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if r["unanswerable"]]
    out: dict[str, Any] = {"n": len(rows), "answerable": len(ans), "unanswerable": len(unans)}
    for k in KS:
        out[f"recall@{k}"] = share(bool(r["rank"] and r["rank"] <= k) for r in ans)
    out["mrr@10"] = mean(1.0 / r["rank"] if r["rank"] else 0.0 for r in ans)
    out["answerable_refused"] = share(r["refused"] for r in ans)
    out["unanswerable_refused"] = share(r["refused"] for r in unans)
    out["counts"] = {
        "answerable_refused": f"{sum(r['refused'] for r in ans)}/{len(ans)}",
        "unanswerable_refused": f"{sum(r['refused'] for r in unans)}/{len(unans)}",
        "document_level": f"{sum(r['hit_level'] == 'document' for r in ans)}/{len(ans)}",
    }
    lat = [1000 * r["latency_s"] for r in rows]
    out["latency_p50_ms"] = percentile(lat, 50)
    out["latency_p95_ms"] = percentile(lat, 95)
    return out


def warm(retriever: Any) -> None:
    """Load the embedder, Chroma and the keyword index outside the timings."""
    for question in ("opwarmen", "Wat zeggen de rapporten over digitale vaardigheden?"):
        retriever.retrieve(question)


def run_retrieval(retriever: Any, items: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    return [row for item in items for row in retrieval_rows(retriever, item, mode)]


def project_retriever(settings: Any = None, embeddings: Any = None) -> Any:
    """The project's retriever on the configured index (settings from ``RAG_*`` and .env
    unless given)."""
    from assistant.embeddings import make_embeddings
    from assistant.retrieval import Retriever
    from assistant.settings import load_settings
    from assistant.store import Store

    settings = settings or load_settings()
    store = Store(settings.store, embeddings or make_embeddings(settings.embeddings))
    return Retriever(store, settings.retrieval)


class CachedQueries(Embeddings):
    """An embedder whose question vectors are remembered: when one bank is retrieved under
    many settings (ablation, floor curve), the questions are embedded once, and the runs
    cost the searches only. Passages are passed through (the index holds their vectors)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self._vectors: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        if text not in self._vectors:
            self._vectors[text] = self.inner.embed_query(text)
        return self._vectors[text]
