"""Per-session context for the pages: the assistant, the logged-in user, shared helpers.

``app.py`` builds the assistant once per process (``st.cache_resource``) and puts it, with the
current user, into ``st.session_state`` before running the chosen page; the pages read them
here. The login itself follows ``RAG_APP__AUTH`` (see ``assistant.access``): ``none`` (only a
browser on this machine, without proxy headers, is the local beheerder; anyone else is
refused), ``local`` (a login form against the bcrypt user list, re-read on every page load)
or ``oidc`` (Streamlit's ``st.login``). A tab that changes hands (logout, another user, other
rights) is cleared completely (``bind_tab``); pages reach the model only through
``front_door``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from assistant.access import (
    Client,
    User,
    UserStore,
    anonymous_user,
    can_manage,
    oidc_user,
)
from assistant.audit import AuditLog
from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.limits import LOGIN_OVERALL, LOGIN_PER_ADDRESS, LoginThrottle, RateLimiter
from ui.components import ASSISTANT_KEY, plain, show_error

if TYPE_CHECKING:
    from assistant.frontdoor import FrontDoor
    from assistant.service import Assistant
    from assistant.settings import Settings

log = logging.getLogger(__name__)

USER_KEY = "user"
TAB_OWNER = "_tab_owner"  # who this tab's conversation belongs to (name, role, collections)

__all__ = [
    "USER_KEY",
    "audit_log",
    "can_manage",
    "current_user",
    "feedback_store",
    "front_door",
    "login",
    "rate_limiter",
    "set_context",
]


def set_context(assistant: Assistant, user: User) -> None:
    st.session_state[ASSISTANT_KEY] = assistant
    st.session_state[USER_KEY] = user


def current_user() -> User:
    user = st.session_state.get(USER_KEY)
    if user is None:
        raise AssistantError("U bent niet ingelogd; laad de pagina opnieuw.")
    return user


@st.cache_resource(show_spinner=False)
def _rate_limiter(per_minute: int) -> RateLimiter:
    return RateLimiter(per_minute)


def rate_limiter(settings: Settings) -> RateLimiter:
    """One limiter per process (all sessions), so a new tab does not reset the count."""
    return _rate_limiter(settings.app.rate_limit_per_minute)


@st.cache_resource(show_spinner=False)
def _login_throttle(per_address: int, overall: int) -> LoginThrottle:
    return LoginThrottle(per_address, overall)


def login_throttle(settings: Settings) -> LoginThrottle:
    """One per process: guessing from many tabs or under many names still counts."""
    return _login_throttle(LOGIN_PER_ADDRESS, LOGIN_OVERALL)


@st.cache_resource(show_spinner=False)
def _audit_log(data_dir: str, retention_days: int) -> AuditLog:
    from types import SimpleNamespace

    return AuditLog(SimpleNamespace(data_dir=data_dir, audit_retention_days=retention_days))


def audit_log(settings: Settings) -> AuditLog:
    return _audit_log(str(settings.app.data_dir), settings.app.audit_retention_days)


def front_door(assistant: Assistant) -> FrontDoor:
    """The one way the pages reach the model: limits, stripping and audit (frontdoor.py)."""
    from assistant.frontdoor import FrontDoor

    return FrontDoor(assistant, rate_limiter(assistant.settings), audit_log(assistant.settings))


def feedback_store(settings: Settings) -> FeedbackStore:
    return FeedbackStore.from_settings(settings)


# --------------------------------------------------------------------------- login


def login(settings: Settings) -> User | None:
    """The user of this session, or None after drawing a login form or a refusal (the caller
    stops). Another person, or the same person with other rights, than the one this tab
    belonged to gets a clean tab: no conversation, exports, briefing or cached answers."""
    mode = settings.app.auth
    logout: Callable[[], None] | None = None
    if mode == "none":
        user = _anonymous_login()
    elif mode == "oidc":
        user, logout = _oidc_login(settings), _oidc_logout
    else:
        user, logout = _local_login(settings), clear_tab
    if user is None:
        return None
    bind_tab(user)
    if logout is not None:
        _logout_button(user, logout)
    return user


def _identity(user: User) -> tuple[str, str, tuple[str, ...] | None]:
    shown = None if user.collections is None else tuple(sorted(user.collections))
    return (user.name, user.role, shown)


def bind_tab(user: User) -> None:
    """Forget everything of this tab when it now belongs to someone else (or other rights)."""
    if st.session_state.get(TAB_OWNER) != _identity(user):
        clear_tab()
        st.session_state[TAB_OWNER] = _identity(user)
        st.session_state[USER_KEY] = user


def clear_tab() -> None:
    """Logout: the conversation, exports, briefing, feedback widgets and the user, all gone.

    Everything the pages keep lives in ``st.session_state``; clearing all of it (not a list
    of known keys) also covers what a page adds later.
    """
    for key in list(st.session_state):
        del st.session_state[key]


def _anonymous_login() -> User | None:
    try:
        return anonymous_user(st.get_option("server.address"), client_of_session())
    except AssistantError as exc:
        st.title("Onderzoeksassistent")
        show_error(exc)
        return None


def client_of_session() -> Client:
    """This session's browser connection: its address and the headers of its request.

    Streamlit reports a loopback connection as ``ip_address = None``; the headers are empty
    only when no browser connection exists, which then counts as an unknown address.
    """
    headers = tuple((str(k), str(v)) for k, v in dict(st.context.headers).items())
    address = st.context.ip_address
    if address is None and headers:
        address = "127.0.0.1"
    return Client(address if isinstance(address, str) else None, headers)


def _oidc_login(settings: Settings) -> User | None:
    if not st.user.is_logged_in:
        st.title("Onderzoeksassistent")
        st.write("Log in met uw organisatieaccount om vragen te stellen.")
        st.button("Inloggen", type="primary", on_click=st.login)
        return None
    try:  # every run: the mapping file may have changed the rights since the last one
        return oidc_user(st.user, settings.app.data_dir / "oidc_roles.json")
    except AssistantError as exc:
        show_error(exc)
        st.button("Uitloggen", on_click=_oidc_logout)
        return None


def _oidc_logout() -> None:
    clear_tab()
    st.logout()


def _local_login(settings: Settings) -> User | None:
    users = UserStore.from_settings(settings)
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User):
        fresh = users.get(user.name)  # every page load: removed or changed since login?
        if fresh is not None:
            return fresh
        clear_tab()
        log.info("user %s no longer in the user list; logged out", user.name)
        st.warning("Uw account is niet meer actief. Log opnieuw in.")
    st.title("Onderzoeksassistent")
    with st.form("login"):
        name = st.text_input("Gebruikersnaam", autocomplete="username")
        password = st.text_input("Wachtwoord", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Inloggen", type="primary")
    if submitted:
        try:  # bcrypt costs CPU: limited per browser address and for the whole process
            login_throttle(settings).check(client_of_session().address)
        except AssistantError as exc:
            show_error(exc)
            return None
        found = users.verify(name.strip(), password)
        if found is None:
            st.error("Onbekende gebruikersnaam of onjuist wachtwoord.")
            log.info("failed login for %r", name.strip()[:64])
        else:
            clear_tab()
            st.session_state[USER_KEY] = found
            st.rerun()
    return None


def _logout_button(user: User, action: Callable[[], None]) -> None:
    with st.sidebar:
        st.caption(f"Ingelogd als {plain(user.name)}")
        st.button("Uitloggen", on_click=action, key="logout")
