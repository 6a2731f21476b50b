"""What the user gets when something breaks: a Dutch message and, where possible, the passages.

Each test breaks one thing for real (a closed port, a model that is too slow, a tiny context
window, a missing or corrupt index, a disk that fills up during ingest) and checks what the
user sees. A test marked ``xfail(strict=True)`` documents a gap found here: it fails today and
turns into an "XPASS" failure the day the gap is fixed, so the marker gets removed.
"""

from __future__ import annotations

import errno
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from assistant.dutch.language import is_dutch
from assistant.errors import AssistantError, IndexMissing
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import Store

QUESTION = "Hoeveel procent van de werknemers gebruikt AI in het werk?"

DOCS = {
    "ai_werk.txt": (
        "Uit het onderzoek van Integron blijkt dat 26 procent van de werknemers AI actief "
        "gebruikt in het werk. Grotere bedrijven omarmen AI meer dan het mkb.\n\n"
        "De meeste gebruikers zien zichzelf nog als beginner.\n"
    ),
    "zorg.txt": (
        "De zorgsector kampt met een groot personeelstekort. Veel verpleegkundigen ervaren "
        "digitale stress door nieuwe systemen.\n"
    ),
}


def _update(settings: Settings, **sections: dict) -> Settings:
    """A copy of ``settings`` with some fields of some sections changed."""
    return settings.model_copy(
        update={
            name: getattr(settings, name).model_copy(update=values)
            for name, values in sections.items()
        }
    )


@pytest.fixture
def settings(tmp_settings: Settings) -> Settings:
    # Hash embeddings do not reach e5's similarity range: no relevance floor in these tests.
    return _update(tmp_settings, retrieval={"relevance_floor": 0.0})


def _ingest(settings: Settings, docs: dict[str, str] = DOCS):  # noqa: ANN202 - SyncReport
    from assistant.embeddings import make_embeddings
    from ingest.sync import sync

    for name, text in docs.items():
        (settings.ingest.corpus / name).write_text(text, encoding="utf-8")
    return sync(settings, Store(settings.store, make_embeddings(settings.embeddings)))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


# --------------------------------------------------------------------------- model backend


def test_ollama_down_gives_dutch_notice_and_the_passages(settings: Settings) -> None:
    _ingest(settings)
    down = _update(
        settings,
        llm={
            "mode": "ollama",
            "timeout_s": 10.0,
            "ollama_host": f"http://127.0.0.1:{_closed_port()}",
        },
    )
    assistant = Assistant.from_settings(down)
    t = time.perf_counter()
    answer = assistant.answer(QUESTION)
    assert time.perf_counter() - t < 10  # refused connection: no long hang
    assert answer.mode == "unavailable"
    assert "niet bereikbaar" in answer.notice and is_dutch(answer.notice)
    # the relevant passages are still there, shown as quotes
    assert any(c.source == "ai_werk.txt" for c in answer.passages)
    assert "26 procent" in answer.text
    assert answer.text.startswith("Het taalmodel is op dit moment niet beschikbaar")
    assert any(c.chunk.source == "ai_werk.txt" for c in answer.citations)


