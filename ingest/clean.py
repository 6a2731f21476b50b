"""Clean raw pages into one text per page, with the spans of its headings, paragraphs and lists.

What happens, in order:

1. **Running headers and footers** (layout "lines", i.e. PDFs): a line among the first or last
   three of a page whose text, with every number replaced by ``#``, recurs at the top or bottom
   of at least half of the pages (and on two at least) is dropped there; so is a bare page
   number ("12", "- 12 -", "Pagina 12 van 40") at the top or bottom of any page. Only the
   edges are touched, so a sentence that happens to repeat inside pages stays. Anywhere on a
   page, a line made only of words of the document's title plus a page number is a running
   footer that lost its place (``strip_title_lines``).
2. **Characters**: NFKC compatibility folding (ligatures "ﬁ" -> "fi", "ĳ" -> "ij",
   non-breaking and typographic spaces -> space, full-width forms) except for superscripts,
   subscripts, fractions and circled characters, whose folding changes meaning ("m²" would
   become "m2", a footnote mark would glue onto its word); soft hyphens, zero-width characters
   and control characters go; runs of spaces collapse ("In  welke  mate").
3. **Structure from lines**: lines are re-flowed into paragraphs; a line-end hyphen is removed
   when a lower-case letter precedes it and a lower-case letter follows on the next line
   ("digitali-" + "sering" -> "digitalisering"), kept when a capital or digit precedes it
   ("HRM-" + "domein" -> "HRM-domein", "AI-toepassingen"), kept with its space before "en",
   "of", "tot" ("familie- en thuiszorg") and kept between two vowels, where Dutch writes a
   hyphen ("auto-ongeluk"). Mid-line hyphens are never touched.
   A paragraph ends at a blank line, or after a line that ends a sentence and is clearly
   shorter than the page's usual line width. Bullets ("•", "-", "→", "1.", "a)") start list
   items. A line is a heading when it is short (≤ 90 characters, ≤ 12 words), starts with a
   capital or a section number ("3.2 Methode"), does not end in ".,;:", stands after the end
   of a paragraph (or at the top of the page), does not end in a function word ("en", "van"),
   and the next line does not continue it in lower case; a lower-case short line right after
   it is taken as its second line ("Conclusies en" / "aanbevelingen").

Trade-off: these are heuristics on text without fonts or positions (pypdf's plain text). They
are simple and predictable rather than clever: a short title-case line that is not a heading
(a signature "Luc Van Waes") becomes a heading, which only affects the heading shown with a
chunk; a wrapped heading whose first line ends in a comma becomes the start of a paragraph.
Using font sizes would be more exact but ties us to pdfminer-style layout analysis, far slower
and more fragile on odd PDFs.

Result: ``CleanPage(number, text, spans)``. Blocks are joined with a blank line, consecutive
list items with a single newline; ``text[span.start:span.end]`` is the block's text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from assistant.safety import strip_control_tokens
from ingest.loaders import Block, RawDocument, RawPage

EDGE_LINES = 3  # lines at the top and bottom of a page that may be running headers/footers
RUNNING_SHARE = 0.5  # ... when they recur on at least this share of the pages


@dataclass(frozen=True)
class Span:
    kind: str  # "heading" | "paragraph" | "list_item"
    start: int
    end: int
    level: int = 0


@dataclass
class CleanPage:
    number: int
    text: str
    spans: list[Span]

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]


# ----------------------------------------------------------------------------------------
# Characters and whitespace
# ----------------------------------------------------------------------------------------

_KEEP_COMPAT = ("<super>", "<sub>", "<fraction>", "<circle>")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)
_SPACES = re.compile(r"[^\S\n]+")


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    decomposition = unicodedata.decomposition(ch)
    if decomposition.startswith(_KEEP_COMPAT):
        return ch
    if unicodedata.category(ch) == "Cc" and ch not in "\n\t":
        return " "
    return unicodedata.normalize("NFKC", ch)


def normalise_chars(text: str) -> str:
    """Unicode clean-up (see the module docstring); keeps newlines."""
    text = strip_control_tokens(text.translate(_INVISIBLE))
    if not text.isascii():
        text = "".join(_fold_char(ch) if ord(ch) > 127 else ch for ch in text)
        text = unicodedata.normalize("NFC", text)
    return text


def collapse_spaces(text: str) -> str:
    """One space for any run of spaces/tabs; no spaces at the ends; newlines kept."""
    return _SPACES.sub(" ", text).strip(" ")


def clean_inline(text: str) -> str:
    """A block's text on one line: characters normalised, all whitespace collapsed."""
    return " ".join(normalise_chars(text).split())


