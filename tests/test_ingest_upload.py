"""Uploads from the beheer page: safe names, refusals in Dutch, atomic writes, then a sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.embeddings import HashEmbeddings
from assistant.errors import AssistantError
from assistant.store import Store
from ingest.sync import ProgressEvent, sync
from ingest.upload import safe_filename, save_upload

TEXT = "Het rapport beschrijft de efficiënte inzet van AI in de zorg en het onderwijs. " * 5


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("rapport.pdf", "rapport.pdf"),
        ("../../etc/rapport.txt", "rapport.txt"),
        ("C:\\Users\\an\\Documents\\Notitie 2024.docx", "Notitie 2024.docx"),
        ("..\\..\\geheim.md", "geheim.md"),
        (".verborgen.txt", "verborgen.txt"),
        ("ra\x00pp\x1bort\n.pdf", "rapport.pdf"),
        ("a<b>c:d|e?.txt", "a_b_c_d_e_.txt"),
        ("  spaties   in   naam .pdf", "spaties in naam .pdf"),
        ("efficie\u0308nt.txt", "efficiënt.txt"),
    ],
)
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


def test_long_names_are_shortened_keeping_the_extension() -> None:
    name = safe_filename("x" * 300 + ".pdf")
    assert len(name) <= 120 and name.endswith(".pdf")


@pytest.mark.parametrize("given", ["../../etc/passwd", "", "..", "/", "geen-extensie"])
def test_names_without_a_usable_base_are_refused(given: str) -> None:
    with pytest.raises(AssistantError, match="Ongeldige bestandsnaam"):
        safe_filename(given)


def test_save_upload_writes_atomically_inside_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    path = save_upload(corpus, "../../buiten.txt", TEXT.encode(), max_bytes=10_000)
    assert path == corpus / "buiten.txt" and path.read_text(encoding="utf-8") == TEXT
    assert not (tmp_path / "buiten.txt").exists()
    # a new version replaces the old one; no temporary files are left behind
    save_upload(corpus, "buiten.txt", b"nieuwe versie", max_bytes=10_000)
    assert path.read_bytes() == b"nieuwe versie"
    assert sorted(p.name for p in corpus.iterdir()) == ["buiten.txt"]


def test_save_upload_refuses_in_dutch(tmp_path: Path) -> None:
    with pytest.raises(AssistantError, match="Bestandstype '.xlsx' wordt niet ondersteund"):
        save_upload(tmp_path, "begroting.xlsx", b"data", max_bytes=100)
    with pytest.raises(AssistantError, match="niet ondersteund"):
        save_upload(tmp_path, "setup.exe", b"MZ", max_bytes=100)
    with pytest.raises(AssistantError, match="niet ondersteund"):
        save_upload(tmp_path, "rapport.meta.json", b"{}", max_bytes=100)
    with pytest.raises(AssistantError, match=r"te groot: 2,5 MB \(maximum 1 MB\)"):
        save_upload(tmp_path, "groot.pdf", b"x" * 2_500_000, max_bytes=1_000_000)
    with pytest.raises(AssistantError, match="leeg"):
        save_upload(tmp_path, "leeg.txt", b"", max_bytes=100)
    assert list(tmp_path.iterdir()) == []


def test_upload_then_sync_with_progress_and_dutch_report(tmp_settings) -> None:  # noqa: ANN001
    corpus = tmp_settings.ingest.corpus
    save_upload(corpus, "verslag.txt", TEXT.encode("cp1252"), max_bytes=1_000_000)
    events: list[ProgressEvent] = []
    store = Store(tmp_settings.store, HashEmbeddings())
    report = sync(tmp_settings, store, corpus, progress=events.append)
    assert report.added == ["verslag.txt"]
    assert any("efficiënte" in c.text for c in store.all_chunks())
    assert [e.status for e in events][-1] == "done"
    assert all(0 <= e.done <= e.total for e in events)
    lines = report.to_dutch_lines()
    assert lines[0] == "1 document toegevoegd: verslag.txt"
    assert lines[-1].startswith("De index is bijgewerkt: 1 document,")


def _docx_bomb(unpacked_mb: int) -> bytes:
    import io
    import zipfile

    para = b"<w:p><w:r><w:t>" + b"a " * 400 + b"</w:t></w:r></w:p>"
    body = para * (unpacked_mb * 1_000_000 // len(para))
    xml = (
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>" + body + b"</w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", xml)
    return buf.getvalue()


def test_zip_bomb_docx_is_refused_on_upload_and_skipped_in_the_folder(tmp_settings) -> None:  # noqa: ANN001
    data = _docx_bomb(unpacked_mb=25)
    assert len(data) < 100_000
    corpus = tmp_settings.ingest.corpus
    with pytest.raises(AssistantError, match="pakt uit tot"):
        save_upload(corpus, "bom.docx", data, max_bytes=1_000_000)
    assert list(corpus.iterdir()) == []
    (corpus / "bom.docx").write_bytes(data)  # put there by hand
    (corpus / "goed.txt").write_text(TEXT, encoding="utf-8")
    report = sync(tmp_settings, Store(tmp_settings.store, HashEmbeddings()), corpus)
    assert report.added == ["goed.txt"]
    skipped = [(s.file, s.reason) for s in report.skipped]
    assert skipped == [("bom.docx", "unpacks to 25 MB (zip bomb?)")]


def test_a_symlink_with_the_same_name_is_replaced_not_written_through(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "geheim.txt"
    outside.write_text("niet overschrijven", encoding="utf-8")
    (corpus / "rapport.txt").symlink_to(outside)
    path = save_upload(corpus, "rapport.txt", TEXT.encode(), max_bytes=10_000)
    assert not path.is_symlink() and path.read_text(encoding="utf-8") == TEXT
    assert outside.read_text(encoding="utf-8") == "niet overschrijven"
