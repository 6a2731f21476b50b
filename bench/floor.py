"""The refusal floor's trade-off curve: answerable refused against unanswerable refused.

    .venv/bin/python bench/floor.py                          # every threshold, check half
    .venv/bin/python bench/floor.py --half tune --params relevance_floor,min_coverage
    .venv/bin/python bench/floor.py --json /tmp/floor.json

The retrieval settings that decide a refusal (``relevance_floor``, ``relevance_floor_strong``,
``min_coverage``, ``evidence_floor``; see ``assistant.retrieval.judge_relevance``) are swept one
at a time, the others at their configured values. For each value every case of the half is
retrieved as in ``python -m assistant eval --retrieval-only`` (hybrid; follow-ups and
conversations with their earlier user questions) and the floor's verdict counted: answerable
cases refused (a lost answer) and unanswerable cases refused (an invention avoided). Wrongly
refusing an answerable question costs as much as answering an unanswerable one, so the best
value is the one with the fewest *errors* = answerable refused + unanswerable answered (ties:
the value closest to the current one). Injections without a legitimate part are left out.

The retrievers share one store and one e5 model; question vectors are cached across values
(the floor does not change them), so a sweep costs the searches, not the embedding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.embeddings import make_embeddings  # noqa: E402
from assistant.evaluation.gold import default_gold, load_items  # noqa: E402
from assistant.evaluation.retrieval import CachedQueries, run_retrieval  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.store import Store  # noqa: E402

SWEEPS: dict[str, list[Any]] = {
    "relevance_floor": [0.0] + [round(0.76 + 0.01 * i, 2) for i in range(13)],
    "relevance_floor_strong": [round(0.80 + 0.01 * i, 2) for i in range(11)],
    "min_coverage": [round(0.1 * i, 1) for i in range(10)],
    "evidence_floor": [True, False],
}


def errors_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if r["unanswerable"]]
    ar = sum(r["refused"] for r in ans)
    ur = sum(r["refused"] for r in unans)
    return {
        "answerable_refused": ar,
        "answerable": len(ans),
        "unanswerable_refused": ur,
        "unanswerable": len(unans),
        "errors": ar + (len(unans) - ur),
    }


def sweep(store: Store, base: Any, items: list[dict[str, Any]], param: str) -> list[dict]:
    out = []
    for value in SWEEPS[param]:
        retriever = Retriever(store, base.model_copy(update={param: value}))
        row = errors_of(run_retrieval(retriever, items, "hybrid"))
        row["value"] = value
        out.append(row)
    return out


def best(rows: list[dict[str, Any]], current: Any) -> dict[str, Any]:
    def distance(v: Any) -> float:
        return abs(float(v) - float(current))

    return min(rows, key=lambda r: (r["errors"], distance(r["value"])))


def show(param: str, rows: list[dict[str, Any]], current: Any) -> dict[str, Any]:
    print(f"\n{param} (now {current})")
    print(f"  {'value':>7} {'answerable refused':>20} {'unanswerable refused':>22} {'errors':>7}")
    for r in rows:
        mark = " <- now" if r["value"] == current else ""
        print(
            f"  {r['value']!s:>7} {r['answerable_refused']:>12}/{r['answerable']:<7}"
            f" {r['unanswerable_refused']:>13}/{r['unanswerable']:<8} {r['errors']:>7}{mark}"
        )
    top = best(rows, current)
    print(f"  fewest errors (equal costs): {param} = {top['value']} ({top['errors']} errors)")
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=None, help="bank (default: the eval's default)")
    parser.add_argument("--half", choices=("tune", "check", "all"), default="check")
    parser.add_argument("--limit", type=int, default=None, help="first N items (a quick try)")
    parser.add_argument("--params", default=",".join(SWEEPS), help="comma-separated settings")
    parser.add_argument("--json", default=None, help="also write the curves to this file")
    args = parser.parse_args()
    gold = Path(args.gold) if args.gold else default_gold()
    items = load_items(gold, args.half, limit=args.limit)
    settings = load_settings()
    store = Store(settings.store, CachedQueries(make_embeddings(settings.embeddings)))
    base = settings.retrieval
    print(f"bank: {gold}, half {args.half}: {len(items)} items")
    report: dict[str, Any] = {"gold": str(gold), "half": args.half, "curves": {}}
    for param in [p.strip() for p in args.params.split(",") if p.strip()]:
        if param not in SWEEPS:
            raise SystemExit(f"unknown setting {param}; one of {', '.join(SWEEPS)}")
        t = time.perf_counter()
        rows = sweep(store, base, items, param)
        top = show(param, rows, getattr(base, param))
        print(f"  ({time.perf_counter() - t:.0f} s)")
        report["curves"][param] = {"now": getattr(base, param), "rows": rows, "best": top}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
