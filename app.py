"""The web page: ``streamlit run app.py`` (or ``make run``).

Only draws. Builds the assistant once per process (``st.cache_resource``, settings from
``load_settings()``), logs the user in, and runs one of three pages whose code lives in
``ui/``: Chat (managers), Briefing (HR) and Beheer (IT; administrators only).
"""

from __future__ import annotations

import logging
import os
import threading

import streamlit as st

from assistant.access import can_audit
from assistant.errors import AssistantError
from assistant.service import Assistant
from assistant.settings import Settings, load_settings
from ui.components import render_sidebar, run_page
from ui.session import can_manage, login, set_context

log = logging.getLogger("app")
os.umask(0o077)  # what this process writes (index, audit, feedback, uploads): owner-only


@st.cache_resource(show_spinner="De onderzoeksassistent wordt gestart…")
def build_assistant(_settings: Settings, key: str) -> Assistant:
    """One assistant per process and settings (``key``), shared by all sessions."""
    assistant = Assistant.from_settings(_settings)
    if _settings.llm.mode == "llamacpp":
        threading.Thread(target=_warm, args=(assistant,), name="warm-model", daemon=True).start()
    return assistant


def _warm(assistant: Assistant) -> None:
    """Load the embedded model in the background so the first question waits less."""
    try:
        assistant.warm()
    except AssistantError as exc:
        log.warning("model not warmed: %s", exc)
    except Exception:
        log.exception("model warm-up failed")


def main() -> None:
    settings = load_settings()
    assistant = build_assistant(settings, settings.model_dump_json())
    user = login(settings)
    if user is None:
        return
    set_context(assistant, user)
    pages = [
        st.Page(
            "ui/page_chat.py", title="Chat", icon=":material/chat:", url_path="chat", default=True
        ),
        st.Page(
            "ui/page_briefing.py",
            title="Briefing",
            icon=":material/description:",
            url_path="briefing",
        ),
    ]
    if can_manage(user) or can_audit(user):
        pages.append(
            st.Page(
                "ui/page_beheer.py",
                title="Beheer",
                icon=":material/admin_panel_settings:",
                url_path="beheer",
            )
        )
    current = st.navigation(pages)
    render_sidebar(assistant, user)
    current.run()


# An emoji icon becomes a data: URL; a ":material/…:" page icon would make the browser fetch
# the favicon from fonts.gstatic.com (found by tests/test_browser.py).
st.set_page_config(page_title="Onderzoeksassistent", page_icon="📚", layout="wide")
run_page(main)
