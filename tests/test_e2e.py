"""End to end with the real parts: the shipped corpus, e5 embeddings, the embedded Qwen model.

Slow (ingest ~1–2 min, model load and answer ~15 s); marked ``e2e``, and CI runs it. The
index is built once per session into a temporary folder, never into the project's index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.e2e

QUESTION = (
    "Hoeveel procent van de Nederlandse werknemers gebruikt AI actief in het dagelijkse werk?"
)
INTEGRON = "002_a5be9962150fe43e"


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from ingest.sync import sync

    store_dir = tmp_path_factory.mktemp("vectorstore")
    settings = load_settings(store={"path": store_dir})
    store = Store(settings.store, make_embeddings(settings.embeddings))
    report = sync(settings, store, PROJECT_ROOT / "corpus")
    assert not report.skipped, report.skipped
    assert len(report.added) == 5
    return store_dir


@pytest.fixture(scope="session")
def real_assistant(real_store: Path):  # noqa: ANN201
    if not load_settings().llm.model_file.is_file():
        pytest.fail("embedded model missing: run `make model` (make test does)")
    from assistant.service import Assistant

    return Assistant.from_settings(load_settings(store={"path": real_store}))


def test_real_model_answers_with_integron_citation(real_assistant) -> None:  # noqa: ANN001
    answer = real_assistant.answer(QUESTION)
    assert answer.mode in ("answer", "quotes"), answer.text
    cited = [c for c in answer.citations if c.chunk.stem == INTEGRON]
    assert cited, f"no citation of the Integron article: {answer.to_json()['citations']}"
    assert any("26" in c.quote for c in cited)
    assert all(c.quote in c.chunk.text for c in answer.citations)
    assert "[" in answer.text  # inline markers are shown


def test_unrelated_question_is_refused_in_dutch(real_assistant) -> None:  # noqa: ANN001
    answer = real_assistant.answer("Wat is het recept voor appeltaart met kaneel?")
    assert answer.mode == "refusal"
    assert "bronnen" in answer.text.lower()
    assert not answer.citations


def test_cli_ask_json(real_store: Path) -> None:
    env = {**os.environ, "RAG_STORE__PATH": str(real_store)}
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", QUESTION],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
        check=True,
    )
    data = json.loads(out.stdout)
    assert set(data) >= {"answer", "citations", "sources"}
    assert data["citations"], data
    for c in data["citations"]:
        assert set(c) >= {"n", "source", "page", "quote"}
        assert f"[{c['n']}]" in data["answer"]
    assert any(c["source"].startswith(INTEGRON) and "26" in c["quote"] for c in data["citations"])


# --------------------------------------------------------------------------- issue 13's questions

KPN_NEWS = "000_0922e66c4a7848a2"
HRM_REPORT = "003_90755cba00074a80"
TOP5 = "Wat zijn de vijf grootste zorgen van organisaties volgens het onderzoek van KPN?"
CONCERNS = (
    "werkgelegenheid",
    "cybersecurity",
    "talentbehoud",
    "kennis van medewerkers",
    "technologische veranderingen",
)
CARE = "En wat zeggen ze over de zorgsector?"
RISKS = "Welke risico's van AI in HRM noemt het rapport over menselijke middelen en AI?"


def _claims(answer, trivial: bool = False) -> list[str]:  # noqa: ANN001
    """The sentences the user is shown (dropped ones are not); short ones on request."""
    assert answer.checked is not None
    shown = [s for s in answer.checked.sentences if s.status != "unsupported"]
    return [s.text for s in shown if trivial or not s.trivial]


def test_list_question_and_its_follow_up(real_assistant) -> None:  # noqa: ANN001
    from assistant.citations.novelty import echoes

    first = real_assistant.answer(TOP5)
    assert first.mode != "refusal", first.text
    for concern in CONCERNS:
        assert concern in first.text.lower(), first.text
    assert {c.chunk.stem for c in first.citations} == {KPN_NEWS}
    assert all(c.quote in c.chunk.text for c in first.citations)

    history = [{"role": "user", "content": TOP5}, {"role": "assistant", "content": first.text}]
    follow = real_assistant.answer(CARE, history, previous=list(first.passages))
    assert follow.mode != "refusal", follow.text
    assert real_assistant.prompts.refusal.split(".")[0] not in follow.text
    for claim in _claims(follow, trivial=True):  # nothing copied from the first answer
        assert not echoes(claim, [first.text]), claim
    assert any(
        c.chunk.stem == KPN_NEWS and "zorgsector" in c.chunk.text for c in follow.citations
    ), follow.to_json()["citations"]
    assert "personeel" in follow.text.lower() or "digitale stress" in follow.text.lower()


def test_risks_question_names_risks_from_the_report(real_assistant) -> None:  # noqa: ANN001
    from assistant.citations.novelty import adds_information

    answer = real_assistant.answer(RISKS)
    assert answer.mode != "refusal", answer.text
    named = ("bias", "vooroordelen", "privacy", "baanvervanging", "marktmacht", "werkgelegenheid")
    assert any(risk in answer.text.lower() for risk in named), answer.text
    assert any(c.chunk.stem == HRM_REPORT for c in answer.citations)
    for claim in _claims(answer):
        assert adds_information(claim, RISKS), claim
