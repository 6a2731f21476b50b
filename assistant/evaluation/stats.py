"""Small statistics for the evaluation: means that say when they have nothing to average,
nearest-rank percentiles, grouping by half and type, and a paired bootstrap interval.

The bootstrap resamples *items* (with replacement) and recomputes the mean difference
between two configurations on the same resampled items, so the interval reflects how much
the gain depends on which questions happen to be in the bank. 2,000 resamples and a fixed
seed make the interval reproducible; its ends are the 2.5th and 97.5th percentiles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

HALVES = ("tune", "check")


def mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def share(flags: Iterable[bool]) -> float | None:
    return mean(1.0 if f else 0.0 for f in flags)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def group(rows: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r[key]].append(r)
    return dict(sorted(out.items()))


def by_half(
    rows: list[dict[str, Any]], summarise: Callable[[list[dict[str, Any]]], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``summarise`` per half present, for all rows, and per type within each of those."""
    halves = {h: [r for r in rows if r["half"] == h] for h in HALVES}
    out: dict[str, dict[str, Any]] = {}
    for name, part in [*((h, rs) for h, rs in halves.items() if rs), ("all", rows)]:
        summary = summarise(part)
        summary["by_type"] = {t: summarise(rs) for t, rs in group(part, "type").items()}
        out[name] = summary
    return out


def gap(summaries: dict[str, dict[str, Any]], keys: Iterable[str]) -> dict[str, float | None]:
    """check minus tune for each numeric key (None where either half lacks it)."""
    tune, check = summaries.get("tune"), summaries.get("check")
    out: dict[str, float | None] = {}
    for k in keys:
        a = tune.get(k) if tune else None
        b = check.get(k) if check else None
        ok = isinstance(a, int | float) and isinstance(b, int | float)
        out[k] = (b - a) if ok else None  # type: ignore[operator]
    return out


def paired_bootstrap(
    base: Sequence[float],
    other: Sequence[float],
    resamples: int = 2000,
    seed: int = 20261127,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(mean of ``base - other``, lower, upper) with a paired bootstrap interval over items."""
    a = np.asarray(base, dtype=float)
    b = np.asarray(other, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired samples must have the same length")
    if a.size == 0:
        return 0.0, 0.0, 0.0
    diff = a - b
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(resamples, diff.size))
    means = diff[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(diff.mean()), float(lo), float(hi)
