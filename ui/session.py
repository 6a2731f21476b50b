"""Per-session context for the pages: the assistant, the logged-in user, shared helpers.

``app.py`` builds the assistant once per process (``st.cache_resource``) and puts it, with the
current user, into ``st.session_state`` before running the chosen page; the pages read them
here. The login itself follows ``RAG_APP__AUTH`` (see ``assistant.access``): ``none`` (one
local user, administrator only on loopback), ``local`` (a login form against the bcrypt user
list) or ``oidc`` (Streamlit's ``st.login``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import streamlit as st

from assistant.access import (
    Client,
    RateLimiter,
    User,
    UserStore,
    anonymous_user,
    can_manage,
    oidc_user,
)
from assistant.audit import AuditLog
from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from ui.components import ASSISTANT_KEY, plain, show_error

if TYPE_CHECKING:
    from assistant.service import Assistant
    from assistant.settings import Settings

log = logging.getLogger(__name__)

USER_KEY = "user"

__all__ = [
    "USER_KEY",
    "audit_log",
    "can_manage",
    "current_user",
    "feedback_store",
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
def _audit_log(data_dir: str, retention_days: int) -> AuditLog:
    from types import SimpleNamespace

    return AuditLog(SimpleNamespace(data_dir=data_dir, audit_retention_days=retention_days))


def audit_log(settings: Settings) -> AuditLog:
    return _audit_log(str(settings.app.data_dir), settings.app.audit_retention_days)


def feedback_store(settings: Settings) -> FeedbackStore:
    return FeedbackStore.from_settings(settings)


# --------------------------------------------------------------------------- login


def login(settings: Settings) -> User | None:
    """The user of this session, or None after drawing a login form (the caller stops)."""
    mode = settings.app.auth
    if mode == "none":
        try:
            return anonymous_user(st.get_option("server.address"), client_of_session())
        except AssistantError as exc:
            st.title("Onderzoeksassistent")
            show_error(exc)
            return None
    if mode == "oidc":
        return _oidc_login(settings)
    return _local_login(settings)


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
    try:
        user = oidc_user(st.user, settings.app.data_dir / "oidc_roles.json")
    except AssistantError as exc:
        show_error(exc)
        st.button("Uitloggen", on_click=st.logout)
        return None
    _logout_button(st.logout)
    return user


def _local_login(settings: Settings) -> User | None:
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User):
        _logout_button(_forget_user)
        return user
    st.title("Onderzoeksassistent")
    with st.form("login"):
        name = st.text_input("Gebruikersnaam", autocomplete="username")
        password = st.text_input("Wachtwoord", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Inloggen", type="primary")
    if submitted:
        try:  # slows down password guessing: the same limit as questions, per account name
            rate_limiter(settings).check(f"login:{name.strip().lower()}")
        except AssistantError as exc:
            show_error(exc)
            return None
        found = UserStore.from_settings(settings).verify(name.strip(), password)
        if found is None:
            st.error("Onbekende gebruikersnaam of onjuist wachtwoord.")
            log.info("failed login for %r", name.strip()[:64])
        else:
            st.session_state[USER_KEY] = found
            st.rerun()
    return None


def _forget_user() -> None:
    st.session_state.pop(USER_KEY, None)


def _logout_button(action: object) -> None:
    user = st.session_state.get(USER_KEY)
    with st.sidebar:
        if isinstance(user, User):
            st.caption(f"Ingelogd als {plain(user.name)}")
        st.button("Uitloggen", on_click=action, key="logout")  # type: ignore[arg-type]
