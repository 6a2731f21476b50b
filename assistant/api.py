"""The assistant as an HTTP service that speaks OpenAI's chat-completions protocol.

``python -m assistant serve`` (``make serve``) starts FastAPI under uvicorn:

* ``POST /v1/chat/completions``: the last user message is the question, earlier user and
  assistant messages the history (system messages from the client are ignored: the
  assistant's own system prompt and rules stay in charge). Non-streaming, or server-sent
  events in OpenAI's chunk format ending with ``data: [DONE]``.
* ``GET /v1/models``: ``onderzoeksassistent`` (all collections the token may read) and
  ``onderzoeksassistent:<collectie>`` per collection; the model picks the collection.
* ``GET /healthz`` (the process lives) and ``GET /readyz`` (index and model usable) for a
  load balancer; ``/docs`` and ``/redoc`` with the Swagger UI/ReDoc files served from this
  process (the ``fastapi-offline`` package ships them), never from a CDN.

Answers carry the [n] markers; the citations (document, title, date, page, quote, passage id)
come in an extra ``citations`` field (on the response, on the message, in the final stream
chunk) and as a Markdown source list appended to the text for clients that show only text.
Each passage id is in that list, so a follow-up sent with the history gets the previous
passages back as candidates (access-checked), as on the page.

Trade-offs, stated plainly:

* **Streaming sends only checked text.** The page shows the model's draft and then replaces
  it by the checked answer; OpenAI's protocol can only append, so an unchecked sentence sent
  once could never be taken back. While the model writes, the stream carries progress chunks
  (empty ``delta`` plus ``rag: {status, position, tokens}``: queue position, tokens written),
  which clients ignore and ``bench/load.py`` uses for its time to first token; the checked
  answer follows in one go. Plain clients therefore see the whole answer at once.
* **One process, one model gate.** With the embedded model every request waits in the same
  FIFO queue as the page's questions in that process; for many users point all replicas and
  the API at one model server (``RAG_LLM__MODE=openai``), which queues and batches itself.
* A client that disconnects does not stop its generation (llama.cpp cannot be interrupted
  between tokens from here); the answer is still audited.
* Rate limits live in the process, per token, as for the page (``assistant.limits``); every
  question goes through the page's front door (``assistant.frontdoor``), so the same
  stripping and audit apply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.access import User
from assistant.apikeys import TokenStore
from assistant.audit import AuditLog
from assistant.errors import AssistantError, IndexMissing
from assistant.export import note_text
from assistant.frontdoor import FrontDoor
from assistant.limits import RateLimited, RateLimiter
from assistant.llm import Message, OpenAIChat
from assistant.safety import sanitize_model_output
from assistant.service import Answer, Assistant
from assistant.settings import Settings

log = logging.getLogger(__name__)

SOURCES_HEADING = "**Bronnen**"
_PASSAGE_ID = re.compile(r"\(passage `([^`\s]{1,200})`\)")
_PROGRESS_EVERY_S = 0.5  # at most this often a "schrijven" progress chunk per stream


class ApiError(Exception):
    """An HTTP error with an OpenAI-style body and a Dutch message."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": None}}
        body["error"]["code"] = self.code
        return JSONResponse(body, status_code=self.status, headers=self.headers)


@dataclass
class ApiState:
    """What every request shares: the assistant, tokens, audit log and rate limiters."""

    settings: Settings
    assistant: Assistant
    tokens: TokenStore
    audit: AuditLog
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=64, thread_name_prefix="api")
    )
    warm_error: str = ""
    warmed: threading.Event = field(default_factory=threading.Event)
    _limiters: dict[int, RateLimiter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, assistant: Assistant | None = None) -> ApiState:
        return cls(
            settings,
            assistant or Assistant.from_settings(settings),
            TokenStore.from_settings(settings),
            AuditLog(settings),
        )

    def limiter(self, per_minute: int | None) -> RateLimiter:
        n = per_minute or self.settings.app.rate_limit_per_minute
        with self._lock:
            return self._limiters.setdefault(n, RateLimiter(n))

    def door(self, per_minute: int | None) -> FrontDoor:
        """The front door (as on the page) with this token's rate limit."""
        return FrontDoor(self.assistant, self.limiter(per_minute), self.audit)

    def deny(self, who: str, question: str, error: ApiError) -> ApiError:
        """Audit a refused request (401/403/429) and return the error to raise."""
        try:
            self.audit.record(
                user=who,
                question=question[: self.settings.app.max_question_chars],
                query="",
                passages_retrieved=[],
                passages_shown=[],
                answer=error.message,
                mode=f"denied_{error.status}",
            )
        except Exception:
            log.exception("audit record of a refused request failed")
        return error


