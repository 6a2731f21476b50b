"""Retrieval experiments on the question bank, per half, in one process (not run by make bench).

    .venv/bin/python bench/_lab.py --configs base,dense,keyword --half tune
    .venv/bin/python bench/_lab.py --configs base,answer_type=0 --half check --compare base

A config is ``name`` (a preset below) or ``key=value,...`` of retrieval settings overrides
joined by ``+`` (``rrf_k=60+dense_weight=1``). Query embeddings are cached, so many configs
cost little more than one. The hit rule is the evaluation's (a passage of a source document
holding an evidence quote, or a 60-character span of one). ``--compare A`` prints the paired
bootstrap interval of every config's gain over A. Until the evaluation package lands this is
the experiment bench; afterwards its tools are the reference.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import random
import re
import sys
import time
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
MIN_SPAN = 60
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"'})


def half_of(item_id: str) -> str:
    return "check" if int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2 == 1 else "tune"


def squash(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    t = t.replace("\u00ad", "")
    return re.sub(r"[\s\-‐‑–]+", "", t)


def stem_of(name: str) -> str:
    return Path(name).stem.split(":")[0]


def holds(text: str, source: str, case: dict[str, Any]) -> bool:
    if stem_of(source) not in {stem_of(s) for s in case.get("sources") or []}:
        return False
    if not case.get("evidence"):
        return True
    p = squash(text)
    for q in case["evidence"]:
        q = squash(q)
        if len(q) <= MIN_SPAN:
            if q in p:
                return True
        elif any(q[i : i + MIN_SPAN] in p for i in range(len(q) - MIN_SPAN + 1)):
            return True
    return False


def load_bank(pattern: str = "eval/questions.jsonl") -> list[dict[str, Any]]:
    items = []
    for path in sorted(glob.glob(str(ROOT / pattern))):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                item["half"] = half_of(item["id"])
                items.append(item)
    return items


def cases_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    if not item.get("turns"):
        return [item]
    out = []
    for i, turn in enumerate(item["turns"], start=1):
        case = dict(turn)
        case.update(id=f"{item['id']}#{i}", type="conversation", half=item["half"])
        out.append(case)
    return out


def run_item(
    retriever: Any, item: dict[str, Any], mode: str, nohist: bool = False
) -> list[dict[str, Any]]:
    if nohist:
        item = {k: v for k, v in item.items() if k != "history"}
    history: list[dict[str, str]] = []
    previous = None
    top_k = getattr(getattr(retriever, "settings", None), "top_k", 4)
    if not item.get("turns"):
        for t in item.get("history") or []:
            if t.get("role") == "user":
                res = retriever.retrieve(t["content"], list(history), mode=mode, previous=previous)
                previous = [p.chunk for p in res.passages[:top_k]] or None
                history.append({"role": "user", "content": t["content"]})
    rows = []
    for case in cases_of(item):
        t0 = time.perf_counter()
        res = retriever.retrieve(
            case["question"], list(history), mode=mode, top_k=10, previous=previous
        )
        lat = time.perf_counter() - t0
        answerable = bool(case.get("sources"))
        rank = None
        if answerable:
            rank = next(
                (
                    i
                    for i, p in enumerate(res.passages[:10], 1)
                    if holds(p.chunk.text, p.chunk.source, case)
                ),
                None,
            )
        rows.append(
            {
                "id": case["id"],
                "half": item["half"],
                "type": case.get("type", item["type"]),
                "answerable": answerable,
                "unanswerable": not answerable and item["type"] != "injection",
                "rank": rank,
                "refused": not res.relevant,
                "best_dense": getattr(res, "best_dense", 0.0),
                "signal": _signal(res),
                "coverage": getattr(res, "coverage", 0.0),
                "reason": getattr(res, "reason", ""),
                "query": res.query,
                "latency": lat,
            }
        )
        previous = [p.chunk for p in res.passages[:top_k]] or None
        if not nohist:
            history.append({"role": "user", "content": case["question"]})
    return rows


def _signal(res: Any) -> dict[str, Any] | None:
    sig = getattr(res, "signal", None)
    if sig is None:
        return None
    return {
        "dense": sig.best_dense,
        "coverage": sig.coverage,
        "keyword": sig.best_keyword,
        "unknown": list(sig.unknown),
        "gap": sig.evidence_gap,
    }


def floor_curve(rows: list[dict[str, Any]]) -> list[tuple[float, float, float, bool, int, int]]:
    """(floor, strong, min_coverage, evidence, answerable refused, unanswerable answered)
    for a grid of floor settings, from the signals the retriever recorded."""
    from types import SimpleNamespace

    from assistant.retrieval import RelevanceSignal, judge_relevance

    out = []
    grid_f = [0.0] + [round(0.78 + 0.01 * i, 2) for i in range(10)]
    for f in grid_f:
        for strong in sorted({f, *[round(f + 0.01 * i, 2) for i in (1, 2, 3, 4, 6)]}):
            for cov in (0.3, 0.4, 0.5, 0.6, 0.7):
                for ev in (True, False):
                    st = SimpleNamespace(
                        relevance_floor=f,
                        relevance_floor_strong=strong,
                        min_coverage=cov,
                        evidence_floor=ev,
                    )
                    a = u = 0
                    for r in rows:
                        sg = r["signal"]
                        if sg is None or not (r["answerable"] or r["unanswerable"]):
                            continue
                        sig = RelevanceSignal(
                            sg["dense"],
                            sg["coverage"],
                            sg["keyword"],
                            tuple(sg["unknown"]),
                            sg["gap"],
                        )
                        ok, _ = judge_relevance(sig, st)  # type: ignore[arg-type]
                        a += r["answerable"] and not ok
                        u += r["unanswerable"] and ok
                    out.append((f, strong, cov, ev, a, u))
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    un = [r for r in rows if r["unanswerable"]]
    out: dict[str, Any] = {"n": len(ans)}
    for k in (1, 5, 10):
        out[f"r@{k}"] = sum(bool(r["rank"] and r["rank"] <= k) for r in ans) / max(len(ans), 1)
    out["mrr"] = sum(1 / r["rank"] for r in ans if r["rank"]) / max(len(ans), 1)
    out["ans_ref"] = f"{sum(r['refused'] for r in ans)}/{len(ans)}"
    out["un_ref"] = f"{sum(r['refused'] for r in un)}/{len(un)}"
    lat = sorted(r["latency"] for r in rows)
    out["p95ms"] = 1000 * lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] if lat else 0
    return out


def per_item(rows: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    return {
        r["id"]: (1.0 if r["rank"] and r["rank"] <= 5 else 0.0, 1 / r["rank"] if r["rank"] else 0.0)
        for r in rows
        if r["answerable"]
    }


def bootstrap(a: dict, b: dict, n: int = 2000, seed: int = 7) -> list[tuple[float, float, float]]:
    """Paired bootstrap over items: (gain, low, high) of b - a for recall@5 and MRR@10."""
    ids = sorted(set(a) & set(b))
    rng = random.Random(seed)
    out = []
    for m in (0, 1):
        diffs = [b[i][m] - a[i][m] for i in ids]
        gain = sum(diffs) / len(diffs)
        means = sorted(
            sum(diffs[rng.randrange(len(diffs))] for _ in diffs) / len(diffs) for _ in range(n)
        )
        out.append((gain, means[int(0.025 * n)], means[int(0.975 * n) - 1]))
    return out


QCACHE_PATH = Path("/tmp/retrieval_query_cache.json")
QCACHE: dict[str, list[float]] = json.loads(QCACHE_PATH.read_text()) if QCACHE_PATH.exists() else {}

PRESETS: dict[str, dict[str, Any]] = {"base": {}}


FLAGS = {"nohist", "kwplain"}  # no follow-up resolution; keyword index without headings


def parse_config(spec: str) -> tuple[str, dict[str, Any]]:
    mode = "hybrid"
    over: dict[str, Any] = {}
    for part in spec.split("+"):
        if part in FLAGS:
            over[part] = True
        elif part in ("dense", "keyword", "hybrid"):
            mode = part
        elif part in PRESETS:
            over.update(PRESETS[part])
        elif "=" in part:
            k, v = part.split("=", 1)
            over[k] = json.loads(v) if v not in ("true", "false") else v == "true"
    return mode, over


@lru_cache(maxsize=1)
def _store(path: str) -> Any:
    from assistant.embeddings import make_embeddings
    from assistant.settings import load_settings
    from assistant.store import Store

    settings = load_settings()
    emb = make_embeddings(settings.embeddings)
    raw = emb.embed_query

    def cached(text: str) -> list[float]:
        if text not in QCACHE:
            QCACHE[text] = raw(text)
        return QCACHE[text]

    emb.embed_query = cached  # type: ignore[method-assign]
    return Store(settings.store.model_copy(update={"path": Path(path)}), emb)


def make_retriever(over: dict[str, Any], store_path: str) -> Any:
    from assistant.retrieval import Retriever
    from assistant.settings import load_settings

    settings = load_settings()
    over = {k: v for k, v in over.items() if k not in FLAGS}
    return Retriever(_store(store_path), settings.retrieval.model_copy(update=over))


def plain_keyword(retriever: Any) -> None:
    """Swap in a keyword index built from the chunks' own text (no headings)."""
    import assistant.keyword as kw
    from assistant.retrieval import KeywordView

    saved = kw.indexed_text
    kw.indexed_text = lambda c, title=True: c.text  # type: ignore[assignment]
    try:
        index = kw.KeywordIndex.build(retriever.store.all_chunks())
    finally:
        kw.indexed_text = saved  # type: ignore[assignment]
    manifest = retriever.store.require_manifest()
    retriever._keyword = (manifest.collection, index, KeywordView(index, manifest.documents))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="base")
    ap.add_argument("--half", default="tune", choices=["tune", "check", "all"])
    ap.add_argument("--compare", default="")
    ap.add_argument("--store", default=str(ROOT / "vectorstore"))
    ap.add_argument("--anchor", action="store_true", help="also run the plain recipe")
    ap.add_argument("--anchor-dir", default="", help="keep/reuse the anchor's index here")
    ap.add_argument("--types", default="")
    ap.add_argument("--dump", default="", help="write per-case rows (JSON) here")
    ap.add_argument("--misses", action="store_true", help="list tune-half misses")
    args = ap.parse_args()
    items = [i for i in load_bank() if args.half == "all" or i["half"] == args.half]
    if args.types:
        items = [i for i in items if i["type"] in args.types.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    configs = [c for c in args.configs.split(",") if c]
    for spec in configs:
        mode, over = parse_config(spec)
        r = make_retriever(over, args.store)
        r.retrieve("opwarmen")
        if over.get("kwplain"):
            plain_keyword(r)
        nohist = bool(over.get("nohist"))
        results[spec] = [row for item in items for row in run_item(r, item, mode, nohist)]
    if args.anchor:
        from _anchor import PlainRecipe

        anchor = PlainRecipe(ROOT / "corpus", Path(args.anchor_dir) if args.anchor_dir else None)
        results["anchor"] = [row for item in items for row in run_item(anchor, item, "hybrid")]
    halves = ["tune", "check"] if args.half == "all" else [args.half]
    for (name, all_rows), half in [(kv, h) for kv in results.items() for h in halves]:
        rows = [r for r in all_rows if r["half"] == half]
        s = summary(rows)
        print(
            f"{name:<34} {half:<5} n={s['n']:<3} r@1={s['r@1']:.3f} r@5={s['r@5']:.3f} "
            f"r@10={s['r@10']:.3f} mrr={s['mrr']:.3f} ans_ref={s['ans_ref']} "
            f"un_ref={s['un_ref']} p95={s['p95ms']:.0f}ms"
        )
    if args.compare:
        for (name, all_rows), half in [(kv, h) for kv in results.items() for h in halves]:
            if name == args.compare:
                continue
            base = per_item([r for r in results[args.compare] if r["half"] == half])
            rows = [r for r in all_rows if r["half"] == half]
            (g5, l5, h5), (gm, lm, hm) = bootstrap(base, per_item(rows))
            print(
                f"{name:<34} {half:<5} vs {args.compare}: r@5 {g5:+.3f} [{l5:+.3f},{h5:+.3f}]  "
                f"mrr {gm:+.3f} [{lm:+.3f},{hm:+.3f}]"
            )
    if args.misses and args.half == "tune":
        for name, rows in results.items():
            print(f"\n-- {name}: misses (rank>5 or none)")
            for r in rows:
                if r["answerable"] and not (r["rank"] and r["rank"] <= 5):
                    print(f"  {r['id']:<8} rank={r['rank']} q={r['query'][:110]}")
    QCACHE_PATH.write_text(json.dumps(QCACHE))
    if args.dump:
        Path(args.dump).write_text(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
