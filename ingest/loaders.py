"""Read one file into raw pages of blocks, and find the document's metadata.

Each loader returns a ``RawDocument``: pages (1-based numbers) of ``Block``s. What a block is
depends on how much structure the format gives:

* ``layout="lines"`` (PDF, hard-wrapped plain text): every block is one text *line*; an empty
  line is a blank. ``ingest.clean`` rebuilds paragraphs, list items and headings from them
  with heuristics, because a PDF's text layer has no structure.
* ``layout="paragraphs"`` (plain text with one paragraph per line): paragraphs; ``clean``
  only decides which short ones are headings.
* ``layout="structured"`` (DOCX, HTML, Markdown): the format says what is a heading, a
  paragraph or a list item; ``clean`` only normalises the text.

A file that cannot be read raises ``LoadError`` with a short code and a one-line English
reason (``ingest.sync`` shows a Dutch one from the code); anything else a loader raises is a
bug in it or in a library, which ``sync`` also turns into a skip rather than a crash.

Trade-offs: pypdf is pure Python (no poppler), robust and exact about page numbers but slower
than poppler and blind to layout (columns, tables come out in content-stream order). DOCX
"pages" exist only where the author put an explicit page break: Word computes real pages at
render time, and the ``lastRenderedPageBreak`` hints are stale as often as not; a DOCX that
would unpack to more than 300 MB (or >100x its size) is refused as a likely zip bomb. Plain text is
decoded as UTF-8 when it is valid UTF-8 (with or without BOM), else ``charset-normalizer``
picks among the Western encodings (cp1252, ISO-8859-15, Latin-1, UTF-16): unrestricted, it
guesses Central-European code pages for short Dutch text and turns "geïnteresseerd" into
"geďnteresseerd".
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.chunks import DocumentInfo

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.json"


class LoadError(Exception):
    """A file that cannot be indexed; ``code`` is stable, ``reason`` one line of English."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Block:
    kind: str  # "line" | "heading" | "paragraph" | "list_item"
    text: str
    level: int = 0  # heading level (1 = top), 0 otherwise


@dataclass
class RawPage:
    number: int
    blocks: list[Block]


@dataclass
class RawDocument:
    path: Path
    layout: str  # "lines" | "paragraphs" | "structured"
    pages: list[RawPage]
    meta: dict[str, str] = field(default_factory=dict)  # title/date/organisation from the file
    fmt: str = ""  # "pdf", "docx", "html", "md", "txt"


# ----------------------------------------------------------------------------------------
# Text decoding
# ----------------------------------------------------------------------------------------

_WESTERN = ["cp1252", "iso8859_15", "latin_1", "utf_16_le", "utf_16_be"]


