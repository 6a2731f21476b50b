"""The three pages, driven headless with ``streamlit.testing.v1.AppTest``.

Fake backends are chosen through settings (``tmp_settings`` sets ``RAG_LLM__MODE=fake`` and
``RAG_EMBEDDINGS__MODE=fake``); the fake model answers with the first sentence of passage
[1], cited, which the citation check accepts. A tiny corpus of three text files is indexed by
the real ingest sync into ``tmp_path``. The hashing test embedder gives low cosines, so the
relevance floor is lowered through its setting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import as_browser
from streamlit.testing.v1 import AppTest

from assistant.export import conversation_doc, read_docx_footnotes, to_docx, to_markdown
from assistant.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
TIMEOUT = 60

DOCS = {
    "werk_ai.txt": (
        {
            "title": "AI in het dagelijks werk",
            "organisation": "Integron",
            "date": "2025-03-01",
            "kind": "rapport",
        },
        "26 procent van de Nederlandse werknemers gebruikt AI actief in het dagelijkse werk. "
        "De aanleiding voor dit onderzoek naar AI in het dagelijks werk is de snelle opkomst van "
        "chatbots. Vooral jongere werknemers gebruiken chatbots voor het schrijven van teksten. "
        "Werkgevers bieden nog weinig training aan over verantwoord gebruik van AI.\n\n"
        "Het rapport beveelt werkgevers aan om duidelijke richtlijnen op te stellen voor het "
        "gebruik van AI. Ook adviseert Integron om medewerkers te trainen in digitale "
        "vaardigheden.",
    ),
    "zorg_personeel.txt": (
        {
            "title": "Zorgen in de zorgsector",
            "organisation": "KPN en Motivaction",
            "date": "2025-09-04",
            "kind": "nieuwsartikel",
        },
        "In de zorgsector liggen professionals vooral wakker van het aantrekken en behouden "
        "van personeel. Het onderzoek werd gehouden onder 920 IT- en HR-professionals in zes "
        "sectoren. 85 procent van de ondervraagde professionals pleit voor meer ondersteuning "
        "bij digitale vaardigheden.",
    ),
    "thuiswerken.txt": (
        {
            "title": "Hybride werken na de pandemie",
            "organisation": "CBS",
            "date": "2024-11-12",
            "kind": "statistiek",
        },
        "In 2024 werkte 48 procent van de werkenden weleens thuis. Het aandeel thuiswerkers is "
        "het hoogst in de financiële dienstverlening. Werknemers die hybride werken zijn vaker "
        "tevreden over de balans tussen werk en privé.",
    ),
}


def write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (meta, text) in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
        (folder / f"{Path(name).stem}.meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.fixture
def indexed(tmp_settings, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """Settings with a tiny index built by the ingest sync; the app reads the same env."""
    from streamlit import config

    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from ingest.sync import sync

    write_corpus(tmp_settings.ingest.corpus)
    report = sync(
        tmp_settings,
        Store(tmp_settings.store, make_embeddings(tmp_settings.embeddings)),
        tmp_settings.ingest.corpus,
    )
    assert len(report.added) == 3, report.to_dutch_lines()
    # the hash embeddings are not calibrated like e5: floors that fit them
    monkeypatch.setenv("RAG_RETRIEVAL__RELEVANCE_FLOOR", "0.05")
    monkeypatch.setenv("RAG_RETRIEVAL__RELEVANCE_FLOOR_STRONG", "0.05")
    monkeypatch.setenv("RAG_APP__RATE_LIMIT_PER_MINUTE", "1000")
    # auth "none" gives the local user the Beheer page only when the page listens on loopback
    previous = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    as_browser(monkeypatch)  # a browser on this machine, no proxy in between
    yield tmp_settings
    config.set_option("server.address", previous)


def start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def markdown_texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def shown(text: str) -> str:
    """Text as the reader sees it: the page escapes Markdown characters of plain text."""
    return text.replace("\\", "")


def last_answer(at: AppTest):  # noqa: ANN201 - service.Answer
    return at.session_state["chat_messages"][-1]["answer"]


# --------------------------------------------------------------------------- chat


def test_chat_answers_with_linked_sources_and_highlight(indexed) -> None:  # noqa: ANN001
    at = start()
    assert at.title[0].value == "Onderzoeksassistent"
    starters = [b.label for b in at.button if b.key and b.key.startswith("starter_")]
    assert len(starters) == 3 and all("„" in s for s in starters)
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    answer = last_answer(at)
    assert answer.mode == "answer" and answer.citations
    texts = markdown_texts(at)
    shown = next(t for t in texts if "26 procent" in t and "bron-" in t and "<div" not in t)
    mid = at.session_state["chat_messages"][-1]["id"]
    assert f"[\\[1\\]](#bron-{mid}-1)" in shown
    card = next(t for t in texts if t.startswith('<div class="oa-bron"'))
    assert f'id="bron-{mid}-1"' in card and "<mark>" in card
    assert "AI in het dagelijks werk" in card and "Integron" in card and "p. 1" in card
    assert any("testmodel" in c.value for c in at.caption)
    assert not at.error
    downloads = [d.label for d in at.get("download_button")]
    assert "Gesprek als Word" in downloads and "Gesprek als Markdown" in downloads


def test_followup_shows_rewritten_question(indexed) -> None:  # noqa: ANN001
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    ask(at, "En de jongere werknemers?")
    answer = last_answer(at)
    assert answer.query != answer.question
    assert any(c.value.startswith("Gezocht op: „Hoeveel procent") for c in at.caption)
    assert len(at.session_state["chat_messages"]) == 4


def test_sidebar_lists_documents_newest_first_with_date_and_age(
    indexed,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import date

    # an age limit between the ages of the two oldest documents: exactly one is old
    today = date.today()
    oldest = (today - date(2024, 11, 12)).days / 365.25
    next_oldest = (today - date(2025, 3, 1)).days / 365.25
    monkeypatch.setenv("RAG_SOURCES__MAX_AGE_YEARS", f"{(oldest + next_oldest) / 2:.2f}")
    at = start()
    lines = [c.value for c in at.sidebar.expander[0].caption]
    assert at.sidebar.expander[0].label == "Documenten in gebruik: 3"
    assert [line.split(" · ")[0] for line in lines] == [
        "• Zorgen in de zorgsector",
        "• AI in het dagelijks werk",
        "• Hybride werken na de pandemie",
    ]
    assert lines[0].endswith("4 september 2025") and "ouder dan" not in lines[1]
    assert "12 november 2024 · :orange[ouder dan" in lines[2]


def test_unrelated_question_says_no_sources(indexed) -> None:  # noqa: ANN001
    at = start()
    ask(at, "Appeltaart recept kaneel")
    assert last_answer(at).mode == "refusal"
    assert any("Geen bronnen gevonden" in i.value for i in at.info)
    assert not at.error


def test_starter_button_asks_its_question(indexed) -> None:  # noqa: ANN001
    at = start()
    button = next(b for b in at.button if b.key == "starter_0")
    button.click().run()
    assert not at.exception
    messages = at.session_state["chat_messages"]
    assert messages[0]["content"].startswith("Wat zijn de belangrijkste uitkomsten")
    assert not [b for b in at.button if b.key and b.key.startswith("starter_")]


def test_feedback_and_remark_are_stored_locally(indexed) -> None:  # noqa: ANN001
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    at.feedback[0].set_value(1).run()
    assert not at.exception
    at.text_input(key=f"fbr_{at.session_state['chat_messages'][-1]['id']}").input(
        "Klopt, netjes geciteerd"
    ).run()
    path = indexed.app.data_dir / "feedback.jsonl"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[-1]["rating"] == "up" and lines[-1]["remark"] == "Klopt, netjes geciteerd"
    assert lines[-1]["citations"][0]["source"] == "werk_ai.txt"
    assert any("feedback is lokaal opgeslagen" in c.value for c in at.caption)


def test_new_conversation_clears_history(indexed) -> None:  # noqa: ANN001
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    at.button(key="new_conversation").click().run()
    assert at.session_state["chat_messages"] == []
    assert [b for b in at.button if b.key and b.key.startswith("starter_")]


def test_export_of_conversation_has_footnotes(indexed) -> None:  # noqa: ANN001
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    ask(at, "En de jongere werknemers?")
    answers = [m["answer"] for m in at.session_state["chat_messages"] if m["role"] == "assistant"]
    doc = conversation_doc(answers, model="testmodel (fake)")
    notes = read_docx_footnotes(to_docx(doc))
    assert len(notes) >= 2
    assert notes[0].startswith("AI in het dagelijks werk (Integron, 1 maart 2025), p. 1: „")
    assert answers[0].citations[0].quote.split()[0] in notes[0]
    md = to_markdown(doc)
    assert "[^1]" in md and "[^1]: AI in het dagelijks werk" in md and "## Bronnen" in md


def test_model_output_cannot_show_images_or_links(indexed, monkeypatch) -> None:  # noqa: ANN001
    import assistant.llm as llm

    def reply(messages):  # noqa: ANN001, ANN202 - a scripted model reply
        return (
            "26 procent van de Nederlandse werknemers gebruikt AI actief "
            "![x](http://evil.example/p.png) <img src=http://evil.example/q.png> "
            "[meer](http://evil.example) in het dagelijkse werk [1]."
        )

    monkeypatch.setattr(llm, "extractive_reply", reply)
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    answer = last_answer(at)
    assert answer.mode == "answer" and "evil.example" not in answer.text  # the service strips it
    texts = " ".join(markdown_texts(at))
    assert "evil.example" not in texts  # and the page (its own sanitizer, escaped draft) too
    assert any("26 procent" in t and "#bron-" in t for t in markdown_texts(at))


def test_assistant_error_is_shown_in_dutch_with_hint(indexed, monkeypatch) -> None:  # noqa: ANN001
    from assistant.errors import IndexMissing
    from assistant.service import Assistant

    def missing(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise IndexMissing("Er is nog geen index van de documenten.", hint="make index")

    monkeypatch.setattr(Assistant, "ask", missing)
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    assert [shown(e.value) for e in at.error] == ["Er is nog geen index van de documenten."]
    assert any(c.value == "Tip: make index" for c in at.caption)
    assert not at.exception


def test_unexpected_error_is_logged_not_shown(indexed, monkeypatch) -> None:  # noqa: ANN001
    from assistant.service import Assistant

    def broken(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise RuntimeError("geheime interne details")

    monkeypatch.setattr(Assistant, "ask", broken)
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    assert [shown(e.value) for e in at.error] == ["Er ging iets mis; de fout is vastgelegd."]
    assert "geheime" not in " ".join(markdown_texts(at))


def test_backend_unavailable_shows_notice_and_passages(indexed, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("RAG_LLM__MODE", "ollama")
    monkeypatch.setenv("RAG_LLM__OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens there
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    assert last_answer(at).mode == "unavailable"
    assert any("niet bereikbaar" in w.value for w in at.warning)
    assert any('<div class="oa-bron"' in t for t in markdown_texts(at))
    assert not at.error


def test_audit_log_records_the_question(indexed) -> None:  # noqa: ANN001
    from assistant.audit import AuditLog

    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    records = AuditLog(indexed).recent(5)
    assert records[0]["question"] == "Hoeveel procent van alle werknemers gebruikt AI actief?"
    assert records[0]["user"] == "lokaal"


# --------------------------------------------------------------------------- briefing


def test_briefing_is_made_with_cited_points(indexed) -> None:  # noqa: ANN001
    at = start("ui/page_briefing.py")
    assert at.title[0].value == "Briefing maken"
    at.text_input[0].input("AI in het dagelijks werk")
    at.radio[0].set_value("kort")
    at.button[0].click().run()
    assert not at.exception, at.exception
    briefing = at.session_state["briefing_result"]
    assert [s.key for s in briefing.sections] == [
        "aanleiding",
        "kernpunten",
        "cijfers",
        "aanbevelingen",
    ]
    assert briefing.point_count > 0 and briefing.sources
    for section in briefing.sections:
        for point in section.points:
            source = briefing.sources[point.source - 1]
            assert point.quote in source.chunk.text
    texts = markdown_texts(at)
    assert "#### Aanleiding" in texts and "#### Aanbevelingen" in texts
    assert any("(#bron-briefing-1)" in t for t in texts)
    assert any("<mark>" in t for t in texts)
    notes = read_docx_footnotes(to_docx(briefing.to_export()))
    assert len(notes) == briefing.point_count
    md = to_markdown(briefing.to_export())
    assert "## Bronnen" in md and "Integron" in md


def test_briefing_without_topic_warns(indexed) -> None:  # noqa: ANN001
    at = start("ui/page_briefing.py")
    at.button[0].click().run()
    assert any("onderwerp" in w.value for w in at.warning)
    assert "briefing_result" not in at.session_state


def test_briefing_limited_to_one_document(indexed) -> None:  # noqa: ANN001
    at = start("ui/page_briefing.py")
    at.text_input[0].input("digitale vaardigheden")
    at.multiselect[0].set_value(["zorg_personeel.txt"])
    at.radio[0].set_value("kort")
    at.button[0].click().run()
    assert not at.exception
    briefing = at.session_state["briefing_result"]
    assert briefing.documents == ["Zorgen in de zorgsector"]
    assert briefing.sources
    assert {s.chunk.source for s in briefing.sources} == {"zorg_personeel.txt"}


# --------------------------------------------------------------------------- beheer


def test_beheer_shows_counts_privacy_and_audit(indexed) -> None:  # noqa: ANN001
    at = start()
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    at.switch_page("ui/page_beheer.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documenten"] == "3"
    assert int(metrics["Passages"]) >= 3
    assert metrics["Telemetrie"] == "uit"
    assert any("geen enkele verbinding" in s.value for s in at.success)
    texts = shown(" ".join(markdown_texts(at)))
    assert "Streamlit-gebruiksstatistiek" in texts and "LangSmith" in texts
    frames = [df.value for df in at.dataframe]
    index = next(f for f in frames if "Passages" in f.columns)
    assert sorted(index["Document"]) == sorted(DOCS)
    audit = next(f for f in frames if "Vraag" in f.columns and "Gebruiker" in f.columns)
    assert audit["Vraag"].iloc[0].startswith("Hoeveel procent")
    assert not at.error


def test_beheer_upload_adds_a_document(indexed) -> None:  # noqa: ANN001
    at = start("ui/page_beheer.py")
    text = (
        b"Uit het nieuwe onderzoek blijkt dat 12 procent van de teams wekelijks "
        b"samenwerkt met een digitale assistent."
    )
    at.file_uploader[0].set_value(("nieuw_onderzoek.txt", text, "text/plain")).run()
    next(b for b in at.button if b.label == "Toevoegen en indexeren").click().run()
    assert not at.exception, at.exception
    assert (indexed.ingest.corpus / "nieuw_onderzoek.txt").is_file()
    report = shown(" ".join(markdown_texts(at)))
    assert "1 document toegevoegd: nieuw_onderzoek.txt" in report
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documenten"] == "4"


def test_beheer_reports_a_refused_upload(indexed) -> None:  # noqa: ANN001
    at = start("ui/page_beheer.py")
    at.file_uploader[0].set_value(("leeg.txt", b"", "text/plain")).run()
    next(b for b in at.button if b.label == "Toevoegen en indexeren").click().run()
    assert not at.exception, at.exception
    report = shown(" ".join(markdown_texts(at)))
    assert "Niet opgeslagen: leeg.txt (Het bestand is leeg.)" in report
    assert {m.label: m.value for m in at.metric}["Documenten"] == "3"


# --------------------------------------------------------------------------- login and roles


def test_local_login_and_role_decide_the_pages(indexed, monkeypatch) -> None:  # noqa: ANN001
    from assistant.access import UserStore

    users = indexed.app.data_dir / "users.json"
    UserStore(users).add_user("manager", "geheim-wachtwoord-1", "gebruiker", {"algemeen"})
    monkeypatch.setenv("RAG_APP__AUTH", "local")
    monkeypatch.setenv("RAG_APP__USERS_FILE", str(users))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert not at.chat_input  # nothing but the login form before logging in
    at.text_input[0].input("manager")
    at.text_input[1].input("fout-wachtwoord")
    at.button[0].click().run()
    assert any("onjuist wachtwoord" in shown(e.value) for e in at.error)
    at.text_input[1].input("geheim-wachtwoord-1")
    at.button[0].click().run()
    assert not at.exception
    assert at.chat_input and at.title[0].value == "Onderzoeksassistent"
    ask(at, "Hoeveel procent van alle werknemers gebruikt AI actief?")
    assert last_answer(at).mode == "answer"
    with pytest.raises(ValueError):  # a "gebruiker" gets no Beheer page
        at.switch_page("ui/page_beheer.py")
