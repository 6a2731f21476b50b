"""The source as it was printed: a PDF page rendered with the quoted words highlighted, or for
DOCX, HTML, Markdown and plain text the passage inside its section with the quote marked.

PDF: pypdfium2 renders the page (``PdfPage.render``) and its text page gives every character
with its box. A quote is the *cleaned* text of ingest (ligatures folded, line-end hyphens
removed, spaces collapsed), so it is not searched with PDFium's own ``search``: both the page's
characters and the quote are reduced to their letters and digits (accent-folded, lower case),
the quote is found in that string, and the index map leads back to PDFium's character range,
whose text rectangles (``count_rects``/``get_rect``) are drawn as translucent boxes with
Pillow. When the exact quote is not on the page (a passage continued from the next page) the
longest common run of at least half the quote is used, or nothing is marked (``found``).

Other formats have no printed page: the document is loaded and cleaned again exactly as ingest
did (``ingest.loaders`` + ``ingest.clean``), and the chunk's character offsets give its place
in the page text; the section is the text from the heading above the passage to the next
heading, cut to a few paragraphs either side.

Trade-offs: rendering costs ~0.1-0.3 s per page, so results are kept in an LRU cache keyed on
the file's path, size and mtime (a replaced file is rendered anew); PNG bytes of a page are
~100-300 KB, so the cache holds 64 pages. A file whose content hash is no longer the one the
passage was indexed from is not shown (the page might no longer match the quote). PDFium is
not thread-safe and Streamlit serves sessions on threads, so all PDFium calls hold one lock.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import re
import threading
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.chunks import Chunk

SCALE = 1.5  # 72 dpi * 1.5 = 108 dpi: A4 becomes ~893 x 1263 px, readable on screen
HIGHLIGHT = (255, 200, 0, 110)  # RGBA fill of a quote box
OUTLINE = (230, 120, 0, 255)
PAD = 2  # pixels around each text rectangle
CONTEXT_CHARS = 700  # text shown before and after a passage in its section

_PDFIUM_LOCK = threading.RLock()


@dataclass(frozen=True)
class PageImage:
    """A rendered PDF page; ``boxes`` are the highlighted rectangles in image pixels."""

    png: bytes
    width: int
    height: int
    page: int
    pages: int
    boxes: tuple[tuple[int, int, int, int], ...]

    @property
    def found(self) -> bool:
        return bool(self.boxes)


@dataclass(frozen=True)
class SectionView:
    """A passage in its section: ``text`` with the passage at ``passage`` and the quotes at
    ``marks`` (character spans of ``text``); ``cut_before``/``cut_after``: text was left out."""

    heading: str
    text: str
    passage: tuple[int, int]
    marks: tuple[tuple[int, int], ...]
    cut_before: bool = False
    cut_after: bool = False


# --------------------------------------------------------------------------- files


def source_file(corpus: Path, chunk: Chunk) -> Path | None:
    """The document file of ``chunk`` inside ``corpus``, if it is still the indexed version."""
    name = Path(chunk.source).name
    if not name or name != chunk.source:  # never leave the corpus folder
        return None
    path = corpus / name
    if not path.is_file():
        return None
    if chunk.doc_hash:
        stat = path.stat()
        if _file_hash(str(path), stat.st_size, stat.st_mtime_ns) != chunk.doc_hash:
            return None
    return path


@lru_cache(maxsize=256)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:  # size/mtime: cache keys
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


# --------------------------------------------------------------------------- matching


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def alnum_map(chars: list[str]) -> tuple[str, list[int]]:
    """Letters and digits of ``chars`` (one entry per source character, any length) as one
    folded string, and for each of its characters the index of the source character."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(chars):
        for c in _fold(ch):
            if c.isalnum():
                out.append(c)
                index.append(i)
    return "".join(out), index