def decode_text(data: bytes) -> str:
    """Bytes of a text file as str, whatever common encoding it is in; never raises."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_WESTERN).best()
    if best is not None:
        return str(best)
    # cp1252 maps almost every byte; the rest become U+FFFD instead of an exception.
    return data.decode("cp1252", errors="replace")


_DATE_LINE = re.compile(r"\A[ \t]*date[ \t]+(\d{4}-\d{2}(?:-\d{2})?)\b[ \t]*\n?", re.IGNORECASE)


def strip_date_line(text: str) -> tuple[str, str]:
    """Remove a leading ``date YYYY-MM(-DD)`` line (exported web articles); return (text, date)."""
    match = _DATE_LINE.match(text)
    if not match:
        return text, ""
    return text[match.end() :], match.group(1)


# ----------------------------------------------------------------------------------------
# PDF
# ----------------------------------------------------------------------------------------

_JUNK_TITLES = re.compile(
    r"^(untitled|naamloos|document\d*|presentation\d*|microsoft word - .*"
    r"|.*\.(docx?|pdf|indd|odt|pptx?))$",
    re.IGNORECASE,
)


def _pdf_date(value: object) -> str:
    match = re.match(r"D?:?(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    if not match:
        return ""
    return "-".join(p for p in match.groups() if p)


def load_pdf(path: Path) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise LoadError("corrupt", f"damaged or not a PDF ({_short(exc)})") from exc
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to restrict printing or copying, with an empty user
        # password: those open fine and are indexed. A real password means we can't read it.
        try:
            opened = reader.decrypt("")
        except (DependencyError, NotImplementedError) as exc:
            raise LoadError("encrypted", f"encrypted PDF ({_short(exc)})") from exc
        if not opened:
            raise LoadError("encrypted", "encrypted PDF (password protected)")
    try:
        pdf_pages = list(reader.pages)
    except FileNotDecryptedError as exc:
        raise LoadError("encrypted", "encrypted PDF (password protected)") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise LoadError("corrupt", f"damaged PDF ({_short(exc)})") from exc
    if not pdf_pages:
        raise LoadError("corrupt", "damaged PDF (no pages)")

    pages: list[RawPage] = []
    failed = 0
    for number, page in enumerate(pdf_pages, start=1):
        try:
            text = visible_pdf_text(page)
        except Exception as exc:  # one bad page (broken font, stream) must not lose the rest
            log.warning("%s: page %d unreadable: %s", path.name, number, _short(exc))
            failed += 1
            text = ""
        pages.append(RawPage(number, [Block("line", line) for line in text.splitlines()]))
    if failed == len(pdf_pages):
        raise LoadError("corrupt", "damaged PDF (no page could be read)")
    # A scan may carry a few stray characters (a stamped page number); real text has words.
    if sum(ch.isalpha() for p in pages for b in p.blocks for ch in b.text) < 5:
        raise LoadError("no_text_layer", "no text layer (scanned?)")

    meta: dict[str, str] = {}
    try:
        info: Any = reader.metadata or {}  # cleaned like text in ``document_info``
        title = str(info.get("/Title") or "").strip()
        if title and not _JUNK_TITLES.match(title):
            meta["title"] = title
        date = _pdf_date(info.get("/CreationDate"))
        if date:
            meta["date"] = date
    except Exception as exc:  # metadata is a nicety; a broken info dict is not a broken file
        log.debug("%s: unreadable PDF metadata: %s", path.name, exc)
    return RawDocument(path, "lines", pages, meta, "pdf")


_SHOW_TEXT = (b"Tj", b"TJ", b"'", b'"')


def _is_white(op: bytes, args: list[Any]) -> bool:
    try:
        values = [float(a) for a in args if isinstance(a, (int, float))]
    except (TypeError, ValueError):
        return False
    if op in (b"k", b"K") or len(values) == 4:  # CMYK: no ink at all
        return len(values) == 4 and all(v <= 0.05 for v in values)
    return bool(values) and len(values) in (1, 3) and all(v >= 0.95 for v in values)


class _HiddenPdfText:
    """Follows fill colour and text render mode through a page's content stream.

    Text painted white, or in render mode 3/7 (invisible, clip only), is what a reader never
    sees and a model would read: the same rule as hidden HTML. pypdf reports text in pieces
    (``visitor_text``) after the show operators that drew it; a piece drawn only by hidden
    operators is dropped. Trade-offs: a piece that mixes visible and hidden text is kept
    whole; white text on a dark box is dropped too (rare in reports).
    """

    def __init__(self) -> None:
        self.white = False
        self.invisible = False
        self.saved: list[tuple[bool, bool]] = []
        self.shown_visible = self.shown_hidden = 0
        self.pieces: list[str] = []
        self.dropped = 0

    def before(self, op: bytes, args: list[Any], cm: Any, tm: Any) -> None:
        if op == b"q":
            self.saved.append((self.white, self.invisible))
        elif op == b"Q" and self.saved:
            self.white, self.invisible = self.saved.pop()
        elif op in (b"rg", b"g", b"k", b"sc", b"scn"):
            self.white = _is_white(op, args)
        elif op == b"Tr" and args:
            self.invisible = int(args[0]) in (3, 7)
        elif op in _SHOW_TEXT:
            if self.white or self.invisible:
                self.shown_hidden += 1
            else:
                self.shown_visible += 1

    def text(self, text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if self.shown_hidden and not self.shown_visible and text.strip():
            self.dropped += 1
            self.pieces.append("\n" * text.count("\n"))
        else:
            self.pieces.append(text)
        self.shown_visible = self.shown_hidden = 0


def visible_pdf_text(page: Any) -> str:
    """A page's text without white or invisible text (see ``_HiddenPdfText``)."""
    hidden = _HiddenPdfText()
    text = page.extract_text(visitor_operand_before=hidden.before, visitor_text=hidden.text)
    return "".join(hidden.pieces) if hidden.dropped else (text or "")


# ----------------------------------------------------------------------------------------
# DOCX
# ----------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*(\d)$", re.IGNORECASE)


