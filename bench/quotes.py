"""What the model and the quotes can answer from: for each answerable single-turn question of
one half of the bank, does every key fact occur in the passages retrieved, in the focused
prompt the model reads, in the top 1/2/3/5 usable quotes (``evidence.rank_quotes``), and in
the quote answer as shown with at most 1/2/3 quotes (with its passage-level citation
precision)?
And how many unanswerable questions would still get a usable quote?

No model runs (``RAG_LLM__MODE=fake`` is enough): it measures the parts of an answer that do
not depend on what the model writes, so a change to quote ranking or prompt focus can be
compared on the tune half in minutes. Prints counts; ``--json`` writes the rows.

    RAG_LLM__MODE=fake .venv/bin/python bench/quotes.py --half tune
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.chunks import Passage
from assistant.citations.quotes import quote_answer
from assistant.evaluation.gold import default_gold
from assistant.evaluation.rules import citation_correct, facts_found, half_of
from assistant.evidence import rank_quotes
from assistant.service import Assistant
from assistant.settings import load_settings

SINGLE_TURN = ("injection", "followup", "conversation")


def _row(assistant: Assistant, case: dict[str, Any], counts: Counter[str]) -> dict[str, Any]:
    stream = assistant.ask(case["question"])
    passages = [Passage(i, c) for i, c in enumerate(stream.passages, start=1)]
    ranked = rank_quotes(stream.analysed.text, passages, **assistant._checks()) if passages else []
    usable = [q for q in ranked if q.usable]
    if case["type"] == "unanswerable":
        counts["unanswerable"] += 1
        counts["unanswerable_quoted"] += bool(usable) and not stream.refused
        return {}
    must = case["must_contain"]
    prompt = stream.messages[-1]["content"] if stream.messages else ""
    row = {
        "id": case["id"],
        "in_passages": len(facts_found("\n".join(c.text for c in stream.passages), must)),
        "in_prompt": len(facts_found(prompt, must)),
        **{
            f"top{k}": len(facts_found(" ".join(q.text for q in usable[:k]), must))
            for k in (1, 2, 3, 5)
        },
        "facts": len(must),
    }
    counts["answerable"] += 1
    for key in ("in_passages", "in_prompt", "top1", "top2", "top3", "top5"):
        counts[key] += row[key] == len(must)
    for k in (1, 2, 3):  # the quote answer as shown with at most k quotes
        shown = quote_answer(stream.analysed.text, ranked, k, "")
        counts[f"answer{k}"] += len(facts_found(shown.text, must)) == len(must)
        cited = [citation_correct(c.chunk.text, c.chunk.source, case) for c in shown.citations]
        if cited:
            counts[f"answer{k}_answers"] += 1
            counts[f"answer{k}_precision"] += sum(cited) / len(cited)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=("tune", "check"), default="tune")
    parser.add_argument("--gold", default=str(default_gold()))
    parser.add_argument("--json")
    args = parser.parse_args()
    assistant = Assistant.from_settings(load_settings())
    counts: Counter[str] = Counter()
    rows = []
    for line in Path(args.gold).read_text("utf-8").splitlines():
        case = json.loads(line)
        if half_of(case["id"]) != args.half or case.get("turns") or case["type"] in SINGLE_TURN:
            continue
        if case["type"] == "unanswerable" or case.get("must_contain"):
            rows.append(_row(assistant, case, counts))
    n = counts["answerable"]
    print(f"{args.half}: {n} answerable single-turn questions; every key fact in ...")
    for key in ("in_passages", "in_prompt", "top1", "top2", "top3", "top5"):
        print(f"  {key:12} {counts[key]:4d}  ({counts[key] / max(n, 1):.2f})")
    for k in (1, 2, 3):
        m = max(counts[f"answer{k}_answers"], 1)
        print(
            f"  quote answer, at most {k}: every key fact {counts[f'answer{k}']}, "
            f"citation precision {counts[f'answer{k}_precision'] / m:.3f} over {m} answers"
        )
    u = counts["unanswerable"]
    print(f"unanswerable with a usable quote: {counts['unanswerable_quoted']}/{u}")
    if args.json:
        Path(args.json).write_text(json.dumps([r for r in rows if r], indent=1), "utf-8")
        print(f"(rows in {args.json})", file=sys.stderr)


if __name__ == "__main__":
    main()
