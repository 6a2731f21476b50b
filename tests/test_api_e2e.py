"""The API end to end with the real parts: the shipped corpus indexed with e5, the embedded
model in-process, and the same model behind a real ``llama_cpp.server`` process
(``RAG_LLM__MODE=openai``). Asked with the official ``openai`` package. Slow: ``e2e``."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import openai
import pytest
from api_helpers import (
    base_env,
    create_token,
    free_port,
    llama_server_args,
    running,
    serve_args,
)

from assistant.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.e2e

QUESTION = (
    "Hoeveel procent van de Nederlandse werknemers gebruikt AI actief in het dagelijkse werk?"
)
INTEGRON = "002_a5be9962150fe43e"


@pytest.fixture(scope="module")
def real_env(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    model = load_settings(_env_file=None).llm.model_file
    if not model.is_file():
        pytest.fail(f"embedded model missing: {model} (make model)")
    root = tmp_path_factory.mktemp("api-e2e")
    env = base_env(RAG_STORE__PATH=str(root / "store"), RAG_APP__DATA_DIR=str(root / "data"))
    subprocess.run(
        [sys.executable, "-m", "ingest", "--corpus", str(PROJECT_ROOT / "corpus")],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        timeout=900,
    )
    return SimpleNamespace(root=root, env=env, model=model, token=create_token(env, "e2e"))


def _ask(url: str, token: str, stream: bool) -> tuple[str, list[dict], dict]:
    client = openai.OpenAI(base_url=url + "/v1", api_key=token, max_retries=0, timeout=600)
    messages = [{"role": "user", "content": QUESTION}]
    if not stream:
        r = client.chat.completions.create(model="onderzoeksassistent", messages=messages)
        return r.choices[0].message.content or "", r.model_extra["citations"], r.model_extra["rag"]
    chunks = list(
        client.chat.completions.create(model="onderzoeksassistent", messages=messages, stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks[-1].model_extra["citations"], chunks[-1].model_extra["rag"]


def _assert_integron(text: str, citations: list[dict], rag: dict) -> None:
    assert rag["mode"] in ("answer", "quotes"), text
    cited = [c for c in citations if c["passage_id"].startswith(INTEGRON)]
    assert cited, f"no citation of the Integron article: {citations}"
    assert any("26" in c["quote"] for c in cited)
    assert "26" in text and "[" in text and "**Bronnen**" in text


def test_served_embedded_model_answers_integron(real_env: SimpleNamespace) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = real_env.root / "serve-llamacpp.log"
    with running(serve_args(port), real_env.env, url + "/readyz", log, 600):
        for stream in (False, True):
            _assert_integron(*_ask(url, real_env.token, stream))


def test_openai_mode_against_a_real_llama_cpp_server(real_env: SimpleNamespace) -> None:
    pytest.importorskip("llama_cpp.server.app")
    model_port, port = free_port(), free_port()
    model_url, url = f"http://127.0.0.1:{model_port}", f"http://127.0.0.1:{port}"
    env = {
        **real_env.env,
        "RAG_LLM__MODE": "openai",
        "RAG_LLM__OPENAI_BASE_URL": model_url + "/v1",
        "RAG_LLM__OPENAI_MODEL": "qwen2.5-coder-0.5b",
    }
    llama = llama_server_args(real_env.model, model_port)
    with running(llama, real_env.env, model_url + "/v1/models", real_env.root / "llama.log", 300):
        with running(serve_args(port), env, url + "/readyz", real_env.root / "serve.log", 300):
            text, citations, rag = _ask(url, real_env.token, stream=True)
            assert "via OpenAI-API" in rag["backend"]
            _assert_integron(text, citations, rag)
    # the model server is gone: the API says so in Dutch and still shows the passages
    with running(serve_args(port), env, url + "/healthz", real_env.root / "serve2.log", 300):
        text, citations, rag = _ask(url, real_env.token, stream=False)
        assert rag["mode"] == "unavailable" and "niet bereikbaar" in rag["notice"]
