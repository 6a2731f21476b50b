"""Retrieval quality against a fixed anchor, and latency and memory at scale.

    .venv/bin/python bench/retrieval.py --anchor            # project vs plain recipe, per half
    .venv/bin/python bench/retrieval.py --anchor --gold F --half check --json out.json
    .venv/bin/python bench/retrieval.py                     # latency: both parts below
    .venv/bin/python bench/retrieval.py --real-only         # the app's index only (seconds)
    .venv/bin/python bench/retrieval.py --synthetic-only --chunks 100000 --keep /tmp/bench-idx

*Anchor* (``--anchor``): the project's retrieval (hybrid, dense, keyword; settings from
``RAG_*``/.env, the app's index) and the plain recipe of ``bench/_anchor.py`` (900-character
chunks, e5-small, Dutch BM25, RRF k=60, nothing else; built in a temporary folder from the
corpus, or in ``--anchor-dir`` to be reused) on the same bank items with the same hit rule
(``assistant.evaluation.rules.holds_evidence``): recall@5 and MRR@10 per half, project vs
anchor. The anchor's chunks are larger than the project's, which favours it at equal rank.

*Real corpus*: the app's settings (``RAG_*``, ``.env``) and index; ``Retriever.retrieve`` in
hybrid mode (dense and keyword alone too) over a fixed list of Dutch questions (or
``--questions FILE``: one a line, or JSONL with ``question``), after a warm-up that loads the
embedder, Chroma and the keyword index. The time is the whole call: rewriting, embedding the
question with e5 (the largest part), both searches, document routing, fusion, diversity and the
relevance floor.

*Synthetic index*: Dutch-like chunk text (the generator of ``bench/keyword_scale.py``), random
unit vectors of 384 dimensions, 50 chunks per document, five collections, and a title and an
organisation per document so that document routing runs. It is built through the app's own
API (``Store.new_generation``, ``Generation.add`` with the vectors, ``KeywordIndex``,
``Store.publish``) in a temporary folder, or in ``--keep DIR`` to be reused by a later run
(building 100,000 chunks into Chroma takes minutes; progress is printed). Queries are embedded
by the real e5 model; half are filtered to two of the five collections (access groups), a
quarter name a document's organisation. Random vectors are the worst case for HNSW (no
structure to exploit), so the dense figures are conservative.

Memory is the process's resident set (VmRSS) and its peak (VmHWM) from ``/proc/self/status``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from assistant.chunks import Chunk  # noqa: E402
from assistant.embeddings import make_embeddings  # noqa: E402
from assistant.keyword import KeywordIndex  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.store import DocumentEntry, Manifest, Store  # noqa: E402

DIM = 384
CHUNKS_PER_DOC = 50
COLLECTIONS = ["algemeen", "zorg", "hr", "overheid", "techniek"]

# Dutch questions of the kinds the assistant gets: facts, explanations, comparisons, named
# reports, follow-ups are left out (they cost the same plus a string rewrite).
QUESTIONS = [
    "Hoeveel procent van de werknemers gebruikt AI actief in het werk?",
    "Welke zorgen hebben professionals in de zorg over de digitale werkomgeving?",
    "Wat is digitale stress en waar komt het vooral voor?",
    "Welke rol speelt AI bij recruitment en selectie van kandidaten?",
    "Waarom is een skills-gebaseerde arbeidsmarkt belangrijk?",
    "Wat zeggen de onderzoeken over het opleiden van medewerkers in digitale vaardigheden?",
    "Hoe kijken werkgevers aan tegen de inzet van AI op de werkvloer?",
    "Welke competenties worden belangrijker door digitalisering in de social profit?",
    "Wat is het verschil tussen de zorg en de overheid bij de eisen aan de digitale werkplek?",
    "Waarom nemen organisaties zelden het voortouw bij technologische vernieuwing?",
    "Welke aanbevelingen doet het HRM-rapport?",
    "Wie heeft het onderzoek naar AI-toepassingen in HRM uitgevoerd?",
    "Hoeveel mensen werken er in de Vlaamse social profit?",
    "Wat doet het kabinet aan generatieve AI?",
    "Welke sancties staan er in de Europese AI-verordening?",
    "Hoe groot is de economische potentie van AI in Nederland?",
    "Waarom is klinisch redeneren belangrijk voor verpleegkundigen?",
    "Wat kunnen vakbonden doen rond AI en digitalisering?",
    "Hoe helpt een medewerkersreis bij het verbeteren van de digitale werkplek?",
    "Welk aandeel van de bedrijven investeert nog niet in AI?",
    "Wat houdt organisaties tegen om AI breder in te zetten?",
    "Hoe betrek je de werkvloer bij het invoeren van nieuwe technologie?",
    "Wat betekent digitale geletterdheid volgens het rapport?",
    "Waarom wisselen AI-gebruikers vaker van baan?",
    "Wat strijken wervingsbureaus op bij een geslaagde plaatsing?",
    "Hoe maak ik een goede lasagne?",  # off-topic: the floor's path is timed too
    "Wat is het gemiddelde salaris van een softwareontwikkelaar in Amsterdam?",
    "Welke landen scoren het hoogst op de AI Preparedness Index?",
    "Hoe beïnvloedt AI de ongelijkheid op de arbeidsmarkt?",
    "Wat zijn de belangrijkste conclusies over data-eigenaarschap en privacy?",
]


# ----------------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------------


def rss_mb() -> tuple[float, float]:
    """(resident set, peak resident set) of this process in MB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            values[key] = int(value.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


# Parts of ``Retrieval.timings`` shown; "dense_topic" and "answer_type" run only for some
# questions ("over X", "hoeveel/wie/wanneer"), so their percentiles are over those questions.
PARTS = ("embed_s", "dense_s", "dense_topic_s", "keyword_s", "answer_type_s", "fuse_s")


def run_queries(
    retriever: Retriever,
    queries: list[str],
    mode: str,
    filters: list[set[str] | None] | None = None,
    repeat: int = 1,
) -> dict[str, float]:
    latencies: list[float] = []
    parts: dict[str, list[float]] = {}
    refused = 0
    for _ in range(repeat):
        for i, q in enumerate(queries):
            collections = filters[i % len(filters)] if filters else None
            start = time.perf_counter()
            res = retriever.retrieve(q, mode=mode, collections=collections)  # type: ignore[arg-type]
            latencies.append(1000 * (time.perf_counter() - start))
            refused += not res.relevant
            for key, value in res.timings.items():
                parts.setdefault(key, []).append(1000 * value)
    out = {
        "n": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "mean_ms": statistics.fmean(latencies),
        "max_ms": max(latencies),
        "refused": refused,
    }
    for key in PARTS:
        if key in parts:
            out[f"{key[:-2]}_p50_ms"] = percentile(parts[key], 50)
            out[f"{key[:-2]}_p95_ms"] = percentile(parts[key], 95)
    return out


def show(label: str, r: dict[str, float]) -> None:
    print(
        f"  {label:<24} p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
        f"mean {r['mean_ms']:7.1f} ms   max {r['max_ms']:7.1f} ms   "
        f"(n={int(r['n'])}, refused {int(r['refused'])})"
    )
    split = [
        f"{name} {r[f'{name}_p50_ms']:.1f}/{r[f'{name}_p95_ms']:.1f}"
        for name in (key[:-2] for key in PARTS)
        if f"{name}_p50_ms" in r
    ]
    if split:
        print(f"  {'':<24} parts p50/p95 ms: " + ", ".join(split))


def load_questions(path: str | None) -> list[str]:
    if not path:
        return list(QUESTIONS)
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line)["question"] if line.startswith("{") else line)
    return out


