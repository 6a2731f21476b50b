"""The hybrid retriever end to end on a real Chroma index in ``tmp_path``.

Fake (hashing) embeddings keep it fast; with those, cosines of related Dutch text are ~0.2-0.6
and of unrelated text ~0, so the floors are set for that scale here. The access filter
(collections) must hold in every mode, for follow-ups with previous passages and for document
routing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant.chunks import Chunk
from assistant.embeddings import make_embeddings
from assistant.keyword import KeywordIndex
from assistant.retrieval import Retriever
from assistant.search_text import without_names
from assistant.settings import Settings
from assistant.store import DocumentEntry, Manifest, Store

DOCS: dict[str, tuple[dict[str, str], list[str]]] = {
    "integron.txt": (
        {"title": "Welke rol speelt AI in het dagelijks werk?", "organisation": "Integron"},
        [
            "Slechts 26 procent van de Nederlandse werknemers gebruikt AI actief in het werk.",
            "Bij directieleden ligt het gebruik veel hoger: 57 procent van de directieleden "
            "gebruikt AI.",
            "AI-gebruikers wisselen vaker van baan: 41 procent overweegt een nieuwe stap.",
            "De meeste gebruikers zien zichzelf nog als beginner met AI.",
        ],
    ),
    "kpn.txt": (
        {"title": "Future of Work-onderzoek", "organisation": "KPN en Motivaction"},
        [
            "Het onderzoek werd in mei 2025 uitgevoerd door Motivaction onder 920 professionals.",
            "Zestig procent van de organisaties werkt aan het optimaliseren van de digitale "
            "werkomgeving.",
            "In de zorgsector liggen professionals wakker van het behouden van personeel.",
            "Vijfentachtig procent wil meer ondersteuning bij digitale vaardigheden.",
        ],
    ),
    "vivo.txt": (
        {"title": "Digitalisering in de social profit", "organisation": "VIVO"},
        [
            "Klinisch redeneren wordt belangrijker voor verpleegkundigen door automatisering.",
            "Organisaties in de social profit nemen zelden het voortouw bij innovatie.",
            "Het voorwoord is ondertekend door de directeur van VIVO.",
            "Zelfstandig werken en aanpassingsvermogen worden vaker gevraagd in vacatures.",
        ],
    ),
    "salaris.txt": (
        {
            "title": "Vertrouwelijk salarisoverzicht",
            "organisation": "Personeelszaken",
            "collection": "hr",
        },
        [
            "Het gemiddelde salaris van een HR-manager bedraagt 5200 euro bruto per maand.",
            "Directieleden ontvangen een bonus van 12 procent van het jaarsalaris.",
        ],
    ),
}


def _chunks() -> list[Chunk]:
    out = []
    for source, (meta, texts) in DOCS.items():
        stem = source.rsplit(".", 1)[0]
        for i, text in enumerate(texts):
            out.append(Chunk(id=f"{stem}:1:{i}", text=text, source=source, page=1, index=i, **meta))
    return out


@pytest.fixture
def settings(tmp_settings: Settings) -> Settings:
    # Hash-embedding scale: related text ~0.2-0.6, unrelated ~0.
    retrieval = tmp_settings.retrieval.model_copy(
        update={"relevance_floor": 0.1, "relevance_floor_strong": 0.35, "min_coverage": 0.5}
    )
    return tmp_settings.model_copy(update={"retrieval": retrieval})


@pytest.fixture
def store(settings: Settings) -> Store:
    """A published generation: Chroma collection + keyword index + manifest."""
    store = Store(settings.store, make_embeddings(settings.embeddings))
    gen = store.new_generation()
    chunks = _chunks()
    gen.add(chunks)
    KeywordIndex.build(chunks).save(store.keyword_dir(gen.name))
    documents = {}
    for source, (meta, texts) in DOCS.items():
        documents[source] = DocumentEntry(
            source=source, hash=source, chunks=len(texts), kind="rapport", **meta
        )
    _publish(store, gen, documents, "2025-01-01")
    return store


def _publish(store: Store, gen: Any, documents: dict[str, DocumentEntry], synced_at: str) -> None:
    store.publish(
        Manifest(
            collection=gen.name,
            generation=gen.number,
            synced_at=synced_at,
            embedding_model="hash",
            documents=documents,
        )
    )


@pytest.fixture
def retriever(store: Store, settings: Settings) -> Retriever:
    return Retriever(store, settings.retrieval)


def _ids(res: Any) -> list[str]:
    return [p.chunk.id for p in res.passages]


def test_hybrid_finds_the_passage(retriever: Retriever) -> None:
    res = retriever.retrieve("Hoeveel procent van de directieleden gebruikt AI volgens Integron?")
    assert res.relevant, res.reason
    assert _ids(res)[0] == "integron:1:1"
    top = res.passages[0]
    assert top.dense is not None and top.keyword is not None
    assert {"dense", "keyword"} <= set(top.ranks)
    assert res.named == ["integron.txt"]  # "Integron" names the document
    assert res.query == "Hoeveel procent van de directieleden gebruikt AI volgens Integron?"
    assert {"embed_s", "dense_s", "keyword_s", "retrieve_s"} <= set(res.timings)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_each_mode_ranks_the_passage(retriever: Retriever, mode: str) -> None:
    res = retriever.retrieve("Wanneer werd het onderzoek uitgevoerd door Motivaction?", mode=mode)
    assert "kpn:1:0" in _ids(res)[:2]
    if mode == "keyword":
        assert all(p.dense is None for p in res.passages)
    if mode == "dense":
        assert all(p.keyword is None for p in res.passages)


def test_top_k_10_returns_10_passages_despite_the_cap(retriever: Retriever) -> None:
    res = retriever.retrieve(
        "Wat melden de studies over AI, werk en digitale vaardigheden?", top_k=10
    )
    assert len(res.passages) == 10
    assert len(set(_ids(res))) == 10
    default = retriever.retrieve("Wat melden de studies over AI, werk en digitale vaardigheden?")
    assert _ids(default) == _ids(res)[: retriever.settings.top_k]
    capped = Retriever(
        retriever.store, retriever.settings.model_copy(update={"max_per_document": 2})
    )
    top = capped.retrieve("Wat melden de studies over AI, werk en digitale vaardigheden?")
    per_doc: dict[str, int] = {}
    for p in top.passages:
        per_doc[p.chunk.source] = per_doc.get(p.chunk.source, 0) + 1
    assert max(per_doc.values()) <= 2


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_collections_filter_is_enforced_in_every_mode(retriever: Retriever, mode: str) -> None:
    question = "Wat is het gemiddelde salaris van een HR-manager per maand?"
    hidden = retriever.retrieve(question, mode=mode, collections={"algemeen"}, top_k=10)
    assert all(p.chunk.collection == "algemeen" for p in hidden.passages)
    assert not any(cid.startswith("salaris:") for cid in hidden.fused)
    shown = retriever.retrieve(question, mode=mode, collections={"algemeen", "hr"})
    assert shown.passages[0].chunk.id == "salaris:1:0"


def test_a_small_collection_is_filtered_by_chroma(retriever: Retriever) -> None:
    # 2 of 14 chunks: too small a share to over-fetch and filter here; Chroma filters
    res = retriever.retrieve("Wat verdienen directieleden?", collections={"hr"}, top_k=10)
    assert res.passages and all(p.chunk.collection == "hr" for p in res.passages)
    assert _ids(res)[0] == "salaris:1:1"


def test_naming_a_hidden_document_routes_nowhere(retriever: Retriever) -> None:
    question = "Wat staat er in het vertrouwelijke salarisoverzicht van Personeelszaken?"
    assert retriever.retrieve(question).named == ["salaris.txt"]
    hidden = retriever.retrieve(question, collections={"algemeen"}, top_k=10)
    assert hidden.named == []
    assert all(p.chunk.source != "salaris.txt" for p in hidden.passages)


def test_followup_uses_history_and_previous_passages(retriever: Retriever) -> None:
    history = [
        {"role": "user", "content": "Hoeveel Nederlandse werknemers gebruiken AI actief?"},
        {"role": "assistant", "content": "Volgens Integron 26 procent [1]."},
    ]
    first = retriever.retrieve(history[0]["content"])
    res = retriever.retrieve(
        "En bij directieleden?", history, previous=[p.chunk for p in first.passages]
    )
    assert res.followup
    assert res.query == "Hoeveel Nederlandse werknemers gebruiken AI actief, bij directieleden?"
    assert "integron:1:1" in _ids(res)[:2]
    # the keyword search weighs the new words above the carried ones
    keyword = retriever.retrieve("En bij directieleden?", history, mode="keyword")
    assert _ids(keyword)[0] == "integron:1:1"


def test_without_rewriting_a_followup_is_searched_as_asked(retriever: Retriever) -> None:
    history = [
        {"role": "user", "content": "Hoeveel Nederlandse werknemers gebruiken AI actief?"},
        {"role": "assistant", "content": "Volgens Integron 26 procent [1]."},
    ]
    off = Retriever(
        retriever.store, retriever.settings.model_copy(update={"rewrite_followups": False})
    )
    res = off.retrieve("En bij directieleden?", history)
    assert res.query == "En bij directieleden?" and not res.followup
    assert retriever.retrieve("En bij directieleden?", history).followup  # on by default


def test_referring_followup_carries_the_previous_passages(retriever: Retriever) -> None:
    history = [
        {"role": "user", "content": "Wie heeft het voorwoord ondertekend?"},
        {"role": "assistant", "content": "De directeur van VIVO [1]."},
    ]
    previous = [c for c in _chunks() if c.id == "vivo:1:2"]
    on = retriever.settings.model_copy(update={"previous_weight": 1.0})  # off by default
    retriever = Retriever(retriever.store, on)
    res = retriever.retrieve("Wat zegt hij daarover?", history, previous=previous, top_k=10)
    assert "previous" in res.passages[0].ranks or any("previous" in p.ranks for p in res.passages)
    assert "vivo:1:2" in _ids(res)[:3]


def test_previous_passages_of_a_closed_collection_do_not_leak(retriever: Retriever) -> None:
    history = [
        {"role": "user", "content": "Wat verdient een HR-manager per maand?"},
        {"role": "assistant", "content": "5200 euro [1]."},
    ]
    leaked = retriever.retrieve(history[0]["content"], collections={"algemeen", "hr"})
    res = retriever.retrieve(
        "Waarom is dat zo?",
        history,
        collections={"algemeen"},
        previous=[p.chunk for p in leaked.passages],
        top_k=10,
    )
    assert all(p.chunk.collection == "algemeen" for p in res.passages)


def test_off_topic_question_is_refused(retriever: Retriever) -> None:
    res = retriever.retrieve("Hoe bak ik een appeltaart met kaneel?")
    assert not res.relevant
    assert res.reason


def test_keyword_index_is_rebuilt_when_missing(store: Store, settings: Settings) -> None:
    name = store.require_manifest().collection
    path = store.keyword_dir(name)
    target = path.resolve()
    path.unlink()
    shutil.rmtree(target)
    retriever = Retriever(store, settings.retrieval)
    res = retriever.retrieve("Wie heeft het voorwoord ondertekend?", mode="keyword")
    assert _ids(res)[0] == "vivo:1:2"
    assert Path(path).exists()


def test_new_generation_is_picked_up(retriever: Retriever, store: Store) -> None:
    before = retriever.retrieve("Wat vinden verpleegkundigen van klinisch redeneren?")
    assert before.passages
    gen = store.new_generation()
    extra = Chunk(
        id="nieuw:1:0",
        text="Robots in de kinderopvang zijn een nieuw fenomeen.",
        source="nieuw.txt",
        page=1,
        index=0,
        title="Kinderopvang",
    )
    chunks = _chunks() + [extra]
    gen.add(chunks)
    KeywordIndex.build(chunks).save(store.keyword_dir(gen.name))
    manifest = store.require_manifest()
    docs = dict(manifest.documents)
    docs["nieuw.txt"] = DocumentEntry(source="nieuw.txt", hash="n", chunks=1, title="Kinderopvang")
    _publish(store, gen, docs, "2025-01-02")
    store._manifest_cache = None  # the reader's short manifest cache, as after max_age_s
    res = retriever.retrieve("Welke robots zijn er in de kinderopvang?")
    assert _ids(res)[0] == "nieuw:1:0"


def test_answer_type_ranking_for_a_figure_question(store: Store, settings: Settings) -> None:
    on = settings.retrieval.model_copy(update={"answer_type_weight": 1.0})
    retriever = Retriever(store, on)
    res = retriever.retrieve("Hoeveel procent van alle werknemers gebruikt AI?", top_k=6)
    ranked = [p for p in res.passages if "answer_type" in p.ranks]
    assert ranked, "a 'hoeveel' question gets the answer-type ranking"
    for p in res.passages:  # passages with a percentage are in it, passages without a figure not
        if re.search(r"\d+ procent", p.chunk.text):
            assert "answer_type" in p.ranks, p.chunk.text
        if not re.search(r"\d|procent", p.chunk.text):
            assert "answer_type" not in p.ranks, p.chunk.text
    assert res.passages[0].chunk.id == "integron:1:0"


def test_no_answer_type_ranking_for_an_open_question_or_when_off(
    store: Store, settings: Settings, retriever: Retriever
) -> None:
    res = retriever.retrieve("Waarom nemen organisaties in de social profit zelden het voortouw?")
    assert all("answer_type" not in p.ranks for p in res.passages)
    assert "answer_type_s" not in res.timings
    on = Retriever(store, settings.retrieval.model_copy(update={"answer_type_weight": 1.0}))
    res = on.retrieve("Hoeveel procent van alle werknemers gebruikt AI?")
    assert any("answer_type" in p.ranks for p in res.passages)
    default = retriever.retrieve("Hoeveel procent van alle werknemers gebruikt AI?")
    assert all("answer_type" not in p.ranks for p in default.passages)  # off by default


def test_a_topic_question_also_searches_the_topic_alone(
    store: Store, settings: Settings, retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded: list[str] = []
    embed = store.embeddings.embed_query
    monkeypatch.setattr(
        store.embeddings, "embed_query", lambda text: embedded.append(text) or embed(text)
    )
    question = "Wat melden de onderzoeken van Motivaction en KPN over digitale vaardigheden?"
    # off by default (bench/README.md); on, it searches the topic alone too
    retriever = Retriever(store, settings.retrieval.model_copy(update={"topic_weight": 1.0}))
    res = retriever.retrieve(question)
    # the question, the question without the report's name (searched inside it), the topic
    assert embedded == [question, "Wat melden over digitale vaardigheden?", "digitale vaardigheden"]
    assert any("dense_topic" in p.ranks for p in res.passages)
    assert any("dense_topic_doc" in p.ranks for p in res.passages)  # KPN is named: inside it too
    assert "dense_topic_s" in res.timings
    assert _ids(res)[0] == "kpn:1:3"

    embedded.clear()
    retriever.retrieve("Welk deel van het personeel gebruikt AI?")
    assert len(embedded) == 1  # no "over X": one embedding
    embedded.clear()
    off = Retriever(store, settings.retrieval.model_copy(update={"topic_weight": 0.0}))
    res = off.retrieve(question)
    assert embedded == [question, "Wat melden over digitale vaardigheden?"]  # no topic search
    assert all("dense_topic" not in p.ranks for p in res.passages)


@pytest.mark.parametrize("answer_type_weight", [0.0, 1.0])
def test_the_floor_does_not_depend_on_how_many_passages_are_asked(
    store: Store, settings: Settings, answer_type_weight: float
) -> None:
    """The app asks for top_k passages, the evaluation for 10: the verdict must be the same."""
    retriever = Retriever(
        store,
        settings.retrieval.model_copy(
            update={"answer_type_weight": answer_type_weight, "top_k": 1}
        ),
    )
    for question in (
        "Hoeveel procent van alle werknemers gebruikt AI?",
        # the figure is in the second passage, the floor reads top_k + 1
        "Hoeveel procent van de gebruikers ziet zichzelf als beginner?",
        "Wie heeft het voorwoord van het VIVO-rapport ondertekend?",
        "Hoeveel minuten per dienst winnen verpleegkundigen?",
        "Wat zeggen de bronnen over het onderwijs?",
    ):
        few, many = retriever.retrieve(question), retriever.retrieve(question, top_k=10)
        assert (few.relevant, few.reason) == (many.relevant, many.reason), question
        assert [p.chunk.id for p in many.passages[:1]] == [p.chunk.id for p in few.passages]


def test_inside_named_documents_the_question_is_searched_without_the_name(
    store: Store, settings: Settings, retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = retriever.keyword_view()
    question = "Hoeveel procent gebruikt AI bij Integron?"
    named, name_terms = view.named_documents(question)
    assert named == ["integron.txt"]
    assert without_names(question, view, name_terms) == "Hoeveel procent gebruikt AI?"
    assert without_names("Wat zegt het Integron-onderzoek?", view, name_terms) == "Wat zegt?"
    assert without_names("Wat zegt Integron over beginners?", view, name_terms) == (
        "Wat zegt over beginners?"
    )
    assert without_names(question, view, set()) == question
    embedded: list[str] = []
    embed = store.embeddings.embed_query
    monkeypatch.setattr(
        store.embeddings, "embed_query", lambda text: embedded.append(text) or embed(text)
    )
    res = retriever.retrieve(question)
    assert embedded == [question, "Hoeveel procent gebruikt AI?"]  # on by default
    assert res.named == ["integron.txt"] and any("dense_doc" in p.ranks for p in res.passages)
    embedded.clear()
    off = settings.retrieval.model_copy(update={"inner_without_names": False})
    Retriever(store, off).retrieve(question)
    assert embedded == [question]
    embedded.clear()
    # with dense_without_source (off by default) a source phrase is left out of the dense
    # search, and the search inside the named document reuses that vector
    question = "Hoeveel procent gebruikt AI volgens het Integron-onderzoek?"
    retriever.retrieve(question)
    assert embedded == [question, "Hoeveel procent gebruikt AI?"]
    embedded.clear()
    on = settings.retrieval.model_copy(update={"dense_without_source": True})
    Retriever(store, on).retrieve(question)
    assert embedded == ["Hoeveel procent gebruikt AI?"]
    embedded.clear()
    retriever.retrieve("Hoeveel procent van alle werknemers gebruikt AI?")  # names nothing
    assert embedded == ["Hoeveel procent van alle werknemers gebruikt AI?"]


def test_the_whole_index_is_ranked_without_the_name_but_the_floor_reads_the_whole_question(
    store: Store, settings: Settings, retriever: Retriever
) -> None:
    question = "Hoeveel procent gebruikt AI bij Integron?"
    view = retriever.keyword_view()
    inner = without_names(question, view, view.named_documents(question)[1])
    k = settings.retrieval.candidates

    def order(text: str) -> list[str]:
        return [c.id for c, _ in store.query(store.embeddings.embed_query(text), k, None)]

    def dense_ranks(r: Retriever) -> tuple[list[str], float | None]:
        res = r.retrieve(question, top_k=k)
        ranked = sorted((p.ranks["dense"], p.chunk.id) for p in res.passages if "dense" in p.ranks)
        return [cid for _, cid in ranked], res.best_dense

    assert order(inner) != order(question)  # else this test could not tell them apart
    whole_best = store.query(store.embeddings.embed_query(question), 1, None)[0][1]
    on_ids, on_best = dense_ranks(retriever)
    assert on_ids == [cid for cid in order(inner) if cid in on_ids]
    assert on_best == pytest.approx(whole_best)
    off = settings.retrieval.model_copy(update={"global_without_names": False})
    off_ids, off_best = dense_ranks(Retriever(store, off))
    assert off_ids == [cid for cid in order(question) if cid in off_ids]
    assert off_best == pytest.approx(whole_best)


# a report with a conclusion section: asked to sum it up, its conclusions are the passages
REPORT = [
    ("Inleiding", "De Bibliotheekraad onderzocht hoe leden digitale diensten gebruiken."),
    ("Resultaten", "Veertig procent van de leden leent e-books via de app."),
    ("Resultaten", "Jongeren reserveren vaker online dan ouderen."),
    ("Conclusies", "De bibliotheken moeten hun digitale aanbod uitbreiden."),
    ("Conclusies", "Vrijwilligers hebben training nodig in digitale hulp aan leden."),
]


@pytest.fixture
def report_retriever(settings: Settings) -> Retriever:
    store = Store(settings.store, make_embeddings(settings.embeddings))
    gen = store.new_generation()
    meta = {"title": "Digitale diensten in de bibliotheek", "organisation": "Bibliotheekraad"}
    report = [
        Chunk(id=f"raad:1:{i}", text=t, source="raad.txt", page=1, index=i, heading=h, **meta)
        for i, (h, t) in enumerate(REPORT)
    ]
    chunks = _chunks() + report
    gen.add(chunks)
    KeywordIndex.build(chunks).save(store.keyword_dir(gen.name))
    documents = {
        source: DocumentEntry(source=source, hash=source, chunks=len(texts), kind="rapport", **m)
        for source, (m, texts) in DOCS.items()
    }
    documents["raad.txt"] = DocumentEntry(
        source="raad.txt", hash="raad", chunks=len(REPORT), kind="rapport", **meta
    )
    _publish(store, gen, documents, "2025-01-01")
    return Retriever(store, settings.retrieval)


@pytest.mark.parametrize(
    "question",
    [
        "Welke conclusies trekt de Bibliotheekraad in haar rapport?",
        "Vat het rapport van de Bibliotheekraad kort samen.",
    ],
)
def test_a_request_to_sum_up_a_named_report_gets_its_conclusions(
    report_retriever: Retriever, question: str
) -> None:
    res = report_retriever.retrieve(question)
    assert res.summary and res.relevant and res.named == ["raad.txt"]
    assert _ids(res) == ["raad:1:3", "raad:1:4"]
    off = report_retriever.settings.model_copy(update={"summarise_named": False})
    searched = Retriever(report_retriever.store, off).retrieve(question)
    assert not searched.summary and len(searched.passages) > 2


def test_a_report_without_conclusions_is_summed_up_by_its_opening(
    report_retriever: Retriever,
) -> None:
    res = report_retriever.retrieve("Waar gaat het onderzoek van Integron over?")
    assert res.summary
    assert _ids(res) == [f"integron:1:{i}" for i in range(report_retriever.settings.top_k)]


def test_a_question_about_a_topic_of_the_report_is_searched(report_retriever: Retriever) -> None:
    res = report_retriever.retrieve("Wat concludeert de Bibliotheekraad over jongeren?")
    assert not res.summary
    assert "raad:1:2" in _ids(res)


def test_no_summary_of_a_document_the_user_may_not_read(report_retriever: Retriever) -> None:
    question = "Vat het salarisoverzicht van Personeelszaken samen."
    assert report_retriever.retrieve(question).summary
    hidden = report_retriever.retrieve(question, collections={"algemeen"})
    assert not hidden.summary
    assert all(p.chunk.source != "salaris.txt" for p in hidden.passages)
