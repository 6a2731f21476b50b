"""Language-model backends behind one method: ``stream(messages) -> Iterator[str]``.

``llamacpp`` (default) runs the embedded GGUF in-process: one loaded instance per process,
shared by every session and serialised by a FIFO gate, because llama.cpp's context is not
re-entrant and two interleaved questions would each run at half speed anyway. llama-cpp-python
reuses the KV cache for the longest common token prefix of consecutive prompts, so the fixed
system prompt (always first, byte-identical) is evaluated once, not per question; we warm it
at load. ``ollama`` talks to an Ollama server through langchain-ollama. ``openai`` talks to any
OpenAI-compatible server (vLLM, the llama.cpp server, Ollama's /v1, LM Studio, TGI) through the
official ``openai`` client: the server queues and batches, so several app replicas and the API
can share one model (no in-process gate, and so no queue position to show). ``fake`` is for
tests. Backends are imported only when chosen.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Protocol

from assistant.errors import BackendUnavailable
from assistant.settings import LLMSettings

log = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


class ChatModel(Protocol):
    """What the assistant needs of a model: stream the answer to a chat, piece by piece;
    ``warm`` evaluates a fixed prefix ahead of the first question (a no-op where nothing is
    cached), ``loaded`` says whether the first question will wait for the model to load."""

    label: str
    context_window: int

    @property
    def loaded(self) -> bool: ...

    def warm(self, messages: list[Message]) -> None: ...

    def stream(
        self, messages: list[Message], on_wait: Callable[[int], None] | None = None
    ) -> Iterator[str]: ...


class ModelGate:
    """First-come-first-served access to one model instance, with queue positions.

    ``position(ticket)`` lets the page show "u bent nummer 3 in de rij" while waiting.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._issued = 0  # tickets handed out so far
        self._serving = 0  # the ticket allowed to run now
        self._abandoned: set[int] = set()  # tickets that gave up waiting

    def take_ticket(self) -> int:
        with self._cond:
            self._issued += 1
            return self._issued - 1

    def position(self, ticket: int) -> int:
        """0 = running now; n = n questions ahead of this one."""
        with self._cond:
            return self._position(ticket)

    def _position(self, ticket: int) -> int:
        return max(
            0,
            ticket - self._serving - sum(1 for t in self._abandoned if self._serving <= t < ticket),
        )

    @property
    def busy(self) -> int:
        """Questions running or waiting."""
        with self._cond:
            return self._issued - self._serving - len(self._abandoned)

    @contextmanager
    def hold(
        self, ticket: int, timeout_s: float, on_wait: Callable[[int], None] | None = None
    ) -> Iterator[None]:
        """Wait for ``ticket``'s turn, run the block, then pass the turn on.

        Whatever leaves this early (the timeout, an exception from ``on_wait``, Streamlit's
        ``StopException``/``RerunException`` when a tab reruns or closes: ``BaseException``
        included) gives the ticket up, so a dead ticket never blocks the queue. ``on_wait``
        runs outside the lock: a slow page update must not stall the other sessions.
        """
        try:
            self._wait_turn(ticket, time.monotonic() + timeout_s, on_wait)
        except BaseException:
            self._give_up(ticket)
            raise
        try:
            yield
        finally:
            self._give_up(ticket)

    def _wait_turn(
        self, ticket: int, deadline: float, on_wait: Callable[[int], None] | None
    ) -> None:
        while True:
            with self._cond:
                self._skip_abandoned()
                if self._serving == ticket:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BackendUnavailable(
                        "Het taalmodel is te druk bezet; probeer het over een minuut opnieuw."
                    )
                position = self._position(ticket)
            if on_wait is not None:
                on_wait(position)
            with self._cond:
                if self._serving != ticket:
                    self._cond.wait(timeout=min(max(remaining, 0.0), 1.0))

    def _give_up(self, ticket: int) -> None:
        """The ticket is done (served or not): pass the turn on, or mark it abandoned."""
        with self._cond:
            if self._serving == ticket:
                self._serving += 1
            elif ticket > self._serving:
                self._abandoned.add(ticket)
            self._skip_abandoned()
            self._cond.notify_all()

    def _skip_abandoned(self) -> None:
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1