# ----------------------------------------------------------------------------------------------
# Real corpus
# ----------------------------------------------------------------------------------------------


def bench_real(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    settings = load_settings()
    store = Store(settings.store, make_embeddings(settings.embeddings))
    manifest = store.require_manifest()
    retriever = Retriever(store, settings.retrieval)
    questions = load_questions(args.questions)
    print(
        f"real corpus: {manifest.chunk_count} chunks in {len(manifest.documents)} documents "
        f"({store.location}); {len(questions)} questions x {args.repeat}"
    )
    t = time.perf_counter()
    for q in questions[:5]:  # warm-up: embedder, Chroma, keyword index, caches
        retriever.retrieve(q)
    print(
        f"  warm-up {time.perf_counter() - t:.1f} s; memory after warm-up: "
        "RSS {:.0f} MB (peak {:.0f} MB)".format(*rss_mb())
    )
    results = {}
    for mode in ("hybrid", "dense", "keyword"):
        results[mode] = run_queries(retriever, questions, mode, repeat=args.repeat)
        show(mode, results[mode])
    results["hybrid_filtered"] = run_queries(
        retriever, questions, "hybrid", filters=[{"algemeen"}], repeat=args.repeat
    )
    show("hybrid, collections set", results["hybrid_filtered"])
    print("  memory after the queries: RSS {:.0f} MB (peak {:.0f} MB)".format(*rss_mb()))
    return results


# ----------------------------------------------------------------------------------------------
# Synthetic index
# ----------------------------------------------------------------------------------------------


def synthetic_chunks(rng: random.Random, n: int) -> tuple[list[Chunk], dict[str, DocumentEntry]]:
    from keyword_scale import make_chunks, vocabulary

    vocab = vocabulary(rng, 30_000)
    base = make_chunks(rng, n, 120, vocab)
    chunks: list[Chunk] = []
    documents: dict[str, DocumentEntry] = {}
    for i, c in enumerate(base):
        d = i // CHUNKS_PER_DOC
        source = f"doc{d:05d}.pdf"
        if source not in documents:
            words = rng.sample(vocab[:3000], 4)
            documents[source] = DocumentEntry(
                source=source,
                hash=f"{d:064x}",
                chunks=0,
                title=f"{words[0].capitalize()} en {words[1]} in de {words[2]}",
                organisation=f"Bureau{d:05d}",
                kind="rapport",
                collection=COLLECTIONS[d % len(COLLECTIONS)],
                pages=CHUNKS_PER_DOC,
            )
        doc = documents[source]
        doc.chunks += 1
        page = i % CHUNKS_PER_DOC + 1
        chunks.append(
            Chunk(
                id=f"doc{d:05d}:{page}:0",
                text=c.text,
                source=source,
                page=page,
                index=0,
                title=doc.title,
                organisation=doc.organisation,
                kind=doc.kind,
                collection=doc.collection,
            )
        )
    return chunks, documents


def build_synthetic(store: Store, n: int, seed: int) -> None:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    chunks, documents = synthetic_chunks(rng, n)
    print(
        f"  generated {len(chunks)} chunks in {len(documents)} documents "
        f"({time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    gen = store.new_generation()
    try:
        batch = min(5000, int(store.client.get_max_batch_size()))
    except Exception:  # older or remote clients
        batch = 5000
    vectors_rng = np.random.default_rng(seed)
    t1 = time.perf_counter()
    for start in range(0, len(chunks), batch):
        part = chunks[start : start + batch]
        vectors = vectors_rng.standard_normal((len(part), DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        gen.add(part, vectors.tolist())
        done = start + len(part)
        rate = done / max(time.perf_counter() - t1, 1e-9)
        print(
            f"  chroma: {done}/{len(chunks)} chunks ({rate:.0f}/s, "
            f"{(len(chunks) - done) / rate:.0f} s left)",
            flush=True,
        )
    t2 = time.perf_counter()
    KeywordIndex.build(chunks).save(store.keyword_dir(gen.name))
    t3 = time.perf_counter()
    print(f"  chroma {t2 - t1:.0f} s, keyword index {t3 - t2:.0f} s", flush=True)
    store.publish(
        Manifest(
            collection=gen.name,
            generation=gen.number,
            synced_at="bench",
            embedding_model="random unit vectors",
            documents=documents,
        )
    )


def synthetic_questions(store: Store, rng: random.Random, n: int) -> list[str]:
    manifest = store.require_manifest()
    organisations = sorted({d.organisation for d in manifest.documents.values()})
    out = []
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)]
        if i % 4 == 3:  # a quarter name a document: document routing runs
            q = q.rstrip("?") + f" volgens {rng.choice(organisations)}?"
        out.append(q)
    return out


def bench_synthetic(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    base = load_settings()
    tmp = None
    if args.keep:
        root = Path(args.keep)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-retrieval-")
        root = Path(tmp.name)
    settings = load_settings(
        store={"path": root, "collection": "bench"}, embeddings=base.embeddings.model_dump()
    )
    store = Store(settings.store, make_embeddings(settings.embeddings))
    try:
        manifest = store.manifest(max_age_s=0)
        if manifest is None or manifest.chunk_count != args.chunks:
            print(f"synthetic index: building {args.chunks} chunks in {root}", flush=True)
            build_synthetic(store, args.chunks, args.seed)
        else:
            print(f"synthetic index: reusing {manifest.chunk_count} chunks in {root}")
        print("  memory before loading: RSS {:.0f} MB (peak {:.0f} MB)".format(*rss_mb()))
        store = Store(settings.store, store.embeddings)  # a fresh reader, as the app has
        retriever = Retriever(store, settings.retrieval)
        rng = random.Random(args.seed)
        questions = synthetic_questions(store, rng, args.queries)
        t = time.perf_counter()
        retriever.retrieve(questions[0])  # loads the keyword index and document names
        print(f"  first query (loads the keyword index) {time.perf_counter() - t:.1f} s")
        for q in questions[1:6]:
            retriever.retrieve(q)
        print("  memory after warm-up: RSS {:.0f} MB (peak {:.0f} MB)".format(*rss_mb()))
        filters: list[set[str] | None] = [None, {"zorg", "hr"}]
        results = {}
        for mode in ("hybrid", "dense", "keyword"):
            results[mode] = run_queries(retriever, questions, mode, filters=filters)
            show(mode + " (half filtered)", results[mode])
        print("  memory after the queries: RSS {:.0f} MB (peak {:.0f} MB)".format(*rss_mb()))
        return results
    finally:
        if tmp is not None:
            tmp.cleanup()


# ----------------------------------------------------------------------------------------------
# Quality: project vs the plain recipe
# ----------------------------------------------------------------------------------------------


def bench_anchor(args: argparse.Namespace) -> dict[str, object]:
    from _anchor import PlainRecipe

    from assistant.evaluation import evaluate_retrieval
    from assistant.evaluation.gold import default_gold, load_items

    gold = Path(args.gold) if args.gold else default_gold()
    items = load_items(gold, args.half)
    settings = load_settings()
    print(f"bank: {gold} ({len(items)} items, half {args.half})", flush=True)
    project = evaluate_retrieval(items, ["hybrid", "dense", "keyword"])
    store = Store(settings.store, make_embeddings(settings.embeddings))
    own = [len(c.text) for c in store.all_chunks()]
    t = time.perf_counter()
    recipe = PlainRecipe(settings.ingest.corpus, Path(args.anchor_dir) if args.anchor_dir else None)
    size = statistics.fmean(len(c.text) for c in recipe.chunks)
    print(
        f"anchor: {len(recipe.chunks)} chunks of {size:.0f}"
        f" characters on average (project: {len(own)} of {statistics.fmean(own):.0f}); "
        f"built in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    anchor = evaluate_retrieval(items, ["hybrid"], retriever=recipe)["hybrid"]
    show_anchor(project, anchor)
    return {"gold": str(gold), "half": args.half, "project": project, "anchor": anchor}


def show_anchor(project: dict[str, dict], anchor: dict) -> None:
    halves = [h for h in ("tune", "check", "all") if h in anchor["summary"]]
    print(f"\n{'':<18}" + "".join(f"{h + ' r@5':>14}{h + ' mrr@10':>16}" for h in halves))

    def line(label: str, summary: dict, by_type: str | None = None) -> None:
        cells = []
        for h in halves:
            s = summary[h] if by_type is None else summary[h]["by_type"].get(by_type, {})
            for key, width in (("recall@5", 14), ("mrr@10", 16)):
                v = s.get(key)
                cells.append(f"{'-' if v is None else f'{v:.3f}':>{width}}")
        print(f"{label:<18}" + "".join(cells))

    for mode, part in project.items():
        line(f"project {mode}", part["summary"])
    line("anchor (plain)", anchor["summary"])
    for h in halves:
        p, a = project["hybrid"]["summary"][h], anchor["summary"][h]
        print(
            f"{h}: hybrid vs anchor recall@5 {p['recall@5']:.3f} vs {a['recall@5']:.3f} "
            f"({p['recall@5'] - a['recall@5']:+.3f}), MRR@10 {p['mrr@10']:.3f} vs "
            f"{a['mrr@10']:.3f} ({p['mrr@10'] - a['mrr@10']:+.3f}); n answerable {p['answerable']}"
        )
    types = sorted(anchor["summary"]["all"]["by_type"])
    print("\nby type, all halves (recall@5 / MRR@10): project hybrid vs anchor")
    for t in types:
        p = project["hybrid"]["summary"]["all"]["by_type"].get(t, {})
        a = anchor["summary"]["all"]["by_type"][t]
        if not a.get("answerable"):
            continue
        print(
            f"  {t:<13} n={a['answerable']:<4} {p['recall@5']:.3f} / {p['mrr@10']:.3f}"
            f"   vs   {a['recall@5']:.3f} / {a['mrr@10']:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="synthetic-index queries")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the real questions")
    parser.add_argument("--questions", default=None, help="questions file for the real corpus")
    parser.add_argument("--keep", default=None, help="build/reuse the synthetic index here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--gold", default=None, help="bank for --anchor (default: the eval's)")
    parser.add_argument("--half", choices=("tune", "check", "all"), default="all")
    parser.add_argument("--anchor-dir", default=None, help="build/reuse the anchor index here")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--anchor", action="store_true", help="quality: project vs plain recipe")
    group.add_argument("--real-only", action="store_true")
    group.add_argument("--synthetic-only", action="store_true")
    args = parser.parse_args()
    report: dict[str, object] = {}
    if args.anchor:
        report = bench_anchor(args)
        if args.json:
            Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if not args.synthetic_only:
        report["real"] = bench_real(args)
    if not args.real_only:
        report["synthetic"] = bench_synthetic(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
