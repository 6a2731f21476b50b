"""Ablation of the retrieval features: the gain of each, with a 95% bootstrap interval.

    .venv/bin/python bench/ablation.py                        # every feature, check half
    .venv/bin/python bench/ablation.py --features "answer-type ranking,document routing"
    .venv/bin/python bench/ablation.py --half tune --json /tmp/ablation.json
    .venv/bin/python bench/ablation.py --list                 # the table of features

For every feature in ``FEATURES`` the retrieval-only evaluation (as ``python -m assistant eval
--retrieval-only --modes hybrid``) runs once with the default settings and once with the
feature's overrides (environment variables ``RAG_...``). Settings are built per configuration
exactly as a new process would build them (``load_settings`` with the variables set, so a
wrong name or value fails the same way), with a fresh ``Retriever`` and ``Store``; the runs
share one e5 model whose question vectors are cached (a question's vector does not depend on
the settings), so a configuration costs its searches, not the embedding. The gain is
*default minus overridden*, per item, in hit@5 (recall@5) and reciprocal rank (MRR@10),
averaged over the answerable cases of the half, with a paired bootstrap interval over items
(2,000 resamples, fixed seed). A feature whose interval does not lie above zero has not shown
that it helps on questions nobody tuned for.

Features that change the index (``reindex``) get their own index, built once with ``python
-m ingest`` into ``--index-cache/<name>`` and reused while the corpus and the overrides stay
the same (delete the folder to rebuild).

To add a feature: one entry in ``FEATURES`` — a name, the environment overrides that turn it
*off* (or set the alternative to compare with), and a note. Settings that do not exist make
the run fail at start with a message naming the setting (``assistant.settings``), so a typo
cannot pass silently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.embeddings import make_embeddings  # noqa: E402
from assistant.evaluation.gold import default_gold, load_items  # noqa: E402
from assistant.evaluation.retrieval import (  # noqa: E402
    CachedQueries,
    project_retriever,
    retrieval_summary,
    run_retrieval,
)
from assistant.evaluation.stats import by_half, paired_bootstrap  # noqa: E402
from assistant.settings import load_settings  # noqa: E402


@dataclass(frozen=True)
class Feature:
    env: dict[str, str]  # overrides that turn the feature off (or set the alternative)
    note: str = ""
    reindex: bool = False  # the overrides change the index: build one for them


R = "RAG_RETRIEVAL__"
FEATURES: dict[str, Feature] = {
    # Features on by default: the overrides turn them off.
    "keyword search": Feature({R + "KEYWORD_WEIGHT": "0"}, "off = dense only (+ extras)"),
    "document routing": Feature({R + "DOCUMENT_WEIGHT": "0"}, "rankings inside named reports"),
    "follow-up rewrite": Feature(
        {R + "REWRITE_FOLLOWUPS": "false"}, "off = a follow-up is searched as asked"
    ),
    "name-free inner search": Feature(
        {R + "INNER_WITHOUT_NAMES": "false"}, "off = the whole question inside named reports"
    ),
    "name-free whole-index ranking": Feature(
        {R + "GLOBAL_WITHOUT_NAMES": "false"},
        "off = the whole-index dense ranking uses the whole question",
    ),
    # Off by default (their gain on the check half was not clearly above zero): the
    # overrides turn them on, so a negative gain means "on" would have done better.
    "tuned fusion weights": Feature(
        {R + "DENSE_WEIGHT": "1.5", R + "RRF_K": "30"}, "alternative: dense 1.5, k=30"
    ),
    "answer-type ranking": Feature(
        {R + "ANSWER_TYPE_WEIGHT": "1"}, "alternative: rank candidates giving the fact asked"
    ),
    "list chunking": Feature(
        {"RAG_INGEST__KEEP_LISTS": "true"}, "alternative: lists kept with lead-in", reindex=True
    ),
    "focus search": Feature(
        {R + "FOCUS_WEIGHT": "1"},
        "alternative: standalone form and a follow-up's own words (multi-query)",
    ),
    "dense without source phrase": Feature(
        {R + "DENSE_WITHOUT_SOURCE": "true"}, "alternative: e5 leaves out 'volgens het X-rapport'"
    ),
    "topic search": Feature(
        {R + "TOPIC_WEIGHT": "1"}, "alternative: second search on X of 'over X'"
    ),
    "previous passages": Feature({R + "PREVIOUS_WEIGHT": "1"}, "alternative: previous answer's"),
    "diversity cap": Feature({R + "MAX_PER_DOCUMENT": "2"}, "alternative: at most 2 per document"),
    "sentence windows": Feature(
        {R + "WINDOW_WEIGHT": "1", "RAG_INGEST__WINDOW_SENTENCES": "2"},
        "alternative: rerank the first 30 by their best 2-sentence window (e5)",
        reindex=True,
    ),
    "window search": Feature(
        {R + "WINDOW_SEARCH_WEIGHT": "1", "RAG_INGEST__WINDOW_SENTENCES": "2"},
        "alternative: a dense search over every chunk's 2-sentence windows",
        reindex=True,
    ),
    "heading context": Feature(
        {"RAG_INGEST__CHUNK_CONTEXT": "title"},
        "alternative: title and heading embedded, heading keyword-indexed",
        reindex=True,
    ),
    # Parameters against an alternative value.
    "candidates 40": Feature({R + "CANDIDATES": "20"}, "alternative: 20 per retriever"),
    "chunk size 260": Feature(
        {"RAG_INGEST__CHUNK_TOKENS": "180"},
        "alternative: 180-token chunks",
        reindex=True,
    ),
    "chunk overlap 0": Feature(
        {"RAG_INGEST__CHUNK_OVERLAP": "40"}, "alternative: overlap 40 tokens", reindex=True
    ),
}


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_config(env: dict[str, str], items: list[dict[str, Any]], embeddings: Any) -> dict:
    """The retrieval-only report (hybrid) of one configuration."""
    with environment(env):
        settings = load_settings()
    retriever = project_retriever(settings, embeddings)
    rows = run_retrieval(retriever, items, "hybrid")
    return {"items": rows, "summary": by_half(rows, retrieval_summary)}


def index_for(name: str, feature: Feature, args: argparse.Namespace, log: Path) -> dict[str, str]:
    """Environment that points at an index built with the feature's overrides."""
    corpus = sorted((p.name, p.stat().st_size) for p in (ROOT / "corpus").iterdir())
    # keyed by the ingest settings in effect (the defaults with the feature's overrides), so
    # features that differ in retrieval settings alone share one index, and a changed default
    # does not reuse a stale one
    ingest_env = {k: v for k, v in feature.env.items() if k.startswith("RAG_INGEST__")}
    with environment(ingest_env):
        ingest = load_settings().ingest.model_dump(mode="json", exclude={"corpus"})
    key = hashlib.sha256(json.dumps([ingest, corpus], sort_keys=True).encode()).hexdigest()[:12]
    path = Path(args.index_cache) / f"index-{key}"
    env = {**feature.env, "RAG_STORE__PATH": str(path)}
    if not (path / ".built").exists():
        print(f"  building an index for '{name}' in {path} ...", flush=True)
        with log.open("a") as err:
            done = subprocess.run(
                [sys.executable, "-m", "ingest"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=err,
                stderr=err,
            )
        if done.returncode != 0:
            raise SystemExit(f"ingest failed for '{name}' (see {log})")
        (path / ".built").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return env


def per_item(part: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """id -> (hit@5, reciprocal rank within 10) over the answerable cases."""
    return {
        r["id"]: (
            1.0 if r["rank"] and r["rank"] <= 5 else 0.0,
            1.0 / r["rank"] if r["rank"] else 0.0,
        )
        for r in part["items"]
        if r["answerable"]
    }


def compare(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    a, b = per_item(base), per_item(other)
    ids = sorted(set(a) & set(b))
    out: dict[str, Any] = {"n": len(ids)}
    for j, metric in enumerate(("recall@5", "mrr@10")):
        x = [a[i][j] for i in ids]
        y = [b[i][j] for i in ids]
        gain, lo, hi = paired_bootstrap(x, y)
        out[metric] = {"default": sum(x) / len(x), "off": sum(y) / len(y), "gain": gain}
        out[metric].update(lo=lo, hi=hi)
    s = other["summary"]["all"]["counts"]
    out["refused_off"] = {k: s[k] for k in ("answerable_refused", "unanswerable_refused")}
    return out


def verdict(row: dict[str, Any]) -> str:
    if row["recall@5"]["lo"] > 0 or row["mrr@10"]["lo"] > 0:
        return "helps"
    if row["recall@5"]["hi"] < 0 or row["mrr@10"]["hi"] < 0:
        return "hurts"
    return "not shown"


def show(name: str, row: dict[str, Any]) -> None:
    cells = []
    for metric in ("recall@5", "mrr@10"):
        m = row[metric]
        cells.append(f"{m['off']:.3f} {m['gain']:+.3f} [{m['lo']:+.3f}, {m['hi']:+.3f}]")
    print(f"{name:<22}" + "".join(f"{c:>32}" for c in cells) + f"   {verdict(row)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=None, help="bank (default: the eval's default)")
    parser.add_argument("--half", choices=("tune", "check", "all"), default="check")
    parser.add_argument("--limit", type=int, default=None, help="first N items (a quick try)")
    parser.add_argument("--features", default=None, help="comma-separated names (default all)")
    parser.add_argument("--index-cache", default=str(Path(tempfile.gettempdir()) / "rag-ablation"))
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--list", action="store_true", help="print the features and stop")
    args = parser.parse_args()
    if args.list:
        for name, f in FEATURES.items():
            extra = " (own index)" if f.reindex else ""
            print(f"{name:<22} {f.env}{extra}  {f.note}")
        return
    names = [n.strip() for n in args.features.split(",")] if args.features else list(FEATURES)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise SystemExit(f"unknown features: {unknown}; see --list")
    log = Path(tempfile.gettempdir()) / "rag-ablation.log"
    gold = Path(args.gold) if args.gold else default_gold()
    items = load_items(gold, args.half, limit=args.limit)
    embeddings = CachedQueries(make_embeddings(load_settings().embeddings))
    t = time.perf_counter()
    base = run_config({}, items, embeddings)
    b = base["summary"]["all"]
    print(
        f"half {args.half}: {b['answerable']} answerable cases; default recall@5 "
        f"{b['recall@5']:.3f}, MRR@10 {b['mrr@10']:.3f} ({time.perf_counter() - t:.0f} s)"
    )
    print(f"{'feature':<22}{'recall@5 off, gain [95% CI]':>32}{'MRR@10 off, gain [95% CI]':>32}")
    results: dict[str, Any] = {"gold": str(gold), "half": args.half, "default": b}
    results["features"] = {}
    for name in names:
        feature = FEATURES[name]
        env = index_for(name, feature, args, log) if feature.reindex else feature.env
        t = time.perf_counter()
        row = compare(base, run_config(env, items, embeddings))
        row["seconds"] = round(time.perf_counter() - t, 1)
        row.update(env=feature.env, note=feature.note, verdict=verdict(row))
        results["features"][name] = row
        show(name, row)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
