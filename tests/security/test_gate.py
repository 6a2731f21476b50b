"""Point 1 of issue #15: one click must not stop the model for everyone.

The embedded model is shared by every session through ``ModelGate``. Streamlit stops a
script that is waiting or streaming by raising a ``BaseException`` (``StopException``,
``RerunException``) when the user clicks something or closes the tab. Whatever is raised
where, the ticket must be given up and the next question served. The model itself is a
stand-in (``_load_llama`` patched): what is under test is the gate and the stream around it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.llm import LlamaCppChat, ModelGate
from assistant.settings import Settings


class TabClosed(BaseException):
    """What Streamlit raises in a script thread whose session reruns or goes away."""


class ScriptedLlama:
    """Stands in for ``llama_cpp.Llama``: streams words; optionally blocks or raises."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.block_first = False
        self.raise_after: int | None = None

    def create_chat_completion(self, messages: Any, stream: bool = False, **kw: Any) -> Iterator:
        self.started.set()
        if self.block_first:
            self.block_first = False
            assert self.release.wait(10)
        for i, word in enumerate("Het antwoord staat in de bron [1].".split()):
            if self.raise_after is not None and i == self.raise_after:
                self.raise_after = None
                raise TabClosed()
            yield {"choices": [{"delta": {"content": word + " "}}]}


@pytest.fixture
def chat(tmp_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    llama = ScriptedLlama()
    monkeypatch.setattr("assistant.llm._load_llama", lambda *a: llama)
    # its own model path: gates are shared per model file within a process
    llm = tmp_settings.llm.model_copy(update={"models_dir": tmp_path / "m", "timeout_s": 3.0})
    model = LlamaCppChat(llm)
    model.fake = llama  # type: ignore[attr-defined]
    return model


MESSAGES = [{"role": "user", "content": "Vraag: test"}]


def _answer(chat: Any, **kw: Any) -> str:
    return "".join(chat.stream(MESSAGES, **kw))


def test_base_exception_from_on_wait_gives_the_ticket_up(chat: Any) -> None:
    chat.fake.block_first = True
    first: list[str] = []
    runner = threading.Thread(target=lambda: first.append(_answer(chat)))
    runner.start()
    assert chat.fake.started.wait(5)  # ticket 0 holds the model

    def rerun(position: int) -> None:  # the user clicks a link while queued
        raise TabClosed()

    with pytest.raises(TabClosed):
        _answer(chat, on_wait=rerun)  # ticket 1 dies while waiting
    chat.fake.release.set()
    runner.join(5)
    t = time.perf_counter()
    served = _answer(chat)  # ticket 2: served at once, not "te druk bezet" after the timeout
    assert "antwoord" in served and time.perf_counter() - t < 2
    assert chat.gate.busy == 0


def test_base_exception_inside_the_stream_gives_the_model_back(chat: Any) -> None:
    chat.fake.raise_after = 2
    with pytest.raises(TabClosed):
        _answer(chat)
    assert "antwoord" in _answer(chat)
    assert chat.gate.busy == 0


def test_a_closed_tab_that_stops_reading_gives_its_place_up(chat: Any) -> None:
    """The page stops iterating mid-answer (tab closed) while a traceback still holds the
    token generator: ``AnswerStream.close`` gives the model back at once, without waiting
    for garbage collection, and the answer counts as interrupted."""
    from types import SimpleNamespace

    from assistant.service import AnswerStream

    stream = AnswerStream.__new__(AnswerStream)  # only the streaming half is under test
    stream.__dict__.update(
        _assistant=SimpleNamespace(chat=chat),
        messages=MESSAGES,
        passages=["p"],
        retrieval=SimpleNamespace(relevant=True),
        _on_wait=None,
        _parts=[],
        _done=False,
        _error=None,
        _inner=None,
        _closed_early=False,
        _t0=time.perf_counter(),
        timings={},
    )
    tokens = stream.tokens()
    next(tokens)  # the answer started: this ticket holds the model
    assert chat.gate.busy == 1
    stream.close()  # ``tokens`` is still referenced, as by a traceback frame
    assert chat.gate.busy == 0 and stream.interrupted
    t = time.perf_counter()
    assert "antwoord" in _answer(chat) and time.perf_counter() - t < 2


def test_gate_survives_base_exception_while_queued_behind_many() -> None:
    gate = ModelGate()
    first = gate.take_ticket()
    errors: list[BaseException] = []

    def queued() -> None:
        ticket = gate.take_ticket()
        try:

            def boom(position: int) -> None:
                raise TabClosed()

            with gate.hold(ticket, 5, boom):
                pass
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    with gate.hold(first, 5):
        threads = [threading.Thread(target=queued) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
    assert len(errors) == 3 and all(isinstance(e, TabClosed) for e in errors)
    last = gate.take_ticket()
    with gate.hold(last, 1):
        assert gate.position(last) == 0
