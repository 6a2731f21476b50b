"""Export a conversation or a briefing as Markdown or Word (DOCX), citations as footnotes.

Both formats are rendered from one small document model (``ExportDoc``: blocks of text runs
and ``Note`` references), so Markdown and Word always carry the same text and the same
footnote numbers. Footnotes are numbered in order of appearance; every marker occurrence gets
its own footnote (Word has no "second reference to footnote 3"; a cross-reference field would
be fragile), so a source cited twice has two identical footnotes.

Trade-off: python-docx 1.2 has no footnote API, so the footnotes part (``word/footnotes.xml``)
is written as XML here: the two separator footnotes Word expects (ids -1 and 0), one
``w:footnote`` per note, the ``FootnoteText``/``FootnoteReference`` styles and the
``w:footnotePr`` entry in settings. That is ~80 lines against a stable part of the OOXML
standard, and gives real footnotes in Word and LibreOffice instead of an endnote list.

Model text is made safe with ``assistant.safety.sanitize_model_output`` before it is written.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from assistant.safety import sanitize_model_output

if TYPE_CHECKING:
    from assistant.chunks import Chunk
    from assistant.service import Answer

# --------------------------------------------------------------------------- document model

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def xml_safe(text: str) -> str:
    return _CONTROL_RE.sub("", text)


def source_label(chunk: Chunk) -> str:
    """ "Titel (Organisatie, 4 september 2025), p. 3" for a chunk."""
    from assistant.dates import dutch_date

    title = chunk.title or chunk.source
    extra = ", ".join(x for x in (chunk.organisation, dutch_date(chunk.date)) if x)
    label = f"{title} ({extra})" if extra else title
    return f"{label}, p. {chunk.page}"


CONTEXT_CHARS = 60  # text of the passage shown either side of a quote in a footnote


def note_text(chunk: Chunk, quote: str = "") -> str:
    """The footnote: source label with page, then the quote in a little of its context
    ("…words before „quote” words after…") so the reader can find it on the page."""
    from assistant.pages import quote_context

    quote = " ".join(quote.split())
    if not quote:
        return source_label(chunk)
    context = quote_context(chunk.text, quote, CONTEXT_CHARS) or f"„{quote}”"
    return f"{source_label(chunk)}: {context}"


@dataclass(frozen=True)
class Note:
    """A footnote: where a statement comes from."""

    text: str


Run = str | Note
BlockKind = Literal["heading", "subheading", "paragraph", "bullet", "meta", "numbered"]


@dataclass
class Block:
    kind: BlockKind
    runs: list[Run]


@dataclass
class ExportDoc:
    title: str
    blocks: list[Block] = field(default_factory=list)
    subtitle: str = ""

    def add(self, kind: BlockKind, *runs: Run) -> None:
        self.blocks.append(Block(kind, [r for r in runs if r != ""]))

    def add_text(self, kind: BlockKind, runs: Sequence[Run]) -> None:
        self.blocks.append(Block(kind, list(runs)))

    def numbered_notes(self) -> list[tuple[int, Note]]:
        """Every note occurrence with its footnote number, in order of appearance."""
        out: list[tuple[int, Note]] = []
        for block in self.blocks:
            for run in block.runs:
                if isinstance(run, Note):
                    out.append((len(out) + 1, run))
        return out


def runs_with_notes(text: str, notes: dict[int, Note]) -> list[Run]:
    """Split ``text`` at its markers ``[n]``; a marker with a note becomes that note."""
    runs: list[Run] = []
    pos = 0
    for m in _MARKER_RE.finditer(text):
        note = notes.get(int(m.group(1)))
        if note is None:
            continue
        before = text[pos : m.start()].rstrip(" ")
        if before:
            runs.append(before)
        runs.append(note)
        pos = m.end()
    if text[pos:]:
        runs.append(text[pos:])
    return runs


def _add_markdownish(doc: ExportDoc, text: str, notes: dict[int, Note]) -> None:
    """Model text (lines, "- " bullets, blank lines) as blocks; markers become notes."""
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        bullet = re.match(r"^(?:[-*•]|\d{1,2}[.)])\s+", stripped)
        if bullet:
            doc.add_text("bullet", runs_with_notes(stripped[bullet.end() :], notes))
        else:
            doc.add_text("paragraph", runs_with_notes(stripped, notes))


def _stamp(when: datetime | None) -> str:
    return (when or datetime.now()).strftime("%d-%m-%Y %H:%M")


def _sources_section(doc: ExportDoc, chunks: Iterable[Chunk]) -> None:
    seen: list[str] = []
    for chunk in chunks:
        label = source_label(chunk)
        if label not in seen:
            seen.append(label)
    if seen:
        doc.add("heading", "Bronnen")
        for label in seen:
            doc.add("numbered", label)


def conversation_doc(
    turns: Sequence[Answer], *, model: str = "", when: datetime | None = None
) -> ExportDoc:
    """A conversation (the answers in order; each knows its question) as a document."""
    doc = ExportDoc("Gesprek met de onderzoeksassistent")
    meta = f"Geëxporteerd op {_stamp(when)}"
    if model:
        meta += f" · model: {model}"
    doc.add("meta", meta)
    cited: list[Chunk] = []
    for i, answer in enumerate(turns, start=1):
        doc.add("heading", f"Vraag {i}: {answer.question}")
        if answer.query and answer.query != answer.question:
            doc.add("meta", f"Gezocht op: {answer.query}")
        if answer.mode == "unavailable" and answer.notice:
            doc.add("meta", answer.notice)
        notes = {c.n: Note(note_text(c.chunk, c.quote)) for c in answer.citations}
        text = sanitize_model_output(answer.text) if answer.text else ""
        _add_markdownish(doc, text.replace("\\$", "$"), notes)
        cited.extend(c.chunk for c in answer.citations)
    _sources_section(doc, cited)
    return doc


# --------------------------------------------------------------------------- Markdown


_MD_ACTIVE_RE = re.compile(r"([\\\[\]<>])")


def _md_escape_line(text: str) -> str:
    """One line of Markdown in which no image, link, autolink or HTML tag can form.

    Titles, questions and quotes come from documents and users, and the model text may
    still hold brackets: escaping ``\\ [ ] < >`` leaves them readable but inert, so
    previewing the file fetches nothing (a title ``![](https://…)`` stays text)."""
    return _md_inert(text).strip()


def _md_inert(text: str) -> str:
    return _MD_ACTIVE_RE.sub(r"\\\1", text.replace("\n", " "))


def to_markdown(doc: ExportDoc) -> str:
    """The document as Markdown with footnotes ``[^n]`` (GitHub, Pandoc, Obsidian)."""
    lines: list[str] = [f"# {_md_escape_line(doc.title)}", ""]
    if doc.subtitle:
        lines += [f"_{_md_escape_line(doc.subtitle)}_", ""]
    notes: list[tuple[int, Note]] = []
    number = 0
    counter = 0  # position within a numbered list
    for block in doc.blocks:
        counter = counter + 1 if block.kind == "numbered" else 0
        parts: list[str] = []
        for run in block.runs:
            if isinstance(run, Note):
                number += 1
                notes.append((number, run))
                parts.append(f"[^{number}]")
            else:
                parts.append(_md_inert(run))
        text = "".join(parts).strip()
        if block.kind == "heading":
            lines += ["", f"## {text}", ""]
        elif block.kind == "subheading":
            lines += ["", f"### {text}", ""]
        elif block.kind == "meta":
            lines += ["", f"_{text}_", ""]
        elif block.kind == "bullet":
            lines.append(f"- {text}")
        elif block.kind == "numbered":
            lines.append(f"{counter}. {text}")
        else:  # a blank line first, or the paragraph would continue a list item above it
            lines += ["", text, ""]
    if notes:
        lines.append("")
        for n, note in notes:
            lines.append(f"[^{n}]: {_md_escape_line(note.text)}")
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --------------------------------------------------------------------------- DOCX

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
FOOTNOTES_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"


def _w(tag: str) -> str:
    return f"{{{W_NS}}}{tag}"


def _ensure_footnote_styles(document) -> None:  # noqa: ANN001 - docx.Document
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt

    names = {s.name for s in document.styles}
    if "Footnote Text" not in names:
        style = document.styles.add_style("Footnote Text", WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Normal"]
        style.font.size = Pt(9)
        style.paragraph_format.space_after = Pt(0)
    if "Footnote Reference" not in names:
        style = document.styles.add_style("Footnote Reference", WD_STYLE_TYPE.CHARACTER)
        style.font.superscript = True


def _style_id(document, name: str) -> str:  # noqa: ANN001
    return document.styles[name].style_id


def _footnote_ref_run(paragraph, note_id: int, style_id: str) -> None:  # noqa: ANN001
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    rpr = OxmlElement("w:rPr")
    rstyle = OxmlElement("w:rStyle")
    rstyle.set(qn("w:val"), style_id)
    rpr.append(rstyle)
    run._r.append(rpr)
    ref = OxmlElement("w:footnoteReference")
    ref.set(qn("w:id"), str(note_id))
    run._r.append(ref)


def _footnotes_xml(notes: list[tuple[int, Note]], text_style: str, ref_style: str) -> bytes:
    from lxml import etree

    root = etree.Element(_w("footnotes"), nsmap={"w": W_NS, "r": R_NS})
    for note_id, kind, mark in (
        (-1, "separator", "separator"),
        (0, "continuationSeparator", "continuationSeparator"),
    ):
        fn = etree.SubElement(root, _w("footnote"), {_w("type"): kind, _w("id"): str(note_id)})
        p = etree.SubElement(fn, _w("p"))
        ppr = etree.SubElement(p, _w("pPr"))
        etree.SubElement(
            ppr, _w("spacing"), {_w("after"): "0", _w("line"): "240", _w("lineRule"): "auto"}
        )
        r = etree.SubElement(p, _w("r"))
        etree.SubElement(r, _w(mark))
    for note_id, note in notes:
        fn = etree.SubElement(root, _w("footnote"), {_w("id"): str(note_id)})
        p = etree.SubElement(fn, _w("p"))
        ppr = etree.SubElement(p, _w("pPr"))
        etree.SubElement(ppr, _w("pStyle"), {_w("val"): text_style})
        r = etree.SubElement(p, _w("r"))
        rpr = etree.SubElement(r, _w("rPr"))
        etree.SubElement(rpr, _w("rStyle"), {_w("val"): ref_style})
        etree.SubElement(r, _w("footnoteRef"))
        r2 = etree.SubElement(p, _w("r"))
        t = etree.SubElement(r2, _w("t"))
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        t.text = " " + xml_safe(note.text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


_SETTINGS_AFTER_FOOTNOTEPR = (
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
)


def _declare_separators(document) -> None:  # noqa: ANN001
    """settings.xml: ``<w:footnotePr>`` naming the separator footnotes, as Word writes it."""
    from lxml import etree

    settings = document.settings.element
    if settings.find(_w("footnotePr")) is not None:
        return
    pr = etree.Element(_w("footnotePr"))
    for note_id in ("-1", "0"):
        etree.SubElement(pr, _w("footnote"), {_w("id"): note_id})
    for child in settings:
        local = etree.QName(child).localname
        if local in _SETTINGS_AFTER_FOOTNOTEPR or local == "mathPr":
            child.addprevious(pr)
            return
    settings.append(pr)


def _attach_footnotes(document, blob: bytes) -> None:  # noqa: ANN001
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    part = Part(PackURI("/word/footnotes.xml"), FOOTNOTES_CT, blob, document.part.package)
    document.part.relate_to(part, FOOTNOTES_RT)
    _declare_separators(document)


_EMPHASIS_RE = re.compile(r"(\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)|`)")


def _docx_text(text: str) -> str:
    """Markdown emphasis and escapes removed; Word shows the words, not the asterisks."""
    text = _EMPHASIS_RE.sub("", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>$~:&])", r"\1", text)
    return xml_safe(text.replace("&lt;", "<").replace("&gt;", ">"))


def to_docx(doc: ExportDoc) -> bytes:
    """The document as a Word file with real footnotes (see module doc)."""
    from docx import Document
    from docx.shared import Pt, RGBColor

    document = Document()
    document.core_properties.title = xml_safe(doc.title)
    document.core_properties.language = "nl-NL"
    document.styles["Normal"].font.size = Pt(11)
    _ensure_footnote_styles(document)
    text_style = _style_id(document, "Footnote Text")
    ref_style = _style_id(document, "Footnote Reference")
    document.add_heading(xml_safe(doc.title), level=0)
    if doc.subtitle:
        document.add_paragraph(xml_safe(doc.subtitle)).runs[0].italic = True
    notes: list[tuple[int, Note]] = []
    for block in doc.blocks:
        if block.kind == "heading":
            document.add_heading(_docx_text(_flat(block.runs)), level=1)
            continue
        if block.kind == "subheading":
            document.add_heading(_docx_text(_flat(block.runs)), level=2)
            continue
        style = {"bullet": "List Bullet", "numbered": "List Number"}.get(block.kind)
        paragraph = document.add_paragraph(style=style)
        for run in block.runs:
            if isinstance(run, Note):
                notes.append((len(notes) + 1, run))
                _footnote_ref_run(paragraph, len(notes), ref_style)
            else:
                r = paragraph.add_run(_docx_text(run))
                if block.kind == "meta":
                    r.italic = True
                    r.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    if notes:
        _attach_footnotes(document, _footnotes_xml(notes, text_style, ref_style))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _flat(runs: Sequence[Run]) -> str:
    return "".join(r for r in runs if isinstance(r, str))


def read_docx_footnotes(data: bytes) -> list[str]:
    """The footnote texts of a DOCX made by ``to_docx`` (for tests and checks)."""
    from docx import Document
    from lxml import etree

    document = Document(io.BytesIO(data))
    for rel in document.part.rels.values():
        if rel.reltype == FOOTNOTES_RT:
            root = etree.fromstring(rel.target_part.blob)
            out = []
            for fn in root.findall(_w("footnote")):
                if int(fn.get(_w("id"), "0")) > 0:
                    out.append("".join(t.text or "" for t in fn.iter(_w("t"))).strip())
            return out
    return []
