"""Shared fixtures for all tests.

* ``tmp_settings`` — ``load_settings()`` for a sandbox in ``tmp_path``: the index in
  ``tmp_path/"store"``, the documents folder ``tmp_path/"corpus"`` (created, empty), data in
  ``tmp_path/"data"``, fake embeddings (``HashEmbeddings``) and the fake LLM. ``RAG_*``
  variables of the caller's environment are removed and ``.env`` is not read; the sandbox
  values are also set as ``RAG_*`` environment variables (so code that calls
  ``load_settings()`` itself, and subprocesses started with ``os.environ``, see the same).
* ``make_pdf(path, pages, encrypt=None, title=None, footer=None)`` — also a fixture of that
  name — writes a PDF with fpdf2: one page per string (``"\\n"`` breaks lines, long lines
  wrap); an empty string gives a page with only a drawn rectangle (no text layer);
  ``footer`` is drawn at the bottom of each page, ``{page}`` replaced by the page number;
  ``title`` sets the PDF's /Title; ``encrypt`` is a user password (pypdf, RC4-128). Text is
  drawn with DejaVu Sans when installed (any Unicode), else Helvetica (cp1252 only).
* ``block_network`` (autouse) — ``socket.connect``/``connect_ex`` to anything but loopback
  (127.0.0.0/8, ::1, "localhost") or a Unix socket raises ``BlockedNetwork`` (a
  ``ConnectionError``), so no test reaches the internet or a LAN by accident. It patches this
  process only; subprocesses are not covered.
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# ----------------------------------------------------------------------------------------
# Settings sandbox
# ----------------------------------------------------------------------------------------


@pytest.fixture
def tmp_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - Settings
    from assistant.settings import load_settings

    for key in list(os.environ):
        if key.upper().startswith("RAG_"):
            monkeypatch.delenv(key)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    env = {
        "RAG_STORE__PATH": str(tmp_path / "store"),
        "RAG_INGEST__CORPUS": str(corpus),
        "RAG_APP__DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBEDDINGS__MODE": "fake",
        "RAG_LLM__MODE": "fake",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(_env_file=None)


# ----------------------------------------------------------------------------------------
# PDFs
# ----------------------------------------------------------------------------------------


def make_pdf(
    path: Path,
    pages: list[str],
    encrypt: str | None = None,
    title: str | None = None,
    footer: str | None = None,
) -> Path:
    """Write a PDF (see the module docstring); returns ``path``."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    if _FONT.is_file():
        pdf.add_font("dejavu", fname=str(_FONT))
        family = "dejavu"
    else:
        family = "helvetica"
    if title:
        pdf.set_title(title)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font(family, size=11)
        if text:
            pdf.set_xy(20, 20)
            pdf.multi_cell(170, 6, text)
        else:
            pdf.rect(30, 40, 120, 80)
        if footer:
            pdf.set_xy(20, 280)
            pdf.set_font(family, size=8)
            pdf.cell(170, 5, footer.replace("{page}", str(number)))
    data = bytes(pdf.output())
    if encrypt is not None:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        writer.encrypt(encrypt)
        buf = io.BytesIO()
        writer.write(buf)
        data = buf.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(name="make_pdf")
def make_pdf_fixture():  # noqa: ANN201 - the make_pdf function
    return make_pdf


# ----------------------------------------------------------------------------------------
# No network
# ----------------------------------------------------------------------------------------


class BlockedNetwork(ConnectionError):
    """A test tried to connect to a non-loopback address."""


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like
    host = str(address[0]).lower().strip("[]")
    return (
        host in ("localhost", "::1", "0:0:0:0:0:0:0:1", "ip6-localhost")
        or host.startswith("127.")
        or host.startswith("::ffff:127.")
    )


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise BlockedNetwork(f"test tried to connect to {address!r} (blocked in conftest.py)")

    def connect(self: socket.socket, address: object) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


def as_browser(monkeypatch: pytest.MonkeyPatch, address: str = "127.0.0.1", **headers: str) -> None:
    """Page tests (``AppTest``) have no browser connection: give the session one.

    ``address`` is the connection's remote address; ``headers`` are request headers
    (``X_Forwarded_For="10.0.0.9"`` becomes ``X-Forwarded-For``).
    """
    sent = (("Host", "localhost:8501"),) + tuple(
        (k.replace("_", "-"), v) for k, v in headers.items()
    )

    def client() -> object:
        from assistant.access import Client

        return Client(address, sent)

    monkeypatch.setattr("ui.session.client_of_session", client, raising=False)
    # the login throttle is per process (st.cache_resource): each page test starts afresh
    import ui.session

    throttle = getattr(ui.session, "_login_throttle", None)
    if throttle is not None:
        throttle.clear()
