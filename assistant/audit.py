"""Audit log: who asked what, which passages were retrieved and shown, what was answered.

Stored in one local SQLite file, ``<data_dir>/audit.sqlite3``; nothing is sent anywhere.

Trade-offs, stated plainly:

* **SQLite, one connection per call.** The page records from several Streamlit script threads
  at once. A fresh connection per call (a few hundred microseconds) is simpler and safer than
  sharing one connection across threads; WAL mode lets readers (the admin page, an export) run
  while a question is being recorded, and ``busy_timeout`` makes concurrent writers wait
  instead of failing. Fine for an organisation's question rate (a handful per second at most);
  a central log server would be the next step, not a reason to add one now.
* **The log holds personal data** (questions can name people). Therefore: the file and folder
  are created owner-only (0600/0700), ``secure_delete`` overwrites deleted rows, and records
  older than ``audit_retention_days`` are purged automatically (checked on ``record``, at most
  once an hour, so the purge never costs a question noticeable time). ``make backup`` copies
  ``data/``; backups have their own lifetime and must be pruned by whoever keeps them.
* **Passage ids, not passage texts.** The index already holds the texts; storing ids keeps the
  log small and avoids a second copy of the documents. Ids are stable (``stem:page:index``)
  until the document itself changes.
* **CSV export guards against formula injection**: a question typed as ``=HYPERLINK(...)``
  would otherwise run as a formula when a manager opens the export in Excel; such cells are
  prefixed with an apostrophe.
* Recording must never break answering: ``record`` raises like any other call, but the page
  should catch and log (see ``safe_record``), because a full disk must not hide an answer.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

FILENAME = "audit.sqlite3"
PURGE_INTERVAL_S = 3600.0  # purge at most once an hour from ``record``
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "id",
    "tijd",
    "gebruiker",
    "vraag",
    "zoekvraag",
    "passages_opgehaald",
    "passages_getoond",
    "antwoord",
    "modus",
    "timings",
    "kanaal",
    "collecties",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,               -- seconds since the epoch, UTC
    user TEXT NOT NULL,
    question TEXT NOT NULL,
    query TEXT NOT NULL,
    passages_retrieved TEXT NOT NULL,  -- JSON list of chunk ids
    passages_shown TEXT NOT NULL,      -- JSON list of chunk ids
    answer TEXT NOT NULL,
    mode TEXT NOT NULL,
    timings TEXT NOT NULL              -- JSON object of seconds
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
-- added later (see _migrate): channel (chat, followup, briefing, api) and scope (JSON list
-- of the collections the question was asked within, or "*" for all)
CREATE INDEX IF NOT EXISTS audit_user_ts ON audit (user, ts);
"""


def _data_dir(settings: Any) -> Path:
    """Accept the full ``Settings`` or just its ``AppSettings`` (both have what we need)."""
    app = getattr(settings, "app", settings)
    return Path(app.data_dir)


def _retention(settings: Any) -> int:
    app = getattr(settings, "app", settings)
    return int(app.audit_retention_days)


