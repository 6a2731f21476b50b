"""``python -m ingest``: sync the index with the documents folder.

Usage::

    python -m ingest [--corpus DIR] [--store DIR] [--rebuild] [--json] [--wait]

Progress (one line per file) and warnings go to stderr; the summary goes to stdout, or with
``--json`` a JSON object ``{"added", "updated", "removed", "unchanged", "skipped": [{"file",
"reason"}], ...}`` (file names) and nothing else.

Exit codes: 0 every document file went in (or was unchanged); 1 some files were skipped (bad
or unsupported files; the good ones are indexed); 2 another ingest holds the lock (use
``--wait`` to wait for it); 3 the run failed (bad setting, unreachable Chroma server, disk
full, ...; the published index is unchanged).

Settings come from ``load_settings()`` (environment ``RAG_*`` and ``.env``); ``--corpus`` and
``--store`` override the folder of the documents and of the index.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from assistant.errors import AssistantError
from assistant.store import LeaseBusy
from ingest.sync import IngestBusy, IngestDiskFull, ProgressEvent, SyncReport, sync

log = logging.getLogger("ingest")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Sync the search index with the documents folder (add, update, remove).",
    )
    parser.add_argument("--corpus", type=Path, help="folder with the documents (default: settings)")
    parser.add_argument("--store", type=Path, help="folder of the index (default: settings)")
    parser.add_argument("--rebuild", action="store_true", help="re-read and re-embed everything")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument(
        "--wait", action="store_true", help="wait for a running ingest instead of exiting (code 2)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s",
        stream=sys.stderr,
    )
    # Libraries that narrate: pypdf warns about every repaired xref, which our own skip
    # reason already covers; chromadb and httpx log each request.
    quiet = ("pypdf", "chromadb", "httpx", "httpcore", "urllib3", "bm25s")
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR if not verbose else logging.INFO)
    # bm25s sets its logger to DEBUG when imported (later, lazily): filter at the handler.
    for handler in logging.getLogger().handlers:
        handler.addFilter(
            lambda r: r.levelno >= logging.WARNING or not r.name.startswith(quiet) or verbose
        )
    if not verbose:
        logging.getLogger("ingest.sync").setLevel(logging.WARNING)  # progress says it already


def _print_progress(event: ProgressEvent) -> None:
    if event.status in ("unchanged", "skipped", "added", "updated", "removed"):
        detail = f" ({event.detail})" if event.detail else ""
        print(f"[{event.done}/{event.total}] {event.file}: {event.status}{detail}", file=sys.stderr)
    elif event.status == "reading":
        print(f"[{event.done}/{event.total}] {event.file}: reading ...", file=sys.stderr)
    elif event.status in ("copying", "keyword", "windows", "publishing"):
        what = {
            "copying": "copying unchanged documents",
            "keyword": "building keyword index",
            "windows": "embedding sentence windows",
            "publishing": "publishing",
        }[event.status]
        detail = f" ({event.detail})" if event.detail else ""
        print(f"{what}{detail} ...", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.umask(0o077)  # the index holds the text of every document: owner-only files
    _setup_logging(args.verbose)
    try:
        from assistant.embeddings import make_embeddings
        from assistant.settings import load_settings
        from assistant.store import Store

        settings = load_settings()
        updates: dict[str, object] = {}
        if args.corpus is not None:
            updates["ingest"] = settings.ingest.model_copy(update={"corpus": args.corpus.resolve()})
        if args.store is not None:
            updates["store"] = settings.store.model_copy(update={"path": args.store.resolve()})
        settings = settings.model_copy(update=updates)
        store = Store(settings.store, make_embeddings(settings.embeddings))
        print(f"ingest {settings.ingest.corpus} -> {store.location}", file=sys.stderr)
        report: SyncReport = sync(
            settings,
            store,
            settings.ingest.corpus,
            rebuild=args.rebuild,
            progress=_print_progress,
            wait=args.wait,
        )
    except IngestBusy as exc:
        print(f"error: {exc.english}; try again later or use --wait", file=sys.stderr)
        return 2
    except LeaseBusy as exc:  # another replica writes the shared index
        print(f"error: another ingest is running ({exc.holder}); use --wait", file=sys.stderr)
        return 2
    except IngestDiskFull as exc:
        print(f"error: disk full ({exc.strerror}); the index is unchanged", file=sys.stderr)
        return 3
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged", file=sys.stderr)
        return 130
    except Exception:
        log.exception("ingest failed; the index is unchanged")
        return 3
    if args.json:
        print(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.summary_lines()))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
