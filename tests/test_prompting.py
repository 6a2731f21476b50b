"""Prompt filling: the budget holds, passages are numbered, the system prompt comes first."""

from assistant.chunks import Chunk
from assistant.llm import extractive_reply
from assistant.prompting import Prompts, build_messages, fit_passages, focus_passage, format_history
from assistant.settings import load_settings
from assistant.tokens import count_tokens


def _chunk(i: int, words: int = 60) -> Chunk:
    return Chunk(
        id=f"doc{i}:1:0",
        text=" ".join(f"woord{i}" for _ in range(words)),
        source=f"doc{i}.txt",
        page=1,
        index=0,
        title=f"Titel {i}",
        organisation="Org",
        date="2024",
    )


def test_passages_fit_budget_and_are_numbered() -> None:
    prompts = Prompts.load(load_settings().prompts_dir)
    chunks = [_chunk(i) for i in range(1, 10)]
    fitted = fit_passages(prompts.passage, chunks, budget_tokens=300)
    assert 0 < len(fitted) < 9
    assert sum(count_tokens(b) + 2 for _, b in fitted) <= 300
    assert [b.split("]")[0] for _, b in fitted] == [f"[{i}" for i in range(1, len(fitted) + 1)]


def test_build_messages_respects_context_window() -> None:
    prompts = Prompts.load(load_settings().prompts_dir)
    chunks = [_chunk(i, words=200) for i in range(1, 8)]
    messages, given = build_messages(
        prompts,
        "Wat staat erin?",
        chunks,
        context_window=2048,
        max_answer_tokens=300,
        passage_tokens=5000,
    )
    assert messages[0] == {"role": "system", "content": prompts.system}
    total = sum(count_tokens(m["content"]) for m in messages)
    assert total + 300 <= 2048
    assert given == chunks[: len(given)]
    assert "Vraag: Wat staat erin?" in messages[1]["content"]


def test_system_prompt_is_identical_between_questions() -> None:
    """The prefix cache only helps when the fixed prefix is byte-identical."""
    prompts = Prompts.load(load_settings().prompts_dir)
    a, _ = build_messages(
        prompts,
        "Vraag één?",
        [_chunk(1)],
        context_window=4096,
        max_answer_tokens=300,
        passage_tokens=900,
    )
    b, _ = build_messages(
        prompts,
        "Vraag twee?",
        [_chunk(2)],
        context_window=4096,
        max_answer_tokens=300,
        passage_tokens=900,
    )
    assert a[0] == b[0]


def test_history_keeps_newest_turns() -> None:
    history = [{"role": "user", "content": f"vraag {i}"} for i in range(10)]
    text = format_history("Eerder:\n{turns}", history, max_tokens=200)
    assert "vraag 9" in text and "vraag 0" not in text
    assert format_history("{turns}", [], max_tokens=200) == ""


def test_fake_reply_quotes_the_sentence_nearest_the_question() -> None:
    prompts = Prompts.load(load_settings().prompts_dir)
    chunk = Chunk(
        id="a:1:0", text="Slechts 26% doet mee. Meer tekst.", source="a.txt", page=1, index=0
    )
    messages, _ = build_messages(
        prompts,
        "Hoeveel doet mee?",
        [chunk, _chunk(2)],
        context_window=4096,
        max_answer_tokens=300,
        passage_tokens=900,
    )
    assert extractive_reply(messages) == "Slechts 26% doet mee. [1]"


def test_fake_reply_cites_the_passage_that_matches_the_question() -> None:
    prompts = Prompts.load(load_settings().prompts_dir)
    first = Chunk(
        id="a:1:0", text="Het weer was goed. Niemand klaagde.", source="a.txt", page=1, index=0
    )
    second = Chunk(
        id="b:1:0",
        text="Inleiding. Slechts 26% van de werknemers gebruikt AI.",
        source="b.txt",
        page=1,
        index=0,
    )
    messages, _ = build_messages(
        prompts,
        "Hoeveel werknemers gebruikt AI?",
        [first, second],
        context_window=4096,
        max_answer_tokens=300,
        passage_tokens=900,
    )
    assert extractive_reply(messages) == "Slechts 26% van de werknemers gebruikt AI. [2]"


def test_focus_keeps_the_sentence_that_explains_a_matching_one() -> None:
    filler = " ".join(f"Paragraaf {i} gaat over de kantine en het parkeerbeleid." for i in range(8))
    text = (
        f"{filler} Opvallend is dat thuiswerkers vaker van werkgever wisselen. "
        "Zij zoeken meer vrijheid en een kortere reistijd. "
        f"{filler}"
    )
    focused = focus_passage("Waarom wisselen thuiswerkers vaker van werkgever?", text, 40)
    assert "Opvallend is dat thuiswerkers vaker van werkgever wisselen." in focused
    assert "Zij zoeken meer vrijheid en een kortere reistijd." in focused
    assert "kantine" not in focused


def test_passages_that_sum_up_a_document_keep_their_opening() -> None:
    prompts = Prompts.load(load_settings().prompts_dir)
    text = "De bibliotheek moet digitaal groeien. " + " ".join(
        f"Gemeente {i} meldt meer bezoekers aan de leestafel." for i in range(40)
    )
    chunk = Chunk(id="raad:1:0", text=text, source="raad.txt", page=1, index=0)
    question = "Hoeveel bezoekers meldt gemeente 7 aan de leestafel?"
    (opening,) = fit_passages(prompts.passage, [chunk], 120, question, opening=True)
    assert "De bibliotheek moet digitaal groeien." in opening[1]
    (focused,) = fit_passages(prompts.passage, [chunk], 120, question)
    assert "leestafel" in focused[1] and "digitaal groeien" not in focused[1]
