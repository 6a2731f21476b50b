"""Point 8 of issue #15: the smaller doors.

* feedback had no retention and no rate limit (it holds questions and answers, like the
  audit log);
* ``make restore`` followed a symlinked ``data`` entry (the restored state would live where
  the archive's author pointed);
* ``vectorstore/`` and ``corpus/`` were world-readable;
* an upload of 50-52.4 MB passed the page (MiB) and was then skipped by ingest (MB).

(Login throttling per address and overall: ``test_sessions.py``; removed users:
``test_sessions.py``.)
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.service import Answer
from assistant.settings import PROJECT_ROOT, Settings


def _answer(q: str = "Hoeveel procent werkt thuis?") -> Answer:
    return Answer(question=q, query=q, text="48 procent.", mode="answer", checked=None, passages=[])


def test_feedback_is_rate_limited_per_user(tmp_path: Path) -> None:
    from assistant.feedback import FEEDBACK_PER_MINUTE

    store = FeedbackStore(tmp_path / "data")
    for _ in range(FEEDBACK_PER_MINUTE):
        store.record(_answer(), 1, user="spammer")
    with pytest.raises(AssistantError, match="afgelopen minuut"):
        store.record(_answer(), 0, user="spammer")
    store.record(_answer(), 1, user="iemand-anders")  # others are not affected
    assert len(store.path.read_text().splitlines()) == FEEDBACK_PER_MINUTE + 1


def test_feedback_older_than_the_retention_is_purged(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "data", 30)
    store.record(_answer("oud"), 1, user="a", record_id="oud")
    lines = store.path.read_text().splitlines()
    old = json.loads(lines[0])
    old["at"] = (datetime.now(UTC) - timedelta(days=31)).isoformat(timespec="seconds")
    store.path.write_text(json.dumps(old) + "\n")
    store.record(_answer("nieuw"), 1, user="a", record_id="nieuw")
    assert store.purge(30) == 1
    assert [r.id for r in store.all()] == ["nieuw"]
    assert "oud" not in store.path.read_text()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


@pytest.mark.skipif(sys.platform != "linux", reason="make and GNU tar")
@pytest.mark.parametrize("entry", ["data", "vectorstore/keyword/rapporten-g1"])
def test_restore_refuses_an_archive_with_a_link_out(tmp_path: Path, entry: str) -> None:
    root = tmp_path / "site"
    (root / "backups").mkdir(parents=True)
    elsewhere = tmp_path / "aanvaller"
    elsewhere.mkdir()
    stage = tmp_path / "stage"
    (stage / entry).parent.mkdir(parents=True, exist_ok=True)
    (stage / entry).symlink_to(elsewhere)  # absolute: points out of the restored tree
    archive = root / "backups" / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(stage / entry.split("/")[0], arcname=entry.split("/")[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_STORE__PATH": "vectorstore", "RAG_APP__DATA_DIR": "data"})
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", str(root), "-f", str(PROJECT_ROOT / "Makefile"),
         "restore", "BACKUP=backups/link.tar.gz"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0, proc.stdout
    assert "refusing" in proc.stdout + proc.stderr
    top = root / entry.split("/")[0]
    assert not top.exists() and not top.is_symlink()


def test_ingest_makes_documents_and_index_private(tmp_settings: Settings) -> None:
    corpus = tmp_settings.ingest.corpus
    os.chmod(corpus, 0o755)  # as a git checkout leaves it
    (corpus / "a.txt").write_text("Slechts 26 procent gebruikt AI actief op het werk. " * 3)
    proc = subprocess.run(  # the real CLI, in its own process (its own umask)
        [sys.executable, "-m", "ingest"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    store = tmp_settings.store.path
    for folder in (corpus, store):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    loose = [p for p in store.rglob("*") if not p.is_symlink() and p.stat().st_mode & 0o077]
    assert not loose, loose


def test_upload_limit_is_the_ingest_limit(tmp_settings: Settings) -> None:
    from ingest.loaders import max_file_bytes
    from ingest.sync import sync
    from ingest.upload import save_upload

    settings = tmp_settings.model_copy(
        update={"ingest": tmp_settings.ingest.model_copy(update={"max_file_mb": 0.01})}
    )
    limit = max_file_bytes(settings)
    assert limit == 10_000  # decimal MB, as ingest counts
    just_over = b"Tekst over werk. " * (limit // 17 + 1)
    assert limit < len(just_over) < int(0.01 * 1024 * 1024)  # accepted in MiB, not in MB
    with pytest.raises(AssistantError, match="te groot"):
        save_upload(settings.ingest.corpus, "groot.txt", just_over, limit)
    fits = just_over[: limit - 10]
    save_upload(settings.ingest.corpus, "past.txt", fits, limit)
    from assistant.embeddings import make_embeddings
    from assistant.store import Store

    report = sync(settings, Store(settings.store, make_embeddings(settings.embeddings)))
    assert report.added == ["past.txt"] and not report.skipped
