"""Start real server processes for the API tests: ``python -m assistant serve`` and
``python -m llama_cpp.server``, on free loopback ports, stopped (by pid) when done."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.settings import PROJECT_ROOT

QUIET = {
    "ANONYMIZED_TELEMETRY": "False",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "HF_HUB_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """The caller's environment without RAG_* settings, telemetry off, this worktree first."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RAG_")}
    env.update(QUIET, PYTHONPATH=str(PROJECT_ROOT))
    env.update(extra)
    return env


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers 200; fails early if ``proc`` died."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s ({last})")


@contextmanager
def running(
    args: list[str], env: dict[str, str], ready_url: str, log: Path, timeout_s: float = 300
) -> Iterator[subprocess.Popen]:
    """Run ``args`` (output to ``log``) until ``ready_url`` answers; stop it afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out)
        try:
            try:
                wait_http(ready_url, timeout_s, proc)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{exc}\n--- {log}:\n{log.read_text()[-3000:]}") from exc
            yield proc
        finally:
            for child in _children(proc.pid):  # e.g. the server under strace
                os.kill(child, signal.SIGTERM)
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def serve_args(port: int) -> list[str]:
    return [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)]


def llama_server_args(model: Path, port: int, n_ctx: int = 4096, threads: int = 2) -> list[str]:
    """The llama.cpp server that ships with llama-cpp-python (its ``[server]`` extra).

    ``--interrupt_requests False``: by default a new request cuts off the one being streamed,
    which would break every answer but the last under concurrent load.
    """
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        "qwen2.5-coder-0.5b",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        "--interrupt_requests",
        "False",
    ]


def create_token(env: dict[str, str], name: str, *extra: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "assistant.access", "token", "create", name, *extra],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]