@dataclass
class ApiQuestion:
    """One request's question as it came in (``assistant.question.Question`` is what
    ``Assistant.ask`` makes of its text)."""

    text: str
    history: list[Message]
    collections: set[str] | None = None  # asked for; None = all the principal may read
    previous_ids: list[str] = field(default_factory=list)
    end_user: str = ""  # OpenAI's ``user`` field: the client's own claim, for the audit log


@dataclass
class Progress:
    status: Literal["gezocht", "wachtrij", "schrijven", "controleren"]
    position: int = 0
    tokens: int = 0


def answer_for(
    state: ApiState,
    principal: User,
    rate_limit: int | None,
    question: ApiQuestion,
    on_progress: Callable[[Progress], None] | None = None,
) -> Answer:
    """Answer one question for an authenticated principal through the front door the page
    uses (``FrontDoor.answer(..., channel="api")``: rate limit, stripping, ``Assistant.ask``,
    audit). Raises ``ApiError`` (403/429, audited) or ``AssistantError`` (bad question) before
    any generation; blocking."""
    report = on_progress or (lambda p: None)
    who = principal.name + (f" ({question.end_user})" if question.end_user else "")
    try:
        collections = _allowed(principal, question.collections)
    except ApiError as exc:
        raise state.deny(who, question.text, exc) from None
    assistant = state.assistant
    previous = assistant.store.get_chunks(question.previous_ids) if question.previous_ids else []
    try:
        stream = state.door(rate_limit).answer(
            dataclasses.replace(principal, collections=collections),  # the model's collection
            question.text,
            question.history,
            channel="api",
            on_wait=lambda position: report(Progress("wachtrij", position=position)),
            previous=previous,
            audit_as=who,
        )
    except RateLimited as exc:
        error = ApiError(429, exc.message, "rate_limit_error", "rate_limit_exceeded")
        error.headers["Retry-After"] = "60"
        raise state.deny(who, question.text, error) from None
    with stream:  # a failure half-way is audited as interrupted
        report(Progress("gezocht"))
        for n, _ in enumerate(stream.tokens(), start=1):
            report(Progress("schrijven", tokens=n))
        report(Progress("controleren"))
        return stream.result()


def _allowed(principal: User, asked: set[str] | None) -> set[str] | None:
    """The collections to search: what was asked, if the principal may read all of it."""
    mine = principal.collections
    if mine is not None and not mine:
        raise ApiError(403, "Dit token heeft geen toegang tot documenten.", "permission_error")
    if asked is None:
        return None if mine is None else set(mine)
    denied = sorted(asked - mine) if mine is not None else []
    if denied:
        raise ApiError(
            403,
            f"Dit token heeft geen toegang tot de collectie {', '.join(denied)}.",
            "permission_error",
            "collection_not_allowed",
        )
    return set(asked)


# --------------------------------------------------------------------------- request / response


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(description="system, user or assistant")
    content: str | list[dict[str, Any]] | None = Field(
        None, description="Tekst, of een lijst delen waarvan de tekstdelen tellen."
    )

    def text(self) -> str:
        if isinstance(self.content, list):
            parts = [p for p in self.content if p.get("type") == "text"]
            return "\n".join(str(p.get("text", "")) for p in parts)
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens ...: accepted, ignored

    model: str | None = Field(None, description="onderzoeksassistent[:collectie]")
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    user: str | None = Field(None, max_length=200, description="eindgebruiker (audit)")
    collections: list[str] | None = Field(
        None, description="Alleen deze collecties doorzoeken (binnen die van het token)."
    )


def _question(body: ChatRequest, model_name: str) -> ApiQuestion:
    last = body.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise ApiError(
            400,
            "Het laatste bericht moet de vraag van de gebruiker zijn (role 'user').",
            "invalid_request_error",
        )
    history: list[Message] = []
    previous: list[str] = []
    for m in body.messages[:-1]:
        if m.role == "user":
            history.append({"role": "user", "content": m.text()})
        elif m.role == "assistant":
            answer, _, sources = m.text().partition("\n\n" + SOURCES_HEADING)
            history.append({"role": "assistant", "content": answer.strip()})
            previous = _PASSAGE_ID.findall(sources)[:20]  # the last answer's passages
    asked = _model_collections(body.model, model_name)
    if body.collections is not None:
        asked = (asked or set()) | {c.strip() for c in body.collections if c.strip()}
    return ApiQuestion(last.text().strip(), history, asked, previous, (body.user or "").strip())


