"""The chat page: questions, streamed answers, checked answers with their sources.

The canonical Streamlit chat loop: the conversation lives in ``st.session_state`` and is
replayed on every run; a new question is answered live (status → streamed draft → checked
answer, which replaces the draft) and appended. The draft is shown with every Markdown
character escaped (it is unchecked model text); the checked answer is sanitized and its
markers link to the source cards below it, where the quoted words are highlighted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import streamlit as st

from assistant.export import conversation_doc, to_docx, to_markdown
from assistant.safety import plain_stream_text
from ui.components import (
    ASSISTANT_KEY,
    current_assistant,
    fmt_seconds,
    link_markers,
    page_style,
    passages_of,
    plain,
    render_sources,
    run_page,
    safe_callback,
    sanitize_model_output,
    show_callback_error,
    sources_of,
)
from ui.session import current_user, feedback_store, front_door

if TYPE_CHECKING:
    from assistant.access import User
    from assistant.service import Answer, Assistant

MESSAGES = "chat_messages"
PENDING = "chat_pending_question"
PLACEHOLDER = "Stel een vraag over de rapporten…"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

STARTER_TEMPLATES = (
    "Wat zijn de belangrijkste uitkomsten van {title}?",
    "Welke cijfers noemt {organisation} in {title}?",
    "Welke zorgen of knelpunten beschrijft {title}?",
    "Welke aanbevelingen staan in {title}?",
)


# --------------------------------------------------------------------------- helpers


def starter_questions(assistant: Assistant, user: User | None = None, k: int = 4) -> list[str]:
    """Questions about the indexed documents the user may read (newest first), one per
    document."""
    manifest = assistant.store.manifest()
    if manifest is None:
        return []
    docs = sorted(
        (d for d in manifest.documents.values() if user is None or user.can_read(d.collection)),
        key=lambda d: d.date or "",
        reverse=True,
    )
    out: list[str] = []
    for i, doc in enumerate(docs[:k]):
        title = _short(doc.title or "", 70)
        if not title:
            continue
        organisation = _short(re.sub(r"\s*\(.*?\)", "", doc.organisation or ""), 40)
        template = STARTER_TEMPLATES[i % len(STARTER_TEMPLATES)]
        if "{organisation}" in template and not organisation:
            template = STARTER_TEMPLATES[0]
        out.append(template.format(title=f"„{title}”", organisation=organisation))
    return out


def _short(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary before ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-–") + "…"


def model_is_loaded(assistant: Assistant) -> bool:
    """False only for the embedded model before its first load (the first question waits)."""
    return assistant.chat.loaded


def _history(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _previous_passages(messages: list[dict[str, Any]]) -> list[Any]:
    """The passages of the last answer, for a follow-up that refers back to them."""
    for m in reversed(messages):
        if m.get("role") == "assistant" and m.get("answer") is not None:
            return list(m["answer"].passages)
    return []


def _find(messages: list[dict[str, Any]], mid: str) -> tuple[int, dict[str, Any]] | None:
    for i, m in enumerate(messages):
        if m.get("id") == mid:
            return i, m
    return None


# --------------------------------------------------------------------------- callbacks


def _ask_starter(question: str) -> None:
    st.session_state[PENDING] = question


def _new_conversation() -> None:
    st.session_state[MESSAGES] = []
    for key in [k for k in st.session_state if str(k).startswith(("fb_", "fbr_"))]:
        del st.session_state[key]


def _save_feedback(mid: str) -> None:
    messages = st.session_state.get(MESSAGES, [])
    found = _find(messages, mid)
    rating = st.session_state.get(f"fb_{mid}")
    if found is None or rating is None:
        return
    i, msg = found
    assistant = st.session_state[ASSISTANT_KEY]
    user = current_user()
    feedback_store(assistant.settings).record(
        msg["answer"],
        rating,
        remark=st.session_state.get(f"fbr_{mid}", "") or "",
        record_id=mid,
        history=_history(messages[: max(0, i - 1)]),
        user=user.name,
        scope=user.collections,
    )
    msg["feedback_saved"] = True


# --------------------------------------------------------------------------- drawing


def render_answer(msg: dict[str, Any]) -> None:
    """A checked answer with its sources, meta line and feedback widgets."""
    answer: Answer = msg["answer"]
    mid: str = msg["id"]
    if answer.query and answer.query.strip() != answer.question.strip():
        st.caption(f"Gezocht op: „{plain(answer.query)}”")
    items = sources_of(answer)
    numbers = [i.n for i in items]
    text = sanitize_model_output(answer.text)
    if answer.mode == "refusal":
        st.info(f"**Geen bronnen gevonden.** {text}", icon=":material/search_off:")
    elif answer.mode == "unavailable":
        st.warning(
            plain(answer.notice) or "Het taalmodel is niet beschikbaar.",
            icon=":material/cloud_off:",
        )
        if text and answer.text.strip() != answer.notice.strip():
            st.markdown(link_markers(text, mid, numbers))
    else:  # "answer", or "quotes" (whose text itself says they are literal quotes)
        st.markdown(link_markers(text, mid, numbers))
    if items:
        render_sources(items, mid)
    elif answer.mode == "unavailable" and answer.passages:
        render_sources(passages_of(answer), mid, title="Gevonden passages")
    seconds = answer.timings.get("total_s")
    st.caption(" · ".join(x for x in (plain(answer.model), fmt_seconds(seconds)) if x))
    _feedback_widgets(mid, msg)


def _feedback_widgets(mid: str, msg: dict[str, Any]) -> None:
    cols = st.columns([1, 5], vertical_alignment="center")
    with cols[0]:
        st.feedback("thumbs", key=f"fb_{mid}", on_change=safe_callback(_save_feedback), args=(mid,))
    if st.session_state.get(f"fb_{mid}") is not None:
        with cols[1]:
            st.text_input(
                "Toelichting (optioneel)",
                key=f"fbr_{mid}",
                placeholder="Wat klopte er wel of niet? Druk op Enter om op te slaan.",
                on_change=safe_callback(_save_feedback),
                args=(mid,),
                label_visibility="collapsed",
                max_chars=2000,
            )
        if msg.get("feedback_saved"):
            st.caption("Bedankt, uw feedback is lokaal opgeslagen.")


def _replay(msg: dict[str, Any]) -> None:
    with st.chat_message(msg["role"]):
        if msg["role"] == "user":
            st.markdown(plain(msg["content"]))
        else:
            render_answer(msg)


def _drafted(parts: Iterator[str], status: Any) -> Iterator[str]:
    """The model's raw pieces as escaped plain text (unchecked draft), status kept current."""
    first = True
    for part in parts:
        if first:
            status.update(label="Antwoord wordt geschreven…")
            first = False
        yield plain_stream_text(part)
    status.update(label="Antwoord wordt gecontroleerd tegen de bronnen…")


