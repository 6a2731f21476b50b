"""Evaluation on a question bank: ``python -m assistant eval``.

Measures what a user meets, on questions split once into a *tuning* half and a *check* half
by a hash of their id; both halves are reported side by side with their gap (check minus
tune), the measure of how much the rules were fitted to the questions they were written on.

- whole answers (default): answered correctly, answerable refused beside unanswerable
  refused, citation precision at passage level, how each answer was made and the share of
  the model's sentences the check kept, Dutch by an independent detector, injections, times
  (``answers``); follow-ups and conversations run with the assistant's own earlier answers;
- ``--retrieval-only``: recall@k and MRR@10 of the passages given to the model, and the
  evidence floor's refusals, for hybrid, dense and keyword retrieval (``retrieval``).

The matching rules are in ``rules`` and are deliberately strict; the trade-off is that an
answer that paraphrases a key fact ("een kwart" for "25") counts as wrong. Gold data is for
measuring only: nothing here feeds answers back into the pipeline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.evaluation.answers import answer_summary, run_answers
from assistant.evaluation.gold import default_gold, load_items
from assistant.evaluation.report import (
    ANSWER_GAP_KEYS,
    RETRIEVAL_KEYS,
    print_answers,
    print_retrieval,
)
from assistant.evaluation.retrieval import (
    project_retriever,
    retrieval_summary,
    run_retrieval,
    warm,
)
from assistant.evaluation.stats import by_half, gap

__all__ = ["add_arguments", "evaluate_answers", "evaluate_retrieval", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gold", default=None, help="bank (JSONL); default eval/questions.jsonl or gold_dev"
    )
    parser.add_argument("--half", choices=("tune", "check", "all"), default="all")
    parser.add_argument("--types", default=None, help="comma-separated item types")
    parser.add_argument("--retrieval-only", action="store_true")
    parser.add_argument(
        "--modes", default="hybrid,dense,keyword", help="retrieval modes (--retrieval-only)"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N items only")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="write per-item records and the summary as JSON to PATH (no PATH: to stdout)",
    )
    parser.add_argument("--out", default=None, help="same as --json PATH")
    parser.add_argument("--quiet", action="store_true", help="no per-item progress")


def evaluate_retrieval(
    items: list[dict[str, Any]], modes: list[str], retriever: Any = None
) -> dict[str, Any]:
    retriever = retriever or project_retriever()
    warm(retriever)
    out: dict[str, Any] = {}
    for mode in modes:
        rows = run_retrieval(retriever, items, mode)
        summaries = by_half(rows, retrieval_summary)
        out[mode] = {"summary": summaries, "gap": gap(summaries, RETRIEVAL_KEYS), "items": rows}
    return out


def answer_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summaries = by_half(rows, answer_summary)
    return {"summary": summaries, "gap": gap(summaries, ANSWER_GAP_KEYS), "items": rows}


def evaluate_answers(
    items: list[dict[str, Any]],
    assistant: Any,
    progress: bool = True,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Whole answers; ``checkpoint`` gets the report so far after each item."""
    hook = (lambda rows: checkpoint(answer_report(rows))) if checkpoint else None
    return answer_report(run_answers(assistant, items, progress, hook))


def _write(path: str, report: dict[str, Any]) -> None:
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    tmp.replace(path)  # a reader never sees half a file


def main(args: argparse.Namespace) -> int:
    gold = Path(args.gold) if args.gold else default_gold()
    types = {t.strip() for t in args.types.split(",")} if args.types else None
    items = load_items(gold, args.half, types, args.limit)
    report: dict[str, Any] = {"gold": str(gold), "half": args.half, "items_in_bank": len(items)}
    target = args.out or (args.json if args.json not in (None, "-") else None)
    if args.retrieval_only:
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        report["modes"] = evaluate_retrieval(items, modes)
    else:
        from assistant.service import Assistant
        from assistant.settings import load_settings

        assistant = Assistant.from_settings(load_settings())
        assistant.warm()
        report["model"] = assistant.chat.label

        def checkpoint(part: dict[str, Any]) -> None:
            if target:
                _write(target, {**report, **part, "partial": True})

        report.update(evaluate_answers(items, assistant, not args.quiet, checkpoint))
    if target:
        _write(target, report)
        print(f"(JSON written to {target})", file=sys.stderr)
    if args.json == "-":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif args.retrieval_only:
        print_retrieval(report)
    else:
        print_answers(report)
    return 0