def _model_collections(model: str | None, model_name: str) -> set[str] | None:
    if not model or model == model_name:
        return None
    base, sep, collection = model.partition(":")
    if base == model_name and sep and collection:
        return {collection}
    raise ApiError(
        404,
        f"Onbekend model '{model}'. Gebruik '{model_name}' of '{model_name}:<collectie>' "
        "(zie GET /v1/models).",
        "invalid_request_error",
        "model_not_found",
    )


def citations_of(answer: Answer) -> list[dict[str, Any]]:
    seen: set[tuple[int, str]] = set()
    out = []
    for c in answer.citations:
        if (c.n, c.quote) in seen:
            continue
        seen.add((c.n, c.quote))
        ch = c.chunk
        out.append(
            {
                "n": c.n,
                "document": ch.source,
                "title": ch.title,
                "organisation": ch.organisation,
                "date": ch.date,
                "page": ch.page,
                "quote": c.quote,
                "passage_id": ch.id,
            }
        )
    return out


def content_of(answer: Answer) -> str:
    """The answer as Markdown, with a source list for clients that show only text."""
    text = sanitize_model_output(answer.text)
    lines = [
        f"- [{c.n}] {sanitize_model_output(note_text(c.chunk, c.quote))} (passage `{c.chunk.id}`)"
        for c in answer.citations
    ]
    if lines:
        text += "\n\n" + SOURCES_HEADING + "\n\n" + "\n".join(dict.fromkeys(lines))
    return text


def _meta(answer: Answer) -> dict[str, Any]:
    return {
        "mode": answer.mode,
        "query": answer.query,
        "backend": answer.model,
        "notice": answer.notice,
        "timings": {k: round(v, 3) for k, v in answer.timings.items()},
    }


def completion_body(answer: Answer, model: str) -> dict[str, Any]:
    citations = citations_of(answer)
    message = {"role": "assistant", "content": content_of(answer), "citations": citations}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": None,
        "citations": citations,
        "rag": _meta(answer),
    }


def _chunk(cid: str, model: str, delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    finish = extra.pop("finish_reason", None)
    choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
    if "citations" in extra:
        choice["citations"] = extra["citations"]
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        **extra,
    }


# --------------------------------------------------------------------------- the app


