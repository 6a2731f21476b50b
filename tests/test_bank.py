"""The question bank (`eval/questions.jsonl`) holds against the corpus the product indexes.

Every evidence quote must stand in one of the item's sources as `corpus/` holds them (the two
reports as PDF, read with pypdf like ingest does), so a quote that drifted or a source that
was renamed fails here instead of silently scoring zero in the evaluation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "eval" / "questions.jsonl"
FRESH = ROOT / "eval" / "fresh.jsonl"  # the first fresh set, checked the same way
FRESH2 = ROOT / "eval" / "fresh2.jsonl"  # the second fresh set, checked the same way
FRESH3 = ROOT / "eval" / "fresh3.jsonl"  # the third fresh set, checked the same way
FRESH4 = ROOT / "eval" / "fresh4.jsonl"  # the fourth fresh set, checked the same way
FRESH5 = ROOT / "eval" / "fresh5.jsonl"
FRESH6 = ROOT / "eval" / "fresh6.jsonl"
FRESH7 = ROOT / "eval" / "fresh7.jsonl"
FRESH8 = ROOT / "eval" / "fresh8.jsonl"
FRESH9 = ROOT / "eval" / "fresh9.jsonl"  # the held-out set (eval/README.md)
ALL_SETS = (BANK, FRESH, FRESH2, FRESH3, FRESH4, FRESH5, FRESH6, FRESH7, FRESH8, FRESH9)


def _norm(text: str) -> str:
    # PDF and .txt wrap and hyphenate differently: compare without white space or hyphens
    return re.sub(r"[\s\-\u00ad]+", "", text).casefold()


@cache
def _documents() -> dict[str, str]:
    docs: dict[str, str] = {}
    for path in sorted((ROOT / "corpus").iterdir()):
        if path.suffix == ".txt":
            docs[path.stem] = _norm(path.read_text(encoding="utf-8"))
        elif path.suffix == ".pdf":
            pages = PdfReader(path).pages
            docs[path.stem] = _norm("".join(page.extract_text() or "" for page in pages))
    return docs


def _items(path: Path = BANK) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _turns(item: dict) -> list[dict]:
    return item.get("turns") or [item]


def _half(item_id: str) -> str:
    return "check" if int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2 else "tune"


def test_ids_are_unique_and_types_known() -> None:
    items = [i for path in ALL_SETS for i in _items(path)]
    ids = Counter(item["id"] for item in items)
    assert [i for i, n in ids.items() if n > 1] == []
    known = {"fact", "explain", "synthesis", "compare", "list", "summary", "unanswerable"}
    known |= {"followup", "injection", "disagree", "conversation"}
    assert {item["type"] for item in items} <= known


@pytest.mark.parametrize(
    "item", [i for path in ALL_SETS for i in _items(path)], ids=lambda item: item["id"]
)
def test_item_is_backed_by_the_corpus(item: dict) -> None:
    docs = _documents()
    for turn in _turns(item):
        stems = [Path(s).stem for s in turn.get("sources", [])]
        assert all(stem in docs for stem in stems), stems
        for quote in turn.get("evidence", []):
            assert any(_norm(quote) in docs[stem] for stem in stems), quote[:80]
        backing = _norm(" ".join(turn.get("evidence", [])) + " " + turn.get("answer", ""))
        for key in turn.get("must_contain", []):
            assert _norm(key) in backing, key
        if not stems:
            assert not turn.get("evidence") and not turn.get("must_contain")


def test_bank_has_the_shape_the_evaluation_needs() -> None:
    items = _items()
    types = Counter(item["type"] for item in items)
    assert len(items) >= 200
    assert types["unanswerable"] >= 40
    conversations = [item for item in items if item["type"] == "conversation"]
    assert len(conversations) >= 20 and all(len(c["turns"]) == 3 for c in conversations)
    covered = {Path(s).stem for item in items for t in _turns(item) for s in t.get("sources", [])}
    assert covered == set(_documents())
    halves = Counter(_half(item["id"]) for item in items)
    assert abs(halves["check"] - halves["tune"]) < len(items) * 0.15