class SlowLlama:
    """Stands in for ``llama_cpp.Llama``: streams a grounded answer, slowly."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.started = threading.Event()

    def create_chat_completion(self, messages, stream=False, **kw):  # noqa: ANN001, ANN201
        self.started.set()
        for word in "Uit het onderzoek blijkt dat 26 procent AI actief gebruikt [1].".split():
            time.sleep(self.delay_s)
            yield {"choices": [{"delta": {"content": word + " "}}]}


def test_slow_backend_beyond_gate_timeout_says_too_busy(
    settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    _ingest(settings)
    slow = SlowLlama(delay_s=0.25)  # ~3 s for the whole answer
    monkeypatch.setattr("assistant.llm._load_llama", lambda *a: slow)
    # own models_dir: its own gate (gates are shared per model file within a process)
    cfg = _update(
        settings, llm={"mode": "llamacpp", "timeout_s": 0.6, "models_dir": tmp_path / "models"}
    )
    assistant = Assistant.from_settings(cfg)
    first: list = []
    runner = threading.Thread(target=lambda: first.append(assistant.answer(QUESTION)))
    runner.start()
    assert slow.started.wait(5)
    positions: list[int] = []
    t = time.perf_counter()
    answer = assistant.answer(QUESTION, on_wait=positions.append)
    waited = time.perf_counter() - t
    runner.join(10)
    assert answer.mode == "unavailable"
    assert "te druk" in answer.notice and is_dutch(answer.notice)
    assert 0.5 < waited < 3  # gave up at the gate timeout, did not wait for the first answer
    assert positions and positions[0] == 1  # the page could show "1 vraag voor u"
    assert any(c.source == "ai_werk.txt" for c in answer.passages)  # passages still shown
    assert first and first[0].mode in ("answer", "quotes")  # the one holding the model is fine


def _qwen_tokenizer():  # noqa: ANN202
    """The Qwen2.5 tokenizer from the embedded GGUF (vocab only, no weights), if present."""
    from assistant.settings import load_settings

    path = load_settings(_env_file=None).llm.model_file
    llama_cpp = pytest.importorskip("llama_cpp")
    if not path.is_file():
        return None
    return llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)


def test_ollama_context_limit_is_respected(settings: Settings) -> None:
    long_docs = {
        f"lang{i}.txt": "Digitalisering in de sector\n\n"
        + " ".join(
            f"Zin {j} van rapport {i}: werknemers gebruiken AI en digitale systemen steeds "
            f"vaker, blijkt uit meting {j}."
            for j in range(60)
        )
        + "\n"
        for i in range(4)
    }
    _ingest(_update(settings, ingest={"chunk_tokens": 400, "chunk_overlap": 20}), long_docs)
    num_ctx, answer_tokens = 1024, 300
    cfg = _update(
        settings,
        llm={
            "mode": "ollama",
            "ollama_num_ctx": num_ctx,
            "max_answer_tokens": answer_tokens,
            "ollama_host": f"http://127.0.0.1:{_closed_port()}",
        },
        retrieval={"relevance_floor": 0.0, "top_k": 8, "context_tokens": 16000},
    )
    assistant = Assistant.from_settings(cfg)
    # Ollama is told the window and the answer length, so it never truncates silently
    assert assistant.chat._chat.num_ctx == num_ctx
    assert assistant.chat._chat.num_predict == answer_tokens
    history = [
        {"role": "user", "content": "Wat zeggen de rapporten over AI? " * 40},
        {"role": "assistant", "content": "Werknemers gebruiken AI vaker [1]. " * 40},
    ]
    qwen = _qwen_tokenizer()
    from assistant.tokens import count_tokens

    per_message = 8  # chat-template tokens around each message
    question = "Hoe vaak gebruiken werknemers digitale systemen in de sector?"
    for hist in ([], history):
        stream = assistant.ask(question, hist)
        if not hist:
            assert stream.passages, "without history at least one passage must fit"
        cl100k = sum(count_tokens(m["content"]) + per_message for m in stream.messages)
        assert cl100k + answer_tokens <= num_ctx
        if qwen is not None:  # the model family's own count (Ollama's qwen2.5 shares it)
            text = (
                "".join(
                    f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in stream.messages
                )
                + "<|im_start|>assistant\n"
            )
            n = len(qwen.tokenize(text.encode(), add_bos=False, special=True))
            assert n + answer_tokens <= num_ctx, f"{n} prompt + {answer_tokens} > {num_ctx}"


# --------------------------------------------------------------------------- index


def test_missing_index_raises_index_missing_with_the_fix(settings: Settings) -> None:
    assistant = Assistant.from_settings(settings)
    with pytest.raises(IndexMissing) as info:
        assistant.answer(QUESTION)
    assert is_dutch(info.value.message)
    assert info.value.hint and (
        "make index" in info.value.hint or "python -m ingest" in info.value.hint
    )


def _corrupt_copy(settings: Settings, tmp_path: Path) -> Settings:
    """Ingest, copy the index to a folder this process never opened, corrupt its sqlite."""
    _ingest(settings)
    broken = tmp_path / "broken-store"
    shutil.copytree(settings.store.path, broken)
    (broken / "chroma.sqlite3").write_bytes(b"dit is geen sqlite-bestand\n" * 200)
    return _update(settings, store={"path": broken})


def test_unreadable_index_gives_a_clear_assistant_error(settings: Settings, tmp_path: Path) -> None:
    broken = _corrupt_copy(settings, tmp_path)
    assistant = Assistant.from_settings(broken)
    with pytest.raises(AssistantError) as info:  # not an sqlite/chroma traceback
        assistant.answer(QUESTION)
    assert is_dutch(info.value.message) and "index" in info.value.message
    assert info.value.hint


def test_unreadable_index_is_not_reported_as_missing(settings: Settings, tmp_path: Path) -> None:
    broken = _corrupt_copy(settings, tmp_path)
    with pytest.raises(AssistantError) as info:
        Assistant.from_settings(broken).answer(QUESTION)
    assert "nog geen index" not in info.value.message
    assert any(w in info.value.message for w in ("onleesbaar", "beschadigd"))
    assert "restore" in (info.value.hint or "") or "verwijder" in (info.value.hint or "")


# --------------------------------------------------------------------------- disk full


def _fill_disk_on_upsert(monkeypatch, fail_on_call: int) -> list[int]:
    """Every Chroma upsert (ours and LangChain's) counts; call ``fail_on_call`` hits ENOSPC."""
    from chromadb.api.models.Collection import Collection

    calls = [0]
    real = Collection.upsert

    def upsert(self, *args, **kwargs):  # noqa: ANN001, ANN202
        calls[0] += 1
        if calls[0] >= fail_on_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "upsert", upsert)
    return calls


