"""Thumbs up/down on answers, with an optional remark, kept locally as JSON lines.

One file, ``<data_dir>/feedback.jsonl``, append-only: a changed rating or a remark added later
is a new line for the same ``id``, and readers keep the last line per id. Trade-off: JSONL
instead of SQLite because it is trivially inspected, backed up (``make backup`` takes
``data/``) and exported, and feedback is small; appends of one line are atomic enough with a
process lock plus ``flock`` for several app processes.

``export_gold`` writes the records as items in the gold format of ``assistant.evaluation``
(``../shared/eval/gold_dev.jsonl``) so reviewed feedback can become test questions: a thumbs up
keeps the answer as reference, a thumbs down keeps it as ``rejected_answer`` and is marked
``needs_review``. Nothing here feeds back into answers.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.limits import RateLimiter

if TYPE_CHECKING:
    from assistant.service import Answer
    from assistant.settings import Settings

FILE_NAME = "feedback.jsonl"
_LOCK = threading.Lock()
_MARKERS_RE = re.compile(r"\s*\[\d{1,3}\]")


@dataclass
class FeedbackRecord:
    id: str  # one per answer; later lines with the same id replace earlier ones
    rating: str  # "up" | "down"
    remark: str
    question: str
    query: str
    answer: str
    mode: str
    model: str
    history: list[dict[str, str]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    at: str = ""
    user: str = ""
    scope: list[str] | str = "*"  # the asker's collections ("*" = all): who may read it

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedbackRecord:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def rating_name(value: int | str | None) -> str:
    """``st.feedback("thumbs")`` gives 0 (down) or 1 (up)."""
    if value in (1, "1", "up"):
        return "up"
    if value in (0, "0", "down"):
        return "down"
    raise ValueError(f"unknown rating {value!r}")


FEEDBACK_PER_MINUTE = 20  # per user: thumbs and remarks are cheap to click, not to store
PURGE_INTERVAL_S = 3600.0
_RATE = RateLimiter(FEEDBACK_PER_MINUTE)
_last_purge: dict[Path, float] = {}


class FeedbackStore:
    """The feedback file. Like the audit log it holds questions and answers, so it has the
    same retention (``retention_days``, purged at most once an hour when recording), is
    written owner-only, and each reader sees only records asked within their collections."""

    def __init__(self, data_dir: Path, retention_days: int = 180) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(settings.app.data_dir, settings.app.audit_retention_days)

    def record(
        self,
        answer: Answer,
        rating: int | str,
        *,
        remark: str = "",
        record_id: str | None = None,
        history: list[dict[str, str]] | None = None,
        user: str = "",
        scope: set[str] | None = None,
    ) -> FeedbackRecord:
        """Store one rating; a Dutch ``AssistantError`` beyond the per-user rate limit."""
        _RATE.check(f"{self.path}:{user}")
        rec = FeedbackRecord(
            id=record_id or uuid.uuid4().hex,
            rating=rating_name(rating),
            remark=remark.strip()[:2000],
            question=answer.question,
            query=answer.query,
            answer=answer.text,
            mode=answer.mode,
            model=answer.model,
            history=[{"role": t["role"], "content": t["content"]} for t in (history or [])],
            citations=[
                {
                    "n": c.n,
                    "source": c.chunk.source,
                    "page": c.chunk.page,
                    "title": c.chunk.title,
                    "quote": c.quote,
                    "chunk_id": c.chunk.id,
                }
                for c in answer.citations
            ],
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            user=user,
            scope="*" if scope is None else sorted(scope),
        )
        self._append(rec)
        self._maybe_purge()
        return rec

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        with _LOCK:
            if now - _last_purge.get(self.path, float("-inf")) < PURGE_INTERVAL_S:
                return
            _last_purge[self.path] = now
        self.purge(self.retention_days)

    def purge(self, retention_days: int, *, now: datetime | None = None) -> int:
        """Drop records older than ``retention_days``; returns how many lines went."""
        if not self.path.is_file():
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
        with _LOCK, self.path.open("r+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            lines = f.read().splitlines(keepends=True)
            kept = [line for line in lines if not _older(line, cutoff)]
            if len(kept) != len(lines):
                tmp = self.path.with_name(self.path.name + ".part")
                fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.writelines(kept)
                os.replace(tmp, self.path)
        return len(lines) - len(kept)

    def _append(self, rec: FeedbackRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = json.dumps(asdict(rec), ensure_ascii=False) + "\n"
        with _LOCK:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                try:
                    f.write(line)
                    f.flush()
                finally:
                    fcntl.flock(f, fcntl.LOCK_UN)

    def all(self, visible_to: Any = None) -> list[FeedbackRecord]:
        """The latest record per id, oldest first; unreadable lines are skipped.

        ``visible_to``: a reader (``access.User``): only records asked within their
        collections (``access.can_read_scope``); None = all."""
        if not self.path.is_file():
            return []
        latest: dict[str, FeedbackRecord] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rec = FeedbackRecord.from_dict(json.loads(line))
            except (ValueError, TypeError):
                continue
            latest.pop(rec.id, None)
            latest[rec.id] = rec
        if visible_to is None:
            return list(latest.values())
        from assistant.access import can_read_scope

        return [
            r
            for r in latest.values()
            if can_read_scope(visible_to, None if r.scope == "*" else list(r.scope))
        ]

    def counts(self, visible_to: Any = None) -> dict[str, int]:
        records = self.all(visible_to)
        return {
            "up": sum(r.rating == "up" for r in records),
            "down": sum(r.rating == "down" for r in records),
        }

    def export_gold(self, visible_to: Any = None) -> str:
        """The feedback ``visible_to`` may read as gold-format JSONL items (see module doc)."""
        return "".join(
            json.dumps(gold_item(r), ensure_ascii=False) + "\n" for r in self.all(visible_to)
        )


def _older(line: str, cutoff: datetime) -> bool:
    try:
        at = datetime.fromisoformat(json.loads(line).get("at", ""))
    except (ValueError, TypeError, AttributeError):
        return False  # an unreadable line is left for a person to look at
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) < cutoff


def gold_item(rec: FeedbackRecord) -> dict[str, Any]:
    sources = list(dict.fromkeys(c["source"] for c in rec.citations))
    evidence = list(dict.fromkeys(c["quote"] for c in rec.citations if c.get("quote")))
    answer = _MARKERS_RE.sub("", rec.answer).strip()
    unanswerable = rec.mode == "refusal" and rec.rating == "up"
    item: dict[str, Any] = {
        "id": f"fb-{rec.id[:12]}",
        "type": "unanswerable" if unanswerable else "feedback",
        "question": rec.question,
        "answer": "" if unanswerable or rec.rating == "down" else answer,
        "must_contain": [],
        "sources": [] if unanswerable else sources,
        "evidence": [] if unanswerable else evidence,
        "rating": rec.rating,
        "remark": rec.remark,
        "model": rec.model,
        "created_at": rec.at,
    }
    if rec.history:
        item["history"] = rec.history
    if rec.rating == "down":
        item["rejected_answer"] = answer
        item["needs_review"] = True
    return item
