"""Cleaning: hyphenation, running headers/footers, characters, whitespace, headings."""

from __future__ import annotations

from pathlib import Path

from ingest.clean import (
    clean_document,
    heading_level,
    join_lines,
    normalise_chars,
    structure_lines,
)
from ingest.loaders import load

BODY = (
    "De digitalisering van de zorg verandert het werk van verpleegkundigen en begeleiders. "
    "Organisaties investeren in nieuwe systemen, maar de medewerkers moeten die ook leren "
    "gebruiken. Dat vraagt tijd, opleiding en een cultuur waarin fouten gemaakt mogen worden."
)


def test_hyphenation_across_line_ends() -> None:
    assert join_lines(["de digitali-", "sering van de zorg"]) == "de digitalisering van de zorg"
    assert join_lines(["in het HRM-", "domein"]) == "in het HRM-domein"
    assert join_lines(["nieuwe AI-", "toepassingen"]) == "nieuwe AI-toepassingen"
    assert join_lines(["familie-", "en thuiszorg"]) == "familie- en thuiszorg"
    assert join_lines(["een auto-", "ongeluk"]) == "een auto-ongeluk"
    assert join_lines(["AI-toepassingen zijn", "in opmars"]) == "AI-toepassingen zijn in opmars"
    assert join_lines(["zacht\u00ad", "afgebroken"]) == "zachtafgebroken"


def test_characters_and_whitespace() -> None:
    assert normalise_chars("ﬁnanciering en ﬂexibel") == "financiering en flexibel"
    assert normalise_chars("een \u00a0ruimte") == "een  ruimte"
    assert normalise_chars("10 m²") == "10 m²"  # superscripts keep their meaning
    assert normalise_chars("ĳverig") == "ijverig"
    assert normalise_chars("on\u200bzichtbaar") == "onzichtbaar"
    assert normalise_chars("e\u0308") == "ë"  # composed (NFC)
    blocks = structure_lines(["In  welke   mate  is dit zo?", "", "Nieuwe alinea hier."])
    assert [b.text for b in blocks] == ["In welke mate is dit zo?", "Nieuwe alinea hier."]


def test_heading_rules() -> None:
    assert heading_level("Inleiding") == 1
    assert heading_level("3.2 Methode van onderzoek") == 2
    assert heading_level("7. Kostenreductie bij werving") == 1
    assert heading_level("Dit is een gewone zin.") == 0
    assert heading_level("uitgevoerd door Communication Concert en") == 0
    assert heading_level("Onderzoek uitgevoerd door Communication Concert en") == 0
    assert heading_level("• een opsommingsteken") == 0
    assert heading_level("20") == 0


def test_structure_from_pdf_lines() -> None:
    lines = [
        "Inleiding",
        "Er wordt veel gezegd over de impact van technologische evoluties op werk. Daarbij",
        "stellen we een polarisering vast van het debat.",
        "Maar naar aanleiding van",  # short, capitalised, but the next line continues it
        "het convenant was er een werkgroep die het onderzoek opvolgde en bijstuurde.",
        "Conclusies en",
        "aanbevelingen",
        "De voornaamste bevindingen zijn:",
        "• Leidt de beschikbaarheid van nieuwe technologie tot adaptie ervan in het HRM-",
        "domein en tot aanpassingen?",
        "• Wat zijn de verwachtingen?",
    ]
    blocks = [(b.kind, b.text) for b in structure_lines(lines)]
    assert blocks[0] == ("heading", "Inleiding")
    assert blocks[1][0] == "paragraph"
    assert any(
        k == "paragraph" and t.startswith("Maar naar aanleiding van het convenant")
        for k, t in blocks
    )
    assert all(t != "Maar naar aanleiding van" for _, t in blocks)
    assert ("heading", "Conclusies en aanbevelingen") in blocks
    assert (
        "list_item",
        "• Leidt de beschikbaarheid van nieuwe technologie tot adaptie ervan "
        "in het HRM-domein en tot aanpassingen?",
    ) in blocks
    assert blocks[-1] == ("list_item", "• Wat zijn de verwachtingen?")


def test_running_footer_and_page_numbers_are_removed(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    pages = [f"Hoofdstuk {i}\n{BODY}\n{BODY}" for i in range(1, 6)]
    path = make_pdf(
        tmp_path / "vivo.pdf", pages, footer="VIVO - Gevolgen van digitalisering - pagina {page}"
    )
    cleaned = clean_document(load(path))
    assert len(cleaned) == 5
    for page in cleaned:
        assert "VIVO" not in page.text and "pagina" not in page.text
        assert "digitalisering van de zorg" in page.text
        assert "\n\n" in page.text  # paragraph breaks kept


def test_bare_page_numbers_removed_even_when_rare(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    path = make_pdf(tmp_path / "r.pdf", [f"{BODY}\n17", BODY, BODY])
    cleaned = clean_document(load(path))
    assert not cleaned[0].text.rstrip().endswith("17")


def test_title_with_page_number_removed_anywhere(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    title = "Gevolgen van digitalisering, informatisering en robotisering voor jobs"
    text = f"{BODY}\nGevolgen digitalisering, informatisering en robotisering 30\n{BODY}"
    path = make_pdf(tmp_path / "r.pdf", [text])
    page = clean_document(load(path), title=title)[0]
    assert "robotisering 30" not in page.text
    assert page.text.count("digitalisering van de zorg") == 2


def test_recurring_body_sentence_is_kept(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    # The same line in the middle of every page is content, not a header.
    pages = [
        f"Deel {chr(65 + i)} begint hier.\n{BODY}\n(focusgroep zorg)\n{BODY}\nEinde {chr(65 + i)}."
        for i in range(4)
    ]
    path = make_pdf(tmp_path / "r.pdf", pages)
    for page in clean_document(load(path)):
        assert "(focusgroep zorg)" in page.text


def test_spans_point_into_page_text(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    path = make_pdf(tmp_path / "r.pdf", [f"Inleiding\n{BODY}\n• punt een\n• punt twee"])
    page = clean_document(load(path))[0]
    kinds = [s.kind for s in page.spans]
    assert kinds[0] == "heading" and kinds[-2:] == ["list_item", "list_item"]
    for span in page.spans:
        assert page.span_text(span) == page.text[span.start : span.end]
        assert page.span_text(span).strip() == page.span_text(span)
    assert "• punt een\n• punt twee" in page.text  # list items on consecutive lines
