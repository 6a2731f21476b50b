"""``python -m ingest`` as a person runs it: JSON, exit codes, the lock, and a kill -9 mid-run
that leaves the published index answering."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant.embeddings import HashEmbeddings
from assistant.settings import PROJECT_ROOT
from assistant.store import Store
from ingest.__main__ import main
from ingest.sync import IngestBusy, ingest_lock, sync

TEXT = (
    "Slechts 26 procent van de werknemers maakt actief gebruik van kunstmatige intelligentie. "
    "Organisaties missen vaak een duidelijke strategie voor de inzet van AI op de werkvloer. "
)


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        timeout=timeout,
    )


def test_cli_json_and_exit_codes(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    (corpus / "a.txt").write_text(TEXT * 3, encoding="utf-8")
    (corpus / "b.txt").write_text(TEXT.upper() * 3, encoding="utf-8")
    out = run_cli("--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["added"] == ["a.txt", "b.txt"]
    assert data["updated"] == data["removed"] == data["unchanged"] == data["skipped"] == []
    assert "a.txt: added" in out.stderr  # progress per file on stderr

    (corpus / "kapot.pdf").write_bytes(b"%PDF-1.4 and then nothing useful")
    out = run_cli("--json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["unchanged"] == ["a.txt", "b.txt"]
    assert data["skipped"] == [{"file": "kapot.pdf", "reason": data["skipped"][0]["reason"]}]
    assert "damaged" in data["skipped"][0]["reason"]


def test_cli_flags_override_corpus_and_store(tmp_settings, tmp_path: Path) -> None:  # noqa: ANN001
    other_corpus = tmp_path / "elders"
    other_corpus.mkdir()
    (other_corpus / "c.txt").write_text(TEXT * 2, encoding="utf-8")
    other_store = tmp_path / "andere-index"
    code = main(["--corpus", str(other_corpus), "--store", str(other_store), "--json"])
    assert code == 0
    store = Store(tmp_settings.store.model_copy(update={"path": other_store}), HashEmbeddings())
    assert set(store.manifest(max_age_s=0).documents) == {"c.txt"}
    assert not (tmp_settings.store.path / "chroma.sqlite3").exists()


def test_cli_lock_busy_exits_2_and_wait_waits(tmp_settings) -> None:  # noqa: ANN001
    (tmp_settings.ingest.corpus / "a.txt").write_text(TEXT * 2, encoding="utf-8")
    with ingest_lock(tmp_settings.store.path):
        out = run_cli()
        assert out.returncode == 2
        assert f"another ingest is running (pid {os.getpid()})" in out.stderr

        waiting = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--wait", "--json"],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert waiting.poll() is None  # still waiting for the lock
    stdout, stderr = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, stderr
    assert json.loads(stdout)["added"] == ["a.txt"]


PLUGIN = textwrap.dedent(
    """
    # A slow embedder for the kill test: the fake one, plus a marker file and a pause per call.
    import pathlib, sys, time
    from assistant import embeddings

    marker = pathlib.Path(sys.argv[1])
    original = embeddings.HashEmbeddings.embed_documents

    def slow(self, texts):
        marker.write_text(str(len(texts)))
        time.sleep(0.5)
        return original(self, texts)

    embeddings.HashEmbeddings.embed_documents = slow
    from ingest.__main__ import main
    sys.exit(main(sys.argv[2:]))
    """
)


def test_kill_9_mid_ingest_leaves_the_published_index(tmp_settings, tmp_path: Path) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    (corpus / "oud.txt").write_text(TEXT * 3, encoding="utf-8")
    store = Store(tmp_settings.store, HashEmbeddings())
    sync(tmp_settings, store, corpus)
    before = store.manifest(max_age_s=0)

    for i in range(6):  # enough work for a few seconds with the slow embedder
        (corpus / f"nieuw{i}.txt").write_text(
            f"Document {i} over robotisering en zorg. " * 200, encoding="utf-8"
        )
    plugin = tmp_path / "slow_ingest.py"
    plugin.write_text(PLUGIN, encoding="utf-8")
    marker = tmp_path / "embedding-started"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(plugin), str(marker)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "ingest never started embedding"
            time.sleep(0.1)
        # While it runs: the reader answers from the published generation ...
        reader = Store(tmp_settings.store, HashEmbeddings())
        assert reader.manifest(max_age_s=0).generation == before.generation
        assert reader.dense_search("kunstmatige intelligentie", k=1)[0][0].source == "oud.txt"
        # ... and a second writer is turned away with the holder's pid.
        with pytest.raises(IngestBusy) as busy:
            sync(tmp_settings, reader, corpus)
        assert busy.value.pid == proc.pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    after_store = Store(tmp_settings.store, HashEmbeddings())
    after = after_store.manifest(max_age_s=0)
    assert after.generation == before.generation and after.documents == before.documents
    hits = after_store.dense_search("kunstmatige intelligentie", k=3)
    assert [c.source for c, _ in hits] == ["oud.txt"] * len(hits)
    # The lock died with the process; the next run cleans up and publishes.
    report = sync(tmp_settings, after_store, corpus)
    assert report.published and report.generation == before.generation + 1
    assert len(report.added) == 6 and report.unchanged == ["oud.txt"]
    names = {c if isinstance(c, str) else c.name for c in after_store.client.list_collections()}
    # the killed run's orphan is gone; the new generation and the one it replaced remain
    assert names == {
        after_store.manifest(max_age_s=0).collection,
        before.collection,
        "rapporten-manifest",
    }


def test_readers_keep_answering_during_an_in_process_sync(tmp_settings) -> None:  # noqa: ANN001
    """The chat page and ingest in one process (the beheer page): reads never fail."""
    corpus = tmp_settings.ingest.corpus
    (corpus / "oud.txt").write_text(TEXT * 3, encoding="utf-8")
    store = Store(tmp_settings.store, HashEmbeddings())
    sync(tmp_settings, store, corpus)
    for i in range(4):
        (corpus / f"n{i}.txt").write_text(f"Robotisering in sector {i}. " * 300, encoding="utf-8")
    errors: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def read() -> None:
        reader = Store(tmp_settings.store, HashEmbeddings())
        while not stop.is_set():
            try:
                answers.append(len(reader.dense_search("kunstmatige intelligentie", k=2)))
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
            time.sleep(0.02)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        sync(tmp_settings, Store(tmp_settings.store, HashEmbeddings()), corpus)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors[:3]
    assert answers and all(n >= 1 for n in answers)