def _docx_run_hidden(r_el: Any) -> bool:
    """A run Word does not show: ``w:vanish``/``w:specVanish`` (hidden text) or white text."""
    rpr = r_el.find(f"{_W}rPr")
    if rpr is None:
        return False
    for tag in ("vanish", "specVanish"):
        el = rpr.find(f"{_W}{tag}")
        if el is not None and el.get(f"{_W}val", "true").lower() not in ("0", "false", "off"):
            return True
    color = rpr.find(f"{_W}color")
    return color is not None and color.get(f"{_W}val", "").upper() in ("FFFFFF", "FFF")


def _docx_paragraph_parts(p_el: object) -> list[str | None]:
    """The text of a ``w:p`` in order, with ``None`` where an explicit page break falls.

    Hidden runs (``_docx_run_hidden``) are left out, as hidden HTML is: a reader never sees
    them, a model would read them."""
    parts: list[str | None] = []
    ppr = p_el.find(f"{_W}pPr")  # type: ignore[attr-defined]
    if ppr is not None and ppr.find(f"{_W}pageBreakBefore") is not None:
        parts.append(None)
    # the elements themselves (kept alive, so lxml hands out the same proxies), not id()s
    hidden = {r for r in p_el.iter(f"{_W}r") if _docx_run_hidden(r)}  # type: ignore[attr-defined]
    for el in p_el.iter():  # type: ignore[attr-defined]
        tag = el.tag
        if hidden and el.getparent() in hidden:
            continue
        if tag == f"{_W}t":
            parts.append(el.text or "")
        elif tag == f"{_W}tab":
            parts.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            parts.append(None if el.get(f"{_W}type") == "page" else "\n")
        elif tag == f"{_W}noBreakHyphen":
            parts.append("-")
    return parts


def _docx_kind(paragraph: object) -> tuple[str, int]:
    """(kind, heading level) of a python-docx paragraph, from its style and numbering."""
    style = getattr(paragraph, "style", None)
    name = ((style.name if style is not None else "") or "").strip()
    match = _HEADING_STYLE.match(name)
    if match:
        return "heading", int(match.group(1))
    if name.lower() in ("title", "titel"):
        return "heading", 1
    numbered = paragraph._p.find(f"{_W}pPr/{_W}numPr") is not None  # type: ignore[attr-defined]
    if name.lower().startswith(("list", "lijst")) or numbered:
        return "list_item", 0
    return "paragraph", 0