# ----------------------------------------------------------------------------------------
# Running headers and footers
# ----------------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^(?:(?:pagina|page|blz\.?|p\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?\s*(?:(?:/|van|of)\s*\d{1,4})?$",
    re.IGNORECASE,
)


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def strip_running_lines(pages: list[RawPage]) -> list[RawPage]:
    """Drop running headers/footers and page numbers from the edges of "line" pages."""
    texts = [[b.text for b in p.blocks] for p in pages]
    counts: Counter[str] = Counter()
    pages_with_text = 0
    for lines in texts:
        edges = _edge_indices(lines)
        if edges:
            pages_with_text += 1
        counts.update({_line_key(lines[i]) for i in edges})
    threshold = max(2, math.ceil(RUNNING_SHARE * pages_with_text))
    running = {k for k, n in counts.items() if n >= threshold and k}
    if pages_with_text < 2:
        running = set()

    out: list[RawPage] = []
    for page, lines in zip(pages, texts, strict=True):
        drop = {
            i
            for i in _edge_indices(lines)
            if _line_key(lines[i]) in running or _PAGE_NUMBER.match(lines[i].strip())
        }
        blocks = [b for i, b in enumerate(page.blocks) if i not in drop]
        out.append(RawPage(page.number, blocks))
    return out


_TITLE_AND_NUMBER = re.compile(r"^(?:\d{1,4}\s+(?P<a>\D.*)|(?P<b>.*\D)\s+\d{1,4})$")


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", normalise_chars(text).lower())


def strip_title_lines(pages: list[RawPage], titles: list[str]) -> list[RawPage]:
    """Drop "<words of the title> <page number>" lines anywhere on a page.

    A running footer such as "Gevolgen digitalisering, informatisering en robotisering 30"
    sometimes survives only on a page or two, in the middle of the text (a re-typeset or
    re-flowed PDF), where recurrence at the edges can't find it. Its words (three at least)
    all come from the title and it carries a page number: body text almost never does both.
    """
    title_words = {w for t in titles for w in _words(t)}
    out: list[RawPage] = []
    for page in pages:
        kept = []
        for b in page.blocks:
            match = _TITLE_AND_NUMBER.match(" ".join(b.text.split()))
            if match:
                words = _words(match.group("a") or match.group("b") or "")
                if len(words) >= 3 and set(words) <= title_words:
                    continue
            kept.append(b)
        out.append(RawPage(page.number, kept))
    return out


# ----------------------------------------------------------------------------------------
# Lines -> paragraphs, list items, headings
# ----------------------------------------------------------------------------------------

BULLET = re.compile(r"^(?:[•·▪◦●■□▫‣⁃→➢➤►▶✓✔❖\-–—*]|\(?\d{1,2}[.)]|\(?[a-z]\))\s+")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+(\S)")
_SENTENCE_END = tuple('.!?:;"”’)')
_KEEP_SPACE_AFTER_HYPHEN = {"en", "of", "tot", "noch", "als"}
_VOWELS = set("aeiouy")
# A line ending in one of these continues on the next line (a two-line heading is joined
# before this check).
_FUNCTION_WORDS = frozenset(
    """de het een en of van voor met in op aan door te om die dat als bij tot naar uit over
    onder tussen zijn is wordt worden hun haar ons onze deze dit ook maar the and of""".split()
)


def heading_level(line: str) -> int:
    """The level if ``line`` could be a heading by its own look, else 0 (context is separate)."""
    s = line.strip()
    if not 2 <= len(s) <= 90 or len(s.split()) > 12 or s[-1] in ".,;:":
        return 0
    if any(marker in s for marker in ("@", "http", "www.", "|")):
        return 0
    words = s.lower().split()
    if words[-1] in _FUNCTION_WORDS:
        return 0  # "... uitgevoerd door X en": a wrapped sentence, not a heading
    if s.endswith("?") and len(words) > 8:
        return 0  # a short question can be a heading; a long one is a sentence
    letters = sum(ch.isalpha() for ch in s)
    if letters < 2 or letters < 0.5 * len(s.replace(" ", "")):
        return 0
    numbered = _NUMBERED.match(s)
    if numbered:
        return numbered.group(1).count(".") + 1 if numbered.group(2).isupper() else 0
    if BULLET.match(s):
        return 0
    return 1 if s[0].isupper() else 0


def _starts_lower(line: str) -> bool:
    s = line.lstrip()
    return bool(s) and s[0].islower()


