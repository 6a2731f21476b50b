"""Why an answerable question was not answered correctly: one cause class per failure, from a
recorded real-model run, without the model.

For the tune-half single-turn items of an eval JSON (``python -m assistant eval --json``),
the passages and the prompt are rebuilt with the current code (``RAG_LLM__MODE=fake``) and
each answerable item whose shown answer lacks a key fact (or that was refused) gets one class,
decided on its *missing* key facts in this order:

- ``refused``: the shown answer is a refusal;
- ``not retrieved``: a missing fact is in none of the passages;
- ``narrowed``: a missing fact is in the passages but not in the focused prompt;
- ``dropped``: every missing fact is in the prompt and one is in the raw model text, but the
  check or tidy removed it;
- ``wrong quote``: every missing fact is in the prompt, none in the raw text, and the answer
  is made of quotes (the quote choice missed it);
- ``incomplete``: the same, but the model's answer was kept (it left the fact out).

Conversations and follow-ups are skipped (their history is not replayed). Unanswerable items
that were answered are listed with their mode. The run's stored ``answer`` is what is scored,
so the classes describe that run; the prompt is today's, like in ``recheck.py``. With
``--shown ROWS.json`` (``recheck.py --out``) the answers shown by the current check on the same
raw text are classified instead.

    PYTHONPATH=. RAG_LLM__MODE=fake .venv/bin/python bench/failures.py RUN.json --vectors V.pkl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.evaluation.gold import default_gold, load_items
from assistant.evaluation.rules import facts_found
from assistant.service import Assistant
from assistant.settings import load_settings

SKIPPED_TYPES = ("conversation", "followup")
CLASSES = ("refused", "not retrieved", "narrowed", "dropped", "wrong quote", "incomplete")


def classify(item: dict[str, Any], must: list[str], passages: str, prompt: str) -> str:
    """The cause class of one failed answerable item (see the module docstring)."""
    if item["refused"] or item["mode"] == "refusal":
        return "refused"
    missing = [f for f in must if f not in facts_found(item["answer"], must)]
    if len(facts_found(passages, missing)) < len(missing):
        return "not retrieved"
    if len(facts_found(prompt, missing)) < len(missing):
        return "narrowed"
    if facts_found(item.get("raw") or "", missing):
        return "dropped"
    return "wrong quote" if item["mode"] == "quotes" else "incomplete"


def _reshown(items: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's items with the answers ``recheck.py`` showed for the same raw model text."""
    by_id = {r["id"]: r for r in rows}
    out = []
    for item in items:
        r = by_id.get(item["id"])
        if r is None:
            continue
        refused = r["mode"] == "refusal"
        correct = r["facts_ok"] if item["answerable"] else item["correct"]
        shown = {"answer": r["shown"], "mode": r["mode"], "refused": refused, "correct": correct}
        out.append({**item, **shown})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="eval JSON with per-item question, answer, raw, half")
    parser.add_argument("--vectors", help="keep e5 vectors in this file (as recheck.py)")
    parser.add_argument("--gold", default=str(default_gold()))
    parser.add_argument("--json", help="write the classified rows here")
    parser.add_argument("--shown", help="recheck.py --out rows: classify their shown answers")
    args = parser.parse_args()
    bank = {c["id"]: c for c in load_items(args.gold, half="tune")}
    items = json.loads(Path(args.run).read_text("utf-8"))["items"]
    items = [i for i in items if i["half"] == "tune" and i["type"] not in SKIPPED_TYPES]
    items = [i for i in items if i["id"] in bank and not bank[i["id"]].get("history")]
    if args.shown:
        items = _reshown(items, json.loads(Path(args.shown).read_text("utf-8")))
    assistant = Assistant.from_settings(load_settings())
    cache = None
    if args.vectors:
        from bench.recheck import _CachedVectors

        cache = _CachedVectors(assistant.embeddings, Path(args.vectors))
        assistant.embeddings = assistant.store.embeddings = cache  # type: ignore[assignment]
    rows, counts, docs = [], Counter[str](), {k: set[str]() for k in CLASSES}
    for item in items:
        case = bank[item["id"]]
        if item["answerable"] and not item["correct"]:
            stream = assistant.ask(item["question"])
            prompt = stream.messages[-1]["content"] if stream.messages else ""
            text = "\n".join(c.text for c in stream.passages)
            cls = classify(item, list(case["must_contain"]), text, prompt)
            counts[cls] += 1
            docs[cls] |= {s.split("_")[0] for s in case.get("sources") or []}
            rows.append(
                {"id": item["id"], "type": item["type"], "mode": item["mode"], "class": cls}
            )
        elif item["unanswerable"] and not item["refused"]:
            counts[f"unanswerable answered ({item['mode']})"] += 1
    if cache is not None:
        cache.save()
    for key in (*CLASSES, *sorted(k for k in counts if k.startswith("unanswerable"))):
        where = ", ".join(sorted(docs.get(key, ())))
        print(f"{key:34} {counts[key]:4d}  {where}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