def _docx_table_rows(table: object) -> list[str]:
    rows = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        for cell in row.cells:
            shown = (
                "".join(p for p in _docx_paragraph_parts(par._p) if p) for par in cell.paragraphs
            )
            text = " ".join(" ".join(shown).split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        rows.append(" | ".join(cells))
    return rows


# A DOCX is a zip: its packed size says little about what python-docx/lxml will unpack in
# memory. Refuse archives that unpack beyond this, or far beyond their packed size.
MAX_UNPACKED_BYTES = 300_000_000
MAX_UNPACK_RATIO = 100


def unpacked_size(source: Path | bytes) -> int:
    """Total uncompressed size of a zip archive (``zipfile.BadZipFile`` if it is none)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
        return sum(info.file_size for info in zf.infolist())


def zip_bomb_reason(unpacked: int, packed: int, limit: int = MAX_UNPACKED_BYTES) -> str:
    """Why an archive may not be unpacked ("" if it may)."""
    if unpacked > limit or (unpacked > 20_000_000 and unpacked > MAX_UNPACK_RATIO * packed):
        return f"unpacks to {unpacked / 1_000_000:.0f} MB (zip bomb?)"
    return ""


def _open_docx(path: Path) -> Any:
    import zipfile

    import docx

    try:
        bomb = zip_bomb_reason(unpacked_size(path), path.stat().st_size)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoadError("corrupt", f"damaged or not a DOCX file ({_short(exc)})") from exc
    if bomb:
        raise LoadError("too_large", bomb)
    try:
        return docx.Document(str(path))
    except Exception as exc:  # python-docx raises assorted errors on odd packages
        raise LoadError("corrupt", f"damaged DOCX file ({_short(exc)})") from exc


def load_docx(path: Path) -> RawDocument:
    from docx.table import Table

    document = _open_docx(path)

    pages: list[RawPage] = [RawPage(1, [])]

    def add(block: Block) -> None:
        if block.text.strip():
            pages[-1].blocks.append(block)

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in _docx_table_rows(item):
                add(Block("paragraph", row))
            continue
        kind, level = _docx_kind(item)
        buf: list[str] = []
        for part in _docx_paragraph_parts(item._p):
            if part is not None:
                buf.append(part)
                continue
            add(Block(kind, "".join(buf), level))
            buf = []
            if pages[-1].blocks:  # a break at the very start or twice in a row makes no page
                pages.append(RawPage(len(pages) + 1, []))
        add(Block(kind, "".join(buf), level))
    if not pages[-1].blocks and len(pages) > 1:
        pages.pop()

    meta: dict[str, str] = {}
    props = document.core_properties
    if (props.title or "").strip() and not _JUNK_TITLES.match(props.title.strip()):
        meta["title"] = props.title.strip()
    if props.created is not None:
        meta["date"] = props.created.date().isoformat()
    return RawDocument(path, "structured", pages, meta, "docx")


# ----------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------

_DROP_TAGS = {
    "script",
    "style",
    "nav",
    "noscript",
    "template",
    "svg",
    "form",
    "iframe",
    "button",
    "footer",
    "aside",
    "head",
    "select",
    "canvas",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "blockquote",
    "pre",
    "table",
    "tr",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "address",
    "body",
    "html",
    "hr",
    "caption",
    "thead",
    "tbody",
    "tfoot",
    "details",
    "summary",
}
_CELL_TAGS = {"td", "th"}


class _HtmlWalker:
    """Collects blocks from a parsed page: inline text gathers in ``buf`` until a block ends."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buf: list[str] = []

    def flush(self, kind: str = "paragraph") -> None:
        text = "".join(self.buf)
        self.buf.clear()
        if text.strip():
            self.blocks.append(Block(kind, text))

    def walk(self, node: object, kind: str) -> None:
        from bs4 import Comment, NavigableString, Tag

        for child in node.children:  # type: ignore[attr-defined]
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                self.buf.append(str(child))
            elif isinstance(child, Tag):
                self.tag(child, kind)

    def tag(self, child: object, kind: str) -> None:
        name = (child.name or "").lower()  # type: ignore[attr-defined]
        if name in _DROP_TAGS:
            return
        if name == "br":
            self.buf.append("\n")
        elif re.fullmatch(r"h[1-6]", name):
            self.flush(kind)
            text = child.get_text(" ", strip=True)  # type: ignore[attr-defined]
            if text and int(name[1]) <= 3:
                self.blocks.append(Block("heading", text, int(name[1])))
            elif text:
                self.blocks.append(Block(kind, text))
        elif name == "li":
            self.flush(kind)
            self.walk(child, "list_item")
            self.flush("list_item")
        elif name in _CELL_TAGS:
            self.walk(child, kind)
            self.buf.append(" | ")
        elif name in _BLOCK_TAGS:
            self.flush(kind)
            self.walk(child, kind)
            if name == "tr":  # no dangling separator after the last cell
                while self.buf and not self.buf[-1].strip(" |"):
                    self.buf.pop()
            self.flush(kind)
        else:
            self.walk(child, kind)


def html_blocks(soup: object) -> list[Block]:
    """Headings (h1–h3), list items and paragraphs of a parsed page, in document order.

    h4–h6 become paragraphs: in web pages they are mostly styled labels, not sections.
    """
    walker = _HtmlWalker()
    walker.walk(soup, "paragraph")
    walker.flush()
    return walker.blocks


def load_html(path: Path) -> RawDocument:
    from bs4 import BeautifulSoup

    data = path.read_bytes()
    # BeautifulSoup honours a declared charset; without one, decode like plain text.
    declared = re.search(rb"<meta[^>]+charset", data[:4096], re.IGNORECASE)
    soup = BeautifulSoup(data if declared else decode_text(data), "lxml")
    meta: dict[str, str] = {}

    def meta_content(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find(
                "meta", attrs={"name": name}
            )
            if tag is not None and str(tag.get("content") or "").strip():
                return str(tag.get("content")).strip()
        return ""

    title = meta_content("og:title", "dc.title", "DC.title")
    if not title and soup.title is not None:
        title = soup.title.get_text(" ", strip=True)
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 is not None else ""
    if title:
        meta["title"] = title
    date = meta_content("article:published_time", "date", "dc.date", "DC.date", "dcterms.date")
    if not date:
        time_tag = soup.find("time", attrs={"datetime": True})
        date = str(time_tag.get("datetime")) if time_tag is not None else ""
    if re.match(r"\d{4}", date):
        meta["date"] = date[:10]
    org = meta_content("og:site_name", "publisher", "dc.publisher")
    if org:
        meta["organisation"] = org

    body = soup.body or soup
    drop_hidden_elements(body)
    return RawDocument(path, "structured", [RawPage(1, html_blocks(body))], meta, "html")


_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])|"
    r"(?<![-\w])color\s*:\s*(?:#fff(?:fff)?\b|white\b|rgba?\(\s*255\s*,\s*255\s*,\s*255)",
    re.IGNORECASE,
)


