"""Sentence windows (``assistant.windows``): cutting, reuse of vectors, scoring, files; and
the window ranking in the retriever on a real Chroma index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.chunks import Chunk
from assistant.embeddings import HashEmbeddings, make_embeddings
from assistant.keyword import KeywordIndex
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import DocumentEntry, Manifest, Store
from assistant.windows import WindowIndex, windows_of

FIVE = (
    "De eerste zin gaat over het weer in maart. De tweede zin noemt een kantoor in Gent. "
    "De derde zin telt 41 fietsen. De vierde zin beschrijft een trein naar Brugge. "
    "De vijfde zin sluit af met koffie."
)


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(id=cid, text=text, source=f"{cid.split(':')[0]}.txt", page=1, index=0)


class CountingEmbedder:
    def __init__(self) -> None:
        self.inner = HashEmbeddings()
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> list[list[float]]:
        self.seen.extend(texts)
        return self.inner.embed_documents(texts)


def test_windows_slide_one_sentence_at_a_time() -> None:
    two = windows_of(FIVE, 2)
    assert len(two) == 4
    assert (
        two[0]
        == "De eerste zin gaat over het weer in maart. De tweede zin noemt een kantoor in Gent."
    )
    assert two[-1].endswith("De vijfde zin sluit af met koffie.")
    assert len(windows_of(FIVE, 3)) == 3
    assert windows_of(FIVE, 5) == [FIVE]


def test_a_short_or_empty_text_is_one_window_or_none() -> None:
    assert windows_of("  Eén zin maar.  ", 2) == ["Eén zin maar."]
    assert windows_of("   ", 2) == []


def test_build_keeps_each_chunks_rows_and_reuses_unchanged_windows() -> None:
    chunks = [_chunk("a:1:0", FIVE), _chunk("b:1:0", "Korte tekst over treinen.")]
    first = CountingEmbedder()
    index = WindowIndex.build(chunks, first, 2, "m")
    assert len(index) == 5 and len(first.seen) == 5
    assert list(index.starts) == [0, 4, 5]
    changed = [chunks[0], _chunk("b:1:0", "Een andere tekst over bussen.")]
    again = CountingEmbedder()
    rebuilt = WindowIndex.build(changed, again, 2, "m", previous=index)
    assert again.seen == ["Een andere tekst over bussen."]  # only the changed window
    np.testing.assert_array_equal(rebuilt.vectors[:4], index.vectors[:4])
    other_model = CountingEmbedder()
    WindowIndex.build(changed, other_model, 2, "n", previous=index)
    assert len(other_model.seen) == 5  # another embedder: nothing reused


def test_best_is_the_highest_window_cosine_and_skips_unknown_ids() -> None:
    chunks = [_chunk("a:1:0", FIVE), _chunk("b:1:0", "Korte tekst over treinen.")]
    emb = HashEmbeddings()
    index = WindowIndex.build(chunks, emb.embed_documents, 2, "m")
    query = emb.embed_query("Hoeveel fietsen telt de derde zin?")
    best = index.best(query, ["a:1:0", "b:1:0", "zzz:1:0"])
    assert set(best) == {"a:1:0", "b:1:0"}
    q = np.asarray(query) / np.linalg.norm(query)
    wins = [
        np.dot(q, np.asarray(v) / np.linalg.norm(v))
        for v in emb.embed_documents(windows_of(FIVE, 2))
    ]
    assert best["a:1:0"] == pytest.approx(max(wins), abs=2e-3)  # float16 storage
    assert best["a:1:0"] > best["b:1:0"]


def test_save_and_load_round_trip_and_reject_a_damaged_index(tmp_path: Path) -> None:
    chunks = [_chunk("a:1:0", FIVE)]
    index = WindowIndex.build(chunks, HashEmbeddings().embed_documents, 2, "m")
    index.save(tmp_path / "w")
    loaded = WindowIndex.load(tmp_path / "w")
    assert loaded.ids == ["a:1:0"] and loaded.keys == index.keys and loaded.size == 2
    np.testing.assert_array_equal(np.asarray(loaded.vectors), index.vectors)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    with pytest.raises(OSError):
        WindowIndex.load(tmp_path / "missing")
    meta = json.loads((tmp_path / "w" / "index.json").read_text())
    meta["starts"] = [0, 2]
    (tmp_path / "w" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError):
        WindowIndex.load(tmp_path / "w")


# -- the window ranking on a real Chroma index ------------------------------------------------

DOCS = {
    "a": "Het rapport bespreekt de arbeidsmarkt in de zorg uitvoerig. Er is veel vraag naar "
    "verpleegkundigen en begeleiders. Opvallend is dat 37 procent van de teams robots test "
    "in de nachtdienst. Verder gaat het over opleidingen en loopbanen.",
    "b": "Robots in de zorg worden steeds vaker genoemd. Teams testen robots in de zorg. "
    "Robots helpen in de zorg bij tillen.",
    "c": "Een hoofdstuk over lonen en cao-afspraken in de sector.",
}


@pytest.fixture
def store(tmp_settings: Settings) -> Store:
    store = Store(tmp_settings.store, make_embeddings(tmp_settings.embeddings))
    gen = store.new_generation()
    chunks = [_chunk(f"{k}:1:0", v) for k, v in DOCS.items()]
    gen.add(chunks)
    KeywordIndex.build(chunks).save(store.keyword_dir(gen.name))
    WindowIndex.build(chunks, store.embeddings.embed_documents, 1, "hash").save(
        store.windows_dir(gen.name)
    )
    docs = {f"{k}.txt": DocumentEntry(source=f"{k}.txt", hash=k, chunks=1) for k in DOCS}
    store.publish(Manifest(gen.name, gen.number, "2025-01-01", "hash", docs))
    return store


def test_the_window_ranking_reorders_the_candidates(store: Store, tmp_settings: Settings) -> None:
    settings = tmp_settings.retrieval.model_copy(update={"relevance_floor": 0.0})
    question = "Hoeveel procent teams test robots in de nachtdienst?"
    on = Retriever(store, settings.model_copy(update={"window_weight": 1.0}))
    res = on.retrieve(question, top_k=3)
    assert "windows_s" in res.timings
    ranked = {p.chunk.id: p.ranks.get("windows") for p in res.passages}
    assert all(r is not None for r in ranked.values())
    # the one sentence that answers lifts its chunk to the top of the window ranking
    assert ranked["a:1:0"] == 1
    off = Retriever(store, settings.model_copy(update={"window_weight": 0.0}))
    assert all("windows" not in p.ranks for p in off.retrieve(question, top_k=3).passages)


def test_without_a_window_file_the_ranking_is_skipped(store: Store, tmp_settings: Settings) -> None:
    manifest = store.require_manifest()
    for p in store.windows_dir(manifest.collection).iterdir():
        p.unlink()
    on = {"relevance_floor": 0.0, "window_weight": 1.0, "window_search_weight": 1.0}
    res = Retriever(store, tmp_settings.retrieval.model_copy(update=on)).retrieve(
        "Testen teams robots?", top_k=3
    )
    assert res.passages
    assert all("windows" not in p.ranks and "window_search" not in p.ranks for p in res.passages)


def test_window_search_ranks_every_chunk_by_its_best_window() -> None:
    chunks = [
        _chunk("a:1:0", FIVE),
        _chunk("b:1:0", "Korte tekst over treinen."),
        _chunk("c:1:0", ""),
    ]
    emb = HashEmbeddings()
    index = WindowIndex.build(chunks, emb.embed_documents, 2, "m")
    query = emb.embed_query("Hoeveel fietsen telt de derde zin?")
    hits = index.search(query, 5)
    assert [cid for cid, _ in hits] == ["a:1:0", "b:1:0"]  # the empty chunk has no window
    assert dict(hits) == pytest.approx(index.best(query, ["a:1:0", "b:1:0"]))
    assert index.search(query, 1) == hits[:1]


def test_the_window_search_is_one_more_ranking(store: Store, tmp_settings: Settings) -> None:
    on = {"relevance_floor": 0.0, "window_search_weight": 1.0}
    res = Retriever(store, tmp_settings.retrieval.model_copy(update=on)).retrieve(
        "Hoeveel procent teams test robots in de nachtdienst?", top_k=3
    )
    assert res.passages[0].chunk.id == "a:1:0"
    assert res.passages[0].ranks.get("window_search") == 1
    assert "window_search_s" in res.timings


def test_ingest_builds_the_windows_and_reuses_unchanged_ones(tmp_settings: Settings) -> None:
    from ingest.sync import sync

    settings = tmp_settings.model_copy(
        update={"ingest": tmp_settings.ingest.model_copy(update={"window_sentences": 2})}
    )
    corpus = settings.ingest.corpus
    (corpus / "a.txt").write_text(FIVE, encoding="utf-8")
    (corpus / "b.txt").write_text(
        "Een tekst over bussen. Nog een zin over trams.", encoding="utf-8"
    )
    first = CountingEmbedder()
    store = Store(settings.store, _Embeddings(first))
    sync(settings, store, corpus)
    before = store.require_manifest().collection
    index = WindowIndex.load(store.windows_dir(before))
    assert set(index.ids) == {c.id for c in store.all_chunks()} and len(index) == 5
    (corpus / "b.txt").write_text("Een tekst over fietsen.", encoding="utf-8")
    again = CountingEmbedder()
    store = Store(settings.store, _Embeddings(again))
    sync(settings, store, corpus)
    after = WindowIndex.load(store.windows_dir(store.require_manifest().collection))
    assert again.seen == ["Een tekst over fietsen.", "Een tekst over fietsen."]  # chunk, window
    assert len(after) == 5 and before != store.require_manifest().collection


class _Embeddings(HashEmbeddings):
    def __init__(self, counter: CountingEmbedder) -> None:
        super().__init__()
        self.counter = counter

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.counter(texts)


def test_turning_windows_on_builds_them_without_re_embedding_chunks(tmp_settings: Settings) -> None:
    from ingest.sync import sync

    corpus = tmp_settings.ingest.corpus
    (corpus / "a.txt").write_text(FIVE, encoding="utf-8")
    sync(tmp_settings, Store(tmp_settings.store, HashEmbeddings()), corpus)  # windows off
    on = tmp_settings.model_copy(
        update={"ingest": tmp_settings.ingest.model_copy(update={"window_sentences": 2})}
    )
    counter = CountingEmbedder()
    store = Store(on.store, _Embeddings(counter))
    report = sync(on, store, corpus)
    assert report.published and report.unchanged == ["a.txt"]
    assert counter.seen == windows_of(FIVE, 2)  # the windows only, not the chunk
    assert len(WindowIndex.load(store.windows_dir(store.require_manifest().collection))) == 4
    assert not sync(on, store, corpus).published  # now current: nothing to do
