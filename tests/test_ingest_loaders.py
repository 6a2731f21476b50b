"""Loaders: every format, every common text encoding, and where the metadata comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.loaders import (
    LOADERS,
    LoadError,
    decode_text,
    document_info,
    is_sidecar,
    load,
    read_sidecar,
    strip_date_line,
)

TEXT = "De efficiënte inzet van AI-toepassingen vraagt om coördinatie en naïeve hoop helpt niet."


def _blocks(doc) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(b.kind, b.text) for page in doc.pages for b in page.blocks]


def test_extension_mapping() -> None:
    assert {".pdf", ".docx", ".html", ".htm", ".md", ".txt"} <= set(LOADERS)
    assert ".xlsx" not in LOADERS and ".exe" not in LOADERS


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_plain_text_in_any_common_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "artikel.txt"
    path.write_bytes(f"Titel van het stuk\n{TEXT}\n".encode(encoding))
    doc = load(path)
    text = " ".join(t for _, t in _blocks(doc))
    assert "efficiënte" in text and "coördinatie" in text and "naïeve" in text
    assert "\ufeff" not in text


def test_decode_never_raises_on_garbage() -> None:
    import random

    data = bytes(random.Random(7).randrange(256) for _ in range(5000))
    assert isinstance(decode_text(data), str)


def test_leading_date_line_is_stripped_and_used() -> None:
    text, date = strip_date_line(" date 2025-04 AI is niet meer weg te denken.")
    assert (text, date) == ("AI is niet meer weg te denken.", "2025-04")
    text, date = strip_date_line("date 2025-09-04\nIn de zorgsector ...")
    assert (text, date) == ("In de zorgsector ...", "2025-09-04")
    assert strip_date_line("Geen datum hier") == ("Geen datum hier", "")


def test_txt_date_line_becomes_date_when_no_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "nieuws.txt"
    path.write_text(" date 2025-04 " + TEXT + "\n", encoding="utf-8")
    doc = load(path)
    assert doc.meta["date"] == "2025-04"
    assert not _blocks(doc)[0][1].lstrip().startswith("date")
    info = document_info(path, read_sidecar(path), doc.meta)
    assert info.date == "2025-04"


def test_txt_form_feed_separates_pages(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("Pagina een tekst.\n\fPagina twee tekst.\n", encoding="utf-8")
    doc = load(path)
    assert [p.number for p in doc.pages] == [1, 2]


def test_pdf_pages_and_title(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    path = make_pdf(
        tmp_path / "r.pdf",
        ["Eerste pagina tekst.", "Tweede pagina tekst."],
        title="Een rapport over werk",
    )
    doc = load(path)
    assert doc.layout == "lines" and len(doc.pages) == 2
    assert "Tweede" in " ".join(b.text for b in doc.pages[1].blocks)
    assert doc.meta["title"] == "Een rapport over werk"


def test_docx_headings_lists_tables_page_breaks_and_properties(tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.core_properties.title = "Notitie digitale werkplek"
    document.add_heading("Inleiding", level=1)
    document.add_paragraph(TEXT)
    document.add_paragraph("eerste punt", style="List Bullet")
    document.add_page_break()
    kop = document.styles.add_style("Kop 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Resultaten", style=kop)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Sector"
    table.rows[0].cells[1].text = "Zorg"
    path = tmp_path / "notitie.docx"
    document.save(str(path))

    doc = load(path)
    assert doc.meta["title"] == "Notitie digitale werkplek"
    assert len(doc.pages) == 2
    first = [(b.kind, b.text, b.level) for b in doc.pages[0].blocks]
    assert first[0] == ("heading", "Inleiding", 1)
    assert ("list_item", "eerste punt", 0) in first
    second = [(b.kind, b.text) for b in doc.pages[1].blocks]
    assert ("heading", "Resultaten") in second  # Dutch Word: "Kop 2"
    assert ("paragraph", "Sector | Zorg") in second


def test_html_drops_script_style_nav_and_keeps_headings(tmp_path: Path) -> None:
    html = """<html><head><title>AI op de werkvloer</title><meta charset="windows-1252">
    <meta property="og:site_name" content="Integron"><style>p{color:red}</style></head>
    <body><nav><a href="/">Home</a> menu</nav><script>var geheim = 1;</script>
    <h1>AI op de werkvloer</h1><p>Slechts 26% gebruikt AI <b>actief</b> en efficiënt.</p>
    <h2>Sectoren</h2><ul><li>ICT</li><li>Zorg</li></ul><h5>Klein label</h5>
    <footer>Copyright</footer></body></html>"""
    path = tmp_path / "pagina.html"
    path.write_bytes(html.encode("cp1252"))
    doc = load(path)
    blocks = _blocks(doc)
    text = " ".join(t for _, t in blocks)
    assert ("heading", "AI op de werkvloer") in blocks and ("heading", "Sectoren") in blocks
    assert ("list_item", "ICT") in blocks and ("list_item", "Zorg") in blocks
    assert "efficiënt" in text and "actief" in text
    assert "geheim" not in text and "color" not in text and "menu" not in text
    assert "Copyright" not in text
    assert ("paragraph", "Klein label") in blocks  # h4-h6 are not section headings
    assert doc.meta == {"title": "AI op de werkvloer", "organisation": "Integron"}


def test_markdown_headings_lists_links_and_front_matter(tmp_path: Path) -> None:
    md = """---