def join_lines(lines: list[str]) -> str:
    """Re-flow wrapped lines into one, removing line-end hyphenation where it is safe."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
            continue
        last = out[-1]
        if last in "-\u2010\u00ad" and len(out) >= 2 and out[-2].isalpha() and line[0].isalpha():
            before, first_word = out[-2], re.match(r"\w+", line)
            word = first_word.group(0).lower() if first_word else ""
            if last == "\u00ad":
                out = out[:-1] + line
            elif word in _KEEP_SPACE_AFTER_HYPHEN:
                out = out + " " + line  # "familie- en thuiszorg"
            elif (
                before.islower()
                and line[0].islower()
                and not (before.lower() in _VOWELS and line[0].lower() in _VOWELS)
            ):
                out = out[:-1] + line  # "digitali-" + "sering"
            else:
                out = out + line  # "HRM-" + "domein", "auto-" + "ongeluk"
        else:
            out = out + " " + line
    return out


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(len(s) for s in lines if s)
    if not lengths:
        return 80
    return max(40, lengths[int(0.9 * (len(lengths) - 1))])


def _next_filled(lines: list[str], i: int) -> int | None:
    """Index of the first non-blank line after ``i``."""
    for j in range(i + 1, len(lines)):
        if lines[j]:
            return j
    return None


def _heading_at(lines: list[str], i: int, after_break: bool) -> tuple[int, str, int]:
    """(heading level or 0, heading text, index of its last line) for the line at ``i``."""
    line = lines[i]
    level, text, last = heading_level(line), line, i
    j = _next_filled(lines, i)
    if (
        after_break
        and j == i + 1
        and _starts_lower(lines[j])
        and len(lines[j]) <= 60
        and len(line) + len(lines[j]) <= 90
    ):
        k = _next_filled(lines, j)
        joined = f"{line} {lines[j]}"
        if (k is None or not _starts_lower(lines[k])) and heading_level(joined):
            # A heading wrapped onto two lines ("Conclusies en" / "aanbevelingen").
            level, text, last = heading_level(joined), joined, j
    if level and after_break:
        nxt = _next_filled(lines, last)
        if nxt is not None and not _starts_lower(lines[nxt]):
            return level, text, last
    return 0, text, last


def structure_lines(raw_lines: list[str]) -> list[Block]:
    """Paragraphs, list items and headings from the text lines of one page."""
    lines = [collapse_spaces(normalise_chars(line)) for line in raw_lines]
    width = _wrap_width(lines)
    short = 0.7 * width
    blocks: list[Block] = []
    cur: list[str] = []
    cur_kind = "paragraph"

    def flush() -> None:
        nonlocal cur, cur_kind
        if cur:
            blocks.append(Block(cur_kind, join_lines(cur)))
        cur, cur_kind = [], "paragraph"

    i = 0
    prev_line = ""  # last non-blank line, "" at page start or after a blank line
    while i < len(lines):
        line = lines[i]
        if not line:
            flush()
            prev_line = ""
            i += 1
            continue
        after_break = (
            not prev_line
            or prev_line.endswith(_SENTENCE_END)
            or len(prev_line) < short
            or (blocks and not cur and blocks[-1].kind == "heading")
        )
        level, text, last = _heading_at(lines, i, bool(after_break))
        if level:
            flush()
            blocks.append(Block("heading", text, level))
            prev_line = text
            i = last + 1
            continue
        if BULLET.match(line):
            flush()
            cur_kind = "list_item"
            cur = [line]
        else:
            if cur and cur[-1].endswith(_SENTENCE_END) and len(cur[-1]) < short:
                flush()
            cur.append(line)
        prev_line = line
        i += 1
    flush()
    return blocks


def structure_paragraphs(blocks: list[Block]) -> list[Block]:
    """Headings and list items among one-line paragraphs (plain text exports)."""
    out: list[Block] = []
    texts = [clean_inline(b.text) for b in blocks]
    for i, text in enumerate(texts):
        if not text:
            continue
        nxt = next((t for t in texts[i + 1 :] if t), None)
        level = heading_level(text)
        if level and nxt is not None and not _starts_lower(nxt):
            out.append(Block("heading", text, level))
        elif BULLET.match(text):
            out.append(Block("list_item", text))
        else:
            out.append(Block("paragraph", text))
    return out


def structure_blocks(blocks: list[Block]) -> list[Block]:
    """Blocks of structured formats: text normalised; list items get a visible bullet."""
    out: list[Block] = []
    for b in blocks:
        text = clean_inline(b.text)
        if not text:
            continue
        if b.kind == "list_item" and not BULLET.match(text):
            text = "• " + text
        out.append(Block(b.kind if b.kind != "line" else "paragraph", text, b.level))
    return out


# ----------------------------------------------------------------------------------------
# Document
# ----------------------------------------------------------------------------------------


def assemble(number: int, blocks: list[Block]) -> CleanPage:
    """Join blocks into the page text and record each block's span in it."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    prev_kind = ""
    for b in blocks:
        if parts:
            sep = "\n" if b.kind == "list_item" and prev_kind == "list_item" else "\n\n"
            parts.append(sep)
            pos += len(sep)
        parts.append(b.text)
        spans.append(Span(b.kind, pos, pos + len(b.text), b.level))
        pos += len(b.text)
        prev_kind = b.kind
    return CleanPage(number, "".join(parts), spans)


def clean_document(raw: RawDocument, title: str = "") -> list[CleanPage]:
    """Cleaned pages of ``raw`` (pages without text stay, empty, to keep numbering).

    ``title`` (the document's, from its sidecar or metadata) helps find running footers that
    repeat it with a page number.
    """
    pages = raw.pages
    if raw.layout == "lines":
        if len(pages) >= 2:
            pages = strip_running_lines(pages)
        titles = [t for t in (title, raw.meta.get("title", "")) if t]
        if titles:
            pages = strip_title_lines(pages, titles)
    out: list[CleanPage] = []
    for page in pages:
        if raw.layout == "lines":
            blocks = structure_lines([b.text for b in page.blocks])
        elif raw.layout == "paragraphs":
            blocks = structure_paragraphs(page.blocks)
        else:
            blocks = structure_blocks(page.blocks)
        out.append(assemble(page.number, blocks))
    return out
