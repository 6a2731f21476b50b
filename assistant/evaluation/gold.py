"""Reading a question bank (the gold format of ``../shared/eval/gold_dev.jsonl`` plus the
bank's own fields: ``forbidden``, ``tags``, ``turns``) and turning it into scored cases.

A conversation (``turns``) is one item for the split (all its turns fall in the same half)
and one case per turn for the scores, of type "conversation"; turn ``i`` has id ``<id>#<i>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.evaluation.rules import half_of
from assistant.settings import PROJECT_ROOT

BANK = PROJECT_ROOT / "eval" / "questions.jsonl"
GOLD_DEV = PROJECT_ROOT.parent / "shared" / "eval" / "gold_dev.jsonl"


def default_gold() -> Path:
    """The project's bank when it exists, else the shared development set."""
    return BANK if BANK.is_file() else GOLD_DEV


def load_items(
    path: str | Path,
    half: str = "all",
    types: set[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The bank's items of ``half`` ("tune", "check" or "all") and ``types``, each with its
    ``half``; the first ``limit`` of them."""
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        item["half"] = half_of(item["id"])
        if half != "all" and item["half"] != half:
            continue
        if types is not None and item["type"] not in types:
            continue
        items.append(item)
    return items[:limit] if limit else items


def is_answerable(case: dict[str, Any]) -> bool:
    return bool(case.get("sources"))


def is_unanswerable(case: dict[str, Any]) -> bool:
    """No source answers it. An injection without a legitimate part is not counted here: its
    test is that nothing was obeyed, not that it was refused."""
    return not case.get("sources") and case["type"] != "injection"


def cases_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The scored cases of an item: itself, or one per turn of a conversation."""
    if not item.get("turns"):
        return [item]
    out = []
    for i, turn in enumerate(item["turns"], start=1):
        case = {k: v for k, v in turn.items() if k != "type"}
        case.update(
            id=f"{item['id']}#{i}",
            type="conversation",
            half=item["half"],
            parent=item["id"],
            tags=turn.get("tags") or item.get("tags") or [],
        )
        out.append(case)
    return out


def user_turns(item: dict[str, Any]) -> list[str]:
    """The user questions before a follow-up (any reference answers in the file are ignored:
    the assistant's own answers are used instead)."""
    return [t["content"] for t in item.get("history") or [] if t.get("role") == "user"]