NEW_DOC = {
    "nieuw.txt": "Thuiswerken\n\nVan de medewerkers werkt 41 procent twee dagen per week thuis.\n"
}


def test_disk_full_during_ingest_keeps_the_previous_index(settings: Settings, monkeypatch) -> None:
    from ingest.sync import sync

    report = _ingest(settings)
    assert report.published and report.generation == 1
    assistant = Assistant.from_settings(settings)  # the running page
    before = assistant.answer(QUESTION)
    assert before.mode in ("answer", "quotes") and "26" in before.text

    (settings.ingest.corpus / "nieuw.txt").write_text(NEW_DOC["nieuw.txt"], encoding="utf-8")
    calls = _fill_disk_on_upsert(monkeypatch, fail_on_call=2)  # copy works, new doc fails
    with pytest.raises(OSError) as info:  # still an OSError for code that handles those
        sync(settings, assistant.store)
    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value, AssistantError)  # and a Dutch message for the page
    assert calls[0] == 2  # it really failed midway, after copying the unchanged documents
    monkeypatch.undo()

    manifest = assistant.store.manifest(max_age_s=0)
    assert manifest is not None and manifest.generation == 1
    assert "nieuw.txt" not in manifest.documents
    names = [c if isinstance(c, str) else c.name for c in assistant.store.client.list_collections()]
    assert not any(n.endswith("-g2") for n in names), "the unfinished generation is discarded"
    after = assistant.answer(QUESTION)  # the page keeps answering from the old index
    assert after.mode == before.mode and after.text == before.text
    fresh = Assistant.from_settings(settings).answer(QUESTION)  # and so does a restarted one
    assert "26" in fresh.text

    retry = sync(settings, assistant.store)  # space freed: the next run just works
    assert retry.published and retry.added == ["nieuw.txt"]


def test_disk_full_cli_says_the_index_is_unchanged(
    settings: Settings, monkeypatch, capsys, caplog
) -> None:
    from ingest.__main__ import main

    _ingest(settings)
    (settings.ingest.corpus / "nieuw.txt").write_text(NEW_DOC["nieuw.txt"], encoding="utf-8")
    _fill_disk_on_upsert(monkeypatch, fail_on_call=2)
    rc = main([])
    out = capsys.readouterr()
    assert rc == 3
    said = out.err + caplog.text
    assert "disk full" in said and "index is unchanged" in said


def test_disk_full_is_reported_in_dutch_for_the_beheer_page(
    settings: Settings, monkeypatch
) -> None:
    from ingest.sync import sync

    _ingest(settings)
    (settings.ingest.corpus / "nieuw.txt").write_text(NEW_DOC["nieuw.txt"], encoding="utf-8")
    _fill_disk_on_upsert(monkeypatch, fail_on_call=2)
    with pytest.raises(AssistantError) as info:
        sync(settings, Store(settings.store, Assistant.from_settings(settings).embeddings))
    assert "vol" in info.value.message and "vorige index blijft" in info.value.message
    assert info.value.hint and is_dutch(info.value.message)
