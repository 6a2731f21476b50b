"""Export to Markdown and Word: citations become real footnotes; feedback as gold items."""

from __future__ import annotations

import io
import json
import zipfile
from types import SimpleNamespace

from docx import Document
from lxml import etree

from assistant.chunks import Chunk
from assistant.citations import CheckedAnswer, Citation, SentenceCheck
from assistant.export import (
    FOOTNOTES_RT,
    ExportDoc,
    Note,
    conversation_doc,
    read_docx_footnotes,
    runs_with_notes,
    to_docx,
    to_markdown,
)
from assistant.feedback import FeedbackStore, gold_item
from assistant.service import Answer

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

CHUNK = Chunk(
    id="rapport:3:0",
    source="rapport.pdf",
    page=3,
    index=0,
    text="Uit het onderzoek blijkt dat 26 procent AI gebruikt. Jongeren vaker.",
    title="AI in het dagelijks werk",
    organisation="Integron",
    date="2025-03-01",
    heading="Gebruik",
)
QUOTE = "Uit het onderzoek blijkt dat 26 procent AI gebruikt."


def _answer(
    text: str = "Ongeveer 26 procent gebruikt AI [1].",
    question: str = "Hoeveel?",
    query: str | None = None,
    mode: str = "answer",
) -> Answer:
    sentence = SentenceCheck(text, (1,), 1, QUOTE, True, "ok")
    checked = CheckedAnswer(text, (sentence,), (Citation(1, CHUNK, QUOTE),), "answer", 1.0)
    return Answer(
        question=question,
        query=query or question,
        text=text,
        mode=mode,
        checked=checked,
        passages=[CHUNK],
        model="testmodel",
    )


def test_markers_split_into_notes() -> None:
    note = Note("bron")
    assert runs_with_notes("Zin [1] en [9].", {1: note}) == ["Zin", note, " en [9]."]


def test_markdown_has_footnotes_and_sources() -> None:
    doc = conversation_doc(
        [_answer(), _answer(question="En jongeren?", query="Hoeveel: jongeren?")]
    )
    md = to_markdown(doc)
    assert "## Vraag 1: Hoeveel?" in md
    assert "Ongeveer 26 procent gebruikt AI[^1]." in md
    assert "Ongeveer 26 procent gebruikt AI[^2]." in md
    assert "_Gezocht op: Hoeveel: jongeren?_" in md
    label = "AI in het dagelijks werk (Integron, 1 maart 2025), p. 3"
    assert f"[^1]: {label}: „{QUOTE}” Jongeren vaker." in md  # the quote in its context
    assert f"## Bronnen\n\n1. {label}" in md


def test_docx_has_real_footnotes() -> None:
    data = to_docx(conversation_doc([_answer()]))
    document = Document(io.BytesIO(data))
    rels = [r for r in document.part.rels.values() if r.reltype == FOOTNOTES_RT]
    assert len(rels) == 1
    root = etree.fromstring(rels[0].target_part.blob)
    kinds = [(f.get(f"{W}id"), f.get(f"{W}type")) for f in root.findall(f"{W}footnote")]
    assert kinds[:2] == [("-1", "separator"), ("0", "continuationSeparator")]
    body = document.element.body
    refs = body.findall(f".//{W}footnoteReference")
    assert [r.get(f"{W}id") for r in refs] == ["1"]
    assert read_docx_footnotes(data) == [
        f"AI in het dagelijks werk (Integron, 1 maart 2025), p. 3: „{QUOTE}” Jongeren vaker."
    ]
    texts = [p.text for p in document.paragraphs]
    assert "Vraag 1: Hoeveel?" in texts and "Bronnen" in texts
    assert "Ongeveer 26 procent gebruikt AI." in texts  # the marker became the reference
    styles = {s.style_id for s in document.styles}
    assert {"FootnoteText", "FootnoteReference"} <= styles
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        types = z.read("[Content_Types].xml").decode()
        assert "/word/footnotes.xml" in types and "footnotes+xml" in types
        settings = etree.fromstring(z.read("word/settings.xml"))
        pr = settings.find(f"{W}footnotePr")
        assert [f.get(f"{W}id") for f in pr.findall(f"{W}footnote")] == ["-1", "0"]


def test_docx_without_citations_has_no_footnotes_part() -> None:
    doc = ExportDoc("Leeg")
    doc.add("paragraph", "Geen bronnen.")
    data = to_docx(doc)
    assert read_docx_footnotes(data) == []
    assert "footnotes" not in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_docx_survives_control_characters_and_markdown() -> None:
    doc = conversation_doc([_answer(text="**Vet** \x07 met $5 en <tag> [1].")])
    document = Document(io.BytesIO(to_docx(doc)))
    assert any(p.text.startswith("Vet") and "$5" in p.text for p in document.paragraphs)


def test_model_images_and_links_are_not_exported() -> None:
    md = to_markdown(
        conversation_doc(
            [_answer(text="Zie ![x](http://evil.example/a.png) en [dit](http://evil.example) [1].")]
        )
    )
    assert "evil.example" not in md


def test_feedback_roundtrip_and_gold_export(tmp_path) -> None:  # noqa: ANN001
    store = FeedbackStore(tmp_path)
    store.record(_answer(), 1, record_id="a1")
    store.record(_answer(), 0, remark="fout getal", record_id="a1")  # changed mind
    store.record(
        _answer(text="De bronnen beantwoorden deze vraag niet.", mode="refusal"),
        "up",
        record_id="b2",
        history=[{"role": "user", "content": "eerder"}],
    )
    records = store.all()
    assert [(r.id, r.rating, r.remark) for r in records] == [
        ("a1", "down", "fout getal"),
        ("b2", "up", ""),
    ]
    assert store.counts() == {"up": 1, "down": 1}
    items = [json.loads(line) for line in store.export_gold().splitlines()]
    assert items[0]["type"] == "feedback" and items[0]["needs_review"] is True
    assert items[0]["rejected_answer"] == "Ongeveer 26 procent gebruikt AI."
    assert items[0]["sources"] == ["rapport.pdf"] and items[0]["evidence"] == [QUOTE]
    assert items[1]["type"] == "unanswerable" and items[1]["sources"] == []
    assert items[1]["history"] == [{"role": "user", "content": "eerder"}]
    for item in items:
        assert {
            "id",
            "type",
            "question",
            "answer",
            "must_contain",
            "sources",
            "evidence",
        } <= item.keys()


def test_gold_item_thumbs_up_keeps_answer_without_markers() -> None:
    rec = SimpleNamespace(
        id="x" * 32,
        rating="up",
        remark="",
        question="Hoeveel?",
        answer="26 procent [1].",
        mode="answer",
        model="m",
        at="t",
        history=[],
        citations=[{"source": "r.pdf", "quote": "q"}],
    )
    item = gold_item(rec)  # type: ignore[arg-type]
    assert item["answer"] == "26 procent." and item["id"] == "fb-" + "x" * 12
