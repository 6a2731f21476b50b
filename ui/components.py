"""Small drawing helpers shared by the pages: the error boundary, safe text, source cards.

Safety rules, kept in one place:

* model output is shown as Markdown text after ``sanitize_model_output`` (``assistant/safety``:
  no images, no raw HTML, no links to other addresses); the only links added are the page's
  own ``#bron-…`` anchors for the citation markers;
* ``unsafe_allow_html`` is used only for source cards, whose every piece of text goes through
  ``html.escape`` first (the quote is wrapped in ``<mark>`` after escaping);
* text typed by a user or taken from document metadata is shown with every Markdown character
  escaped (``plain``);
* nothing raises to the page: ``run_page`` turns an ``AssistantError`` into ``st.error`` with
  its Dutch message, and any other exception into a logged, short Dutch message.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from assistant.dates import age_flag, dutch_date, sort_key
from assistant.errors import AssistantError
from assistant.pages import SectionView, render_pdf_page, section_view, source_file
from assistant.safety import plain_stream_text, sanitize_model_output

if TYPE_CHECKING:
    from assistant.access import User
    from assistant.chunks import Chunk
    from assistant.service import Answer, Assistant

log = logging.getLogger(__name__)

__all__ = [
    "ASSISTANT_KEY",
    "GENERIC_ERROR",
    "SourceItem",
    "current_assistant",
    "highlight_html",
    "link_markers",
    "plain",
    "render_sidebar",
    "render_sources",
    "run_page",
    "safe_callback",
    "sanitize_model_output",
    "show_error",
    "source_card_html",
    "sources_of",
]

ASSISTANT_KEY = "assistant"
GENERIC_ERROR = "Er ging iets mis; de fout is vastgelegd."
LOCAL_ONLY = "Alles draait lokaal op deze machine; er gaat niets naar buiten."

T = TypeVar("T")


# --------------------------------------------------------------------------- errors


def show_error(exc: BaseException) -> None:
    """The one place an error reaches the page: a Dutch message, never a traceback."""
    if isinstance(exc, AssistantError):  # messages may hold file names or user text: escaped
        st.error(plain(exc.message), icon=":material/error:")
        if exc.hint:
            st.caption(f"Tip: {plain(exc.hint)}")
    else:
        st.error(GENERIC_ERROR, icon=":material/error:")


def run_page(body: Callable[[], None]) -> None:
    """Run a page body; errors become a Dutch message (Streamlit's rerun/stop pass through)."""
    try:
        body()
    except AssistantError as exc:
        log.warning("assistant error on page: %s", exc)
        show_error(exc)
    except Exception as exc:
        log.exception("page failed")
        show_error(exc)


def safe_callback(fn: Callable[..., T]) -> Callable[..., T | None]:
    """A widget callback that cannot show a traceback: errors are kept and shown next run."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T | None:
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            st.session_state["_callback_error"] = exc
        except Exception as exc:
            log.exception("callback failed")
            st.session_state["_callback_error"] = exc
        return None

    return wrapper


def show_callback_error() -> None:
    exc = st.session_state.pop("_callback_error", None)
    if exc is not None:
        show_error(exc)


def current_assistant() -> Assistant:
    """The assistant ``app.py`` built for this run."""
    assistant = st.session_state.get(ASSISTANT_KEY)
    if assistant is None:
        raise AssistantError("De assistent is nog niet gestart; laad de pagina opnieuw.")
    return assistant


# --------------------------------------------------------------------------- safe text


def plain(text: str) -> str:
    """``text`` with every Markdown character escaped: shown literally, never as markup."""
    return plain_stream_text(" ".join(str(text).split()))


_MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def link_markers(text: str, prefix: str, valid: Iterable[int]) -> str:
    """Turn citation markers ``[n]`` of sanitized text into links to the source cards."""
    numbers = set(valid)

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f"[\\[{n}\\]](#{anchor(prefix, n)})"

    text = re.sub(r"!(?=\[\d{1,3}\])", "! ", text)  # "!" + link would read as an image
    return _MARKER_RE.sub(repl, text)


def anchor(prefix: str, n: int) -> str:
    return f"bron-{prefix}-{n}"


# --------------------------------------------------------------------------- source cards


@dataclass(frozen=True)
class SourceItem:
    """A numbered source under an answer: the passage and the quoted words to highlight."""

    n: int
    chunk: Chunk
    quotes: tuple[str, ...] = ()


def _quote_span(text: str, quote: str) -> tuple[int, int] | None:
    quote = quote.strip()
    if not quote:
        return None
    pos = text.find(quote)
    if pos >= 0:
        return pos, pos + len(quote)
    words = quote.split()
    if not words:
        return None
    m = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return (m.start(), m.end()) if m else None


def highlight_html(text: str, quotes: Iterable[str]) -> str:
    """Escaped ``text`` with each quote wrapped in ``<mark>``; newlines as ``<br>``."""
    spans = sorted(s for s in (_quote_span(text, q) for q in quotes) if s)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out: list[str] = []
    pos = 0
    for start, end in merged:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    joined = re.sub(r"[ \t]*\n[ \t]*\n\s*", "<br><br>", "".join(out).strip())
    return re.sub(r"\s*\n\s*", "<br>", joined)


def source_meta(chunk: Chunk) -> str:
    parts = [chunk.organisation, dutch_date(chunk.date) or "zonder datum", f"p. {chunk.page}"]
    return ", ".join(p for p in parts if p)


def old_flag(chunk: Chunk, assistant: Assistant | None) -> str:
    """ "ouder dan 3 jaar" for a source older than the configured age, else ""."""
    if assistant is None:
        return ""
    return age_flag(chunk.date, assistant.today(), assistant.settings.sources.max_age_years)


_CARD_STYLE = (
    "border-left:4px solid #1f6feb;padding:0.35rem 0.75rem;margin:0 0 0.75rem 0;"
    "scroll-margin-top:4rem;"
)


def source_card_html(item: SourceItem, prefix: str, flag: str = "") -> str:
    """One source as a single-line HTML block (no blank line: Markdown leaves it alone)."""
    c = item.chunk
    title = html.escape(c.title or c.source)
    meta = html.escape(source_meta(c))
    if flag:
        meta += f' <span class="oa-oud">⚠ {html.escape(flag)}</span>'
    heading = f" · <i>{html.escape(c.heading)}</i>" if c.heading else ""
    body = highlight_html(c.text, item.quotes)
    return (
        f'<div class="oa-bron" id="{anchor(prefix, item.n)}" style="{_CARD_STYLE}">'
        f"<div><b>[{item.n}] {title}</b> — {meta}{heading}</div>"
        f'<div style="margin-top:0.3rem;line-height:1.5">{body}</div>'
        f"</div>"
    )


def sources_of(answer: Answer) -> list[SourceItem]:
    """The cited sources of an answer by marker number, with every quote to highlight (a
    passage that backs several sentences has one quote per sentence)."""
    by_n: dict[int, tuple[Chunk, list[str]]] = {}
    for c in answer.citations:
        _, quotes = by_n.setdefault(c.n, (c.chunk, []))
        if c.quote and c.quote not in quotes:
            quotes.append(c.quote)
    n_of_chunk = {c.chunk.id: c.n for c in answer.citations}
    checked = answer.checked
    for s in checked.sentences if checked is not None else ():
        if not s.quote or s.passage is None or not 1 <= s.passage <= len(answer.passages):
            continue
        n = n_of_chunk.get(answer.passages[s.passage - 1].id)
        if n is not None and s.quote not in by_n[n][1]:
            by_n[n][1].append(s.quote)
    return [SourceItem(n, chunk, tuple(q)) for n, (chunk, q) in sorted(by_n.items())]


def passages_of(answer: Answer) -> list[SourceItem]:
    """The passages an answer was given, numbered as the model saw them (no highlight)."""
    return [SourceItem(i, c) for i, c in enumerate(answer.passages, start=1)]


def render_sources(items: Sequence[SourceItem], prefix: str, title: str = "Bronnen") -> None:
    if not items:
        return
    assistant = st.session_state.get(ASSISTANT_KEY)
    with st.container(border=True):
        st.markdown(f"**{title}**")
        for item in items:
            flag = old_flag(item.chunk, assistant)
            st.markdown(source_card_html(item, prefix, flag), unsafe_allow_html=True)
            if assistant is not None:
                render_original(item, assistant.settings.ingest.corpus)


def render_original(item: SourceItem, corpus: Path) -> None:
    """The source as printed, in an expander under its card: the PDF page with the quote
    highlighted, or the passage in its section (``assistant.pages``)."""
    chunk = item.chunk
    try:
        path = source_file(corpus, chunk)
    except OSError:
        path = None
    if path is None:
        return
    is_pdf = path.suffix.lower() == ".pdf"
    label = f"Originele pagina {chunk.page}" if is_pdf else "Passage in zijn context"
    with st.expander(label, icon=":material/description:"):
        try:
            if is_pdf:
                image = render_pdf_page(path, chunk.page, item.quotes)
                st.image(image.png, width="stretch")
                st.caption(
                    f"Pagina {image.page} van {image.pages} zoals gedrukt; "
                    + (
                        "het citaat is geel gemarkeerd."
                        if image.found
                        else "het citaat staat niet precies zo op deze pagina."
                    )
                )
            else:
                view = section_view(path, chunk, item.quotes)
                if view is None:
                    st.caption("De passage is niet meer in het document te vinden.")
                else:
                    st.markdown(section_html(view), unsafe_allow_html=True)
        except Exception:  # a damaged file must not break the answer above it
            log.exception("original view of %s failed", chunk.source)
            st.caption("Het origineel kan niet worden getoond.")


def section_html(view: SectionView) -> str:
    """A passage in its section: heading, the passage tinted, the quotes marked (escaped)."""
    start, end = view.passage
    text = view.text
    cuts = sorted({0, start, end, len(text), *(x for m in view.marks for x in m)})
    out: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = html.escape(text[a:b])
        if any(m0 <= a and b <= m1 for m0, m1 in view.marks):
            piece = f"<mark>{piece}</mark>"
        if start <= a and b <= end:
            piece = f'<span class="oa-passage">{piece}</span>'
        out.append(piece)
    body = re.sub(r"\s*\n\s*", "<br>", "".join(out).strip())
    head = f"<div><b>{html.escape(view.heading)}</b></div>" if view.heading else ""
    before = "<div>…</div>" if view.cut_before else ""
    after = "<div>…</div>" if view.cut_after else ""
    return (
        f'<div class="oa-context" style="line-height:1.5">{head}{before}'
        f"<div>{body}</div>{after}</div>"
    )


def page_style() -> None:
    """A little CSS: the source a marker jumps to is tinted (``:target``). Not model output."""
    st.html(
        "<style>"
        ".oa-bron:target{background:rgba(31,111,235,0.10);}"
        ".oa-bron mark,.oa-context mark{background:#ffe58a;padding:0 0.1em;border-radius:2px;}"
        ".oa-context{color:#666;}.oa-passage{color:inherit;background:rgba(31,111,235,0.08);}"
        ".oa-context .oa-passage{color:#111;}.oa-oud{color:#b35c00;font-weight:600;}"
        "</style>"
    )


# --------------------------------------------------------------------------- sidebar


def render_sidebar(assistant: Assistant, user: User | None = None) -> None:
    """Which model and which documents are in use, and that everything stays local."""
    with st.sidebar:
        st.markdown("**Taalmodel**")
        st.caption(plain(assistant.chat.label))
        manifest = assistant.store.manifest()
        if manifest is None:
            st.markdown("**Documenten**")
            st.caption("Nog geen index; IT kan documenten toevoegen op de pagina Beheer.")
        else:
            docs = sorted(
                (
                    d
                    for d in manifest.documents.values()
                    if user is None or user.can_read(d.collection)
                ),
                key=lambda d: (sort_key(d.date), d.title or d.source),
                reverse=True,
            )
            with st.expander(f"Documenten in gebruik: {len(docs)}"):
                for d in docs:
                    st.caption(document_line(d, assistant))
        st.info(LOCAL_ONLY, icon=":material/lock:")


def document_line(doc: Any, assistant: Assistant) -> str:
    """ "• Titel · 4 september 2025", with the age flag of the beheer page for an old one
    (issue #17: a reader sees how old a source is before asking)."""
    limit = assistant.settings.sources.max_age_years
    flag = age_flag(doc.date, assistant.today(), limit)
    parts = [plain(doc.title or doc.source), dutch_date(doc.date) or "zonder datum"]
    return "• " + " · ".join(parts) + (f" · :orange[{flag}]" if flag else "")


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.1f} s".replace(".", ",")


def fmt_bytes(size: int | None) -> str:
    if size is None:
        return "onbekend"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return (f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}").replace(
                ".", ","
            )
        value /= 1024
    return f"{size} B"
