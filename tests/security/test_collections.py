"""Point 6 of issue #15: access per collection, also for beheerders, uploads and OIDC.

Attacks: a beheerder of one collection uploads into (or overwrites a document of) another;
every upload landed in ``algemeen``; a beheerder reads the questions, answers and feedback of
users of collections that are not theirs; an OIDC account with an unverified ``email`` claim
takes an address it does not own; a role mapped without ``collections`` got all of them.
"""

from __future__ import annotations

import json

import pytest
from conftest import as_browser
from streamlit.testing.v1 import AppTest

from assistant.access import User, UserStore, oidc_user
from assistant.audit import AuditLog
from assistant.embeddings import make_embeddings
from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import Store
from ingest.sync import sync
from ingest.upload import save_upload

APP = str(PROJECT_ROOT / "app.py")
PASSWORD = "geheim-wachtwoord-1"
HR_QUESTION = "Wat verdient de directeur van HR precies?"


def test_upload_lands_in_the_chosen_collection_and_only_a_writable_one(
    tmp_settings: Settings,
) -> None:
    corpus = tmp_settings.ingest.corpus
    text = b"Het salarishuis van de organisatie telt twaalf schalen."
    with pytest.raises(AssistantError, match="collectie 'hr'"):
        save_upload(corpus, "salaris.txt", text, 10**6, collection="hr", writable={"algemeen"})
    save_upload(corpus, "salaris.txt", text, 10**6, collection="hr", writable={"hr"})
    with pytest.raises(AssistantError, match="niet mag wijzigen"):  # no overwrite from outside
        save_upload(corpus, "salaris.txt", b"Vervalst.", 10**6, writable={"algemeen"})
    store = Store(tmp_settings.store, make_embeddings(tmp_settings.embeddings))
    assert sync(tmp_settings, store, corpus).published
    manifest = store.manifest(max_age_s=0)
    assert manifest is not None and manifest.documents["salaris.txt"].collection == "hr"
    assert all(c.collection == "hr" for c in store.all_chunks())


@pytest.fixture
def logs_of_two_departments(tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    data = tmp_settings.app.data_dir
    audit = AuditLog(tmp_settings)
    audit.record("hr-mw", HR_QUESTION, HR_QUESTION, [], [], "Geheim.", "answer", scope={"hr"})
    audit.record("piet", "Hoeveel werkt thuis?", "thuis", [], [], "48 procent.", "answer",
                 scope={"algemeen"})  # fmt: skip
    feedback = FeedbackStore(data)
    from assistant.service import Answer

    def answer(q: str) -> Answer:
        return Answer(question=q, query=q, text="x", mode="answer", checked=None, passages=[])

    feedback.record(answer(HR_QUESTION), 0, remark="klopt niet", user="hr-mw", scope={"hr"})
    feedback.record(answer("Thuiswerk?"), 1, user="piet", scope={"algemeen"})
    users = UserStore(data / "users.json")
    users.add_user("beheer-alg", PASSWORD, "beheerder", {"algemeen"})
    users.add_user("auditor", PASSWORD, "auditor", {"algemeen"})
    monkeypatch.setenv("RAG_APP__AUTH", "local")
    monkeypatch.setenv("RAG_APP__USERS_FILE", str(users.path))
    as_browser(monkeypatch)
    return audit, feedback


def _beheer_as(name: str) -> str:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].input(name)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    at.switch_page("ui/page_beheer.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Beheer"
    return json.dumps([df.value.to_dict() for df in at.dataframe], default=str)


def test_beheerder_sees_only_logs_of_their_collections(logs_of_two_departments) -> None:  # noqa: ANN001
    shown = _beheer_as("beheer-alg")
    assert "Hoeveel werkt thuis?" in shown and "Thuiswerk?" in shown
    assert HR_QUESTION not in shown and "klopt niet" not in shown
    audit, feedback = logs_of_two_departments
    reader = User("beheer-alg", "beheerder", {"algemeen"})
    assert HR_QUESTION not in audit.export_csv_text(visible_to=reader)
    assert HR_QUESTION not in feedback.export_gold(visible_to=reader)


def test_auditor_sees_all_logs_and_manages_nothing(logs_of_two_departments) -> None:  # noqa: ANN001
    shown = _beheer_as("auditor")
    assert HR_QUESTION in shown and "Hoeveel werkt thuis?" in shown and "klopt niet" in shown


def test_oidc_requires_a_verified_email(tmp_path) -> None:  # noqa: ANN001
    mapping = tmp_path / "roles.json"
    mapping.write_text(
        json.dumps({"users": {"directeur@org.nl": {"role": "beheerder", "collections": "*"}}})
    )
    claims = {"is_logged_in": True, "email": "directeur@org.nl", "sub": "x"}
    with pytest.raises(AssistantError, match="niet bevestigd"):
        oidc_user({**claims, "email_verified": False}, mapping)
    with pytest.raises(AssistantError, match="niet bevestigd"):
        oidc_user(claims, mapping)  # no claim at all: not verified either
    assert oidc_user({**claims, "email_verified": True}, mapping).role == "beheerder"


def test_role_without_collections_gets_none(tmp_path) -> None:  # noqa: ANN001
    mapping = tmp_path / "roles.json"
    mapping.write_text(json.dumps({"roles": {"stagiair": {"role": "gebruiker"}}}))
    user = oidc_user(
        {"is_logged_in": True, "email": "s@org.nl", "email_verified": True, "roles": ["stagiair"]},
        mapping,
    )
    assert user.collections == set()
    with pytest.raises(AssistantError, match="geen toegang"):
        user.ask_collections()