bearer = HTTPBearer(
    auto_error=False,
    description="API-token van de toepassing: `python -m assistant.access token create NAAM`.",
)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _authenticate(
    state: ApiState,
    request: Request,
    creds: HTTPAuthorizationCredentials | None,
    question: str = "",
) -> tuple[User, int | None]:
    found = state.tokens.verify(creds.credentials) if creds is not None else None
    if found is None:
        client = request.client.host if request.client else "?"
        message = (
            "Geen geldig API-token. Stuur 'Authorization: Bearer <token>'; een beheerder "
            "maakt er een met `python -m assistant.access token create`."
        )
        error = ApiError(
            401, message, "authentication_error", "invalid_api_key", {"WWW-Authenticate": "Bearer"}
        )
        raise state.deny(f"api:anoniem@{client}", question, error)
    return found


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    from fastapi_offline import FastAPIOffline

    holder: dict[str, ApiState] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ApiState.from_settings(settings, assistant)
        app.state.api = holder["state"] = state
        threading.Thread(target=_warm, args=(state,), daemon=True, name="warm").start()
        yield
        state.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPIOffline(
        title="Onderzoeksassistent-API",
        version="1.0",
        description="Vragen over de onderzoeksrapporten, beantwoord met bronvermelding "
        "(OpenAI-compatibel: chat completions).",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    _add_error_handlers(app)
    _add_routes(app, settings)
    return app


def _warm(state: ApiState) -> None:
    """Load the model (and its prefix cache) before the first question; /readyz waits for it."""
    try:
        state.assistant.warm()
    except Exception as exc:  # reported by /readyz, and again by the first question
        log.warning("model warm-up failed: %s", exc)
        state.warm_error = str(exc)
    finally:
        state.warmed.set()


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(IndexMissing)
    async def index_missing(request: Request, exc: IndexMissing) -> JSONResponse:
        return ApiError(503, str(exc), "server_error", "index_missing").response()

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        return ApiError(400, exc.message, "invalid_request_error").response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        return ApiError(400, f"Ongeldig verzoek: {problems}", "invalid_request_error").response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Dit adres bestaat niet.", 405: "Deze methode kan hier niet."}
        message = messages.get(exc.status_code, "Het verzoek kon niet worden verwerkt.")
        return ApiError(exc.status_code, message, "invalid_request_error").response()

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request failed")
        message = "Er ging iets mis in de assistent; de fout is gelogd."
        return ApiError(500, message, "server_error").response()


def _readiness(state: ApiState) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        manifest = state.assistant.store.manifest()
        checks["index"] = "ok" if manifest else "ontbreekt (make index)"
    except Exception as exc:
        checks["index"] = f"fout: {type(exc).__name__}"
    chat = state.assistant.chat
    if not state.warmed.is_set():
        checks["model"] = "wordt geladen"
    elif state.warm_error:
        checks["model"] = state.warm_error
    elif isinstance(chat, OpenAIChat):  # a server of its own: ask whether it answers
        checks["model"] = "ok" if chat.ready() else f"niet bereikbaar ({chat.label})"
    else:
        checks["model"] = "ok" if chat.loaded else "niet geladen"
    return checks


def _add_routes(app: FastAPI, settings: Settings) -> None:
    model_name = settings.api.model_name

    @app.get("/healthz", tags=["beheer"], summary="Leeft het proces?")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["beheer"], summary="Zijn index en model bruikbaar?")
    async def readyz(request: Request) -> JSONResponse:
        state = _state(request)
        checks = await asyncio.get_running_loop().run_in_executor(None, _readiness, state)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "niet gereed", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/v1/models", tags=["openai"], summary="De modellen (collecties) van dit token")
    async def models(request: Request, creds: Credentials) -> dict[str, Any]:
        state = _state(request)
        principal, _ = _authenticate(state, request, creds)
        manifest = state.assistant.store.manifest()
        names = sorted({d.collection for d in manifest.documents.values()} if manifest else set())
        ids = [model_name] + [f"{model_name}:{c}" for c in names if principal.can_read(c)]
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "organisatie"} for i in ids]
        return {"object": "list", "data": data}

    @app.post(
        "/v1/chat/completions",
        tags=["openai"],
        summary="Een vraag stellen (OpenAI chat completions, ook streaming)",
    )
    async def chat_completions(
        body: ChatRequest,
        request: Request,
        creds: Credentials,
    ) -> Any:
        state = _state(request)
        last = body.messages[-1].text()
        principal, limit = _authenticate(state, request, creds, last)
        question = _question(body, model_name)
        model = body.model or model_name
        if body.stream:
            return await _stream(state, principal, limit, question, model)
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(
            state.pool, answer_for, state, principal, limit, question, None
        )
        return completion_body(answer, model)


async def _stream(
    state: ApiState, principal: User, limit: int | None, question: ApiQuestion, model: str
) -> EventSourceResponse:
    """Start the answer in a worker thread; refuse (4xx) before the stream if it is refused."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def push(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        try:
            push(answer_for(state, principal, limit, question, push))
        except BaseException as exc:  # handed to the request; a thread must not swallow it
            push(exc)

    loop.run_in_executor(state.pool, work)
    first = await queue.get()
    if isinstance(first, BaseException):
        raise first
    return EventSourceResponse(_events(first, queue, model), ping=15, sep="\n")


async def _events(first: Any, queue: asyncio.Queue[Any], model: str) -> AsyncIterator[str]:
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    yield _json(_chunk(cid, model, {"role": "assistant", "content": ""}))
    item, last_status, last_sent = first, "", 0.0
    while True:
        if isinstance(item, Progress):
            now = time.monotonic()
            if item.status != last_status or now - last_sent >= _PROGRESS_EVERY_S:
                last_status, last_sent = item.status, now
                rag = {"status": item.status, "position": item.position, "tokens": item.tokens}
                yield _json(_chunk(cid, model, {}, rag=rag))
        elif isinstance(item, Answer):
            citations = citations_of(item)
            yield _json(_chunk(cid, model, {"content": content_of(item)}))
            yield _json(
                _chunk(cid, model, {}, finish_reason="stop", citations=citations, rag=_meta(item))
            )
            break
        else:  # a bug after the stream began: tell the client in OpenAI's in-stream form
            log.error("streamed answer failed: %r", item)
            error = {"message": "Er ging iets mis in de assistent.", "type": "server_error"}
            yield _json({"error": error})
            break
        item = await queue.get()
    yield "[DONE]"


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


# --------------------------------------------------------------------------- command line


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """Run the API under uvicorn until stopped (Ctrl-C)."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=host or settings.api.host,
        port=port or settings.api.port,
        log_level="info",
        server_header=False,
        proxy_headers=False,  # behind a proxy, set --forwarded-allow-ips there instead
    )
    return 0
