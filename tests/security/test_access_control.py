"""Document collections: a user never receives passages of a collection they may not read.

The filter is applied inside retrieval, in both the dense (Chroma ``where``) and the keyword
(BM25 mask) search, so a restricted passage never reaches the model, the answer, the sources,
or the audit log. Asserted here end to end, with the real e5 embedder.
"""

from __future__ import annotations

import pytest

from assistant.access import User
from assistant.audit import AuditLog
from assistant.embeddings import make_embeddings
from assistant.llm import FakeChat, extractive_reply
from assistant.prompting import Prompts
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import Store

from ._corpus import build

SALARY_Q = "Wat verdient een HR-manager in deze organisatie per maand?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build(tmp_path_factory.mktemp("access"))


@pytest.fixture
def assistant(corpus: Settings) -> Assistant:
    emb = make_embeddings(corpus.embeddings)
    # a model that would happily repeat whatever salary passage it is given
    chat = FakeChat(
        lambda m: "Het salaris is 5200 euro bruto per maand [1]. " + extractive_reply(m)
    )
    return Assistant(corpus, Store(corpus.store, emb), chat, emb, Prompts.load(corpus.prompts_dir))


def test_restricted_collection_is_invisible_to_other_users(assistant: Assistant) -> None:
    employee = User("piet", "gebruiker", {"algemeen"})
    answer = assistant.answer(SALARY_Q, collections=employee.ask_collections())
    assert all(c.collection == "algemeen" for c in answer.passages)
    assert "hr.txt" not in {c.source for c in answer.passages}
    assert "5200" not in answer.text
    for messages in assistant.chat.calls:  # none when refused: nothing relevant left to give
        assert all("5200" not in m["content"] for m in messages)  # not in the prompt either


def test_both_retrievers_apply_the_filter(assistant: Assistant) -> None:
    for mode in ("dense", "keyword", "hybrid"):
        hits = assistant.retriever.retrieve(SALARY_Q, mode=mode, collections={"algemeen"})
        assert all(p.chunk.collection == "algemeen" for p in hits.passages), mode
    # sanity: without the filter the HR passage is what the question finds
    open_hits = assistant.retriever.retrieve(SALARY_Q, mode="keyword")
    assert open_hits.passages and open_hits.passages[0].chunk.source == "hr.txt"


def test_authorised_user_does_get_it(assistant: Assistant) -> None:
    hr = User("hanna", "gebruiker", {"algemeen", "hr"})
    answer = assistant.answer(SALARY_Q, collections=hr.ask_collections())
    assert "hr.txt" in {c.source for c in answer.passages}
    assert "5200" in answer.text


def test_follow_up_does_not_reopen_a_closed_collection(assistant: Assistant) -> None:
    history = [
        {"role": "user", "content": SALARY_Q},
        {"role": "assistant", "content": "Het salaris is 5200 euro [1]."},
    ]
    answer = assistant.answer("En per jaar?", history, collections={"algemeen"})
    assert "hr.txt" not in {c.source for c in answer.passages}


def test_audit_log_holds_no_restricted_passage(assistant: Assistant, corpus: Settings) -> None:
    log = AuditLog(corpus)
    answer = assistant.answer(SALARY_Q, collections={"algemeen"})
    log.record_answer("piet", answer)
    rec = log.recent(1)[0]
    assert not any(
        cid.startswith("hr:") for cid in rec["passages_retrieved"] + rec["passages_shown"]
    )
    assert "5200" not in rec["answer"]


def test_user_without_collections_is_refused_politely() -> None:
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="geen toegang"):
        User("nieuw", "gebruiker", set()).ask_collections()