def _answer(assistant: Assistant, question: str, messages: list[dict[str, Any]]) -> None:
    user = current_user()
    history = _history(messages)
    with st.chat_message("user"):
        st.markdown(plain(question))
    with st.chat_message("assistant"):
        status_slot = st.empty()
        status = status_slot.status("Bezig met zoeken…", expanded=False)

        def on_wait(position: int) -> None:
            if not model_is_loaded(assistant):
                status.update(label="Model wordt geladen… (de eerste vraag duurt langer)")
            elif position > 0:
                status.update(label=f"U bent nummer {position} in de rij…")
            else:
                status.update(label="Antwoord wordt geschreven…")

        stream = front_door(assistant).answer(
            user,
            question,
            history,
            channel="followup" if history else "chat",
            on_wait=on_wait,
            previous=_previous_passages(messages),
        )
        draft = st.empty()
        if not stream.refused:
            status.update(
                label="Antwoord wordt geschreven…"
                if model_is_loaded(assistant)
                else "Model wordt geladen… (de eerste vraag duurt langer)"
            )
            try:
                with draft.container():
                    st.write_stream(_drafted(stream.tokens(), status))
            finally:  # a rerun or closed tab raises here: free the model, audit the cut
                stream.close()
        answer = stream.result()  # audited by the front door
        status_slot.empty()
        draft.empty()
        messages.append({"role": "user", "content": question})
        msg = {
            "role": "assistant",
            "content": answer.text,
            "answer": answer,
            "id": uuid.uuid4().hex[:12],
        }
        messages.append(msg)
        render_answer(msg)


def _starters(assistant: Assistant) -> None:
    questions = starter_questions(assistant, current_user())
    if not questions:
        st.info(
            "Er zijn nog geen documenten geïndexeerd. Voeg ze toe op de pagina Beheer.",
            icon=":material/info:",
        )
        return
    st.markdown("**Probeer bijvoorbeeld:**")
    for i, q in enumerate(questions):
        st.button(
            plain(q),
            key=f"starter_{i}",
            on_click=_ask_starter,
            args=(q,),
            icon=":material/lightbulb:",
        )


def _tools(assistant: Assistant, messages: list[dict[str, Any]]) -> None:
    answers = [m["answer"] for m in messages if m["role"] == "assistant"]
    row = st.container(horizontal=True, gap="small")
    row.button(
        "Nieuw gesprek",
        icon=":material/add_comment:",
        on_click=_new_conversation,
        disabled=not messages,
        key="new_conversation",
    )
    if not answers:
        return
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    model = assistant.chat.label
    row.download_button(
        "Gesprek als Word",
        data=lambda: to_docx(conversation_doc(answers, model=model)),
        file_name=f"gesprek-{stamp}.docx",
        mime=DOCX_MIME,
        icon=":material/download:",
        on_click="ignore",
        key="export_docx",
    )
    row.download_button(
        "Gesprek als Markdown",
        data=lambda: to_markdown(conversation_doc(answers, model=model)),
        file_name=f"gesprek-{stamp}.md",
        mime="text/markdown",
        icon=":material/download:",
        on_click="ignore",
        key="export_md",
    )


def _body() -> None:
    assistant = current_assistant()
    page_style()
    show_callback_error()
    st.title("Onderzoeksassistent")
    st.caption(
        "Vragen over de onderzoeksrapporten, beantwoord met bronvermelding. "
        "Klik op een nummer zoals [1] om de passage te zien."
    )
    messages: list[dict[str, Any]] = st.session_state.setdefault(MESSAGES, [])
    tools = st.container()
    starters = st.empty()
    for msg in messages:
        _replay(msg)
    limit = assistant.settings.app.max_question_chars
    typed = st.chat_input(PLACEHOLDER, max_chars=limit, submit_mode="disable", key="question")
    pending = st.session_state.pop(PENDING, None)  # a starter question that was clicked
    question = typed if isinstance(typed, str) and typed.strip() else pending
    if question and question.strip():
        starters.empty()
        run_page(lambda: _answer(assistant, question.strip(), messages))
    elif not messages:
        with starters.container():
            _starters(assistant)
    with tools:
        _tools(assistant, messages)


def page() -> None:
    run_page(_body)