def find_quote(chars: list[str], quote: str) -> tuple[int, int] | None:
    """(first, last) index in ``chars`` of ``quote``, ignoring spaces, hyphens, punctuation,
    case and accents; the longest common run when the whole is not there (>= half)."""
    hay, index = alnum_map(chars)
    needle, _ = alnum_map(list(quote))
    if not needle or not hay:
        return None
    pos = hay.find(needle)
    if pos >= 0:
        return index[pos], index[pos + len(needle) - 1]
    match = SequenceMatcher(None, hay, needle, autojunk=False).find_longest_match(
        0, len(hay), 0, len(needle)
    )
    if match.size >= max(12, len(needle) // 2):
        return index[match.a], index[match.a + match.size - 1]
    return None


# --------------------------------------------------------------------------- PDF


def render_pdf_page(path: Path, page: int, quotes: tuple[str, ...] = ()) -> PageImage:
    """Page ``page`` (1-based) of the PDF at ``path`` as PNG, ``quotes`` highlighted."""
    return _render_cached(*_key(path), page, tuple(q for q in quotes if q.strip()), SCALE)


@lru_cache(maxsize=64)
def _render_cached(
    path: str, size: int, mtime_ns: int, page: int, quotes: tuple[str, ...], scale: float
) -> PageImage:
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(path)
        try:
            if not 1 <= page <= len(pdf):
                raise ValueError(f"page {page} not in 1..{len(pdf)}")
            pdf_page = pdf[page - 1]
            image = pdf_page.render(scale=scale).to_pil().convert("RGB")
            boxes = _quote_boxes(pdf_page, quotes, image.size)
            pages = len(pdf)
        finally:
            pdf.close()
    _draw(image, boxes)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=3)
    return PageImage(buf.getvalue(), image.width, image.height, page, pages, tuple(boxes))


def _quote_boxes(
    pdf_page: object, quotes: tuple[str, ...], size: tuple[int, int]
) -> list[tuple[int, int, int, int]]:
    import pypdfium2.raw as raw

    textpage = pdf_page.get_textpage()  # type: ignore[attr-defined]
    try:
        count = textpage.count_chars()
        chars = [chr(raw.FPDFText_GetUnicode(textpage.raw, i) or 32) for i in range(count)]
        boxes: list[tuple[int, int, int, int]] = []
        for quote in quotes:
            found = find_quote(chars, quote)
            if found is None:
                continue
            first, last = found
            for i in range(textpage.count_rects(first, last - first + 1)):
                left, bottom, right, top = textpage.get_rect(i)
                x0, y0 = _to_device(pdf_page, size, left, top)
                x1, y1 = _to_device(pdf_page, size, right, bottom)
                boxes.append(
                    (min(x0, x1) - PAD, min(y0, y1) - PAD, max(x0, x1) + PAD, max(y0, y1) + PAD)
                )
        return boxes
    finally:
        textpage.close()


def _to_device(pdf_page: object, size: tuple[int, int], x: float, y: float) -> tuple[int, int]:
    """PDF user space -> pixel of the rendered image (PDFium handles crop box and rotation)."""
    import pypdfium2.raw as raw

    dx, dy = ctypes.c_int(), ctypes.c_int()
    raw.FPDF_PageToDevice(
        pdf_page.raw,  # type: ignore[attr-defined]
        0,
        0,
        size[0],
        size[1],
        0,
        ctypes.c_double(x),
        ctypes.c_double(y),
        ctypes.byref(dx),
        ctypes.byref(dy),
    )
    return dx.value, dy.value


def _draw(image: object, boxes: list[tuple[int, int, int, int]]) -> None:
    from PIL import Image, ImageDraw

    assert isinstance(image, Image.Image)
    if not boxes:
        return
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:
        draw.rectangle(box, fill=HIGHLIGHT, outline=OUTLINE, width=1)
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))


# --------------------------------------------------------------------------- other formats


