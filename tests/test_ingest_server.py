"""The scale path: the same sync and a dense query against a Chroma server (``chroma run``).

Starts a real server on a free loopback port with telemetry off, and stops it afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.embeddings import HashEmbeddings
from assistant.settings import PROJECT_ROOT
from assistant.store import Store
from ingest.sync import sync

CHROMA = PROJECT_ROOT / ".venv" / "bin" / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} missing: chromadb's server binary is part of the install")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            str(CHROMA),
            "run",
            "--path",
            str(tmp_path / "chroma-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60  # slow on a loaded machine
        while True:
            assert proc.poll() is None, (tmp_path / "chroma.log").read_text(errors="replace")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chroma server did not come up in 60 s"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def write_two_documents(corpus: Path) -> None:
    (corpus / "ai.txt").write_text(
        "Slechts 26 procent van de werknemers gebruikt kunstmatige intelligentie actief. " * 3,
        encoding="utf-8",
    )
    (corpus / "zorg.txt").write_text(
        "In de zorgsector is het tekort aan personeel de grootste zorg van bestuurders. " * 3,
        encoding="utf-8",
    )


def test_sync_and_dense_search_against_a_chroma_server(tmp_settings, chroma_server: int) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_two_documents(corpus)
    store_settings = tmp_settings.store.model_copy(
        update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server}
    )
    settings = tmp_settings.model_copy(update={"store": store_settings})

    store = Store(settings.store, HashEmbeddings())
    report = sync(settings, store, corpus)
    assert report.published and report.added == ["ai.txt", "zorg.txt"]
    assert "Chroma-server" in store.location

    reader = Store(settings.store, HashEmbeddings())
    hits = reader.dense_search("tekort aan personeel in de zorgsector", k=2)
    assert hits[0][0].source == "zorg.txt"

    # unchanged on the second run, and nothing embedded
    again = sync(settings, Store(settings.store, HashEmbeddings()), corpus)
    assert again.unchanged == ["ai.txt", "zorg.txt"] and not again.published
    # a change goes through the server too
    (corpus / "ai.txt").write_text(
        "Robots in maatwerkbedrijven nemen zwaar werk over. " * 3, encoding="utf-8"
    )
    third = sync(settings, Store(settings.store, HashEmbeddings()), corpus)
    assert third.updated == ["ai.txt"] and third.generation == 2
    hits = Store(settings.store, HashEmbeddings()).dense_search("robots maatwerkbedrijven", k=1)
    assert hits[0][0].source == "ai.txt" and "Robots" in hits[0][0].text


def test_network_guard_allows_loopback_only() -> None:
    from conftest import BlockedNetwork

    with socket.socket() as s, pytest.raises(BlockedNetwork):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never reached
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())  # loopback works


def test_app_answers_through_a_chroma_server_as_a_second_replica(
    tmp_settings,
    chroma_server: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    """One machine ingests into the server; another replica (its own empty local folder, so
    no keyword index) answers from it: the assistant and the page."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from assistant.service import Assistant

    corpus = tmp_settings.ingest.corpus
    write_two_documents(corpus)
    server = {"chroma_host": "127.0.0.1", "chroma_port": chroma_server}
    writer = tmp_settings.model_copy(update={"store": tmp_settings.store.model_copy(update=server)})
    assert sync(writer, Store(writer.store, HashEmbeddings()), corpus).published

    replica_dir = tmp_path / "replica-vectorstore"
    replica = tmp_settings.model_copy(
        update={
            "store": tmp_settings.store.model_copy(update={**server, "path": replica_dir}),
            "retrieval": tmp_settings.retrieval.model_copy(
                update={"relevance_floor": 0.0, "relevance_floor_strong": 0.0}
            ),
        }
    )
    answer = Assistant.from_settings(replica).answer(
        "Wat is de grootste zorg van bestuurders in de zorgsector?"
    )
    assert answer.mode == "answer", answer.text
    assert answer.citations and answer.citations[0].chunk.source == "zorg.txt"
    assert (replica_dir / "keyword").is_dir()  # rebuilt from the server's chunks

    shutil.rmtree(replica_dir)
    monkeypatch.setenv("RAG_STORE__CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RAG_STORE__CHROMA_PORT", str(chroma_server))
    monkeypatch.setenv("RAG_STORE__PATH", str(replica_dir))
    monkeypatch.setenv("RAG_RETRIEVAL__RELEVANCE_FLOOR", "0.0")
    monkeypatch.setenv("RAG_RETRIEVAL__RELEVANCE_FLOOR_STRONG", "0.0")
    from conftest import as_browser

    as_browser(monkeypatch)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    at.chat_input[0].set_value("Wat is de grootste zorg van bestuurders in de zorgsector?").run()
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "tekort aan personeel" in shown