title: Verkenning AI
date: 2024-05-01
---
# Verkenning AI

Lees het [volledige rapport](https://example.org/r.pdf) met **nadruk** op `data`.

## Aanbevelingen

- Investeer in training
- Borg data-eigenaarschap
"""
    path = tmp_path / "notes.md"
    path.write_text(md, encoding="utf-8")
    doc = load(path)
    blocks = _blocks(doc)
    assert doc.meta["title"] == "Verkenning AI" and doc.meta["date"] == "2024-05-01"
    assert ("heading", "Aanbevelingen") in blocks
    assert ("paragraph", "Lees het volledige rapport met nadruk op data.") in blocks
    assert ("list_item", "Investeer in training") in blocks


def test_unsupported_and_empty_raise_load_error(tmp_path: Path) -> None:
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(LoadError) as exc:
        load(tmp_path / "sheet.xlsx")
    assert exc.value.code == "unsupported"
    (tmp_path / "leeg.pdf").write_bytes(b"")
    with pytest.raises(LoadError) as exc:
        load(tmp_path / "leeg.pdf")
    assert exc.value.code == "empty"


def test_metadata_sidecar_then_file_then_name(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    pdf = make_pdf(tmp_path / "004_rapport.pdf", ["Tekst."], title="Titel uit de PDF")
    doc = load(pdf)
    # no sidecar: the PDF's own /Title
    assert document_info(pdf, read_sidecar(pdf), doc.meta).title == "Titel uit de PDF"
    # sidecar wins, field by field
    (tmp_path / "004_rapport.meta.json").write_text(
        json.dumps(
            {"title": "Titel uit sidecar", "organisation": "VIVO", "date": 2019, "kind": "rapport"}
        ),
        encoding="utf-8",
    )
    info = document_info(pdf, read_sidecar(pdf), doc.meta)
    assert (info.title, info.organisation, info.date, info.kind) == (
        "Titel uit sidecar",
        "VIVO",
        "2019",
        "rapport",
    )
    assert info.source == "004_rapport.pdf"
    # neither: the file name
    txt = tmp_path / "los_bestand.txt"
    txt.write_text("Tekst.", encoding="utf-8")
    assert document_info(txt, read_sidecar(txt), {}).title == "los bestand"
    assert is_sidecar(tmp_path / "004_rapport.meta.json")


def test_broken_sidecar_is_ignored(tmp_path: Path) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("Tekst.", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text("{niet: json", encoding="utf-8")
    assert read_sidecar(txt) == {}