def section_view(path: Path, chunk: Chunk, quotes: tuple[str, ...] = ()) -> SectionView | None:
    """The passage of ``chunk`` in its section of the cleaned document (None if lost)."""
    pages = _clean_pages(*_key(path))
    if not 1 <= chunk.page <= len(pages):
        return None
    text, spans = pages[chunk.page - 1]
    start, end = chunk.start, min(chunk.end, len(text))
    if not (0 <= start < end) or text[start : start + 40] != chunk.text[:40][: end - start]:
        pos = text.find(chunk.text[:80])  # offsets from another cleaning version: search
        if pos < 0:
            return None
        start, end = pos, min(len(text), pos + len(chunk.text))
    head, lo, hi = _section_bounds(spans, start, end, len(text))
    heading = " ".join(text[head[1] : head[2]].split()) if head else ""
    cut_before = start - lo > CONTEXT_CHARS
    cut_after = hi - end > CONTEXT_CHARS
    if cut_before:
        lo = _paragraph_start(text, start - CONTEXT_CHARS, start)
    if cut_after:
        hi = _paragraph_end(text, end + CONTEXT_CHARS, end)
    shown = text[lo:hi]
    marks = []
    for quote in quotes:
        span = _text_span(shown, quote)
        if span:
            marks.append(span)
    return SectionView(
        heading, shown, (start - lo, end - lo), tuple(sorted(marks)), cut_before, cut_after
    )


@lru_cache(maxsize=16)
def _clean_pages(
    path: str, size: int, mtime_ns: int
) -> tuple[tuple[str, tuple[tuple[str, int, int, int], ...]], ...]:
    from ingest import loaders
    from ingest.clean import clean_document

    file = Path(path)
    raw = loaders.load(file)
    info = loaders.document_info(file, loaders.read_sidecar(file), raw.meta)
    return tuple(
        (p.text, tuple((s.kind, s.start, s.end, s.level) for s in p.spans))
        for p in clean_document(raw, info.title)
    )


def _section_bounds(
    spans: tuple[tuple[str, int, int, int], ...], start: int, end: int, length: int
) -> tuple[tuple[str, int, int, int] | None, int, int]:
    """(heading span, start, end) of the section around [start, end) of a page."""
    heading: tuple[str, int, int, int] | None = None
    for span in spans:
        if span[0] == "heading" and span[2] <= start:
            heading = span
    lo = heading[2] if heading else 0
    level = heading[3] if heading else 99
    hi = length
    for kind, s_start, _, s_level in spans:
        if kind == "heading" and s_start >= end and (s_level <= level or not heading):
            hi = s_start
            break
    return heading, lo, hi


def _paragraph_start(text: str, at: int, limit: int) -> int:
    at = max(0, at)
    pos = text.find("\n", at, limit)
    if pos >= 0:
        return pos + 1
    space = text.find(" ", at, limit)
    return space + 1 if space >= 0 else at


def _paragraph_end(text: str, at: int, limit: int) -> int:
    at = min(len(text), at)
    pos = text.rfind("\n", limit, at)
    if pos >= 0:
        return pos
    space = text.rfind(" ", limit, at)
    return space if space >= 0 else at


def _text_span(text: str, quote: str) -> tuple[int, int] | None:
    words = quote.split()
    if not words:
        return None
    m = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return (m.start(), m.end()) if m else None


# --------------------------------------------------------------------------- context


def quote_context(text: str, quote: str, width: int = 80) -> str:
    """``quote`` with up to ``width`` characters of ``text`` either side, cut at words, with
    "…" where text was left out; the quote itself is wrapped in „…”. Empty if not found."""
    span = _text_span(text, quote)
    if span is None:
        return ""
    start, end = span
    before = " ".join(text[max(0, start - width) : start].split())
    after = " ".join(text[end : end + width].split())
    if start > width and " " in before:
        before = "…" + before.split(" ", 1)[1]
    if len(text) - end > width and " " in after:
        after = after.rsplit(" ", 1)[0] + "…"
    core = " ".join(text[start:end].split())
    return " ".join(x for x in (before, f"„{core}”", after) if x)