class LlamaCppChat:
    """The embedded model, in-process through llama-cpp-python."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.label = settings.label
        self.context_window = settings.n_ctx
        self.gate = _shared_gate(str(settings.model_file))

    @property
    def loaded(self) -> bool:
        """False until the first question (or ``warm``) has loaded the model into memory."""
        return _load_llama.cache_info().currsize > 0

    @property
    def llama(self) -> Any:
        return _load_llama(
            str(self.settings.model_file),
            self.settings.n_ctx,
            self.settings.n_threads,
            self.settings.seed,
        )

    def warm(self, messages: list[Message]) -> None:
        """Evaluate a fixed prefix once so later prompts that start with it skip it."""
        ticket = self.gate.take_ticket()
        with self.gate.hold(ticket, self.settings.timeout_s):
            self.llama.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)

    def stream(
        self, messages: list[Message], on_wait: Callable[[int], None] | None = None
    ) -> Iterator[str]:
        ticket = self.gate.take_ticket()
        with self.gate.hold(ticket, self.settings.timeout_s, on_wait):
            llama = self.llama
            for part in llama.create_chat_completion(
                messages=messages,
                max_tokens=self.settings.max_answer_tokens,
                temperature=self.settings.temperature,
                repeat_penalty=1.1,
                stream=True,
            ):
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


@lru_cache(maxsize=4)
def _shared_gate(key: str) -> ModelGate:
    return ModelGate()


@lru_cache(maxsize=1)
def _load_llama(path: str, n_ctx: int, n_threads: int, seed: int = 42) -> Any:
    from pathlib import Path

    if not Path(path).is_file():
        raise BackendUnavailable(
            "Het ingebouwde taalmodel is nog niet geïnstalleerd.",
            hint="zet het klaar met `make model`",
        )
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise BackendUnavailable(
            "llama-cpp-python is niet geïnstalleerd.", hint="installeer met `make install`"
        ) from exc
    log.info("loading %s (n_ctx=%d, threads=%d)", path, n_ctx, n_threads)
    return Llama(
        model_path=path,
        n_ctx=n_ctx,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        n_batch=512,
        seed=seed,
        verbose=False,
    )


class OllamaChat:
    """A model served by Ollama (production: a larger model on a GPU host)."""

    def __init__(self, settings: LLMSettings) -> None:
        from langchain_ollama import ChatOllama

        self.settings = settings
        self.label = settings.label
        self.context_window = settings.ollama_num_ctx
        self._chat = ChatOllama(
            model=settings.ollama_model,
            base_url=settings.ollama_host,
            num_ctx=settings.ollama_num_ctx,
            num_predict=settings.max_answer_tokens,
            temperature=settings.temperature,
            client_kwargs={"timeout": settings.timeout_s},
        )

    loaded = True  # the server holds the model; nothing loads in this process

    def warm(self, messages: list[Message]) -> None:
        """Nothing to warm here: the server keeps its own prompt cache."""

    def stream(
        self, messages: list[Message], on_wait: Callable[[int], None] | None = None
    ) -> Iterator[str]:
        try:
            for chunk in self._chat.stream([(m["role"], m["content"]) for m in messages]):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
        except Exception as exc:  # httpx.ConnectError, ollama.ResponseError, timeouts
            raise BackendUnavailable(
                f"Het taalmodel is niet bereikbaar op {self.settings.ollama_host} "
                f"({type(exc).__name__}).",
                hint="controleer of Ollama draait en het model "
                f"'{self.settings.ollama_model}' heeft (ollama pull)",
            ) from exc


class OpenAIChat:
    """A model behind an OpenAI-compatible ``/v1/chat/completions`` (mode ``openai``)."""

    def __init__(self, settings: LLMSettings) -> None:
        from openai import OpenAI

        self.settings = settings
        self.label = settings.label
        self.context_window = settings.openai_num_ctx
        key = settings.openai_api_key
        # everything explicit: the client would otherwise read OPENAI_API_KEY/OPENAI_BASE_URL
        self._client = OpenAI(
            base_url=settings.openai_base_url,
            api_key=key.get_secret_value() if key else "geen-sleutel",
            timeout=settings.timeout_s,
            max_retries=1,
        )

    loaded = True  # the server holds the model; nothing loads in this process

    def warm(self, messages: list[Message]) -> None:
        """Nothing to warm here: the server keeps its own prompt cache."""

    def stream(
        self, messages: list[Message], on_wait: Callable[[int], None] | None = None
    ) -> Iterator[str]:
        import openai

        try:
            parts: Any = self._client.chat.completions.create(
                model=self.settings.openai_model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self.settings.max_answer_tokens,
                temperature=self.settings.temperature,
                seed=self.settings.seed,
                stream=True,
            )
            for part in parts:
                delta = part.choices[0].delta.content if part.choices else None
                if delta:
                    yield delta
        except openai.APIStatusError as exc:
            raise BackendUnavailable(
                f"De modelserver op {self.settings.openai_base_url} gaf een fout "
                f"(HTTP {exc.status_code}).",
                hint=f"controleer of de server het model '{self.settings.openai_model}' heeft",
            ) from exc
        except openai.APIError as exc:  # connection refused, timeout, broken stream
            raise BackendUnavailable(
                f"Het taalmodel is niet bereikbaar op {self.settings.openai_base_url} "
                f"({type(exc).__name__}).",
                hint="controleer of de modelserver draait",
            ) from exc

    def ready(self) -> bool:
        """Whether the server answers ``GET /models`` (for the API's /readyz)."""
        try:
            self._client.with_options(timeout=3.0, max_retries=0).models.list()
        except Exception:
            return False
        return True


class FakeChat:
    """A scripted model for tests: ``reply(messages) -> str``, streamed word by word."""

    def __init__(
        self,
        reply: Callable[[list[Message]], str] | None = None,
        context_window: int = 4096,
        delay_s: float = 0.0,
    ) -> None:
        self.reply = reply or (lambda messages: "")
        self.label = "testmodel (fake)"
        self.context_window = context_window
        self.delay_s = delay_s
        self.calls: list[list[Message]] = []

    loaded = True

    def warm(self, messages: list[Message]) -> None:
        """Nothing to load or cache."""

    def stream(
        self, messages: list[Message], on_wait: Callable[[int], None] | None = None
    ) -> Iterator[str]:
        self.calls.append(messages)
        for word in self.reply(messages).split(" "):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield word + " "


def extractive_reply(messages: list[Message]) -> str:
    """The fake backend's default: the passage sentence that shares most words with the
    question (the first sentence of passage [1] on a tie), cited.

    Deterministic and grounded, so page tests and demos without a model show a real answer
    shape (markers, sources) that the citation check accepts, and one that is about the
    question, as a real model's answer would be.
    """
    user = messages[-1]["content"] if messages else ""
    blocks = re.findall(r"^\[(\d+)\][^\n]*\n(.+?)(?=\n\[\d+\] |\n\n|\Z)", user, flags=re.M | re.S)
    if not blocks:
        return "De bronnen beantwoorden deze vraag niet."
    asked = re.search(r"^Vraag:\s*(.+)$", user, flags=re.M)
    question = {w for w in re.findall(r"\w{4,}", (asked.group(1) if asked else "").lower())}
    best: tuple[int, str, str] | None = None
    for n, text in blocks:
        for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
            overlap = len(question & set(re.findall(r"\w{4,}", sentence.lower())))
            if sentence.strip(" …") and (best is None or overlap > best[0]):
                best = (overlap, n, sentence.strip())
    assert best is not None
    return f"{best[2].rstrip()} [{best[1]}]"


def make_chat_model(settings: LLMSettings) -> ChatModel:
    if settings.mode == "ollama":
        return OllamaChat(settings)
    if settings.mode == "openai":
        return OpenAIChat(settings)
    if settings.mode == "fake":
        return FakeChat(extractive_reply)
    return LlamaCppChat(settings)
