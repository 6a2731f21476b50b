"""The briefing page (HR): a cited summary on one topic, downloadable as Word or Markdown.

The work is ``assistant.briefing.make_briefing``; this page collects the topic, optional
documents and length, shows progress per sub-question and draws the result: sections with
points whose markers link to the source cards, where the quoted words are highlighted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import streamlit as st

from assistant.briefing import Briefing, BriefingSection, make_briefing, source_year
from assistant.chunks import Chunk
from assistant.export import to_docx, to_markdown
from ui.components import (
    SourceItem,
    current_assistant,
    fmt_seconds,
    link_markers,
    page_style,
    plain,
    render_sources,
    run_page,
    sanitize_model_output,
)
from ui.session import current_user, front_door

if TYPE_CHECKING:
    from assistant.service import Answer

RESULT = "briefing_result"
PREFIX = "briefing"
LENGTHS = ("kort", "normaal", "uitgebreid")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _file_stem(briefing: Briefing) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", briefing.topic.lower()).strip("-")[:40] or "briefing"
    return f"briefing-{slug}-{briefing.created_at:%Y%m%d-%H%M}"


def render_briefing(briefing: Briefing) -> None:
    st.subheader(f"Briefing: {plain(briefing.topic)}")
    scope = ", ".join(briefing.documents) if briefing.documents else "alle documenten"
    points = briefing.point_count
    sources = len(briefing.sources)
    st.caption(
        f"{points} {'punt' if points == 1 else 'punten'} uit {sources} "
        f"{'bron' if sources == 1 else 'bronnen'} · lengte "
        f"{briefing.length} · {plain(scope)} · {plain(briefing.model)} · "
        f"{fmt_seconds(briefing.seconds)}"
    )
    for notice in briefing.notices:
        st.warning(plain(notice), icon=":material/cloud_off:")
    stem = _file_stem(briefing)
    row = st.container(horizontal=True, gap="small")
    row.download_button(
        "Briefing als Word",
        data=lambda: to_docx(briefing.to_export()),
        file_name=f"{stem}.docx",
        mime=DOCX_MIME,
        on_click="ignore",
        icon=":material/download:",
        key="briefing_docx",
        type="primary",
    )
    row.download_button(
        "Briefing als Markdown",
        data=lambda: to_markdown(briefing.to_export()),
        file_name=f"{stem}.md",
        mime="text/markdown",
        on_click="ignore",
        icon=":material/download:",
        key="briefing_md",
    )
    numbers = [s.n for s in briefing.sources]
    chunks = {s.n: s.chunk for s in briefing.sources}
    for section in briefing.sections:
        st.markdown(f"#### {plain(section.title)}")
        if not section.points:
            st.caption("De bronnen zeggen hier niets over.")
            continue
        st.markdown("\n".join(_point_lines(section, chunks, numbers)))
    render_sources([SourceItem(s.n, s.chunk, tuple(s.quotes)) for s in briefing.sources], PREFIX)


def _point_lines(
    section: BriefingSection, chunks: dict[int, Chunk], numbers: list[int]
) -> list[str]:
    """Markdown lines of a section; in "Cijfers" a bold line per measure and each figure's
    source and year; an age note after a point that rests on an old source."""
    lines: list[str] = []
    measure = ""
    for p in section.points:
        if p.measure and p.measure != measure:
            lines.append(f"\n**{plain(p.measure)}**\n")
        measure = p.measure
        line = link_markers(f"{sanitize_model_output(p.text)} [{p.source}]", PREFIX, numbers)
        if section.key == "cijfers":
            line += f" ({plain(source_year(chunks[p.source]))})"
        if p.note:
            line += f" *{plain(p.note)}*"
        lines.append("- " + line)
    return lines


def _make(topic: str, documents: list[str], length: str) -> None:
    assistant = current_assistant()
    with st.status("Briefing wordt gemaakt…", expanded=True) as status:
        bar = st.progress(0.0, text="Vragen voorbereiden…")

        def progress(done: int, total: int, label: str) -> None:
            bar.progress(min(1.0, done / total) if total else 1.0, text=plain(label))
            status.update(label=f"Briefing wordt gemaakt… ({done} van {total} deelvragen)")

        user = current_user()
        door = front_door(assistant)

        def ask(question: str) -> Answer:  # every sub-question through the front door
            return door.answer(user, question, sources=documents, channel="briefing").result()

        briefing = make_briefing(
            assistant,
            topic,
            documents=documents or None,
            length=length,
            collections=user.ask_collections(),
            progress=progress,
            ask=ask,
            budget=lambda calls: door.check_budget(user, calls),
        )
        status.update(label="Briefing klaar", state="complete", expanded=False)
    st.session_state[RESULT] = briefing


def _body() -> None:
    assistant = current_assistant()
    page_style()
    st.title("Briefing maken")
    st.caption(
        "Een gestructureerde samenvatting over één onderwerp: aanleiding, kernpunten, "
        "cijfers en aanbevelingen. Elk punt is gecontroleerd tegen de bron en krijgt "
        "een voetnoot in de Word-versie."
    )
    manifest = assistant.store.manifest()
    user = current_user()
    titles = {
        d.source: (d.title or d.source)
        for d in (manifest.documents.values() if manifest else ())
        if user.can_read(d.collection)
    }
    with st.form("briefing_form"):
        topic = st.text_input(
            "Onderwerp", max_chars=200, placeholder="bijvoorbeeld: AI op de werkvloer"
        )
        documents = st.multiselect(
            "Alleen deze documenten (optioneel)",
            options=list(titles),
            format_func=lambda name: titles.get(name, name),
            placeholder="Alle documenten",
        )
        length = st.radio(
            "Lengte",
            LENGTHS,
            index=1,
            horizontal=True,
            help="kort: één deelvraag per onderdeel; normaal: twee; "
            "uitgebreid: drie (duurt langer).",
        )
        submitted = st.form_submit_button(
            "Maak briefing", type="primary", icon=":material/auto_awesome:"
        )
    if submitted:
        if not topic.strip():
            st.warning("Vul eerst een onderwerp in.")
        else:
            _make(topic, documents, length)
    briefing = st.session_state.get(RESULT)
    if isinstance(briefing, Briefing):
        render_briefing(briefing)


def page() -> None:
    run_page(_body)
