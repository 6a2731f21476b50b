"""Access: local users with bcrypt, roles, collections, rate limiting, question length, OIDC."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
from pathlib import Path

import pytest

from assistant import access
from assistant.access import (
    User,
    UserStore,
    anonymous_user,
    can_manage,
    oidc_user,
    parse_collections,
)
from assistant.embeddings import HashEmbeddings
from assistant.errors import AssistantError
from assistant.limits import RateLimiter
from assistant.llm import FakeChat
from assistant.prompting import Prompts
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.store import Store

PASSWORD = "correct paard batterij"


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "data" / "users.json")


# --------------------------------------------------------------------------- local users


def test_add_and_verify_user(users: UserStore) -> None:
    users.add_user("anna", PASSWORD, "beheerder", {"algemeen", "hr"})
    user = users.verify("anna", PASSWORD)
    assert user is not None
    assert (user.name, user.role, user.collections) == ("anna", "beheerder", {"algemeen", "hr"})
    assert users.verify("anna", "fout wachtwoord!") is None
    assert users.verify("niemand", PASSWORD) is None


def test_file_format_is_hashed_and_owner_only(users: UserStore) -> None:
    users.add_user("bert", PASSWORD)
    raw = users.path.read_text()
    assert PASSWORD not in raw
    data = json.loads(raw)
    entry = data["users"]["bert"]
    assert entry["hash"].startswith("$2b$12$")
    assert entry["role"] == "gebruiker"
    assert entry["collections"] == "*"
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600


def test_password_rules_and_duplicates(users: UserStore) -> None:
    with pytest.raises(AssistantError, match="minstens"):
        users.add_user("anna", "kort")
    with pytest.raises(AssistantError, match="te lang"):
        users.add_user("anna", "x" * 73)
    with pytest.raises(AssistantError, match="gebruikersnaam"):
        users.add_user("../etc/passwd", PASSWORD)
    with pytest.raises(AssistantError, match="rol"):
        users.add_user("anna", PASSWORD, "root")  # type: ignore[arg-type]
    users.add_user("anna", PASSWORD)
    with pytest.raises(AssistantError, match="bestaat al"):
        users.add_user("anna", PASSWORD)
    users.add_user("anna", PASSWORD + "2", replace=True)
    assert users.verify("anna", PASSWORD) is None
    assert users.verify("anna", PASSWORD + "2") is not None
    assert users.verify("anna", "y" * 200) is None  # over bcrypt's limit: no exception


def test_unknown_user_costs_as_much_as_wrong_password(users: UserStore) -> None:
    """No timing oracle for which names exist: both paths run one bcrypt check."""
    users.add_user("anna", PASSWORD)
    users.verify("niemand", "x" * 12)  # warm the dummy hash

    def timed(name: str) -> float:
        t = time.perf_counter()
        users.verify(name, "verkeerd wachtwoord")
        return time.perf_counter() - t

    wrong = min(timed("anna") for _ in range(3))
    unknown = min(timed("niemand") for _ in range(3))
    assert unknown > 0.5 * wrong  # same order of magnitude (bcrypt dominates)


def test_file_changes_are_picked_up_and_damaged_file_is_reported(users: UserStore) -> None:
    other = UserStore(users.path)  # e.g. the CLI in another process
    users.add_user("anna", PASSWORD)
    assert other.verify("anna", PASSWORD) is not None
    users.path.write_text("{ geen json")
    with pytest.raises(AssistantError, match="onleesbaar"):
        other.verify("anna", PASSWORD)


def test_unknown_role_in_file_gets_least_rights(users: UserStore) -> None:
    users.add_user("anna", PASSWORD)
    data = json.loads(users.path.read_text())
    data["users"]["anna"]["role"] = "superuser"
    users.path.write_text(json.dumps(data))
    user = users.verify("anna", PASSWORD)
    assert user is not None and user.role == "gebruiker" and not can_manage(user)


def test_remove_and_list(users: UserStore) -> None:
    users.add_user("anna", PASSWORD, collections={"algemeen"})
    users.add_user("bert", PASSWORD)
    assert [u.name for u in users.users()] == ["anna", "bert"]
    assert users.remove_user("anna") and not users.remove_user("anna")
    assert users.get("anna") is None


def test_cli_add_user_with_password_stdin(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    rc = access.main(
        [
            "--users-file",
            str(path),
            "add-user",
            "carla",
            "--role",
            "beheerder",
            "--collections",
            "algemeen,hr",
            "--password-stdin",
        ]
    )
    out = capsys.readouterr()
    assert rc == 0
    assert "carla" in out.out and PASSWORD not in out.out + out.err
    user = UserStore(path).verify("carla", PASSWORD)
    assert user is not None and user.role == "beheerder" and user.collections == {"algemeen", "hr"}
    # the default for a gebruiker is only "algemeen"; getpass path with confirmation
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(access.getpass, "getpass", lambda prompt="": next(answers))
    assert access.main(["--users-file", str(path), "add-user", "dirk"]) == 0
    assert UserStore(path).get("dirk").collections == {"algemeen"}  # type: ignore[union-attr]
    # mismatch in the confirmation: refused, Dutch message, nothing written
    answers = iter([PASSWORD, PASSWORD + "x"])
    assert access.main(["--users-file", str(path), "add-user", "eva"]) == 2
    assert "niet gelijk" in capsys.readouterr().err
    assert UserStore(path).get("eva") is None
    assert access.main(["--users-file", str(path), "list-users"]) == 0
    listing = capsys.readouterr().out
    assert "carla\tbeheerder\talgemeen,hr" in listing and "$2b$" not in listing


# --------------------------------------------------------------------------- roles


def test_roles_and_collections() -> None:
    admin = User("a", "beheerder", None)
    user = User("b", "gebruiker", {"algemeen"})
    assert can_manage(admin) and not can_manage(user) and not can_manage(None)
    assert admin.can_read("hr") and user.can_read("algemeen") and not user.can_read("hr")
    assert admin.ask_collections() is None
    assert user.ask_collections() == {"algemeen"}
    with pytest.raises(AssistantError, match="geen toegang"):
        User("c", "gebruiker", set()).ask_collections()
    assert parse_collections("algemeen, hr") == {"algemeen", "hr"}
    assert parse_collections("*") is None
    with pytest.raises(AssistantError):
        parse_collections("HR Geheim")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("", False),
        (None, False),
    ],
)
def test_anonymous_user_manages_only_on_loopback(address, allowed) -> None:
    from assistant.access import Client

    browser = Client("127.0.0.1", (("Host", "localhost:8501"),))
    if allowed:
        assert anonymous_user(address, browser).role == "beheerder"
    else:
        with pytest.raises(AssistantError, match="RAG_APP__AUTH"):
            anonymous_user(address, browser)


# --------------------------------------------------------------------------- rate limit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_sliding_window_and_dutch_message() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    anna = User("anna")
    for _ in range(3):
        limiter.check(anna)
        clock.t += 10
    limiter.check("bert")  # other users have their own budget
    with pytest.raises(AssistantError) as info:
        limiter.check(anna)
    msg = info.value.message
    assert "3 vragen" in msg and "Wacht nog 30 seconden" in msg
    clock.t += 29.5  # the first question leaves the window at t0+60
    with pytest.raises(AssistantError, match="Wacht nog 1 seconde "):
        limiter.check(anna)
    clock.t += 0.5
    limiter.check(anna)  # refused attempts were not counted
    assert limiter.remaining(anna) == 0


def test_budget_for_several_calls_is_all_or_nothing_and_counts_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    for _ in range(3):
        limiter.check("anna")
    clock.t += 10
    for _ in range(2):
        limiter.check("anna")
    clock.t += 10  # 5 used, the oldest 20 s ago
    limiter.check_budget("anna", 5)  # exactly fits
    assert limiter.remaining("anna") == 5  # checking the budget counted nothing
    with pytest.raises(AssistantError) as info:
        limiter.check_budget("anna", 6)  # one of the first three must leave the window: 40 s
    assert "nog 5" in info.value.message and "Wacht nog 40 seconden" in info.value.message
    with pytest.raises(AssistantError) as info:
        limiter.check_budget("anna", 8)  # all first three must leave: still 40 s
    assert "Wacht nog 40 seconden" in info.value.message
    with pytest.raises(AssistantError) as info:
        limiter.check_budget("anna", 9)  # one of the later two must leave too: 50 s
    assert "Wacht nog 50 seconden" in info.value.message
    with pytest.raises(AssistantError, match="kortere lengte"):
        limiter.check_budget("bert", 11)  # never fits, however long one waits
    clock.t += 40
    limiter.check_budget("anna", 8)


def test_default_limit_allows_one_extended_briefing_for_a_fresh_user() -> None:
    from assistant.briefing import _plan, load_sections

    settings = load_settings()
    plan = _plan(load_sections(settings.prompts_dir), "AI", "uitgebreid")
    assert len(plan) == 12
    limiter = RateLimiter(settings.app.rate_limit_per_minute)
    limiter.check_budget("nieuw", len(plan))
    for _ in plan:
        limiter.check("nieuw")


def test_rate_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(50)
    ok: list[int] = []
    refused: list[int] = []

    def worker() -> None:
        for _ in range(20):
            try:
                limiter.check("gedeeld")
                ok.append(1)
            except AssistantError:
                refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 50 and len(refused) == 150


# --------------------------------------------------------------------------- question length


def test_question_length_is_checked_by_the_service(tmp_path: Path) -> None:
    """``Assistant.ask`` refuses over-long questions before any search (not duplicated here)."""
    settings = load_settings(app={"max_question_chars": 50}, store={"path": tmp_path / "index"})
    chat = FakeChat(lambda m: "mag niet aangeroepen worden")
    assistant = Assistant(
        settings,
        Store(settings.store, HashEmbeddings()),
        chat,
        HashEmbeddings(),
        Prompts.load(settings.prompts_dir),
    )
    with pytest.raises(AssistantError) as info:
        assistant.ask("Wat " + "heel " * 20 + "lang?")
    assert "te lang" in info.value.message and "maximaal 50" in info.value.message
    with pytest.raises(AssistantError, match="Stel een vraag"):
        assistant.ask("   ")
    assert chat.calls == []
    assert not (tmp_path / "index").exists()  # refused before the index was even opened


# --------------------------------------------------------------------------- OIDC


class FakeStUser(dict):
    """What ``st.user`` looks like after ``st.login`` (a dict subclass with ``to_dict``)."""

    def to_dict(self) -> dict:
        return dict(self)


MAPPING = {
    "roles_claim": "realm_access.roles",
    "default_role": "gebruiker",
    "default_collections": ["algemeen"],
    "roles": {
        "rag-beheer": {"role": "beheerder", "collections": "*"},
        "hr": {"role": "gebruiker", "collections": ["algemeen", "hr"]},
        "finance": {"role": "gebruiker", "collections": ["financien"]},
    },
    "users": {"Directeur@Org.nl": {"role": "beheerder", "collections": "*"}},
    "allowed_domains": ["org.nl"],
}


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "oidc_roles.json"
    path.write_text(json.dumps(MAPPING))
    return path


def _st(email: str, roles=None, **extra) -> FakeStUser:
    info = {"is_logged_in": True, "email": email, "email_verified": True, "name": "Iemand", **extra}
    if roles is not None:
        info["realm_access"] = {"roles": roles}
    return FakeStUser(info)


def test_oidc_roles_map_to_rights(mapping: Path) -> None:
    u = oidc_user(_st("p.de.vries@org.nl", ["hr", "finance", "onbekend"]), mapping)
    assert (u.name, u.role, u.collections) == (
        "p.de.vries@org.nl",
        "gebruiker",
        {"algemeen", "hr", "financien"},
    )
    admin = oidc_user(_st("beheer@org.nl", ["hr", "rag-beheer"]), mapping)
    assert admin.role == "beheerder" and admin.collections is None
    nobody = oidc_user(_st("nieuw@org.nl"), mapping)
    assert nobody.role == "gebruiker" and nobody.collections == {"algemeen"}
    boss = oidc_user(_st("directeur@org.nl", ["hr"]), mapping)  # per-user override
    assert boss.role == "beheerder" and boss.collections is None


def test_oidc_refuses_other_domains_and_anonymous(mapping: Path) -> None:
    with pytest.raises(AssistantError, match="geen toegang"):
        oidc_user(_st("iemand@gmail.com", ["rag-beheer"]), mapping)
    with pytest.raises(AssistantError, match="niet ingelogd"):
        oidc_user(FakeStUser({"is_logged_in": False}), mapping)


def test_oidc_without_mapping_file_gives_least_rights(tmp_path: Path) -> None:
    u = oidc_user(
        _st("x@elders.nl", roles=["rag-beheer"], roles_flat="a"), tmp_path / "bestaat-niet.json"
    )
    assert u.role == "gebruiker" and u.collections == {"algemeen"}


def test_oidc_roles_claim_as_string(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"roles_claim": "groups", "roles": {"hr": {"collections": ["hr"]}}}))
    u = oidc_user(
        FakeStUser(
            {"is_logged_in": True, "email": "a@b.nl", "email_verified": True, "groups": "hr, x"}
        ),
        path,
    )
    assert u.collections == {"hr"} and u.role == "gebruiker"