def drop_hidden_elements(root: Any) -> None:
    """Remove what a reader never sees but a model would read: hidden or white text.

    Trade-off: white text on a dark background is dropped too; in reports that is rare, and
    hidden instructions aimed at the model are the worse risk.
    """
    for tag in root.find_all(True):
        if tag.decomposed:
            continue
        style = str(tag.get("style") or "")
        if (
            tag.has_attr("hidden")
            or str(tag.get("aria-hidden", "")).lower() == "true"
            or _HIDDEN_STYLE.search(style)
        ):
            tag.decompose()


# ----------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_SETEXT = re.compile(r"^\s*(=+|-+)\s*$")
_MD_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


def md_inline(text: str) -> str:
    """Markdown inline syntax to plain text: links, images, emphasis, code, HTML tags."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"<[^>\n]+>", "", text)
    text = re.sub(r"(\*\*|__)(\S(?:.*?\S)?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<!\w)_(\S(?:.*?\S)?)_(?!\w)", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return text


def _front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Simple ``key: value`` pairs of a YAML front matter block, and the lines after it."""
    meta: dict[str, str] = {}
    if not lines or lines[0].strip() != "---":
        return meta, lines
    for end in range(1, min(len(lines), 60)):
        if lines[end].strip() in ("---", "..."):
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and key in ("title", "date", "organisation", "organization", "kind"):
                    key = "organisation" if key == "organization" else key
                    meta[key] = value.strip().strip("\"'")
            return meta, lines[end + 1 :]
    return meta, lines


def markdown_blocks(text: str) -> tuple[list[Block], dict[str, str]]:
    meta, lines = _front_matter(text.split("\n"))

    blocks: list[Block] = []
    buf: list[str] = []
    kind = "paragraph"
    in_fence = False

    def flush() -> None:
        nonlocal kind
        joined = " ".join(s.strip() for s in buf if s.strip())
        buf.clear()
        if joined:
            blocks.append(Block(kind, md_inline(joined) if kind != "code" else joined))
        kind = "paragraph"

    for i, line in enumerate(lines):
        if _MD_FENCE.match(line):
            flush()
            in_fence = not in_fence
            kind = "paragraph"
            continue
        if in_fence:
            buf.append(line)
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            flush()
            blocks.append(Block("heading", md_inline(heading.group(2)), len(heading.group(1))))
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _MD_SETEXT.match(nxt) and not buf and not _MD_LIST.match(line):
            flush()
            blocks.append(Block("heading", md_inline(line.strip()), 1 if "=" in nxt else 2))
            continue
        if _MD_SETEXT.match(line) and blocks and blocks[-1].kind == "heading" and not buf:
            continue  # the underline of a setext heading
        if not line.strip() or _MD_RULE.match(line):
            flush()
            continue
        if _MD_LIST.match(line):
            flush()
            kind = "list_item"
            buf.append(_MD_LIST.sub("", line, count=1))
            continue
        buf.append(re.sub(r"^\s*>\s?", "", line))
    flush()
    return blocks, meta


def load_markdown(path: Path) -> RawDocument:
    text, date = strip_date_line(decode_text(path.read_bytes()))
    blocks, meta = markdown_blocks(text.replace("\r\n", "\n").replace("\r", "\n"))
    if date and "date" not in meta:
        meta["date"] = date
    if "title" not in meta:
        first = next((b for b in blocks if b.kind == "heading" and b.level == 1), None)
        if first is not None:
            meta["title"] = first.text
    return RawDocument(path, "structured", [RawPage(1, blocks)], meta, "md")


# ----------------------------------------------------------------------------------------
# Plain text
# ----------------------------------------------------------------------------------------


