"""Chunking: token sizes, structure, overlap, page offsets, lists over a page break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.chunks import Chunk
from assistant.settings import PROJECT_ROOT
from assistant.tokens import count_tokens
from ingest.clean import CleanPage, clean_document
from ingest.loaders import document_info, load, read_sidecar
from ingest.split import sentence_spans, split_document

BODY = (
    "De digitalisering van de zorg verandert het werk van verpleegkundigen en begeleiders. "
    "Organisaties investeren in nieuwe systemen, maar de medewerkers moeten die ook leren "
    "gebruiken. Dat vraagt tijd, opleiding en een cultuur waarin fouten gemaakt mogen worden."
)
TOPICS = [
    "planning",
    "roosters",
    "dossiers",
    "opleiding",
    "robots",
    "sensoren",
    "privacy",
    "budgetten",
    "teams",
    "cliënten",
    "leiderschap",
    "werkdruk",
]


def sentences(n: int, start: int = 0) -> str:
    return " ".join(
        f"Zin {i} gaat over {TOPICS[i % len(TOPICS)]} en de gevolgen voor werknemers in de sector."
        for i in range(start, start + n)
    )


def chunk_file(path: Path, chunk_tokens: int = 180, overlap: int = 30):  # noqa: ANN201
    raw = load(path)
    info = document_info(path, read_sidecar(path), raw.meta)
    pages = clean_document(raw, info.title)
    chunks = split_document(
        pages, info, stem=path.stem, chunk_tokens=chunk_tokens, chunk_overlap=overlap
    )
    return pages, chunks


def assert_offsets(pages: list[CleanPage], chunks: list[Chunk]) -> int:
    """The documented invariant; returns how many chunks took a continuation."""
    by_number = {p.number: p for p in pages}
    continued = 0
    for chunk in chunks:
        text = by_number[chunk.page].text
        if text[chunk.start : chunk.end] == chunk.text:
            continue
        # A chunk that took the continuation of a list/sentence from the next page.
        continued += 1
        assert chunk.end == len(text), chunk.id
        head = text[chunk.start : chunk.end]
        assert chunk.text.startswith(head), chunk.id
        rest = chunk.text[len(head) :]
        assert rest[0] in " \n", chunk.id
        following = next(p for p in pages if p.number > chunk.page and p.text)
        assert following.text.startswith(rest[1:]), chunk.id
    return continued


CORPUS = sorted(
    p.name for p in (PROJECT_ROOT / "corpus").iterdir() if not p.name.endswith(".meta.json")
)


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_chunks_respect_offsets_and_size(name: str) -> None:
    pages, chunks = chunk_file(PROJECT_ROOT / "corpus" / name)
    assert chunks
    continued = assert_offsets(pages, chunks)
    assert continued <= len(chunks) // 4
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids)
    for c in chunks:
        assert re.fullmatch(rf"{re.escape(Path(name).stem)}:\d+:\d+", c.id)
        assert c.id == f"{Path(name).stem}:{c.page}:{c.index}"
        assert c.source == name and c.title
        # a crumb may take a chunk an eighth over, a list or a continuation half a chunk
        assert count_tokens(c.text) <= 180 + 180 // 2 + 2, c.id
    # indexes run 0, 1, 2 ... within each page
    per_page: dict[int, list[int]] = {}
    for c in chunks:
        per_page.setdefault(c.page, []).append(c.index)
    assert all(v == list(range(len(v))) for v in per_page.values())


def test_vivo_report_has_no_running_footer_and_sane_headings() -> None:
    pages, chunks = chunk_file(PROJECT_ROOT / "corpus" / "004_2ff51243c9c882a3.pdf")
    assert not any(re.search(r"robotisering \d+$", p.text, re.MULTILINE) for p in pages)
    headings = {c.heading for c in chunks}
    assert {"Inleiding", "Onderzoeksopzet", "Conclusies en aanbevelingen"} <= headings
    assert all(len(h) <= 120 for h in headings)


def test_paragraphs_are_kept_whole_when_they_fit(tmp_path: Path) -> None:
    paragraphs = [sentences(4, start=10 * i) for i in range(5)]
    path = tmp_path / "alineas.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    pages, chunks = chunk_file(path)
    assert_offsets(pages, chunks)
    text = pages[0].text
    starts = {text.index(p) for p in paragraphs}
    ends = {text.index(p) + len(p) for p in paragraphs}
    for c in chunks:
        assert c.start in starts and c.end in ends, c.text


def test_long_paragraph_splits_at_sentences_with_whole_sentence_overlap(tmp_path: Path) -> None:
    path = tmp_path / "lang.txt"
    path.write_text(sentences(40), encoding="utf-8")
    pages, chunks = chunk_file(path, chunk_tokens=100, overlap=30)
    assert len(chunks) >= 5
    assert_offsets(pages, chunks)
    text = pages[0].text
    sentence_starts = {s for s, _ in sentence_spans(text)}
    sentence_ends = {e for _, e in sentence_spans(text)}
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start in sentence_starts and prev.end in sentence_ends
        assert nxt.start < prev.end  # overlap ...
        shared = text[nxt.start : prev.end]
        assert 0 < count_tokens(shared) <= 30  # ... of whole sentences, within the budget
        assert count_tokens(prev.text) <= 100


def test_monster_sentence_is_cut_at_words(tmp_path: Path) -> None:
    path = tmp_path / "tabel.txt"
    path.write_text(" ".join(f"cel{i}" for i in range(600)), encoding="utf-8")
    pages, chunks = chunk_file(path, chunk_tokens=64, overlap=10)
    assert_offsets(pages, chunks)
    assert all(count_tokens(c.text) <= 64 + 64 // 8 + 2 for c in chunks)
    assert " ".join(c.text for c in chunks).split()[:3] == ["cel0", "cel1", "cel2"]


def test_heading_travels_with_the_text(tmp_path: Path) -> None:
    md = f"# Rapport\n\n## Inleiding\n\n{sentences(12)}\n\n## Resultaten\n\n{sentences(12, 50)}\n"
    path = tmp_path / "r.md"
    path.write_text(md, encoding="utf-8")
    pages, chunks = chunk_file(path, chunk_tokens=120, overlap=20)
    assert_offsets(pages, chunks)
    for c in chunks:
        assert not c.text.endswith(("Inleiding", "Resultaten"))  # never ends on a heading
        if "Zin 50 " in c.text or "Zin 61 " in c.text:
            assert c.heading == "Resultaten"
        elif "Zin 3 " in c.text:
            assert c.heading == "Inleiding"


def test_lead_in_and_its_list_stay_in_one_chunk(tmp_path: Path) -> None:
    items = "\n".join(
        f"- Punt {i}: {TOPICS[i]} vraagt aandacht van de organisatie." for i in range(5)
    )
    for before in (sentences(5), sentences(2)):  # the cut would fall inside the list
        text = (
            f"{before}\n\nDe vijf grootste zorgen van werkgevers:\n\n{items}\n\n{sentences(6, 20)}"
        )
        path = tmp_path / "lijst.md"
        path.write_text(text, encoding="utf-8")
        pages, chunks = chunk_file(path, chunk_tokens=120, overlap=20)
        assert_offsets(pages, chunks)
        holding = [c for c in chunks if "grootste zorgen van werkgevers:" in c.text]
        assert len(holding) == 1
        assert all(f"Punt {i}:" in holding[0].text for i in range(5)), holding[0].text
        assert not any(c.text.endswith("werkgevers:") for c in chunks)
        assert all(count_tokens(c.text) <= 120 + 60 + 2 for c in chunks)


def test_lead_in_joins_the_paragraph_that_lists(tmp_path: Path) -> None:
    listing = "Werkdruk. Digitale veiligheid. Personeelstekort. Kennis van medewerkers. Snelheid."
    for n in range(1, 9):  # wherever the cut falls, the lead-in goes with its listing
        lead = "De top 5 zorgen van organisaties:"
        text = f"{sentences(n)}\n\n{lead}\n\n{listing}\n\n{sentences(4, 30)}"
        path = tmp_path / "top5.txt"
        path.write_text(text, encoding="utf-8")
        pages, chunks = chunk_file(path, chunk_tokens=100, overlap=20)
        assert_offsets(pages, chunks)
        holding = [c for c in chunks if "De top 5 zorgen" in c.text]
        assert len(holding) == 1 and listing in holding[0].text, n


def test_list_over_page_break_stays_together(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    page1 = (
        f"Aanbevelingen\n{BODY}\nDe werkgroep beveelt aan:\n"
        "• Investeer in opleiding van medewerkers\n• Betrek de teams bij de keuze"
    )
    page2 = (
        f"• Evalueer de impact elk halfjaar\n• Deel ervaringen binnen de sector\nConclusie\n{BODY}"
    )
    path = make_pdf(tmp_path / "lijst.pdf", [page1, page2])
    pages, chunks = chunk_file(path)
    assert assert_offsets(pages, chunks) == 1
    last_of_page1 = [c for c in chunks if c.page == 1][-1]
    assert last_of_page1.text.endswith(
        "• Betrek de teams bij de keuze\n• Evalueer de impact elk halfjaar\n"
        "• Deel ervaringen binnen de sector"
    )
    first_of_page2 = [c for c in chunks if c.page == 2][0]
    assert first_of_page2.text.startswith("Conclusie")
    assert "Evalueer" not in first_of_page2.text


def test_sentence_over_page_break_is_completed(tmp_path: Path, make_pdf) -> None:  # noqa: ANN001
    page1 = f"{BODY}\nDaarom moeten de medewerkers de nieuwe systemen ook leren"
    page2 = f"gebruiken in hun dagelijkse werk. Daarna volgt de evaluatie. {BODY}"
    path = make_pdf(tmp_path / "zin.pdf", [page1, page2])
    pages, chunks = chunk_file(path)
    assert assert_offsets(pages, chunks) == 1
    assert [c for c in chunks if c.page == 1][-1].text.endswith(
        "ook leren gebruiken in hun dagelijkse werk."
    )
    assert [c for c in chunks if c.page == 2][0].text.startswith("Daarna volgt")


def test_chunks_carry_metadata(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(BODY, encoding="utf-8")
    (tmp_path / "doc.meta.json").write_text(
        '{"title": "T", "organisation": "O", "date": "2024", "kind": "rapport", '
        '"collection": "hr"}',
        encoding="utf-8",
    )
    _, chunks = chunk_file(path)
    c = chunks[0]
    assert (c.title, c.organisation, c.date, c.kind, c.collection, c.page) == (
        "T",
        "O",
        "2024",
        "rapport",
        "hr",
        1,
    )


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Dit geldt o.a. voor de zorg, bijv. De Vos. Prof. Jansen zegt dat. Daarna nog iets."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == [
        "Dit geldt o.a. voor de zorg, bijv. De Vos.",
        "Prof. Jansen zegt dat.",
        "Daarna nog iets.",
    ]
