"""Sync: new/changed/removed/unchanged by content hash, no re-embedding, atomic publish,
failure leaves the old index, bad files are skipped with a reason."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from assistant.embeddings import HashEmbeddings
from assistant.keyword import KeywordIndex
from assistant.store import Store
from ingest.sync import IngestBusy, ProgressEvent, ingest_lock, sync

ZORG = (
    "In de zorgsector liggen professionals vooral wakker van het aantrekken en behouden van "
    "personeel. Digitale stress en weerstand tegen verandering komen sterker naar voren. "
) * 3
AI = (
    "Slechts 26 procent van de werknemers maakt actief gebruik van kunstmatige intelligentie "
    "in het dagelijkse werk. Bijna de helft van de organisaties heeft geen AI-strategie. "
) * 3
ROBOT = (
    "Robots nemen in maatwerkbedrijven een deel van het zware werk over. Medewerkers krijgen "
    "daardoor andere taken, zoals het bedienen en onderhouden van de machines. "
) * 3


class CountingEmbeddings(Embeddings):
    """Wraps the fake embedder; counts passages embedded; can fail on the n-th call."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.inner = HashEmbeddings()
        self.name = self.inner.name  # same label: the manifest must not see a model change
        self.calls = 0
        self.texts = 0
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise RuntimeError("embedding server fell over")
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def new_store(settings, embeddings: Embeddings | None = None) -> Store:  # noqa: ANN001
    return Store(settings.store, embeddings or CountingEmbeddings())


def write_corpus(corpus: Path) -> None:
    (corpus / "zorg.txt").write_text(ZORG, encoding="utf-8")
    (corpus / "ai.txt").write_text(AI, encoding="utf-8")
    (corpus / "ai.meta.json").write_text(
        '{"title": "AI op de werkvloer", "organisation": "Integron", "date": "2025-04"}',
        encoding="utf-8",
    )


def collections(store: Store) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in store.client.list_collections()}