def text_layout(lines: list[str]) -> str:
    """ "lines" for hard-wrapped text (re-flow needed), "paragraphs" for a paragraph per line."""
    lengths = sorted(len(line) for line in lines if line.strip())
    if not lengths:
        return "paragraphs"
    median = lengths[len(lengths) // 2]
    # Wrapped text has lines of a fixed width (≤ ~100); exported articles have long lines.
    return "lines" if median <= 100 and lengths[-1] <= 160 else "paragraphs"


def load_text(path: Path) -> RawDocument:
    text, date = strip_date_line(decode_text(path.read_bytes()))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    page_texts = text.split("\f")  # pdftotext and some exports mark pages with a form feed
    all_lines = [line for page in page_texts for line in page.split("\n")]
    layout = text_layout(all_lines)
    pages: list[RawPage] = []
    for number, page_text in enumerate(page_texts, start=1):
        lines = page_text.split("\n")
        if layout == "lines":
            blocks = [Block("line", line) for line in lines]
        else:
            blocks = [Block("paragraph", line) for line in lines if line.strip()]
        pages.append(RawPage(number, blocks))
    while len(pages) > 1 and not any(b.text.strip() for b in pages[-1].blocks):
        pages.pop()  # a trailing form feed
    meta = {"date": date} if date else {}
    return RawDocument(path, layout, pages, meta, "txt")


# ----------------------------------------------------------------------------------------
# Dispatch and metadata
# ----------------------------------------------------------------------------------------

LOADERS: dict[str, Callable[[Path], RawDocument]] = {
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".text": load_text,
}
SUPPORTED_EXTENSIONS = frozenset(LOADERS)


def max_file_bytes(settings: Any) -> int:
    """``RAG_INGEST__MAX_FILE_MB`` in bytes: decimal megabytes (1 MB = 1,000,000 bytes), the
    one conversion for the upload check and the ingest check, so a file the upload accepts
    is never skipped by ingest as too large."""
    ingest = getattr(settings, "ingest", settings)
    return int(ingest.max_file_mb * 1_000_000)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def load(path: Path) -> RawDocument:
    """Read ``path`` with the loader for its extension; ``LoadError`` if it can't be indexed."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        ext = path.suffix.lower() or path.name
        raise LoadError("unsupported", f"unsupported file type '{ext}'")
    if path.stat().st_size == 0:
        raise LoadError("empty", "empty file")
    return loader(path)


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(SIDECAR_SUFFIX)


_SIDECAR_KEYS = {
    "title": "title",
    "organisation": "organisation",
    "organization": "organisation",
    "date": "date",
    "kind": "kind",
    "collection": "collection",
}


def read_sidecar(path: Path) -> dict[str, str]:
    """The metadata of ``<stem>.meta.json`` next to ``path`` ({} if absent or unreadable)."""
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        data = json.loads(decode_text(side.read_bytes()))
    except (OSError, ValueError) as exc:
        log.warning("%s: ignoring unreadable sidecar: %s", side.name, _short(exc))
        return {}
    if not isinstance(data, dict):
        log.warning("%s: ignoring sidecar that is not a JSON object", side.name)
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        field_name = _SIDECAR_KEYS.get(str(key).lower())
        if field_name and value is not None and str(value).strip():
            out[field_name] = str(value).strip()
    return out


MAX_META_CHARS = 300


def clean_meta(value: str) -> str:
    """A metadata value cleaned like document text: chat-template control tokens, control
    and format characters (zero-width, bidi) removed, whitespace collapsed, length capped.

    Titles reach the prompt (with every passage) and the page, so a PDF ``/Title`` is as
    much outside text as the body."""
    import unicodedata

    from assistant.safety import strip_control_tokens

    text = strip_control_tokens(str(value))
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())[:MAX_META_CHARS]


def document_info(path: Path, sidecar: dict[str, str], file_meta: dict[str, str]) -> DocumentInfo:
    """Sidecar first, then the file's own metadata, then the file name, field by field."""

    def pick(key: str) -> str:
        return clean_meta(sidecar.get(key) or file_meta.get(key) or "")

    title = pick("title") or clean_meta(path.stem.replace("_", " ")) or path.name
    return DocumentInfo(
        source=path.name,
        title=title,
        organisation=pick("organisation"),
        date=pick("date"),
        kind=pick("kind"),
        collection=sidecar.get("collection") or "algemeen",
    )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
