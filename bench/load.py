"""Load test: many people asking at once. Throughput, latency (p50/p95), queue wait, errors.

    .venv/bin/python bench/load.py                       # 20 questions, 20 at once, in-process
    RAG_LLM__MODE=fake .venv/bin/python bench/load.py    # pipeline only, no model
    .venv/bin/python bench/load.py --url http://127.0.0.1:8501 --sessions 5   # + real pages
    .venv/bin/python bench/load.py --api      # through the HTTP API: in-process model vs
                                              # llama.cpp server, side by side
    .venv/bin/python bench/load.py --api-url http://127.0.0.1:8502 --token rag_...  # running API

What it measures, honestly:

* **In-process (always)**: N threads call ONE shared ``Assistant`` object, exactly what
  Streamlit's ``@st.cache_resource`` shares between the browser sessions of a running page. So
  this is the server side of N simultaneous users: retrieval, the model gate (FIFO queue; the
  embedded llama.cpp model answers one question at a time), generation and the citation check.
  It does not measure Streamlit's websocket and rendering, which cost milliseconds next to
  seconds of generation.
* **Browser (``--url``)**: checks ``/_stcore/health``, then opens headless Chromium pages
  (Playwright, ``/usr/bin/chromium``) that type a question in the chat input and wait until
  the page has finished. This exercises the whole page, but against the app's own process and
  model; run it against an app with ``RAG_APP__AUTH=none`` (it cannot log in). Only loopback
  addresses are accepted, and every request the page makes to another host is blocked and
  counted: a non-zero "blocked" figure means the page tried to reach the internet.

* **API (``--api``)**: starts ``python -m assistant serve`` twice, on the index of
  ``RAG_STORE__PATH`` with a throw-away data folder and token: (a) with the embedded model
  in-process (``RAG_LLM__MODE=llamacpp``), (b) with ``RAG_LLM__MODE=openai`` against a
  ``python -m llama_cpp.server`` on the same GGUF that it also starts. N streamed questions at
  once with the official ``openai`` client (``AsyncOpenAI``). "First token" is the first
  progress chunk that reports a written token (the API streams only checked text, so
  "first text", when a plain client sees words, is also shown), "latency" the whole answer.

Bounded: at most ``--n`` questions, ``--concurrency`` at once, and ``--timeout`` seconds in total;
whatever has not finished then is reported as a timeout and the script exits by itself.
``RAG_LLM__MODE`` (and every other ``RAG_`` setting) comes from the environment, as for the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Same as the Makefile exports: no telemetry from anything this script starts.
for _k, _v in {
    "ANONYMIZED_TELEMETRY": "False",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "HF_HUB_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}.items():
    os.environ.setdefault(_k, _v)

QUESTIONS = [
    "Welke zorgen over de digitale werkomgeving hebben IT-professionals?",
    "Omarmen grote bedrijven AI sneller dan het mkb?",
    "Welk aandeel overweegt volgens Integron een nieuwe carrièrestap te zetten?",
    "Hoeveel mensen zijn er werkzaam in de Vlaamse social profit?",
    "Wat houdt het wetsvoorstel NLQF in dat in het HRM-rapport wordt genoemd?",
    "Naar welke zachte vaardigheden is in Vlaamse vacatures steeds meer vraag?",
    "Welke zorgen hebben medewerkers in de zorgsector over digitalisering?",
    "Waarom nemen organisaties in de social profit zelden het voortouw bij technologische "
    "vernieuwing?",
    "Welke twee ontwikkelingen hebben de digitale werkomgeving zoveel ingewikkelder gemaakt?",
    "Hoeveel AI-gebruikers zien zichzelf als ervaren?",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class Result:
    question: str
    ok: bool
    latency_s: float
    mode: str = ""
    first_token_s: float | None = None
    queue_wait_s: float | None = None
    first_text_s: float | None = None  # API: when the checked text arrived
    max_position: int = 0
    error: str = ""


@dataclass
class Report:
    kind: str
    backend: str
    n: int
    concurrency: int
    wall_s: float
    results: list[Result] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        ok = [r for r in self.results if r.ok]
        lat = [r.latency_s for r in ok]
        waits = [r.queue_wait_s for r in ok if r.queue_wait_s is not None]
        first = [r.first_token_s for r in ok if r.first_token_s is not None]
        text = [r.first_text_s for r in ok if r.first_text_s is not None]
        return {
            "kind": self.kind,
            "backend": self.backend,
            "questions": self.n,
            "concurrency": self.concurrency,
            "finished": len(self.results),
            "ok": len(ok),
            "errors": dict(Counter(r.error for r in self.results if not r.ok)),
            "modes": dict(Counter(r.mode for r in ok)),
            "wall_s": round(self.wall_s, 2),
            "throughput_per_min": round(60 * len(ok) / self.wall_s, 2) if self.wall_s else 0.0,
            "latency_s": _stats(lat),
            "first_token_s": _stats(first),
            "first_text_s": _stats(text),
            "queue_wait_s": _stats(waits),
            "max_queue_position": max((r.max_position for r in ok), default=0),
            **self.extra,
        }


def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: with 20 samples p95 is the 19th value)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(_pct(values, 95), 2),
        "mean": round(statistics.fmean(values), 2),
        "max": round(max(values), 2),
    }


# --------------------------------------------------------------------------- in-process


class GateTimer:
    """Records, per thread, how long ``gate.hold`` waited before the model was free.

    Instrumentation only: wraps the chat model's ``ModelGate.hold`` for this benchmark.
    """

    def __init__(self, chat: Any) -> None:
        self.local = threading.local()
        gate = getattr(chat, "gate", None)
        if gate is None:
            return  # fake/Ollama: no in-process queue
        original = gate.hold
        timer = self

        @contextmanager
        def hold(ticket: int, timeout_s: float, on_wait: Any = None):  # noqa: ANN202
            t = time.perf_counter()
            with original(ticket, timeout_s, on_wait):
                timer.local.wait = time.perf_counter() - t
                yield

        gate.hold = hold

    def take(self) -> float | None:
        value = getattr(self.local, "wait", None)
        self.local.wait = None
        return value


def run_inprocess(questions: list[str], n: int, concurrency: int, timeout_s: float) -> Report:
    from assistant.errors import AssistantError
    from assistant.service import Assistant
    from assistant.settings import load_settings

    settings = load_settings()
    t = time.perf_counter()
    assistant = Assistant.from_settings(settings)  # ONE object, shared by every thread
    assistant.warm()
    assistant.store.require_manifest()
    startup = time.perf_counter() - t
    timer = GateTimer(assistant.chat)
    print(
        f"in-process: {assistant.chat.label}; start-up {startup:.1f} s; "
        f"{n} questions, {concurrency} at once",
        file=sys.stderr,
    )

    def one(q: str) -> Result:
        positions = [0]
        t0 = time.perf_counter()
        try:
            stream = assistant.ask(q, on_wait=lambda p: positions.append(p))
            answer = stream.result()
            return Result(
                q,
                answer.mode != "unavailable",
                time.perf_counter() - t0,
                answer.mode,
                answer.timings.get("first_token_s"),
                timer.take(),
                max(positions),
                "" if answer.mode != "unavailable" else answer.notice,
            )
        except AssistantError as exc:
            return Result(q, False, time.perf_counter() - t0, error=exc.message)
        except Exception as exc:  # a bug: count it, keep going
            return Result(q, False, time.perf_counter() - t0, error=type(exc).__name__)

    report = Report(
        "in-process",
        assistant.chat.label,
        n,
        concurrency,
        0.0,
        extra={"startup_s": round(startup, 2)},
    )
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="session")
    start = time.perf_counter()
    futures = {pool.submit(one, questions[i % len(questions)]) for i in range(n)}
    deadline = start + timeout_s
    while futures and time.perf_counter() < deadline:
        done, futures = wait(
            futures, timeout=deadline - time.perf_counter(), return_when=FIRST_COMPLETED
        )
        for f in done:
            report.results.append(f.result())
            print(f"  {len(report.results)}/{n} done", file=sys.stderr)
    report.wall_s = time.perf_counter() - start
    for _ in futures:
        report.results.append(Result("", False, timeout_s, error="timeout (benchmark)"))
    pool.shutdown(wait=False, cancel_futures=True)
    return report


# --------------------------------------------------------------------------- browser


def check_health(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"--url must be a loopback address (127.0.0.1/localhost), not {host}")
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=10) as resp:
            body = resp.read().decode().strip()
    except (urllib.error.URLError, OSError) as exc:
        raise SystemExit(f"app not reachable at {url}: {exc} (start it with `make run`)") from exc
    if body != "ok":
        raise SystemExit(f"health check of {url} answered {body!r}, expected 'ok'")
    print(f"health {url}: ok", file=sys.stderr)


async def _browser_sessions(
    url: str, questions: list[str], sessions: int, concurrency: int, timeout_s: float, chromium: str
) -> Report:
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    report = Report("browser", url, sessions, concurrency, 0.0)
    blocked: list[str] = []
    sem = asyncio.Semaphore(concurrency)

    async def guard(route: Any) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in LOOPBACK:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async def one(browser: Any, q: str) -> Result:
        async with sem:
            context = await browser.new_context()
            await context.route("**/*", guard)
            page = await context.new_page()
            t0 = t_sent = time.perf_counter()
            step = "loading the page"
            try:
                await page.goto(url, wait_until="domcontentloaded", timeout=120_000)
                box = page.locator('[data-testid="stChatInput"] textarea')
                await box.wait_for(timeout=120_000)
                before = await page.locator('[data-testid="stChatMessage"]').count()
                step = "sending the question"
                for attempt in range(3):  # a keypress during a rerun can get lost: retry
                    await box.fill(q)
                    await box.press("Enter")
                    try:
                        await page.wait_for_function(
                            "n => document.querySelectorAll("
                            "'[data-testid=\"stChatMessage\"]').length > n",
                            arg=before,
                            timeout=20_000,
                            polling=250,
                        )
                        break
                    except PlaywrightTimeout:
                        if attempt == 2:
                            raise
                t_sent = time.perf_counter()
                step = "waiting for the answer"
                # done: question and answer are on the page and the script stopped running
                await page.wait_for_function(
                    """n => document.querySelectorAll('[data-testid="stChatMessage"]').length
                              >= n + 2
                         && !document.querySelector('[data-testid="stStatusWidget"]')""",
                    arg=before,
                    timeout=timeout_s * 1000,
                    polling=250,
                )
                await page.wait_for_timeout(500)  # a rerun right after the answer
                await page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=timeout_s * 1000,
                    polling=250,
                )
                errors = await page.locator('[data-testid="stAlertContentError"]').count()
                return Result(
                    q,
                    errors == 0,
                    time.perf_counter() - t_sent,
                    "page" if errors == 0 else "error",
                    error="" if errors == 0 else "error box on page",
                )
            except Exception as exc:
                return Result(
                    q, False, time.perf_counter() - t0, error=f"{type(exc).__name__} while {step}"
                )
            finally:
                await context.close()

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        start = time.perf_counter()
        tasks = [
            asyncio.ensure_future(one(browser, questions[i % len(questions)]))
            for i in range(sessions)
        ]
        done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for t in pending:
            t.cancel()
        report.wall_s = time.perf_counter() - start
        report.results = [t.result() for t in done]
        report.results += [
            Result("", False, timeout_s, error="timeout (benchmark)") for _ in pending
        ]
        await browser.close()
    report.extra["blocked_external_requests"] = len(blocked)
    report.extra["blocked_examples"] = sorted(set(blocked))[:5]
    return report


def run_browser(
    url: str, questions: list[str], sessions: int, concurrency: int, timeout_s: float
) -> Report | None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print(
            "browser sessions skipped: /usr/bin/chromium missing (make chromium)", file=sys.stderr
        )
        return None
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("browser sessions skipped: playwright not installed", file=sys.stderr)
        return None
    print(f"browser: {sessions} page sessions, {concurrency} at once", file=sys.stderr)
    return asyncio.run(
        _browser_sessions(url, questions, sessions, concurrency, timeout_s, chromium)
    )


# --------------------------------------------------------------------------- API


async def _api_questions(
    url: str, token: str, questions: list[str], n: int, concurrency: int, timeout_s: float
) -> tuple[list[Result], float]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url + "/v1", api_key=token, max_retries=0, timeout=timeout_s)
    sem = asyncio.Semaphore(concurrency)

    async def one(q: str) -> Result:
        async with sem:
            t0 = time.perf_counter()
            res = Result(q, False, 0.0)
            try:
                stream = await client.chat.completions.create(
                    model="onderzoeksassistent",
                    messages=[{"role": "user", "content": q}],
                    stream=True,
                )
                async for chunk in stream:
                    rag = (chunk.model_extra or {}).get("rag") or {}
                    now = time.perf_counter() - t0
                    if rag.get("status") == "wachtrij":
                        res.max_position = max(res.max_position, int(rag.get("position", 0)))
                    if rag.get("tokens") and res.first_token_s is None:
                        res.first_token_s = now
                    if chunk.choices and chunk.choices[0].delta.content and not res.first_text_s:
                        res.first_text_s = now
                    if "mode" in rag:
                        res.mode = rag["mode"]
                        res.error = rag.get("notice", "")
                res.ok = res.mode not in ("", "unavailable")
            except Exception as exc:  # count it, keep going
                res.error = f"{type(exc).__name__}: {str(exc)[:80]}"
            res.latency_s = time.perf_counter() - t0
            return res

    start = time.perf_counter()
    tasks = [asyncio.ensure_future(one(questions[i % len(questions)])) for i in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for t in pending:
        t.cancel()
    results = [t.result() for t in done]
    results += [Result("", False, timeout_s, error="timeout (benchmark)") for _ in pending]
    await client.close()
    return results, time.perf_counter() - start


def run_api(
    url: str, token: str, label: str, questions: list[str], n: int, concurrency: int, t: float
) -> Report:
    print(f"API {label}: {n} questions, {concurrency} at once ({url})", file=sys.stderr)
    results, wall = asyncio.run(_api_questions(url, token, questions, n, concurrency, t))
    return Report("api", label, n, concurrency, wall, results)


def run_api_backends(questions: list[str], n: int, concurrency: int, timeout_s: float) -> list:
    """Both backends, each behind its own ``python -m assistant serve`` (see the docstring)."""
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from api_helpers import (
        base_env,
        create_token,
        free_port,
        llama_server_args,
        running,
        serve_args,
    )

    from assistant.settings import load_settings

    settings = load_settings()  # the index of RAG_STORE__PATH, as for the app
    tmp = Path(tempfile.mkdtemp(prefix="load-api-"))
    env = base_env(
        RAG_STORE__PATH=str(settings.store.path),
        RAG_APP__DATA_DIR=str(tmp / "data"),
        RAG_LLM__TIMEOUT_S=str(max(timeout_s, 60)),
    )
    token = create_token(env, "load", "--collections", "*", "--rate-limit", "10000")
    reports = []
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(serve_args(port), env, url + "/readyz", tmp / "serve-a.log", 600):
        label = "in-process llama.cpp (RAG_LLM__MODE=llamacpp)"
        reports.append(run_api(url, token, label, questions, n, concurrency, timeout_s))
    model_port, port = free_port(), free_port()
    env_b = {
        **env,
        "RAG_LLM__MODE": "openai",
        "RAG_LLM__OPENAI_BASE_URL": f"http://127.0.0.1:{model_port}/v1",
    }
    llama = llama_server_args(settings.llm.model_file, model_port, settings.llm.n_ctx)
    model_url = f"http://127.0.0.1:{model_port}/v1/models"
    with running(llama, env, model_url, tmp / "llama-server.log", 600):
        url = f"http://127.0.0.1:{port}"
        with running(serve_args(port), env_b, url + "/readyz", tmp / "serve-b.log", 600):
            label = "llama.cpp server (RAG_LLM__MODE=openai)"
            reports.append(run_api(url, token, label, questions, n, concurrency, timeout_s))
    print(f"server logs: {tmp}", file=sys.stderr)
    return reports


def _print_side_by_side(summaries: list[dict[str, Any]]) -> None:
    def cell(s: dict[str, float] | None, key: str) -> str:
        return "-" if not s else f"{s[key]:.1f}"

    rows = [
        ("questions ok", lambda s: f"{s['ok']}/{s['questions']}"),
        ("first token p50 s", lambda s: cell(s["first_token_s"], "p50")),
        ("first token p95 s", lambda s: cell(s["first_token_s"], "p95")),
        ("first text p50 s", lambda s: cell(s["first_text_s"], "p50")),
        ("total p50 s", lambda s: cell(s["latency_s"], "p50")),
        ("total p95 s", lambda s: cell(s["latency_s"], "p95")),
        ("wall s", lambda s: f"{s['wall_s']:.1f}"),
        ("answers/min", lambda s: f"{s['throughput_per_min']:.2f}"),
        ("errors", lambda s: str(sum(s["errors"].values()))),
    ]
    width = 34
    print("\n" + " " * 20 + "".join(s["backend"][:width].ljust(width + 2) for s in summaries))
    for name, fn in rows:
        print(name.ljust(20) + "".join(fn(s).ljust(width + 2) for s in summaries))
    for s in summaries:
        if s["errors"]:
            print(f"errors {s['backend']}: {s['errors']}")


# --------------------------------------------------------------------------- main


def _load_questions(path: str | None) -> list[str]:
    if not path:
        return QUESTIONS
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            item = json.loads(line)
            if item.get("history"):  # follow-ups need their conversation; skip them
                continue
            out.append(item["question"])
        else:
            out.append(line)
    return out or QUESTIONS


def _print(summary: dict[str, Any]) -> None:
    def fmt(s: dict[str, float] | None) -> str:
        return "-" if not s else f"p50 {s['p50']} s, p95 {s['p95']} s, max {s['max']} s"

    print(f"\n== {summary['kind']}: {summary['backend']}")
    print(
        f"questions {summary['questions']} (concurrency {summary['concurrency']}), "
        f"ok {summary['ok']}, wall {summary['wall_s']} s, "
        f"throughput {summary['throughput_per_min']} answers/min"
    )
    print(f"latency      {fmt(summary['latency_s'])}")
    print(f"first token  {fmt(summary['first_token_s'])}")
    if summary.get("first_text_s"):
        print(f"first text   {fmt(summary['first_text_s'])}")
    print(
        f"queue wait   {fmt(summary['queue_wait_s'])}; "
        f"deepest queue position {summary['max_queue_position']}"
    )
    print(f"modes {summary['modes']}; errors {summary['errors'] or 'none'}")
    if "blocked_external_requests" in summary:
        print(f"blocked external requests: {summary['blocked_external_requests']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20, help="questions in total (default 20)")
    ap.add_argument("--concurrency", type=int, default=20, help="at once (default 20)")
    ap.add_argument(
        "--timeout", type=float, default=600.0, help="seconds for each phase in total (default 600)"
    )
    ap.add_argument("--questions", help="file: one question per line, or JSONL with 'question'")
    ap.add_argument("--url", help="also drive the running page, e.g. http://127.0.0.1:8501")
    ap.add_argument(
        "--sessions", type=int, default=None, help="browser page sessions (default: --n)"
    )
    ap.add_argument("--browser-only", action="store_true", help="skip the in-process phase")
    ap.add_argument(
        "--api", action="store_true", help="through the API: in-process vs llama.cpp server"
    )
    ap.add_argument("--api-url", help="a running API instead, e.g. http://127.0.0.1:8502")
    ap.add_argument("--token", default=os.environ.get("RAG_API_TOKEN", ""), help="for --api-url")
    ap.add_argument("--json", help="also write the summaries to this file")
    args = ap.parse_args(argv)
    n = max(1, min(args.n, 1000))
    concurrency = max(1, min(args.concurrency, 100))
    questions = _load_questions(args.questions)

    summaries = []
    if args.api or args.api_url:
        if args.api_url:
            t = args.timeout
            reports = [
                run_api(args.api_url, args.token, args.api_url, questions, n, concurrency, t)
            ]
        else:
            reports = run_api_backends(questions, n, concurrency, args.timeout)
        summaries = [r.summary() for r in reports]
        for summary in summaries:
            _print(summary)
        _print_side_by_side(summaries)
    if args.url:
        check_health(args.url)
    if not args.browser_only and not (args.api or args.api_url):
        report = run_inprocess(questions, n, concurrency, args.timeout)
        summaries.append(report.summary())
        _print(summaries[-1])
    if args.url:
        sessions = max(1, min(args.sessions or n, 100))
        browser = run_browser(
            args.url, questions, sessions, min(concurrency, sessions), args.timeout
        )
        if browser is not None:
            summaries.append(browser.summary())
            _print(summaries[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, ensure_ascii=False, indent=2))
    sys.stdout.flush()
    # threads still inside a generation cannot be interrupted; do not wait for them
    os._exit(0 if all(s["ok"] == s["questions"] for s in summaries) else 1)


if __name__ == "__main__":
    main()
