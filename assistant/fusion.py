"""Fusion and diversity of ranked candidates: weighted reciprocal rank fusion (``rrf``) and a
near-duplicate filter (``diversify``, ``near_duplicate``).

Pure functions, no index: RRF needs only ranks, so rankings with incomparable scores (e5
cosines, BM25) combine without calibration; near-duplicates are judged on word sets (Jaccard),
cheap enough to run on every candidate list.
"""

from __future__ import annotations

import re

from assistant.chunks import ScoredChunk
from assistant.dutch.text import fold

NEAR_DUPLICATE = 0.7  # Jaccard overlap of word sets above which two passages are one


def rrf(
    rankings: dict[str, list[str]],
    k: int,
    weights: dict[str, float] | None = None,
) -> list[tuple[str, float, dict[str, int]]]:
    """Weighted reciprocal rank fusion: id -> sum of w/(k + rank) over the rankings it is in.

    Ties are broken by id, so the order is stable across runs.
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        if w <= 0:
            continue
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank)
            ranks.setdefault(cid, {})[name] = rank
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(cid, score, ranks[cid]) for cid, score in ordered]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", fold(text)) if len(w) > 2}


def _similar(wa: set[str], wb: set[str], threshold: float = NEAR_DUPLICATE) -> bool:
    return bool(wa) and bool(wb) and len(wa & wb) / len(wa | wb) >= threshold


def near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE) -> bool:
    """Jaccard overlap of word sets; catches the same passage reported twice."""
    return _similar(_words(a), _words(b), threshold)


def diversify(
    items: list[ScoredChunk],
    top_k: int,
    max_per_document: int,
    uncapped: set[str] | frozenset[str] = frozenset(),
) -> list[ScoredChunk]:
    """Best-first selection without near-duplicates and with a soft cap per document.

    A passage of a document that already has ``max_per_document`` passages is deferred: it is
    taken only when no other document has a candidate left. So the result has ``top_k``
    passages whenever that many distinct passages exist, and a shorter ``top_k`` gives a
    prefix of a longer one. Documents whose stem is in ``uncapped`` are not capped, and
    ``max_per_document`` 0 caps none.
    """
    chosen: list[ScoredChunk] = []
    words: list[set[str]] = []
    deferred: list[ScoredChunk] = []
    per_doc: dict[str, int] = {}

    def fresh(item: ScoredChunk) -> set[str] | None:
        w = _words(item.chunk.text)
        return None if any(_similar(w, other) for other in words) else w

    for item in items:
        if len(chosen) >= top_k:
            break
        stem = item.chunk.stem
        if max_per_document and stem not in uncapped and per_doc.get(stem, 0) >= max_per_document:
            deferred.append(item)
            continue
        w = fresh(item)
        if w is None:
            continue
        chosen.append(item)
        words.append(w)
        per_doc[stem] = per_doc.get(stem, 0) + 1
    for item in deferred:
        if len(chosen) >= top_k:
            break
        w = fresh(item)
        if w is not None:
            chosen.append(item)
            words.append(w)
    return chosen
