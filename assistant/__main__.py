"""Command line: ``python -m assistant ask "vraag" [--json]``, ``python -m assistant eval`` and
``python -m assistant serve [--host H --port P]`` (the HTTP API).

The CLI may speak English in its logs; answers and user errors are Dutch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from assistant.errors import AssistantError
from assistant.settings import load_settings


def _print_answer(answer, stream=sys.stdout) -> None:  # noqa: ANN001
    print(answer.text, file=stream)
    if answer.citations:
        print("\nBronnen:", file=stream)
        for c in answer.citations:
            title = c.chunk.title or c.chunk.source
            print(f"[{c.n}] {title}, p. {c.chunk.page} ({c.chunk.source})", file=stream)
            print(f"    „{c.quote}”", file=stream)


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.service import Assistant

    settings = load_settings()
    assistant = Assistant.from_settings(settings)
    stream = assistant.ask(args.question)
    if not args.json:
        for part in stream.tokens():
            print(part, end="", flush=True, file=sys.stderr)
        print(file=sys.stderr)
    answer = stream.result()
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        if answer.query != answer.question:
            print(f"(gezocht op: {answer.query})")
        _print_answer(answer)
        t = answer.timings
        print(
            f"\n[{answer.model}; eerste token {t.get('first_token_s', 0):.1f} s, "
            f"totaal {t.get('total_s', 0):.1f} s]",
            file=sys.stderr,
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.api import serve

    return serve(load_settings(), args.host, args.port)


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation import main as eval_main

    return eval_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant", description="Dutch research assistant"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="ask one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(func=cmd_ask)
    srv = sub.add_parser("serve", help="start the OpenAI-compatible HTTP API (assistant/api.py)")
    srv.add_argument("--host", default=None, help="default: RAG_API__HOST (127.0.0.1)")
    srv.add_argument("--port", type=int, default=None, help="default: RAG_API__PORT (8502)")
    srv.set_defaults(func=cmd_serve)
    ev = sub.add_parser("eval", help="evaluate on a question bank (JSONL), per half and type")
    from assistant.evaluation import add_arguments

    add_arguments(ev)
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # index, audit log and feedback hold personal data: owner-only files
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except AssistantError as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
