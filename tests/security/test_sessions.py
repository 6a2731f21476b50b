"""Point 3 of issue #15: logout and a user change end the conversation of that tab, and a
logged-in user is checked against the user list on every page load.

Attacks: the next person at a shared computer logs in to the tab the previous one logged out
of and reads (or exports) the previous answers, or gets the old history in the query rewrite;
a user removed by the beheerder, or whose collections were narrowed, keeps working (and
keeps the answers from the collection they lost) until the tab is closed. Driven with
``AppTest`` and the real login form, user list (bcrypt) and fake model.
"""

from __future__ import annotations

import pytest
from conftest import as_browser
from streamlit.testing.v1 import AppTest

from assistant.access import UserStore
from assistant.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
PASSWORD = "geheim-wachtwoord-1"
QUESTION = "Hoeveel procent van alle werknemers gebruikt AI actief?"


@pytest.fixture
def local_login(tmp_settings, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from ingest.sync import sync

    (tmp_settings.ingest.corpus / "ai.txt").write_text(
        "26 procent van de Nederlandse werknemers gebruikt AI actief in het dagelijkse werk. "
        "Werkgevers bieden nog weinig training aan over verantwoord gebruik van AI.",
        encoding="utf-8",
    )
    store = Store(tmp_settings.store, make_embeddings(tmp_settings.embeddings))
    assert sync(tmp_settings, store, tmp_settings.ingest.corpus).published
    users = UserStore(tmp_settings.app.data_dir / "users.json")
    for name in ("anna", "bert"):
        users.add_user(name, PASSWORD, "gebruiker", {"algemeen"})
    for key, value in {
        "RAG_APP__AUTH": "local",
        "RAG_APP__USERS_FILE": str(users.path),
        "RAG_RETRIEVAL__RELEVANCE_FLOOR": "0.05",
        "RAG_RETRIEVAL__RELEVANCE_FLOOR_STRONG": "0.05",
        "RAG_APP__RATE_LIMIT_PER_MINUTE": "1000",
    }.items():
        monkeypatch.setenv(key, value)
    as_browser(monkeypatch)
    return users


def _log_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def _asked(at: AppTest) -> AppTest:
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, at.exception
    assert at.session_state["chat_messages"], "the question was answered"
    return at


def _page_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown).replace("\\", "")


def _conversation(at: AppTest) -> list:
    return at.session_state["chat_messages"] if "chat_messages" in at.session_state else []


def test_next_user_in_the_tab_sees_nothing_of_the_previous_one(local_login) -> None:  # noqa: ANN001
    at = _asked(_log_in(AppTest.from_file(APP, default_timeout=60).run(), "anna"))
    assert "werknemers" in _page_text(at)
    at.button(key="logout").click().run()
    assert not at.chat_input  # the login form again
    _log_in(at, "bert")
    assert at.chat_input
    assert not _conversation(at)  # no answers, so nothing to export or to rewrite with
    assert "gebruikt AI actief" not in _page_text(at)
    assert not [b for b in at.get("download_button")]  # no "Gesprek als Word/Markdown"


def test_removed_user_is_logged_out_at_the_next_page_load(local_login) -> None:  # noqa: ANN001
    at = _asked(_log_in(AppTest.from_file(APP, default_timeout=60).run(), "anna"))
    local_login.remove_user("anna")
    at.run()
    assert not at.exception and not at.chat_input
    assert not _conversation(at)
    assert any("niet meer actief" in w.value for w in at.warning)


def test_narrowed_rights_clear_the_answers_given_under_the_old_ones(local_login) -> None:  # noqa: ANN001
    local_login.add_user("anna", PASSWORD, "gebruiker", {"algemeen", "hr"}, replace=True)
    at = _asked(_log_in(AppTest.from_file(APP, default_timeout=60).run(), "anna"))
    local_login.add_user("anna", PASSWORD, "gebruiker", {"algemeen"}, replace=True)
    at.run()
    assert not at.exception and at.chat_input  # still logged in, with the new rights
    assert not _conversation(at)
    assert at.session_state["user"].collections == {"algemeen"}


def test_login_guessing_is_throttled_per_address_whatever_the_name(local_login) -> None:  # noqa: ANN001
    """Point 8: rotating the typed name gave unlimited bcrypt work."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    for i in range(12):
        _log_in(at, f"gok{i}", "fout-wachtwoord")
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "Te veel inlogpogingen" in errors
    _log_in(at, "anna")  # the right password from this address is refused too, for now
    assert not at.chat_input
