"""Known-answer tests for the Dutch analyser and behaviour tests for ``KeywordIndex``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assistant.chunks import Chunk
from assistant.errors import IndexMissing
from assistant.keyword import (
    CompoundSplitter,
    KeywordIndex,
    analyse,
    corpus_vocabulary,
    stem,
    tokenise,
)


def chunk(cid: str, text: str, collection: str = "algemeen", source: str = "doc.pdf") -> Chunk:
    stem_, page, index = cid.split(":")
    return Chunk(
        id=cid, text=text, source=source, page=int(page), index=int(index), collection=collection
    )


# ---- analyser ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("werkgelegenheid", ["werk", "gelegenheid"]),
        ("personeelstekort", ["personeel", "tekort"]),  # linking -s-
        ("digitaliseringsproject", ["digitalisering", "project"]),
        ("zorgmedewerkers", ["zorg", "medewerker"]),  # inflected head
        ("AI-toepassingen", ["ai", "toepassing"]),  # hyphen
        ("arbeidsmarktkrapte", ["arbeid", "markt", "krapte"]),  # three parts
        ("kinderopvang", ["kind", "opvang"]),  # linking -er-
        ("gezondheidszorg", ["gezondheid", "zorg"]),
    ],
)
def test_compound_yields_its_parts(word: str, parts: list[str]) -> None:
    terms = analyse(word)
    for part in parts:
        assert stem(part) in terms, (word, part, terms)


@pytest.mark.parametrize(
    "word", ["personeelstekort", "werkgelegenheid", "zorgmedewerkers", "digitaliseringsproject"]
)
def test_compound_keeps_whole_word(word: str) -> None:
    assert analyse(word)[0] == stem(word.lower())


@pytest.mark.parametrize(
    "word", ["bestuur", "onderwijs", "mogelijkheden", "samenwerking", "werk", "organisatie"]
)
def test_plain_words_are_not_split(word: str) -> None:
    assert analyse(word) == [stem(word)]


@pytest.mark.parametrize(
    "forms",
    [
        ("werknemers", "werknemer"),
        ("gebruikt", "gebruiken", "gebruik"),
        ("efficiënt", "efficient", "Efficiënt"),
        ("organisaties", "organisatie"),
        ("vaardigheden", "vaardigheid"),
        ("gezondheid", "gezond"),
        ("cliënten", "clienten"),
    ],
)
def test_forms_share_a_term(forms: tuple[str, ...]) -> None:
    analysed = {tuple(analyse(f)) for f in forms}
    assert len(analysed) == 1, analysed


@pytest.mark.parametrize(
    ("a", "b"), [("gezondheid", "zon"), ("gebouwen", "bouwen"), ("gemeente", "menen")]
)
def test_ge_roots_do_not_collide(a: str, b: str) -> None:
    assert not set(analyse(a)) & set(analyse(b))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hoeveel mensen werken er in de zorg?", ["mens", stem("werken"), "zorg"]),
        ("Welke en wat, wie waarom hoe: het is een van de", []),
        (
            "In 2025 werkte 26% van de medewerkers thuis",
            ["2025", stem("werkte"), "26", "medewerker", "thuis"],
        ),
        ("3,5 procent, 3.5 en 1.000 banen", ["3,5", "procent", "3,5", "1000", stem("banen")]),
        ("auto's en zzp'ers", [stem("auto"), "zzp"]),
        ("e-mail", ["mail", "email"]),
        ("", []),
    ],
)
def test_analyse_known_answers(text: str, expected: list[str]) -> None:
    assert analyse(text) == expected


def test_stop_words_and_numbers() -> None:
    terms = analyse("Hoeveel procent van de werknemers heeft in 2024 een baan gevonden?")
    assert "2024" in terms
    assert not {"hoeveel", "van", "de", "heeft", "in", "een"} & set(terms)


def test_tokenise_keeps_hyphen_pieces_together() -> None:
    assert list(tokenise("AI-toepassingen in 2025")) == [["ai", "toepassingen"], ["in"], ["2025"]]


def test_corpus_vocabulary_enables_splits() -> None:
    texts = ["De zorgrobot helpt.", "Een robot en een zorgrobot.", "De robot."]
    vocab = corpus_vocabulary(texts)
    assert "robot" in vocab and "een" not in vocab
    assert CompoundSplitter(vocab).split("zorgrobot") == ("zorg", "robot")
    assert CompoundSplitter().split("theepotje") is None  # unknown parts: no split


def test_splitter_prefers_fewer_longer_parts() -> None:
    splitter = CompoundSplitter(["arbeidsmarkt", "krapte"])
    assert splitter.split("arbeidsmarktkrapte") == ("arbeidsmarkt", "krapte")
    # ... and the parts of parts are still indexed.
    expanded = set(splitter.expand("arbeidsmarktkrapte"))
    assert {"arbeidsmarkt", "arbeid", "markt", "krapte"} <= expanded


# ---- index ---------------------------------------------------------------------------------

CHUNKS = [
    chunk(
        "a:1:0",
        "Het personeelstekort in de zorg loopt op tot 40.000 vacatures in 2030.",
        collection="zorg",
        source="a.pdf",
    ),
    chunk(
        "b:1:0",
        "Digitale vaardigheden van medewerkers worden belangrijker door AI.",
        collection="algemeen",
        source="b.pdf",
    ),
    chunk(
        "c:1:0",
        "De overheid investeert in een digitaliseringsproject voor gemeenten.",
        collection="overheid",
        source="c.pdf",
    ),
    chunk(
        "d:2:1",
        "Werkgevers zien kansen voor werkgelegenheid in de techniek.",
        collection="algemeen",
        source="d.pdf",
    ),
    chunk(
        "e:1:0",
        "Het weer was kort en krachtig, zei de voorzitter.",
        collection="algemeen",
        source="e.pdf",
    ),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(CHUNKS)


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("Hoeveel personeel is er te kort?", "a:1:0"),
        ("tekort aan zorgpersoneel", "a:1:0"),
        ("Welke projecten over digitalisering zijn er?", "c:1:0"),
        ("Hoe efficiënt werken medewerkers met AI-toepassingen?", "b:1:0"),
        ("werk", "d:2:1"),
    ],
)
def test_right_chunk_ranks_first(index: KeywordIndex, query: str, best: str) -> None:
    results = index.search(query, k=3)
    assert results and results[0][0] == best, results


def test_results_sorted_positive_and_cut(index: KeywordIndex) -> None:
    results = index.search("personeel digitalisering werkgelegenheid vaardigheden", k=2)
    assert len(results) == 2
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_scores_match_bm25s(index: KeywordIndex) -> None:
    # Our posting-list scorer must agree with bm25s' own.
    import numpy as np

    for query in ["personeel digitalisering", "werk", "AI vaardigheden medewerkers"]:
        terms = list(dict.fromkeys(t for t in index.analyse(query) if t in index._bm25.vocab_dict))
        expected = index._bm25.get_scores(terms)
        ids = [index._bm25.vocab_dict[t] for t in terms]
        np.testing.assert_allclose(index._scores(ids), expected, rtol=1e-6)
        got = dict(index.search(query, k=len(index)))
        want = {index.ids[i]: float(s) for i, s in enumerate(expected) if s > 0}
        assert got == pytest.approx(want)


def test_joins_words_written_apart() -> None:
    assert analyse("te kort") == ["kort", "tekort"]
    splitter = CompoundSplitter(["zorgmedewerker", "personeelstekort"])
    assert analyse("zorg medewerker", splitter)[-1] == stem("zorgmedewerker")
    assert analyse("personeel tekort", splitter)[-1] == "personeelstekort"  # linking -s-


def test_no_known_terms_returns_empty(index: KeywordIndex) -> None:
    assert index.search("Wat is het en hoe?", k=5) == []
    assert index.search("xylofoon", k=5) == []
    assert index.search("", k=5) == []
    assert index.search("personeel", k=0) == []


def test_collection_filter(index: KeywordIndex) -> None:
    query = "personeelstekort digitaliseringsproject"
    assert {cid for cid, _ in index.search(query, k=5)} == {"a:1:0", "c:1:0"}
    assert [cid for cid, _ in index.search(query, k=5, collections={"overheid"})] == ["c:1:0"]
    assert [cid for cid, _ in index.search(query, k=1, collections={"overheid", "x"})] == ["c:1:0"]
    assert index.search(query, k=5, collections=set()) == []
    assert index.search(query, k=5, collections={"onbekend"}) == []


def test_filter_applies_before_top_k() -> None:
    # Many better-scoring chunks in another collection must not crowd out the allowed one.
    chunks = [chunk(f"x:{i}:0", "personeelstekort personeelstekort", "zorg") for i in range(1, 30)]
    chunks.append(chunk("y:1:0", "Een lang verhaal met ook een personeelstekort erin.", "hr"))
    idx = KeywordIndex.build(chunks)
    assert [cid for cid, _ in idx.search("personeelstekort", k=3, collections={"hr"})] == ["y:1:0"]


def test_save_load_roundtrip(index: KeywordIndex, tmp_path: Path) -> None:
    path = tmp_path / "keyword"
    index.save(path)
    loaded = KeywordIndex.load(path)
    assert len(loaded) == len(index)
    assert loaded.sources == index.sources and loaded.collections == index.collections
    assert loaded.splitter.corpus_words == index.splitter.corpus_words
    for query in ["Hoeveel personeel is er te kort?", "digitalisering", "werk kansen", "AI"]:
        for collections in (None, {"algemeen"}):
            assert loaded.search(query, 5, collections) == index.search(query, 5, collections)


def test_save_replaces_atomically_and_prunes(tmp_path: Path) -> None:
    path = tmp_path / "keyword"
    for n in range(1, 5):
        KeywordIndex.build(CHUNKS[:n]).save(path)
        assert len(KeywordIndex.load(path)) == n
    # The live index plus one previous version, nothing half-written left behind.
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "keyword")
    assert len(leftovers) == 2 and all(".keyword.v-" in name for name in leftovers)
    assert json.loads((path / "meta.json").read_text())["ids"] == [c.id for c in CHUNKS[:4]]


def test_save_over_plain_directory(tmp_path: Path) -> None:
    path = tmp_path / "keyword"
    path.mkdir()
    (path / "stale.txt").write_text("old")
    KeywordIndex.build(CHUNKS).save(path)
    assert path.is_symlink() and len(KeywordIndex.load(path)) == len(CHUNKS)


def test_empty_index(tmp_path: Path) -> None:
    empty = KeywordIndex.build([])
    assert len(empty) == 0 and empty.search("personeel", 5) == []
    empty.save(tmp_path / "empty")
    loaded = KeywordIndex.load(tmp_path / "empty")
    assert len(loaded) == 0 and loaded.search("personeel", 5) == []


def test_chunks_without_terms() -> None:
    idx = KeywordIndex.build([chunk("s:1:0", "de het een"), chunk("s:1:1", "?!")])
    assert len(idx) == 2 and idx.search("personeel", 5) == []
    idx = KeywordIndex.build([chunk("s:1:0", "de het"), chunk("s:1:1", "personeel")])
    assert [cid for cid, _ in idx.search("personeel", 5)] == ["s:1:1"]


def test_load_missing_or_stale(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        KeywordIndex.load(tmp_path / "nope")
    path = tmp_path / "keyword"
    KeywordIndex.build(CHUNKS).save(path)
    meta_path = path / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["analyser"] = -1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IndexMissing):
        KeywordIndex.load(path)
    assert os.path.islink(path)
