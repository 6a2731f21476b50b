"""The one front door to the model: every question (chat, follow-up, briefing, API) comes in
here, with the same checks in the same order.

``FrontDoor.answer(principal, question, history, sources=..., channel=...)``:

1. **access**: the principal's collections (``User.ask_collections``; a user without any is
   refused in Dutch) are the filter ``Assistant.ask`` applies inside retrieval;
2. **rate limit**: one count per model call, per principal (a briefing of twelve
   sub-questions costs twelve, so "uitgebreid" cannot go around the limit);
3. **stripping**: chat-template control tokens come out of the question, the history and the
   chosen source names before anything else sees them;
4. ``Assistant.ask`` itself (wrapped, not re-implemented);
5. **audit**: exactly one record per question: the checked answer when ``result()`` is read,
   or, when the caller stops reading first (a closed tab, a dropped connection), a record with
   mode ``interrupted`` and the text written so far.

Trade-off: the door returns a stream (``GuardedStream``), not an answer, so the page can show
the draft while it is written; the price is that the caller must either read ``result()`` or
``close()`` it (a ``with`` block does the latter). A caller that does neither leaves the
audit record to garbage collection, which is why the page closes it in a ``finally``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from assistant.access import User
from assistant.limits import RateLimiter
from assistant.safety import strip_control_tokens

if TYPE_CHECKING:
    from assistant.audit import AuditLog
    from assistant.chunks import Chunk
    from assistant.llm import Message
    from assistant.service import Answer, AnswerStream, Assistant

log = logging.getLogger(__name__)

Channel = Literal["chat", "followup", "briefing", "api"]
INTERRUPTED = "interrupted"


class FrontDoor:
    """Access, rate limit, stripping and audit around ``Assistant.ask`` (see module doc)."""

    def __init__(self, assistant: Assistant, limiter: RateLimiter, audit: AuditLog | None) -> None:
        self.assistant = assistant
        self.limiter = limiter
        self.audit = audit

    def answer(
        self,
        principal: User,
        question: str,
        history: list[Message] | None = None,
        *,
        sources: Iterable[str] | None = None,
        channel: Channel = "chat",
        on_wait: Callable[[int], None] | None = None,
        previous: list[Chunk] | None = None,
        audit_as: str | None = None,
    ) -> GuardedStream:
        """Ask for ``principal``; raises a Dutch ``AssistantError`` when refused.
        ``audit_as``: the name in the audit record when it says more than the principal's
        (the API adds the client's end user; limits still count per principal)."""
        collections = principal.ask_collections()  # before counting: no access, no count
        self.limiter.check(principal)
        question = strip_control_tokens(question)
        history = [{**t, "content": strip_control_tokens(t["content"])} for t in history or []]
        chosen = {strip_control_tokens(s).strip() for s in sources or ()} - {""}
        stream = self._ask(question, history, collections, chosen, on_wait, previous)
        return GuardedStream(self, audit_as or principal.name, channel, collections, stream)

    def check_budget(self, principal: User, calls: int) -> None:
        """Refuse (Dutch ``RateLimited``, nothing counted) unless ``calls`` questions fit now:
        a briefing asks all its sub-questions or none."""
        principal.ask_collections()  # no access: refused before anything else
        self.limiter.check_budget(principal, calls)

    def _ask(
        self,
        question: str,
        history: list[Message],
        collections: set[str] | None,
        sources: set[str],
        on_wait: Callable[[int], None] | None,
        previous: list[Chunk] | None,
    ) -> AnswerStream:
        return self.assistant.ask(
            question,
            history,
            collections=collections,
            on_wait=on_wait,
            previous=previous,
            sources=sources or None,
        )

    def record(self, who: str, answer: Answer, channel: str, scope: set[str] | None) -> None:
        if self.audit is not None:
            self.audit.safe_record_answer(who, answer, channel=channel, scope=scope)

    def record_interrupted(
        self, who: str, stream: AnswerStream, channel: str, scope: set[str] | None
    ) -> None:
        if self.audit is None:
            return
        try:
            self.audit.record(
                user=who,
                question=stream.question,
                query=stream.query,
                passages_retrieved=[c.id for c in stream.passages],
                passages_shown=[],
                answer=stream.partial,
                mode=INTERRUPTED,
                timings=stream.timings,
                channel=channel,
                scope=scope,
            )
        except Exception:  # like safe_record_answer: never break the page over the log
            log.exception("audit record of an interrupted answer failed")


class GuardedStream:
    """An ``AnswerStream`` that is audited exactly once (see module doc)."""

    def __init__(
        self,
        door: FrontDoor,
        who: str,
        channel: str,
        scope: set[str] | None,
        stream: AnswerStream,
    ) -> None:
        self._door = door
        self._who = who
        self._channel = channel
        self._scope = scope
        self.stream = stream
        self._recorded = False

    def __getattr__(self, name: str) -> Any:  # question, query, passages, refused, ...
        return getattr(self.stream, name)

    def __enter__(self) -> GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tokens(self) -> Iterator[str]:
        try:
            yield from self.stream.tokens()
        finally:
            if self.stream.interrupted:
                self.close()

    def result(self) -> Answer:
        answer = self.stream.result()
        if not self._recorded:
            self._recorded = True
            self._door.record(self._who, answer, self._channel, self._scope)
        return answer

    def close(self) -> None:
        """Stop the model (its queue place goes to the next question); audit what was cut
        off. Harmless after ``result()``."""
        self.stream.close()
        if self.stream.interrupted and not self._recorded:
            self._recorded = True
            self._door.record_interrupted(self._who, self.stream, self._channel, self._scope)

    def __del__(self) -> None:  # the caller dropped it mid-answer without closing
        try:
            if not self._recorded and getattr(self.stream, "_inner", None) is not None:
                self.close()
        except Exception:
            pass
