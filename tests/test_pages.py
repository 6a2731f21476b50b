"""The source as printed (``assistant.pages``): a real PDF made here with fpdf2 is rendered by
pypdfium2 and the highlight must cover the quote's own line and nothing else; a Markdown file
shows the passage in its section; a changed file is not shown."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from assistant.chunks import Chunk
from assistant.pages import (
    SCALE,
    find_quote,
    quote_context,
    render_pdf_page,
    section_view,
    source_file,
)

MM = 72 / 25.4  # PDF points per millimetre
QUOTE = "Slechts 26 procent van de werknemers gebruikt AI actief"
LINES = {  # y position (mm) -> text of that line
    40: "De aanleiding voor dit onderzoek is de snelle opkomst van chatbots.",
    100: QUOTE + " in het dagelijkse werk.",
    160: "Werkgevers bieden nog weinig training aan over verantwoord gebruik.",
}


def _pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    family = "helvetica"
    if font.is_file():
        pdf.add_font("dejavu", fname=str(font))
        family = "dejavu"
    pdf.add_page()
    pdf.set_font(family, size=12)
    pdf.set_xy(20, 20)
    pdf.cell(170, 6, "Eerste pagina")
    pdf.add_page()
    pdf.set_font(family, size=12)
    for y, text in LINES.items():
        pdf.set_xy(20, y)
        pdf.cell(170, 6, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def _highlighted(png: bytes) -> list[tuple[int, int]]:
    """Pixels of the highlight colour (yellow over white: high red and green, low blue)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    px = image.load()
    assert px is not None
    return [
        (x, y)
        for y in range(0, image.height, 2)
        for x in range(0, image.width, 2)
        if px[x, y][0] > 200 and px[x, y][1] > 150 and px[x, y][2] < 170
    ]


def test_pdf_page_highlights_the_quote_at_its_place(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "rapport.pdf")
    image = render_pdf_page(path, 2, (QUOTE,))
    assert (image.page, image.pages) == (2, 2)
    assert image.found
    pixels = _highlighted(image.png)
    assert len(pixels) > 500, "no highlight drawn"
    line_top, line_bottom = 100 * MM * SCALE, (100 + 6) * MM * SCALE
    ys = [y for _, y in pixels]
    xs = [x for x, _ in pixels]
    # every highlighted pixel lies on the quote's line (a few pixels of padding), none on the
    # lines above and below
    assert line_top - 6 <= min(ys) and max(ys) <= line_bottom + 6, (min(ys), max(ys))
    assert 20 * MM * SCALE - 6 <= min(xs)
    # the quote is ~3/4 of its line: the highlight ends well before the line's last words
    full = _highlighted(render_pdf_page(path, 2, (LINES[100],)).png)
    assert max(xs) < max(x for x, _ in full) - 20


def test_pdf_quote_not_on_page_draws_nothing(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "rapport.pdf")
    image = render_pdf_page(path, 1, (QUOTE,))
    assert not image.found and not _highlighted(image.png)


def test_render_is_cached_and_fast(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "rapport.pdf")
    t0 = time.perf_counter()
    first = render_pdf_page(path, 2, (LINES[40],))
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = render_pdf_page(path, 2, (LINES[40],))
    warm = time.perf_counter() - t0
    assert again is first  # the cache, not a second render
    assert cold < 1.0 and warm < 0.01, (cold, warm)


def test_quote_found_across_hyphenation_ligatures_and_spacing() -> None:
    # the PDF text layer has a line-end hyphen, a ligature and a line break; the quote is the
    # cleaned text of ingest
    chars = list("De digitali-\r\nsering van de ﬁnanciële  sector gaat snel.")
    span = find_quote(chars, "digitalisering van de financiële sector")
    assert span is not None
    first, last = span
    assert "".join(chars[first : last + 1]).startswith("digitali-")
    assert chars[last] == "r"
    assert find_quote(chars, "iets wat er niet staat en ook niet lijkt") is None


def _md_chunk(path: Path, text: str, start: int, doc_hash: str = "") -> Chunk:
    return Chunk(
        id="notitie:1:1",
        text=text,
        source=path.name,
        page=1,
        index=1,
        start=start,
        end=start + len(text),
        doc_hash=doc_hash,
    )


def test_markdown_passage_in_its_section(tmp_path: Path) -> None:
    from ingest.clean import clean_document
    from ingest.loaders import load
    from ingest.sync import file_hash

    path = tmp_path / "notitie.md"
    path.write_text(
        "# Notitie\n\nInleiding over het onderzoek.\n\n## Gebruik van AI\n\n"
        "Veel mensen gebruiken chatbots. Slechts 26 procent gebruikt AI actief. "
        "Jongeren vaker dan ouderen.\n\n## Aanbevelingen\n\nMaak beleid.\n",
        encoding="utf-8",
    )
    page = clean_document(load(path))[0].text
    passage = "Slechts 26 procent gebruikt AI actief."
    start = page.index(passage)
    chunk = _md_chunk(path, passage, start, file_hash(path))
    assert source_file(tmp_path, chunk) == path
    view = section_view(path, chunk, ("26 procent gebruikt AI",))
    assert view is not None
    assert view.heading == "Gebruik van AI"
    assert "Veel mensen gebruiken chatbots." in view.text  # the section around the passage
    assert "Maak beleid" not in view.text and "Inleiding" not in view.text  # not other sections
    assert view.text[view.passage[0] : view.passage[1]] == passage
    (m0, m1) = view.marks[0]
    assert view.text[m0:m1] == "26 procent gebruikt AI"


def test_changed_or_foreign_file_is_not_shown(tmp_path: Path) -> None:
    from ingest.sync import file_hash

    path = tmp_path / "notitie.md"
    path.write_text("# Kop\n\nTekst.\n", encoding="utf-8")
    chunk = _md_chunk(path, "Tekst.", 0, file_hash(path))
    path.write_text("# Kop\n\nAndere tekst.\n", encoding="utf-8")
    assert source_file(tmp_path, chunk) is None  # indexed from another version
    outside = Chunk(id="x:1:0", text="t", source="../geheim.md", page=1, index=0)
    assert source_file(tmp_path / "corpus", outside) is None


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("26 procent gebruikt AI.", "…past en weinig. „26 procent gebruikt AI.” Jongeren vaker…"),
        ("niet aanwezig", ""),
    ],
)
def test_quote_context(quote: str, expected: str) -> None:
    text = "Een lange inleiding die hier niet helemaal past en weinig. 26 procent gebruikt AI. "
    text += "Jongeren vaker dan ouderen, zo blijkt uit het onderzoek onder werknemers."
    assert quote_context(text, quote, width=20) == expected
