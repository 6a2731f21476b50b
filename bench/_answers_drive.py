"""Throwaway driver: answer a sample of bank items with the real model and score strictly.

Not a benchmark (underscore: ``make bench`` skips it). Strict: every must_contain term in the
shown answer (numbers on their boundaries), refusals counted per kind, and whether a cited
passage holds the item's evidence or a key fact. Conversations run turn by turn with the
assistant's own answers as history, as the page sends them.

    PYTHONPATH=. .venv/bin/python bench/_answers_drive.py --half tune --n 40 --out /tmp/x.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any


def half(item_id: str) -> str:
    return "check" if int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2 == 1 else "tune"


def squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"-\s+", "-", text)
    return re.sub(r"\s+", "", text)


def has_term(text: str, term: str) -> bool:
    flat = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).casefold()
    t = re.sub(r"\s+", " ", term).casefold()
    if re.fullmatch(r"[\d.,%]+", t):
        return bool(re.search(rf"(?<![\d.,]){re.escape(t)}(?![\d]|[.,]\d)", flat))
    return t in flat


def score_turn(turn: dict[str, Any], answer: Any) -> dict[str, Any]:
    must = turn.get("must_contain") or []
    found = [m for m in must if has_term(answer.text, m)]
    ev = [squash(e) for e in turn.get("evidence") or []]
    cits = answer.citations
    good = [
        any(e in squash(c.chunk.text) for e in ev) or any(has_term(c.chunk.text, m) for m in must)
        for c in cits
    ]
    answerable = bool(turn.get("sources"))
    refused = answer.mode in ("refusal", "unavailable")
    return {
        "question": turn["question"],
        "answerable": answerable,
        "mode": answer.mode,
        "refused": refused,
        "facts": f"{len(found)}/{len(must)}",
        "missing": [m for m in must if m not in found],
        "correct": (not refused and len(found) == len(must)) if answerable else refused,
        "cit_good": sum(good),
        "cit_n": len(good),
        "answer": answer.text,
        "raw": answer.raw,
        "query": answer.query,
        "passages": [f"{c.source} p{c.page}: {c.text[:160]}" for c in answer.passages],
        "passage_ids": [c.id for c in answer.passages],
        "cited_ids": [c.chunk.id for c in cits],
        "evidence_given": any(any(e in squash(c.text) for e in ev) for c in answer.passages),
        "sentences": [
            {"text": s.text, "status": s.status, "passage": s.passage}
            for s in (answer.checked.sentences if answer.checked else ())
        ],
        "s": round(answer.timings.get("total_s", 0.0), 1),
    }


def run_item(assistant: Any, item: dict[str, Any]) -> list[dict[str, Any]]:
    turns = item.get("turns") or [item]
    history: list[dict[str, str]] = []
    for h in item.get("history") or []:  # user-only history: answer it ourselves
        a = assistant.answer(h["content"], list(history))
        history += [
            {"role": "user", "content": h["content"]},
            {"role": "assistant", "content": a.text},
        ]
    out, previous = [], None
    for turn in turns:
        a = assistant.answer(turn["question"], list(history), previous=previous)
        out.append(score_turn(turn, a))
        out[-1]["history"] = list(history)
        history += [
            {"role": "user", "content": turn["question"]},
            {"role": "assistant", "content": a.text},
        ]
        previous = list(a.passages)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--half", default="tune")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--ids", default="")
    ap.add_argument("--types", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reverse", action="store_true")
    args = ap.parse_args()
    items = [json.loads(x) for x in Path("eval/questions.jsonl").read_text().splitlines() if x]
    items = [i for i in items if half(i["id"]) == args.half]
    if args.ids:
        want = set(args.ids.split(","))
        items = [i for i in items if i["id"] in want]
    else:
        if args.types:
            items = [i for i in items if i["type"] in args.types.split(",")]
        random.Random(args.seed).shuffle(items)
        items = sorted(items[: args.n], key=lambda i: i["id"])
    if args.reverse:
        items.reverse()
    from assistant.service import Assistant
    from assistant.settings import load_settings

    assistant = Assistant.from_settings(load_settings())
    assistant.warm()
    rows = []
    with open(args.out, "w") as f:
        for item in items:
            t0 = time.time()
            for k, r in enumerate(run_item(assistant, item)):
                r.update(id=item["id"] + (f"#{k}" if item.get("turns") else ""), type=item["type"])
                rows.append(r)
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                f.flush()
            print(f"{item['id']} {item['type']} {time.time() - t0:.0f}s", file=sys.stderr)
    summary(rows)
    return 0


def summary(rows: list[dict[str, Any]]) -> None:
    ans = [r for r in rows if r["answerable"]]
    un = [r for r in rows if not r["answerable"]]
    cn = sum(r["cit_n"] for r in ans)
    print(
        f"n={len(rows)} correct={sum(r['correct'] for r in rows) / len(rows):.2f} "
        f"answerable_correct={sum(r['correct'] for r in ans)}/{len(ans)} "
        f"answerable_refused={sum(r['refused'] for r in ans)}/{len(ans)} "
        f"unanswerable_refused={sum(r['refused'] for r in un)}/{len(un)} "
        f"cit_precision={sum(r['cit_good'] for r in ans) / cn if cn else 0:.2f} "
        f"modes={ {m: sum(r['mode'] == m for r in rows) for m in {r['mode'] for r in rows}} }"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--summary":
        summary([json.loads(x) for x in Path(sys.argv[2]).read_text().splitlines() if x])
    else:
        sys.exit(main())