def test_first_sync_adds_everything_and_publishes(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    store = new_store(tmp_settings)
    events: list[ProgressEvent] = []
    report = sync(tmp_settings, store, corpus, progress=events.append)
    assert report.added == ["ai.txt", "zorg.txt"] and not report.skipped
    assert report.published and report.generation == 1 and report.exit_code == 0
    manifest = store.manifest(max_age_s=0)
    assert manifest.generation == 1 and set(manifest.documents) == {"ai.txt", "zorg.txt"}
    entry = manifest.documents["ai.txt"]
    assert entry.title == "AI op de werkvloer" and entry.organisation == "Integron"
    assert entry.date == "2025-04" and entry.chunks >= 1 and entry.pages == 1
    assert len(entry.hash) == 64 and entry.ingested_at
    assert manifest.embedding_model == HashEmbeddings.name
    assert manifest.chunk_count == store.active_collection().count() == report.chunks
    hits = store.dense_search("kunstmatige intelligentie werknemers", k=2)
    assert hits[0][0].source == "ai.txt" and hits[0][0].title == "AI op de werkvloer"
    # the keyword index of the published generation is there and answers
    index = KeywordIndex.load(store.keyword_dir(manifest.collection))
    assert index.search("personeel zorgsector", k=3)[0][0].startswith("zorg:")
    assert events[-1].status == "done" and events[-1].done == events[-1].total == 2
    assert {e.file for e in events if e.status == "added"} == {"ai.txt", "zorg.txt"}


def test_second_run_embeds_nothing_and_publishes_nothing(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    sync(tmp_settings, new_store(tmp_settings), corpus)
    counting = CountingEmbeddings()
    store = new_store(tmp_settings, counting)
    before = collections(store)
    report = sync(tmp_settings, store, corpus)
    assert report.unchanged == ["ai.txt", "zorg.txt"]
    assert not (report.added or report.updated or report.removed or report.skipped)
    assert not report.published and report.generation == 1
    assert counting.calls == 0
    assert collections(store) == before
    assert "Niets veranderd" in report.to_dutch_lines()[-1]


def test_changed_new_and_removed_files(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    first = sync(tmp_settings, new_store(tmp_settings), corpus)
    (corpus / "zorg.txt").write_text(ZORG + " Een alinea over mantelzorgers.", encoding="utf-8")
    (corpus / "robot.txt").write_text(ROBOT, encoding="utf-8")
    (corpus / "ai.txt").unlink()
    counting = CountingEmbeddings()
    store = new_store(tmp_settings, counting)
    report = sync(tmp_settings, store, corpus)
    assert report.added == ["robot.txt"]
    assert report.updated == ["zorg.txt"]
    assert report.removed == ["ai.txt"]
    assert report.unchanged == []
    assert report.generation == first.generation + 1
    manifest = store.manifest(max_age_s=0)
    assert set(manifest.documents) == {"robot.txt", "zorg.txt"}
    sources = {c.source for c in store.all_chunks()}
    assert sources == {"robot.txt", "zorg.txt"}
    assert any("mantelzorgers" in c.text for c in store.all_chunks())
    assert counting.texts == manifest.chunk_count  # only new/changed documents embedded
    # the active generation and the one it replaced (for readers with a cached manifest)
    assert collections(store) == {manifest.collection, "rapporten-g1", "rapporten-manifest"}
    # a third run drops generation 1
    (corpus / "ai.txt").write_text(AI, encoding="utf-8")
    third = sync(tmp_settings, store, corpus)
    assert collections(store) == {"rapporten-g2", "rapporten-g3", "rapporten-manifest"}
    kw = sorted(
        p.name
        for p in (tmp_settings.store.path / "keyword").iterdir()
        if not p.name.startswith(".")
    )
    assert kw == ["rapporten-g2", "rapporten-g3"] and third.generation == 3
    assert KeywordIndex.load(store.keyword_dir("rapporten-g3")).search("werknemers", k=1)
    lines = "\n".join(report.to_dutch_lines())
    assert "1 document toegevoegd: robot.txt" in lines
    assert "1 document bijgewerkt: zorg.txt" in lines
    assert "uit de index gehaald: ai.txt" in lines


def test_unchanged_documents_are_copied_with_their_vectors(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    store = new_store(tmp_settings)
    sync(tmp_settings, store, corpus)
    before = {c.id: v for c, v in store.iter_chunks(with_embeddings=True) if c.source == "ai.txt"}
    (corpus / "robot.txt").write_text(ROBOT, encoding="utf-8")
    counting = CountingEmbeddings()
    store2 = new_store(tmp_settings, counting)
    report = sync(tmp_settings, store2, corpus)
    assert report.unchanged == ["ai.txt", "zorg.txt"] and report.added == ["robot.txt"]
    after = {c.id: v for c, v in store2.iter_chunks(with_embeddings=True) if c.source == "ai.txt"}
    assert after.keys() == before.keys()
    for cid, vec in before.items():
        assert after[cid] == pytest.approx(vec)
    assert counting.texts == store2.manifest(max_age_s=0).documents["robot.txt"].chunks


def test_sidecar_change_reingests_the_document(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    sync(tmp_settings, new_store(tmp_settings), corpus)
    (corpus / "ai.meta.json").write_text('{"title": "Nieuwe titel"}', encoding="utf-8")
    store = new_store(tmp_settings)
    report = sync(tmp_settings, store, corpus)
    assert report.updated == ["ai.txt"] and report.unchanged == ["zorg.txt"]
    assert {c.title for c in store.all_chunks() if c.source == "ai.txt"} == {"Nieuwe titel"}


def test_rebuild_starts_from_nothing(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    sync(tmp_settings, new_store(tmp_settings), corpus)
    counting = CountingEmbeddings()
    store = new_store(tmp_settings, counting)
    report = sync(tmp_settings, store, corpus, rebuild=True)
    assert report.added == ["ai.txt", "zorg.txt"] and report.published
    assert counting.texts == store.manifest(max_age_s=0).chunk_count


def test_other_embedding_model_reembeds_everything(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    sync(tmp_settings, new_store(tmp_settings), corpus)
    counting = CountingEmbeddings()
    counting.name = "another-model"
    store = new_store(tmp_settings, counting)
    report = sync(tmp_settings, store, corpus)
    assert report.published and not report.unchanged
    assert store.manifest(max_age_s=0).embedding_model == "another-model"
    assert counting.texts == store.manifest(max_age_s=0).chunk_count


def test_failure_mid_run_leaves_the_old_index(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    store = new_store(tmp_settings)
    sync(tmp_settings, store, corpus)
    old = store.manifest(max_age_s=0)
    old_collections = collections(store)
    keyword_before = sorted(p.name for p in (tmp_settings.store.path / "keyword").iterdir())

    (corpus / "robot.txt").write_text(ROBOT, encoding="utf-8")
    (corpus / "zorg.txt").write_text(ZORG + " Gewijzigd.", encoding="utf-8")
    (corpus / "nog.txt").write_text(AI + " Nog een document.", encoding="utf-8")
    failing = new_store(tmp_settings, CountingEmbeddings(fail_on_call=2))  # after one file
    with pytest.raises(RuntimeError, match="fell over"):
        sync(tmp_settings, failing, corpus)

    reader = new_store(tmp_settings)
    after = reader.manifest(max_age_s=0)
    assert after.generation == old.generation and after.collection == old.collection
    assert after.documents == old.documents
    assert collections(reader) == old_collections  # the unfinished generation is gone
    assert sorted(p.name for p in (tmp_settings.store.path / "keyword").iterdir()) == keyword_before
    hits = reader.dense_search("personeel zorgsector", k=1)
    assert hits and hits[0][0].source == "zorg.txt" and "Gewijzigd" not in hits[0][0].text
    # and the lock was released: the next run works
    report = sync(tmp_settings, reader, corpus)
    assert report.published and report.generation == old.generation + 1
    assert sorted(report.added) == ["nog.txt", "robot.txt"] and report.updated == ["zorg.txt"]


def test_lock_refuses_a_second_writer(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    with ingest_lock(tmp_settings.store.path):
        with pytest.raises(IngestBusy) as exc:
            sync(tmp_settings, new_store(tmp_settings), corpus)
    assert exc.value.pid == os.getpid()
    assert exc.value.english == f"another ingest is running (pid {os.getpid()})"
    assert "Er loopt al een indexering" in exc.value.message
    assert sync(tmp_settings, new_store(tmp_settings), corpus).published  # free again


def test_bad_input_is_skipped_with_reasons_and_good_files_indexed(tmp_settings, make_pdf) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    good_pdf = make_pdf(
        corpus / "rapport.pdf", ["Inleiding\n" + ROBOT, "Conclusie\n" + ZORG], title="Robotrapport"
    )
    make_pdf(corpus / "versleuteld.pdf", ["Geheime tekst over salarissen. " * 5], encrypt="geheim")
    data = good_pdf.read_bytes()
    (corpus / "afgekapt.pdf").write_bytes(data[: len(data) // 2])
    make_pdf(corpus / "scan.pdf", ["", ""])
    (corpus / "leeg.txt").write_text("  \n\n \t\n", encoding="utf-8")
    (corpus / "nul.txt").write_bytes(b"")
    (corpus / "nul.pdf").write_bytes(b"")
    (corpus / "ruis.pdf").write_bytes(bytes(random.Random(1).randrange(256) for _ in range(4096)))
    cp1252 = "Een efficiënt rooster is geïntegreerd in het coördinatiesysteem van de zorg."
    (corpus / "windows.txt").write_bytes(cp1252.encode("cp1252"))
    shutil.copy(corpus / "zorg.txt", corpus / "kopie van zorg.txt")
    (corpus / "begroting.xlsx").write_bytes(b"PK\x03\x04 not really")
    (corpus / "setup.exe").write_bytes(b"MZ\x90\x00")
    (corpus / ".verborgen.txt").write_text(ZORG, encoding="utf-8")
    (corpus / "submap").mkdir()
    (corpus / "submap" / "diep.txt").write_text(AI, encoding="utf-8")
    (corpus / "zorg.meta.json").write_text('{"title": "Zorgen in de zorg"}', encoding="utf-8")

    store = new_store(tmp_settings)
    report = sync(tmp_settings, store, corpus)
    assert report.added == ["ai.txt", "rapport.pdf", "windows.txt", "zorg.txt"]
    reasons = {s.file: s.reason for s in report.skipped}
    assert set(reasons) == {
        "versleuteld.pdf",
        "afgekapt.pdf",
        "scan.pdf",
        "leeg.txt",
        "nul.txt",
        "nul.pdf",
        "ruis.pdf",
        "kopie van zorg.txt",
        "begroting.xlsx",
        "setup.exe",
    }
    assert "encrypted" in reasons["versleuteld.pdf"]
    assert "damaged" in reasons["afgekapt.pdf"] and "damaged" in reasons["ruis.pdf"]
    assert reasons["scan.pdf"] == "no text layer (scanned?)"
    assert reasons["leeg.txt"] == "no text found"
    assert reasons["nul.txt"] == reasons["nul.pdf"] == "empty file"
    assert reasons["kopie van zorg.txt"] == "duplicate of zorg.txt"
    assert "unsupported" in reasons["begroting.xlsx"] and ".exe" in reasons["setup.exe"]
    assert all("\n" not in r for r in reasons.values())
    assert report.exit_code == 1

    chunks = store.all_chunks()
    assert any("efficiënt" in c.text and "geïntegreerd" in c.text for c in chunks)
    assert {c.source for c in chunks} == set(report.added)
    assert {c.page for c in chunks if c.source == "rapport.pdf"} == {1, 2}
    manifest = store.manifest(max_age_s=0)
    assert {row["file"] for row in manifest.skipped} == set(reasons)
    dutch = "\n".join(report.to_dutch_lines())
    assert "• versleuteld.pdf: versleutelde PDF" in dutch
    assert "• scan.pdf: geen tekstlaag (gescand?)" in dutch
    assert "• kopie van zorg.txt: dubbel: zorg.txt" in dutch

    # Removing a bad file changes no document: the index stays, the skipped list is updated.
    (corpus / "setup.exe").unlink()
    again = sync(tmp_settings, store, corpus)
    assert not again.published and again.generation == report.generation
    assert "setup.exe" not in {row["file"] for row in store.manifest(max_age_s=0).skipped}


def test_file_over_the_size_limit_is_skipped(tmp_settings) -> None:  # noqa: ANN001
    settings = tmp_settings.model_copy(
        update={"ingest": tmp_settings.ingest.model_copy(update={"max_file_mb": 0.002})}
    )
    corpus = settings.ingest.corpus
    (corpus / "klein.txt").write_text(AI[:1500], encoding="utf-8")
    (corpus / "groot.txt").write_text(ZORG * 20, encoding="utf-8")
    report = sync(settings, new_store(settings), corpus)
    assert report.added == ["klein.txt"]
    assert [s.file for s in report.skipped] == ["groot.txt"]
    assert report.skipped[0].reason.startswith("too large")
    assert "• groot.txt: te groot: " in "\n".join(report.to_dutch_lines())


def test_same_stem_other_extension_is_refused(tmp_settings, make_pdf) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    (corpus / "rapport.txt").write_text(AI, encoding="utf-8")
    make_pdf(corpus / "rapport.pdf", [ROBOT])
    report = sync(tmp_settings, new_store(tmp_settings), corpus)
    assert report.added == ["rapport.txt"]  # the older file keeps the name
    assert report.skipped[0].file == "rapport.pdf"
    assert report.skipped[0].reason.startswith("same name as rapport.txt")


def test_empty_corpus_publishes_an_empty_index(tmp_settings) -> None:  # noqa: ANN001
    store = new_store(tmp_settings)
    report = sync(tmp_settings, store, tmp_settings.ingest.corpus)
    assert report.published and report.chunks == 0
    assert store.manifest(max_age_s=0).documents == {}


def test_missing_corpus_folder_is_a_clear_error(tmp_settings, tmp_path: Path) -> None:  # noqa: ANN001
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="bestaat niet"):
        sync(tmp_settings, new_store(tmp_settings), tmp_path / "nergens")


def test_every_format_goes_through_the_whole_pipeline(tmp_settings) -> None:  # noqa: ANN001
    import docx

    corpus = tmp_settings.ingest.corpus
    document = docx.Document()
    document.add_heading("Notitie robotisering", level=1)
    document.add_paragraph(ROBOT)
    document.add_page_break()
    document.add_heading("Vervolg", level=2)
    document.add_paragraph(ZORG)
    document.save(str(corpus / "notitie.docx"))
    (corpus / "pagina.html").write_text(
        f"<html><head><title>Webpagina</title></head><body><h1>AI</h1><p>{AI}</p></body></html>",
        encoding="utf-8",
    )
    (corpus / "notes.md").write_text(f"# Zorg\n\n{ZORG}\n", encoding="utf-8")
    (corpus / "rare:naam.txt").write_text(AI + " Met een dubbele punt.", encoding="utf-8")
    store = new_store(tmp_settings)
    report = sync(tmp_settings, store, corpus)
    assert report.added == ["notes.md", "notitie.docx", "pagina.html", "rare:naam.txt"]
    chunks = store.all_chunks()
    by_source = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    assert {c.page for c in by_source["notitie.docx"]} == {1, 2}
    assert {c.heading for c in by_source["notitie.docx"]} == {"Notitie robotisering", "Vervolg"}
    assert by_source["pagina.html"][0].title == "Webpagina"
    assert by_source["notes.md"][0].heading == "Zorg"
    assert all(
        c.id.startswith("rare_naam:") and c.stem == "rare_naam" for c in by_source["rare:naam.txt"]
    )


def test_disk_full_is_a_dutch_error_and_keeps_the_old_index(tmp_settings, monkeypatch) -> None:  # noqa: ANN001
    import errno

    from assistant.errors import AssistantError
    from assistant.store import Generation
    from ingest.sync import IngestDiskFull

    corpus = tmp_settings.ingest.corpus
    write_corpus(corpus)
    store = new_store(tmp_settings)
    sync(tmp_settings, store, corpus)
    (corpus / "robot.txt").write_text(ROBOT, encoding="utf-8")

    def full(self, chunks, vectors=None):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Generation, "add", full)
    with pytest.raises(IngestDiskFull) as info:
        sync(tmp_settings, store, corpus)
    assert isinstance(info.value, AssistantError) and isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOSPC
    assert "vol" in info.value.message and "vorige index" in info.value.message
    assert store.manifest(max_age_s=0).generation == 1
    assert collections(store) == {"rapporten-g1", "rapporten-manifest"}
    monkeypatch.undo()
    assert sync(tmp_settings, store, corpus).added == ["robot.txt"]
