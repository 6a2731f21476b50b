"""Point 7 of issue #15: two replicas, one index on a Chroma server (``chroma run``).

Attacks: two replicas sync against the same server at the same moment (each used to take a
lock on its own local folder, pick the same generation and drop the other's collection); and
a replica whose own documents folder lacks a file another replica uploaded (it used to
remove that document from the shared index). Real server, real sync, hash embeddings.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_ingest_server import chroma_server  # noqa: F401 - the fixture

from assistant.embeddings import HashEmbeddings
from assistant.settings import Settings
from assistant.store import Store
from ingest.sync import SyncReport, sync

DOCS_A = {
    "a_werk.txt": "Slechts 26 procent van de werknemers gebruikt kunstmatige intelligentie. ",
    "a_zorg.txt": "In de zorgsector is het tekort aan personeel de grootste zorg. ",
}
DOCS_B = {
    "b_thuis.txt": "In 2024 werkte 48 procent van de werkenden weleens thuis. ",
    "b_onderwijs.txt": "Een op de drie docenten volgde een cursus digitale didactiek. ",
}


def _replica(settings: Settings, port: int, root: Path, docs: dict[str, str]) -> Settings:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for name, text in docs.items():
        (corpus / name).write_text(text * 4, encoding="utf-8")
    server = {"chroma_host": "127.0.0.1", "chroma_port": port, "path": root / "vectorstore"}
    return settings.model_copy(
        update={
            "store": settings.store.model_copy(update=server),
            "ingest": settings.ingest.model_copy(update={"corpus": corpus}),
        }
    )


def _sync(settings: Settings, reports: list[SyncReport], errors: list[BaseException]) -> None:
    try:
        store = Store(settings.store, HashEmbeddings())
        reports.append(sync(settings, store, settings.ingest.corpus, wait=True))
    except BaseException as exc:  # noqa: BLE001 - reported by the assertion
        errors.append(exc)


def test_two_replicas_syncing_at_once_lose_no_document(
    tmp_settings: Settings,
    tmp_path: Path,
    chroma_server: int,  # noqa: F811
) -> None:
    a = _replica(tmp_settings, chroma_server, tmp_path / "replica-a", DOCS_A)
    b = _replica(tmp_settings, chroma_server, tmp_path / "replica-b", DOCS_B)
    reports: list[SyncReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(settings: Settings) -> None:
        start.wait()
        _sync(settings, reports, errors)

    threads = [threading.Thread(target=run, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(reports) == 2 and all(r.published for r in reports)
    assert sorted(r.generation for r in reports) == [1, 2]  # one after the other

    reader = Store(a.store, HashEmbeddings())
    manifest = reader.manifest(max_age_s=0)
    assert manifest is not None
    assert sorted(manifest.documents) == sorted([*DOCS_A, *DOCS_B])
    assert {c.source for c in reader.all_chunks()} == {*DOCS_A, *DOCS_B}

    # replica A again: its folder lacks B's files; they stay, only its own removal counts
    (a.ingest.corpus / "a_zorg.txt").unlink()
    again = sync(a, Store(a.store, HashEmbeddings()), a.ingest.corpus)
    assert again.removed == ["a_zorg.txt"]
    manifest = Store(b.store, HashEmbeddings()).manifest(max_age_s=0)
    assert manifest is not None
    assert sorted(manifest.documents) == sorted(["a_werk.txt", *DOCS_B])
    hits = Store(b.store, HashEmbeddings()).dense_search("werkten thuis in 2024", k=4)
    assert "b_thuis.txt" in {c.source for c, _ in hits}


def test_second_writer_without_wait_is_refused_while_the_lease_is_held(
    tmp_settings: Settings,
    tmp_path: Path,
    chroma_server: int,  # noqa: F811
) -> None:
    from assistant.errors import AssistantError

    a = _replica(tmp_settings, chroma_server, tmp_path / "replica-a", DOCS_A)
    b = _replica(tmp_settings, chroma_server, tmp_path / "replica-b", DOCS_B)
    holder = Store(a.store, HashEmbeddings())
    with holder.writer_lease("replica-a"):
        with pytest.raises(AssistantError, match="indexering"):
            sync(b, Store(b.store, HashEmbeddings()), b.ingest.corpus)
    assert sync(b, Store(b.store, HashEmbeddings()), b.ingest.corpus).published


def test_expired_lease_of_a_dead_writer_is_taken_over(
    tmp_settings: Settings,
    tmp_path: Path,
    chroma_server: int,  # noqa: F811
) -> None:
    a = _replica(tmp_settings, chroma_server, tmp_path / "replica-a", DOCS_A)
    store = Store(a.store, HashEmbeddings())
    dead = store.writer_lease("gestorven", ttl_s=0.5)
    dead.__enter__()  # acquired and never released: the process died
    import time

    time.sleep(0.7)
    assert sync(a, Store(a.store, HashEmbeddings()), a.ingest.corpus, wait=True).published