class AuditLog:
    """Append-only log of questions and answers, safe to share between threads."""

    def __init__(self, settings: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.path = _data_dir(settings) / FILENAME
        self.retention_days = _retention(settings)
        self._clock = clock  # injectable so tests can age records
        self._purge_lock = threading.Lock()
        self._last_purge = float("-inf")
        self._init_db()

    # -- connection ---------------------------------------------------------------------------
    def _init_db(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            # create owner-only before SQLite opens it, so there is no window with 0644
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        with self._connect() as con:
            # WAL is a property of the file: set once, every later connection inherits it
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            _migrate(con)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA busy_timeout=10000")
            con.execute("PRAGMA secure_delete=ON")  # purged questions are overwritten
            con.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; no fsync per record
            yield con
        finally:
            con.close()

    # -- writing ------------------------------------------------------------------------------
    def record(
        self,
        user: str,
        question: str,
        query: str,
        passages_retrieved: Sequence[str],
        passages_shown: Sequence[str],
        answer: str,
        mode: str,
        timings: dict[str, float] | None = None,
        *,
        channel: str = "chat",
        scope: set[str] | None = None,
    ) -> int:
        """Store one question and its answer; returns the record id.

        ``scope``: the collections the question was asked within (None = all); it decides
        which beheerders may read the record (``visible_to``)."""
        now = self._clock()
        with self._connect() as con:
            cur = con.execute(
                "INSERT INTO audit (ts, user, question, query, passages_retrieved, "
                "passages_shown, answer, mode, timings, channel, scope) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    user,
                    question,
                    query,
                    json.dumps(list(passages_retrieved), ensure_ascii=False),
                    json.dumps(list(passages_shown), ensure_ascii=False),
                    answer,
                    mode,
                    json.dumps({k: round(float(v), 3) for k, v in (timings or {}).items()}),
                    channel,
                    scope_json(scope),
                ),
            )
            row_id = int(cur.lastrowid or 0)
        self._maybe_purge(now)
        return row_id

    def record_answer(
        self,
        user: str,
        answer: Any,
        retrieved: Sequence[str] | None = None,
        *,
        channel: str = "chat",
        scope: set[str] | None = None,
    ) -> int:
        """Record a ``service.Answer``.

        ``retrieved`` defaults to the passages given to the model; "shown" are the passages the
        user sees as sources: the cited ones, or all given passages when nothing was cited
        (the unavailable/quotes modes show the passages themselves).
        """
        given = [c.id for c in answer.passages]
        cited = list(dict.fromkeys(c.chunk.id for c in answer.citations))
        return self.record(
            user=user,
            question=answer.question,
            query=answer.query,
            passages_retrieved=list(retrieved) if retrieved is not None else given,
            passages_shown=cited or ([] if answer.mode == "refusal" else given),
            answer=answer.text,
            mode=answer.mode,
            timings=answer.timings,
            channel=channel,
            scope=scope,
        )

    def safe_record_answer(self, user: str, answer: Any, **kw: Any) -> int | None:
        """``record_answer`` that logs instead of raising: the page must still show the answer.

        Trade-off: a failing audit (disk full, file locked) loses that record rather than the
        user's answer; the error is logged loudly so an administrator sees it.
        """
        try:
            return self.record_answer(user, answer, **kw)
        except Exception:
            log.exception("audit record failed (%s)", self.path)
            return None

    def _maybe_purge(self, now: float) -> None:
        # non-blocking: if another thread is purging, this record does not wait for it
        if not self._purge_lock.acquire(blocking=False):
            return
        try:
            if now - self._last_purge < PURGE_INTERVAL_S:
                return
            self._last_purge = now
        finally:
            self._purge_lock.release()
        try:
            self.purge(self.retention_days, now=now)
        except sqlite3.Error as exc:  # a purge failure must not fail the record
            log.warning("audit purge failed: %s", exc)

    def purge(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete records older than ``retention_days``; returns how many were deleted."""
        cutoff = (self._clock() if now is None else now) - retention_days * 86400.0
        with self._connect() as con:
            cur = con.execute("DELETE FROM audit WHERE ts < ?", (cutoff,))
            deleted = cur.rowcount
            if deleted:
                # fold the WAL back so the deleted text does not linger in the -wal file
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if deleted:
            log.info("audit: purged %d records older than %d days", deleted, retention_days)
        return deleted

    # -- reading ------------------------------------------------------------------------------
    def recent(
        self, n: int = 100, *, user: str | None = None, visible_to: Any = None
    ) -> list[dict[str, Any]]:
        """The newest ``n`` records (optionally of one user), newest first.

        ``visible_to``: a reader (``access.User``); only records it may read are returned
        (``access.can_read_scope``). None: all records (the CLI, tests, the auditor)."""
        sql = "SELECT * FROM audit"
        args: tuple[Any, ...] = ()
        if user is not None:
            sql += " WHERE user = ?"
            args = (user,)
        sql += " ORDER BY ts DESC, id DESC"
        out: list[dict[str, Any]] = []
        with self._connect() as con:
            for row in con.execute(sql, args):
                if len(out) >= max(0, int(n)):
                    break
                rec = _decode(row)
                if _readable(visible_to, rec["scope"]):
                    out.append(rec)
        return out

    def count(self, *, visible_to: Any = None) -> int:
        if visible_to is None:
            with self._connect() as con:
                return int(con.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
        return sum(1 for _ in self._iter_all(visible_to))

    def _iter_all(self, visible_to: Any = None) -> Iterator[dict[str, Any]]:
        with self._connect() as con:
            for row in con.execute("SELECT * FROM audit ORDER BY ts, id"):
                rec = _decode(row)
                if _readable(visible_to, rec["scope"]):
                    yield rec

    def export_csv(self, path_or_buffer: str | Path | IO[str], *, visible_to: Any = None) -> int:
        """Write every record as comma-separated CSV; returns the number of records.

        Accepts a path (written owner-only, it holds the same personal data as the log) or an
        open text buffer (e.g. ``io.StringIO`` for ``st.download_button``).
        """
        if isinstance(path_or_buffer, (str, Path)):
            target = Path(path_or_buffer)
            fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            # utf-8-sig: Excel then opens the accents (ë, é) correctly
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
                return self._write_csv(fh, visible_to)
        return self._write_csv(path_or_buffer, visible_to)

    def export_csv_text(self, visible_to: Any = None) -> str:
        buf = io.StringIO()
        self._write_csv(buf, visible_to)
        return buf.getvalue()

    def _write_csv(self, fh: IO[str], visible_to: Any = None) -> int:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        n = 0
        for rec in self._iter_all(visible_to):
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        rec["id"],
                        rec["time"],
                        rec["user"],
                        rec["question"],
                        rec["query"],
                        " ".join(rec["passages_retrieved"]),
                        " ".join(rec["passages_shown"]),
                        rec["answer"],
                        rec["mode"],
                        json.dumps(rec["timings"]),
                        rec["channel"],
                        "*" if rec["scope"] is None else " ".join(rec["scope"]),
                    )
                ]
            )
            n += 1
        return n


def _migrate(con: sqlite3.Connection) -> None:
    """Columns added after the first release; old records count as chat, asked within all
    collections (so only a reader of all collections sees them)."""
    have = {r[1] for r in con.execute("PRAGMA table_info(audit)")}
    if "channel" not in have:
        con.execute("ALTER TABLE audit ADD COLUMN channel TEXT NOT NULL DEFAULT 'chat'")
    if "scope" not in have:
        con.execute("ALTER TABLE audit ADD COLUMN scope TEXT NOT NULL DEFAULT '\"*\"'")


def scope_json(scope: set[str] | None) -> str:
    return json.dumps("*" if scope is None else sorted(scope))


def _readable(reader: Any, scope: list[str] | None) -> bool:
    if reader is None:
        return True
    from assistant.access import can_read_scope

    return can_read_scope(reader, scope)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    rec = dict(row)
    rec["time"] = datetime.fromtimestamp(rec["ts"], tz=UTC).isoformat(timespec="seconds")
    for key in ("passages_retrieved", "passages_shown", "timings"):
        rec[key] = json.loads(rec[key])
    scope = json.loads(rec.get("scope") or '"*"')
    rec["scope"] = None if scope == "*" else list(scope)
    rec.setdefault("channel", "chat")
    return rec


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user-controlled text (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
