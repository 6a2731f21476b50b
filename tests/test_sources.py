"""Dates, age notes, versions and disagreeing figures (issue #17), unit and through the real
assistant: a real Chroma index built by ``sync`` from files with dated sidecars, the fake
(scripted) model, and a fixed "today"."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from assistant.chunks import Chunk, ScoredChunk
from assistant.dates import (
    age_note,
    asks_for_older,
    dutch_date,
    is_old,
    latest_day,
    supersede,
    versions,
)
from assistant.embeddings import make_embeddings
from assistant.llm import FakeChat, Message
from assistant.prompting import Prompts
from assistant.retrieval import Retrieval
from assistant.service import Answer, Assistant
from assistant.settings import Settings
from assistant.store import DocumentEntry, Store

TODAY = date(2026, 11, 27)


# --------------------------------------------------------------------------- dates


def test_partial_dates_and_age() -> None:
    assert latest_day("2019") == date(2019, 12, 31)
    assert latest_day("2025-04") == date(2025, 4, 30)
    assert latest_day("2024-02") == date(2024, 2, 29)
    assert latest_day("onbekend") is None
    assert dutch_date("2025-09-04") == "4 september 2025"
    assert dutch_date("2025-04") == "april 2025"
    assert dutch_date("2024") == "2024"
    assert is_old("2019", TODAY, 3)
    assert not is_old("2024", TODAY, 3)  # 31-12-2024 is less than 3 years ago
    assert is_old("2023-11-01", TODAY, 3) and not is_old("2023-12", TODAY, 3)
    assert not is_old("", TODAY, 3)  # no date: nothing to say
    assert is_old("2024", TODAY, 1)  # the age is a setting


def test_age_note_only_when_every_source_is_old() -> None:
    assert age_note(["2019"], TODAY, 3) == "Let op: deze bron is uit 2019."
    assert age_note(["2019", "2020-05"], TODAY, 3) == "Let op: deze bronnen zijn uit 2019 en 2020."
    assert age_note(["2019", "2025-04"], TODAY, 3) == ""
    assert age_note(["2019", ""], TODAY, 3) == ""  # an undated source may be recent
    assert age_note([], TODAY, 3) == ""


def _doc(source: str, title: str, date_: str) -> DocumentEntry:
    return DocumentEntry(source=source, hash="h", chunks=1, title=title, date=date_)


def test_versions_by_title_and_date() -> None:
    docs = [
        _doc("m21.txt", "AI-monitor", "2021"),
        _doc("m24.txt", "AI-Monitor ", "2024-03"),
        _doc("m22.txt", "AI monitor", "2022"),
        _doc("x.txt", "Iets anders", "2019"),
        _doc("y.txt", "Zonder datum", ""),
        _doc("z.txt", "Zonder datum", "2020"),
    ]
    newer = versions(docs)
    assert {k: v.source for k, v in newer.items()} == {
        "m21.txt": "m24.txt",
        "m22.txt": "m24.txt",
    }  # an undated copy is no version


@pytest.mark.parametrize(
    ("question", "older"),
    [
        ("Hoeveel procent gebruikte AI in 2021?", True),
        ("Wat stond er in de vorige versie van de monitor?", True),
        ("Wat zei het oude rapport hierover?", True),
        ("Hoeveel procent gebruikt AI?", False),
        ("Wat is er veranderd sinds 2024?", False),
    ],
)
def test_asks_for_older(question: str, older: bool) -> None:
    assert asks_for_older(question, [_doc("m21.txt", "AI-monitor", "2021")]) is older


def _sc(source: str, i: int, date_: str, score: float) -> ScoredChunk:
    stem = source.rsplit(".", 1)[0]
    chunk = Chunk(
        id=f"{stem}:1:{i}", text=f"tekst {i}", source=source, page=1, index=i,
        title="AI-monitor", date=date_,
    )  # fmt: skip
    return ScoredChunk(chunk, score)


def test_supersede_replaces_older_passages_with_the_newest_version() -> None:
    docs = [_doc("m21.txt", "AI-monitor", "2021"), _doc("m24.txt", "AI-monitor", "2024")]
    old = [_sc("m21.txt", 0, "2021", 0.9), _sc("m21.txt", 1, "2021", 0.8)]
    new_chunk = _sc("m24.txt", 0, "2024", 0.0).chunk
    retrieval = Retrieval("q", old, True, fused=["m21:1:0", "m21:1:1", "m24:1:0"])
    fetched: list[list[str]] = []

    def fetch(ids: list[str]) -> list[Chunk]:
        fetched.append(ids)
        return [new_chunk]

    out = supersede(retrieval, "Hoeveel procent gebruikt AI?", docs, fetch)
    assert fetched == [["m24:1:0"]]
    assert [p.chunk.source for p in out.passages] == ["m24.txt"]
    asked = supersede(retrieval, "Hoeveel procent gebruikte AI in 2021?", docs, fetch)
    assert [p.chunk.source for p in asked.passages] == ["m21.txt", "m21.txt"]
    assert all("oudere versie uit 2021" in p.chunk.title for p in asked.passages)
    # the newest version has no candidate at all: the old passages stay, named as older
    alone = supersede(Retrieval("q", old, True, fused=["m21:1:0"]), "Hoeveel?", docs, fetch)
    assert [p.chunk.title for p in alone.passages][0].endswith("nieuwste versie: 2024)")


# --------------------------------------------------------------------------- the assistant

DOCS = {
    "integron.txt": (
        {"title": "AI in het dagelijks werk", "organisation": "Integron", "date": "2025-04"},
        "Slechts 26 procent van de werknemers gebruikt AI actief in het dagelijkse werk.",
    ),
    "vivo.txt": (
        {"title": "Digitalisering en jobs", "organisation": "VIVO", "date": "2019"},
        "Robotisering verandert taken in de zorg- en welzijnssector sterk. "
        "In 2019 gebruikte 12 procent van de werknemers AI actief op het werk.",
    ),
    "monitor21.txt": (
        {"title": "Zorgmonitor", "organisation": "Zorgbureau", "date": "2021"},
        "In de zorgmonitor werkt 50 procent van de zorgteams met roosters op papier.",
    ),
    "monitor24.txt": (
        {"title": "Zorgmonitor", "organisation": "Zorgbureau", "date": "2024-06"},
        "In de zorgmonitor werkt 25 procent van de zorgteams met roosters op papier.",
    ),
}


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from assistant.settings import load_settings
    from ingest.sync import sync

    root = tmp_path_factory.mktemp("sources")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (meta, text) in DOCS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
        (corpus / f"{Path(name).stem}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        import os

        for key in list(os.environ):
            if key.upper().startswith("RAG_"):
                mp.delenv(key)
        settings = load_settings(
            _env_file=None,
            store={"path": root / "store"},
            ingest={"corpus": corpus},
            embeddings={"mode": "fake"},
            llm={"mode": "fake"},
            retrieval={"relevance_floor": 0.0, "top_k": 4, "evidence_floor": False},
            app={"data_dir": root / "data", "users_file": root / "data" / "users.json"},
        )
    report = sync(settings, Store(settings.store, make_embeddings(settings.embeddings)))
    assert report.published and not report.skipped
    return settings


def _citing(*needles: str) -> Callable[[list[Message]], str]:
    """A model that writes one sentence per needle, copied from and citing its passage."""

    def reply(messages: list[Message]) -> str:
        user = messages[-1]["content"]
        out = []
        for needle in needles:
            for block in re.split(r"\n(?=\[\d+\] )", user):
                m = re.match(r"\[(\d+)\] [^\n]*\n(.*)", block.strip(), re.S)
                if m and needle in m.group(2):
                    sentence = next(s for s in re.split(r"(?<=\.)\s+", m.group(2)) if needle in s)
                    out.append(f"{sentence.strip().rstrip('.')} [{m.group(1)}].")
                    break
            else:
                raise AssertionError(f"{needle!r} not among the passages")
        return " ".join(out)

    return reply


def _ask(settings: Settings, question: str, *needles: str) -> Answer:
    emb = make_embeddings(settings.embeddings)
    assistant = Assistant(
        settings,
        Store(settings.store, emb),
        FakeChat(_citing(*needles)),
        emb,
        Prompts.load(settings.prompts_dir),
    )
    assistant.today = lambda: TODAY  # type: ignore[method-assign]
    return assistant.answer(question)


def test_answer_resting_only_on_an_old_source_says_so(dated: Settings) -> None:
    answer = _ask(
        dated, "Wat verandert robotisering in de zorg- en welzijnssector?", "Robotisering"
    )
    assert [c.chunk.source for c in answer.citations] == ["vivo.txt"]
    assert "Let op: deze bron is uit 2019." in answer.text
    assert answer.checked is not None and "Let op: deze bron is uit 2019." in answer.checked.text


def test_answer_with_a_recent_source_has_no_age_note(dated: Settings) -> None:
    answer = _ask(dated, "Wat zegt Integron over AI in het dagelijks werk?", "Slechts 26 procent")
    assert "integron.txt" in {c.chunk.source for c in answer.citations}
    assert "Let op" not in answer.text
    both = _ask(
        dated,
        "Wat zeggen de rapporten over robotisering en AI?",
        "Robotisering",
        "Slechts 26 procent",
    )
    assert {c.chunk.source for c in both.citations} >= {"vivo.txt", "integron.txt"}
    assert "Let op" not in both.text  # one recent source is enough


def test_disagreeing_figures_are_shown_side_by_side(dated: Settings) -> None:
    answer = _ask(
        dated, "Hoeveel procent van alle werknemers gebruikt AI actief?", "Slechts 26 procent"
    )
    text = answer.text
    assert "De bronnen noemen verschillende cijfers hierover:" in text
    block = text.split("De bronnen noemen verschillende cijfers hierover:", 1)[1]
    lines = [line for line in block.splitlines() if line.startswith("- ")]
    assert len(lines) == 2
    assert lines[0].startswith("- 12 procent") and "(VIVO, 2019)" in lines[0]
    assert lines[1].startswith("- 26 procent") and "(Integron, 2025)" in lines[1]
    by_n = {c.n: c for c in answer.citations}
    for line, source, figure in (
        (lines[0], "vivo.txt", "12 procent"),
        (lines[1], "integron.txt", "26 procent"),
    ):
        n = int(re.search(r"\[(\d+)\]$", line).group(1))  # type: ignore[union-attr]
        assert by_n[n].chunk.source == source
        assert any(
            c.n == n and figure in c.quote and c.quote in c.chunk.text for c in answer.citations
        )
    assert "Let op" not in text  # the answer rests on a recent source too


def test_newer_version_supersedes_the_older(dated: Settings) -> None:
    answer = _ask(dated, "Hoeveel zorgteams werken met roosters op papier?", "25 procent")
    sources = {c.source for c in answer.passages}
    assert "monitor24.txt" in sources and "monitor21.txt" not in sources
    assert "50 procent" not in answer.text


def test_older_version_when_asked_for_and_named_as_such(dated: Settings) -> None:
    answer = _ask(dated, "Hoeveel zorgteams werkten in 2021 met roosters op papier?", "50 procent")
    old = [c for c in answer.passages if c.source == "monitor21.txt"]
    assert old and "oudere versie uit 2021; nieuwste versie: 2024" in old[0].title
    cited = {c.chunk.source: c.chunk.title for c in answer.citations}
    assert "oudere versie" in cited["monitor21.txt"]


# --------------------------------------------------------------------------- the briefing


def _figures_model(messages: list[Message]) -> str:
    """Cites every sentence with "procent" for a question about figures, else one sentence
    without a figure (so the figure sentences are not used up by earlier sections)."""
    user = messages[-1]["content"]
    asked = re.search(r"^Vraag:\s*(.+)$", user, flags=re.M)
    figures = bool(asked and re.search(r"cijfers|percentages", asked.group(1)))
    out = []
    for block in re.split(r"\n(?=\[\d+\] )", user):
        m = re.match(r"\[(\d+)\] [^\n]*\n(.*)", block.strip(), re.S)
        for sentence in re.split(r"(?<=\.)\s+", m.group(2)) if m else ():
            if ("procent" in sentence) == figures and len(sentence.split()) > 4:
                out.append(f"{sentence.strip().rstrip('.')} [{m.group(1)}].")  # type: ignore[union-attr]
    return " ".join(out[:4])


def test_briefing_figures_grouped_by_measure_with_source_year_and_age(dated: Settings) -> None:
    from assistant.briefing import make_briefing
    from assistant.export import to_markdown

    emb = make_embeddings(dated.embeddings)
    assistant = Assistant(
        dated,
        Store(dated.store, emb),
        FakeChat(_figures_model),
        emb,
        Prompts.load(dated.prompts_dir),
    )
    assistant.today = lambda: TODAY  # type: ignore[method-assign]
    briefing = make_briefing(assistant, "AI op het werk", length="kort")
    cijfers = next(s for s in briefing.sections if s.key == "cijfers")
    chunks = {s.n: s.chunk for s in briefing.sources}
    by_source = {chunks[p.source].source: p for p in cijfers.points}
    assert {"integron.txt", "vivo.txt"} <= set(by_source)
    vivo, integron = by_source["vivo.txt"], by_source["integron.txt"]
    assert vivo.measure and vivo.measure == integron.measure  # one measure: AI use
    order = [chunks[p.source].source for p in cijfers.points]
    assert abs(order.index("vivo.txt") - order.index("integron.txt")) == 1  # side by side
    if "monitor24.txt" in by_source:
        assert by_source["monitor24.txt"].measure != vivo.measure
    assert vivo.note == "Let op: deze bron is uit 2019." and integron.note == ""
    md = to_markdown(briefing.to_export())
    assert f"### {vivo.measure}" in md
    assert "(VIVO, 2019) Let op: deze bron is uit 2019." in md and "(Integron, 2025)" in md


def _chunk(cid: str, source: str, org: str, date_: str, text: str) -> Chunk:
    return Chunk(id=cid, text=text, source=source, page=1, index=0, organisation=org, date=date_)


def _two_bureaus(text_a: str, text_b: str) -> list[Chunk]:
    """Two sources: Bureau A (2023) and Bureau B (2024)."""
    return [
        _chunk("a:1:0", "a.txt", "Bureau A", "2023", text_a),
        _chunk("b:1:0", "b.txt", "Bureau B", "2024", text_b),
    ]


def test_statements_block_cites_each_source_including_a_further_candidate() -> None:
    from assistant.citations import CheckedAnswer, Citation
    from assistant.settings import SourceSettings
    from assistant.sourcenotes import STATEMENTS_INTRO, annotate

    dyke = _chunk(
        "dijk:1:0",
        "dijk.txt",
        "Dijkbureau",
        "2024-03",
        "Zijn de dijken op orde? De meeste dijken in het noorden voldoen aan de veiligheidsnorm.",
    )
    other = _chunk(
        "water:1:0",
        "water.txt",
        "Waterschapskrant",
        "2022",
        "Een inspectie toont dat dijken in het noorden niet voldoen aan de nieuwe veiligheidsnorm.",
    )
    first = "De meeste dijken in het noorden voldoen aan de veiligheidsnorm"
    checked = CheckedAnswer(f"{first} [1].", (), (Citation(1, dyke, first),), "answer", 1.0)
    answer = Answer(
        question="Voldoen de dijken in het noorden aan de veiligheidsnorm?",
        query="Voldoen de dijken in het noorden aan de veiligheidsnorm?",
        text=checked.text,
        mode="answer",
        checked=checked,
        passages=[dyke],
    )
    # only the model's passage: one source, no block
    alone = annotate(answer, SourceSettings(), TODAY)
    assert STATEMENTS_INTRO not in alone.text
    # the next candidate is another source that answers too: both side by side, cited
    both = annotate(answer, SourceSettings(), TODAY, more=[other])
    block = both.text.split(STATEMENTS_INTRO, 1)[1]
    lines = [line for line in block.splitlines() if line.startswith("- ")]
    assert lines[0].startswith("- Waterschapskrant, 2022: „Een inspectie toont")
    assert lines[0].endswith("[2]") and lines[1].endswith("[1]")
    assert lines[1].startswith("- Dijkbureau, 2024: „De meeste dijken")
    cited = {c.n: c for c in both.citations}
    assert cited[2].chunk.id == "water:1:0" and cited[2].quote in other.text
    assert both.checked is not None and both.checked.text == both.text
    # an older version of the passage's document (same title) is no second source
    dyke_new = dataclasses.replace(dyke, title="Dijkenmonitor")
    dyke_old = _chunk(
        "dijk20:1:0",
        "dijk20.txt",
        "Dijkbureau",
        "2020",
        "Volgens de vorige meting voldoen dijken in het noorden niet aan de veiligheidsnorm.",
    )
    dyke_old = dataclasses.replace(dyke_old, title="Dijkenmonitor")
    versioned = dataclasses.replace(answer, passages=[dyke_new])
    assert STATEMENTS_INTRO not in annotate(versioned, SourceSettings(), TODAY, [dyke_old]).text
    # switched off with the disagreement setting
    off = annotate(answer, SourceSettings(disagreement=False), TODAY, more=[other])
    assert STATEMENTS_INTRO not in off.text


def test_statements_read_synonyms_groups_and_alternatives() -> None:
    from assistant.sourcenotes import statements

    def said(question: str, *texts: str) -> list[str]:
        chunks = [
            _chunk(f"d{i}:1:0", f"d{i}.txt", f"Bureau {i}", f"202{i}", t)
            for i, t in enumerate(texts)
        ]
        return [s.quote for s in statements(question, chunks)]

    # "kunstmatige intelligentie" is AI and "werkgevers" are bedrijven: both answer
    found = said(
        "Hoeveel bedrijven in de regio zetten AI in?",
        "In de regio zet 31% van de bedrijven AI in bij de planning.",
        "Onder werkgevers in de regio zet 18% kunstmatige intelligentie in.",
    )
    assert len(found) == 2
    # "hoeveel X": a share of another group is no answer
    assert not said(
        "Hoeveel bedrijven in de regio zetten AI in?",
        "In de regio zet 31% van de bedrijven AI in bij de planning.",
        "In de regio zet 44% van de studenten AI in bij het leren.",
    )
    # "voor of achter": "voor" counts as the start of "voorop", not as a preposition
    question = "Loopt de regio voor of achter met robots?"
    ahead = "De regio loopt voorop met robots in de bouw."
    behind = "Met robots in de haven loopt de regio achter op het buitenland."
    assert len(said(question, ahead, behind)) == 2
    assert not said(question, "Voor de regio zijn robots in de haven nieuw.", behind)


def test_statements_quote_sentences_as_the_one_splitter_cuts_them() -> None:
    from assistant.sourcenotes import statements

    chunks = _two_bureaus(
        "In de regio zet 31% van de bedrijven AI in, bijv. bij de planning. Dat groeit.",
        "Werkgevers:\n- Onder werkgevers in de regio zet 18% kunstmatige intelligentie in.",
    )
    quotes = [s.quote for s in statements("Hoeveel bedrijven in de regio zetten AI in?", chunks)]
    # an abbreviation does not end the statement, a list bullet is not part of it
    assert quotes == [
        "In de regio zet 31% van de bedrijven AI in, bijv. bij de planning.",
        "Onder werkgevers in de regio zet 18% kunstmatige intelligentie in.",
    ]


@pytest.mark.parametrize(
    ("question", "across"),
    [
        ("Hoeveel bedrijven gebruiken al robots?", True),
        ("Lopen scholen voor of achter met robots?", True),
        ("Hoeveel bedrijven gebruiken volgens de Bouwbond al robots?", False),
        ("Wat zegt het rapport over robots?", False),
        ("Wie schreef het rapport over robots?", False),
        # the user says the named sources differ: their views side by side
        ("Werken robots in de bouw? De Bouwbond en het ministerie zeggen iets anders.", True),
        ("Zijn robots nuttig? In het Bouwbond-rapport lees ik twee verschillende dingen.", True),
        # "verschillende" as "various", and a comparison of groups, name one source
        ("Hoeveel verschillende robots noemt het Bouwbond-rapport?", False),
        ("Wat is volgens het Bouwbond-rapport het verschil tussen dak en gevel?", False),
    ],
)
def test_asks_across(question: str, across: bool) -> None:
    from assistant.sourcenotes import asks_across

    assert asks_across(question, []) is across


def test_statements_topic_leaves_out_the_remark_fillers_and_or_not() -> None:
    from assistant.sourcenotes import _topic

    plain = _topic("Werken robots in de bouw?")
    said = _topic("Werken robots nou eigenlijk in de bouw of niet? De bonden zeggen iets anders.")
    assert plain is not None and said is not None
    assert said[0] == plain[0] and said[1] == ()  # "of niet" offers no alternatives
    assert _topic("Lopen scholen voor of achter met robots?") is not None


def test_statements_skip_headings_and_footnote_links() -> None:
    from assistant.sourcenotes import statements

    chunks = _two_bureaus(
        "Robots in de bouw en de haven\n"
        "In de bouw werken robots al op een op de drie bouwplaatsen.",
        "3 https://example.org/robots-in-de-bouw"
        " robots bouw werken\nRobots werken in de bouw nog nauwelijks, zegt de bond.",
    )
    quotes = [s.quote for s in statements("Werken robots in de bouw?", chunks)]
    assert quotes == [
        "In de bouw werken robots al op een op de drie bouwplaatsen.",
        "Robots werken in de bouw nog nauwelijks, zegt de bond.",
    ]


def test_per_document_candidates_from_the_real_index(
    dated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.service as service_module

    emb = make_embeddings(dated.embeddings)
    store = Store(dated.store, emb)
    helper = Assistant(dated, store, FakeChat("-"), emb, Prompts.load(dated.prompts_dir))
    calls: list[list[str] | None] = []
    query = store.query

    def spy(*args: object, **kw: object) -> object:
        calls.append(kw.get("sources"))  # type: ignore[arg-type]
        return query(*args, **kw)  # type: ignore[arg-type]

    store.query = spy  # type: ignore[method-assign]
    stream = helper.ask("Gebruiken werknemers AI al actief?")
    calls.clear()
    found = helper._per_document(stream)
    # one search inside each readable document, its best chunk back
    assert sorted(c for call in calls for c in call or []) == sorted(DOCS)
    assert {c.source for c in found} == set(DOCS)
    # capped: the documents of the fused candidates come first
    monkeypatch.setattr(service_module, "PER_DOCUMENT_MAX_DOCUMENTS", 1)
    calls.clear()
    helper._per_document(stream)
    assert calls == [[f"{stream.retrieval.fused[0].split(':')[0]}.txt"]]
    monkeypatch.undo()
    # what the user may read and asked for bounds it
    stream.collections = {"geheim"}
    calls.clear()
    assert helper._per_document(stream) == [] and calls == []
    stream.collections, stream.sources = None, {"vivo.txt"}
    assert [c.source for c in helper._per_document(stream)] == ["vivo.txt"]
    # the sources block asks for them on a question across the sources, not on one that
    # names its source
    stream.sources = None
    calls.clear()
    helper._more_candidates(stream)
    assert len(calls) == len(DOCS)
    named = helper.ask("Wat zegt Integron over AI in het dagelijks werk?")
    calls.clear()
    helper._more_candidates(named)
    assert calls == []


def test_statements_read_the_section_heading_and_the_sentence_before() -> None:
    from assistant.sourcenotes import statements

    question = "Werken havenbedrijven met robots?"
    bond = "Havenbedrijven werken steeds vaker met robots, zegt de bond."
    # a list item says its subject only in the heading of its section
    listed = "Overzicht 2023\n\nRobots bij havenbedrijven\n\n• In 2023 werkte 35% ermee.\n"
    quotes = [s.quote for s in statements(question, _two_bureaus(listed, bond))]
    assert "In 2023 werkte 35% ermee." in quotes
    bare = listed.replace("Robots bij havenbedrijven\n\n", "")
    assert statements(question, _two_bureaus(bare, bond)) == []
    # a finding that names its subject one sentence earlier, in the same paragraph
    said = "De meeste havenbedrijven twijfelen nog. Slechts 12% werkt al met robots."
    quotes = [s.quote for s in statements(question, _two_bureaus(said, bond))]
    assert any(q.startswith("Slechts 12% werkt al met robots.") for q in quotes)
    apart = said.replace(" Slechts", "\nSlechts")  # a new line: not the same paragraph
    assert not any(
        q.startswith("Slechts")
        for q in (s.quote for s in statements(question, _two_bureaus(apart, bond)))
    )
    # the sentence itself must be near the question: an aside inherits nothing
    aside = "Havenbedrijven werken al jaren met robots. Het weer was die week guur."
    quotes = [s.quote for s in statements(question, _two_bureaus(aside, bond))]
    assert not any("guur" in q for q in quotes)


def test_statements_for_how_much_take_any_amount_but_not_a_year() -> None:
    from assistant.sourcenotes import statements

    question = "Hoeveel levert robotisering de havens op?"
    chunks = _two_bureaus(
        "Robotisering levert de havens jaarlijks 40 miljoen euro op.",
        "Volgens de bond levert robotisering de havens 2 procentpunt extra groei op.",
    )
    quotes = [s.quote for s in statements(question, chunks)]
    assert len(quotes) == 2 and "40 miljoen euro" in quotes[0] and "2 procentpunt" in quotes[1]
    dated = _two_bureaus(
        "Robotisering levert de havens jaarlijks 40 miljoen euro op.",
        "Sinds 2019 levert robotisering de havens vooral veiligheid op.",
    )
    assert statements(question, dated) == []  # a year is no amount
