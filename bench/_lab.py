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


def load_bank(pattern: str = "eval/parts/*.jsonl") -> list[dict[str, Any]]:
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


def run_item(retriever: Any, item: dict[str, Any], mode: str) -> list[dict[str, Any]]:
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
                "coverage": getattr(res, "coverage", 0.0),
                "reason": getattr(res, "reason", ""),
                "query": res.query,
                "latency": lat,
            }
        )
        previous = [p.chunk for p in res.passages[:top_k]] or None
        history.append({"role": "user", "content": case["question"]})
    return rows


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


PRESETS: dict[str, dict[str, Any]] = {"base": {}}


def parse_config(spec: str) -> tuple[str, dict[str, Any]]:
    mode = "hybrid"
    over: dict[str, Any] = {}
    for part in spec.split("+"):
        if part in ("dense", "keyword", "hybrid"):
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
    cached = lru_cache(maxsize=20000)(emb.embed_query)
    emb.embed_query = cached  # type: ignore[method-assign]
    return Store(settings.store.model_copy(update={"path": Path(path)}), emb)


def make_retriever(over: dict[str, Any], store_path: str) -> Any:
    from assistant.retrieval import Retriever
    from assistant.settings import load_settings

    settings = load_settings()
    return Retriever(_store(store_path), settings.retrieval.model_copy(update=over))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="base")
    ap.add_argument("--half", default="tune", choices=["tune", "check", "all"])
    ap.add_argument("--compare", default="")
    ap.add_argument("--store", default=str(ROOT / "vectorstore"))
    ap.add_argument("--anchor", action="store_true", help="also run the plain recipe")
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
        results[spec] = [row for item in items for row in run_item(r, item, mode)]
    if args.anchor:
        from _anchor import PlainRecipe

        anchor = PlainRecipe.load()
        results["anchor"] = [row for item in items for row in run_item(anchor, item, "hybrid")]
    for name, rows in results.items():
        s = summary(rows)
        print(
            f"{name:<40} n={s['n']:<3} r@1={s['r@1']:.3f} r@5={s['r@5']:.3f} "
            f"r@10={s['r@10']:.3f} mrr={s['mrr']:.3f} ans_ref={s['ans_ref']} "
            f"un_ref={s['un_ref']} p95={s['p95ms']:.0f}ms"
        )
    if args.compare:
        base = per_item(results[args.compare])
        for name, rows in results.items():
            if name == args.compare:
                continue
            (g5, l5, h5), (gm, lm, hm) = bootstrap(base, per_item(rows))
            print(
                f"{name:<40} vs {args.compare}: r@5 {g5:+.3f} [{l5:+.3f},{h5:+.3f}]  "
                f"mrr {gm:+.3f} [{lm:+.3f},{hm:+.3f}]"
            )
    if args.misses and args.half == "tune":
        for name, rows in results.items():
            print(f"\n-- {name}: misses (rank>5 or none)")
            for r in rows:
                if r["answerable"] and not (r["rank"] and r["rank"] <= 5):
                    print(f"  {r['id']:<8} rank={r['rank']} q={r['query'][:110]}")
    if args.dump:
        Path(args.dump).write_text(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
