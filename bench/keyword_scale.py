"""Timing check for ``KeywordIndex`` at scale: build a synthetic index, time searches.

    .venv/bin/python bench/keyword_scale.py [--chunks 100000] [--words 120] [--queries 300]

The text is Dutch-like: stop words, the built-in word parts, two-part compounds of them (with
and without a linking "s") and made-up syllable words, drawn with a Zipf-like distribution so
common terms have long posting lists, as in real reports. Queries are Dutch-style questions
of 3-8 content words; half are filtered to two of five collections. Prints build time and
p50/p95/max search latency (k=20), without and with the collection filter, on the index as
loaded back from disk (save and load times are printed too).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.chunks import Chunk  # noqa: E402
from assistant.dutch.text import INDEX_STOP_WORDS as STOP_WORDS  # noqa: E402
from assistant.keyword import BUILTIN_PARTS, KeywordIndex  # noqa: E402

COLLECTIONS = ["algemeen", "zorg", "hr", "overheid", "techniek"]
SYLLABLES = "ver be ont ge aan la mo ri sta kel der wer ing heid baar lijk pro to ne sa".split()


def vocabulary(rng: random.Random, size: int) -> list[str]:
    parts = sorted(BUILTIN_PARTS)
    words = list(parts)
    while len(words) < size // 2:  # compounds
        a, b = rng.choice(parts), rng.choice(parts)
        words.append(a + rng.choice(["", "s"]) + b)
    while len(words) < size:  # made-up words, so the vocabulary has a long tail
        words.append("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    rng.shuffle(words)
    return words


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 1.05 for rank in range(n)]


def make_chunks(rng: random.Random, n: int, words_per_chunk: int, vocab: list[str]) -> list[Chunk]:
    stop = sorted(STOP_WORDS)
    cum = list(_cumulative(zipf_weights(len(vocab))))
    chunks = []
    for i in range(n):
        length = rng.randint(words_per_chunk // 2, words_per_chunk * 3 // 2)
        content = rng.choices(vocab, cum_weights=cum, k=length * 3 // 5)
        filler = rng.choices(stop, k=length - len(content))
        tokens = content + filler
        rng.shuffle(tokens)
        text = " ".join(tokens) + f" in {rng.randint(1990, 2030)}, {rng.randint(1, 99)}%."
        doc, page = f"doc{i // 20}", i % 20 + 1
        chunks.append(
            Chunk(
                id=f"{doc}:{page}:0",
                text=text,
                source=f"{doc}.pdf",
                page=page,
                index=0,
                collection=rng.choice(COLLECTIONS),
            )
        )
    return chunks


def _cumulative(weights: list[float]):
    total = 0.0
    for w in weights:
        total += w
        yield total


def make_queries(rng: random.Random, n: int, vocab: list[str]) -> list[str]:
    starts = ["Hoeveel", "Welke", "Wat zijn de", "Waarom is er", "Hoe vaak worden", "Wie heeft"]
    cum = list(_cumulative(zipf_weights(len(vocab))))
    queries = []
    for _ in range(n):
        # Half the query words come from the head of the distribution (long posting lists).
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(2, 5))
        words += rng.sample(vocab, rng.randint(1, 3))
        queries.append(f"{rng.choice(starts)} {' en '.join(words)}?")
    return queries


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=120, help="mean words per chunk")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    vocab = vocabulary(rng, 30_000)
    t0 = time.perf_counter()
    chunks = make_chunks(rng, args.chunks, args.words, vocab)
    t1 = time.perf_counter()
    index = KeywordIndex.build(chunks)
    t2 = time.perf_counter()
    print(
        f"chunks={len(index)} generate={t1 - t0:.1f}s build={t2 - t1:.1f}s "
        f"terms={len(index._bm25.vocab_dict)} corpus_words={len(index.splitter.corpus_words)}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        t3 = time.perf_counter()
        index.save(Path(tmp) / "keyword")
        t4 = time.perf_counter()
        loaded = KeywordIndex.load(Path(tmp) / "keyword")
        t5 = time.perf_counter()
    print(f"save={t4 - t3:.1f}s load={t5 - t4:.1f}s")
    index = loaded  # time the loaded index: that is what the app searches

    queries = make_queries(rng, args.queries, vocab)
    for q in queries[:10]:  # warm-up (caches, first numpy calls)
        index.search(q, args.k)
    for label, filters in [("no filter", [None]), ("filtered", [{"zorg", "hr"}, {"overheid"}])]:
        latencies, hits = [], 0
        for i, q in enumerate(queries):
            start = time.perf_counter()
            results = index.search(q, args.k, filters[i % len(filters)])
            latencies.append((time.perf_counter() - start) * 1000)
            hits += bool(results)
        print(
            f"{label:>9}: p50={percentile(latencies, 0.5):.2f} ms "
            f"p95={percentile(latencies, 0.95):.2f} ms max={max(latencies):.2f} ms "
            f"mean={statistics.fmean(latencies):.2f} ms "
            f"({hits}/{len(queries)} queries with hits)"
        )


if __name__ == "__main__":
    main()
