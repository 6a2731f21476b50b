"""Uploads on the beheer page: hostile names, sizes and contents (``ingest/upload.py``).

Safe behaviour asserted: a file only ever lands directly in the documents folder under a
cleaned name; refused uploads leave nothing behind (no temp files); a broken file is skipped by
ingest with a reason while the rest of the index keeps working; metadata sidecars (which set a
document's access collection) cannot be uploaded.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from assistant.errors import AssistantError
from assistant.settings import Settings

upload = pytest.importorskip("ingest.upload", reason="ingest/upload.py not there yet")
save_upload = upload.save_upload

MB = 1_000_000
TEXT = b"Van de medewerkers werkt 41 procent twee dagen per week thuis.\n"


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\system32\\evil.pdf", "evil.pdf"),
        ("/etc/cron.d/job.txt", "job.txt"),
        ("C:\\Users\\x\\rapport.docx", "rapport.docx"),
        ("....//....//x.txt", "x.txt"),
        (".verborgen.txt", "verborgen.txt"),
        ("rap\x00port.txt", "rapport.txt"),
        ("rapport\u202egnp.txt", "rapportgnp.txt"),  # right-to-left override removed
        ("a<b>c|d?.txt", "a_b_c_d_.txt"),
    ],
)
def test_path_traversal_and_odd_names_stay_in_the_folder(
    tmp_path: Path, name: str, expected: str
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    target = save_upload(corpus, name, TEXT, max_bytes=MB)
    assert target.parent == corpus and target.name == expected
    assert _files(corpus) == {expected}  # nothing elsewhere, no temp file left
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("name", ["..", ".", "", "/", "..txt", "rapport", "\x00\x00"])
def test_names_without_a_usable_file_name_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(AssistantError):
        save_upload(tmp_path, name, TEXT, max_bytes=MB)
    assert _files(tmp_path) == set()


@pytest.mark.parametrize(
    "name",
    ["script.sh", "x.exe", "pagina.svg", "a.pdf.exe", "rapport.meta.json", "RAPPORT.META.JSON"],
)
def test_unsupported_types_and_sidecars_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(AssistantError) as info:
        save_upload(tmp_path, name, b"#!/bin/sh\necho hoi\n", max_bytes=MB)
    assert "niet ondersteund" in info.value.message
    assert _files(tmp_path) == set()


def test_oversized_and_empty_uploads_are_refused_in_dutch(tmp_path: Path) -> None:
    with pytest.raises(AssistantError) as info:
        save_upload(tmp_path, "groot.pdf", b"%PDF-" + b"0" * (2 * MB), max_bytes=MB)
    assert "te groot" in info.value.message and "MB" in info.value.message
    with pytest.raises(AssistantError, match="leeg"):
        save_upload(tmp_path, "leeg.txt", b"", max_bytes=MB)
    assert _files(tmp_path) == set()


def test_symlink_in_the_folder_is_not_followed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "geheim.txt"
    outside.write_text("niet overschrijven")
    (corpus / "rapport.txt").symlink_to(outside)
    try:
        save_upload(corpus, "rapport.txt", TEXT, max_bytes=MB)
    except AssistantError:
        pass  # refusing is fine too
    assert outside.read_text() == "niet overschrijven"


def test_malformed_uploads_are_skipped_and_the_index_keeps_working(tmp_settings: Settings) -> None:
    from assistant.embeddings import make_embeddings
    from assistant.service import Assistant
    from assistant.store import Store
    from ingest.sync import sync

    corpus = tmp_settings.ingest.corpus
    save_upload(corpus, "goed.txt", TEXT, max_bytes=MB)
    save_upload(corpus, "kapot.pdf", b"%PDF-1.7\n" + os.urandom(4000), max_bytes=MB)
    save_upload(corpus, "nep.docx", b"PK\x03\x04 dit is geen zip", max_bytes=MB)
    save_upload(corpus, "binair.txt", bytes(range(256)) * 40, max_bytes=MB)
    save_upload(corpus, "leeg.html", b"<html><body>   </body></html>", max_bytes=MB)
    store = Store(tmp_settings.store, make_embeddings(tmp_settings.embeddings))
    report = sync(tmp_settings, store)
    assert report.published and "goed.txt" in report.added
    skipped = {s.file: s for s in report.skipped}
    assert {"kapot.pdf", "nep.docx", "leeg.html"} <= set(skipped)
    assert all(s.reason_nl for s in skipped.values())  # a Dutch reason for the beheer page
    settings = tmp_settings.model_copy(
        update={"retrieval": tmp_settings.retrieval.model_copy(update={"relevance_floor": 0.0})}
    )
    answer = Assistant.from_settings(settings).answer("Hoeveel procent werkt thuis?")
    assert "41 procent" in answer.text


def _docx_bomb(unpacked_mb: int) -> bytes:
    """A DOCX whose document.xml unpacks to ``unpacked_mb`` MB of paragraphs (~1000:1)."""
    para = b"<w:p><w:r><w:t>" + b"a " * 400 + b"</w:t></w:r></w:p>"
    body = para * (unpacked_mb * MB // len(para))
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>" + body + b"</w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", xml)
    return buf.getvalue()


def test_zip_bomb_docx_is_refused(tmp_path: Path) -> None:
    data = _docx_bomb(unpacked_mb=20)  # small enough to be harmless in a test run
    assert len(data) < MB // 10  # packed: well under the limit
    with pytest.raises(AssistantError):  # refused on the unpacked size, before any parser
        save_upload(tmp_path, "bom.docx", data, max_bytes=MB)
    assert _files(tmp_path) == set()
