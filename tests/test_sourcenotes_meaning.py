"""The sources block picks statements by meaning as well as by shared terms
(``sourcenotes._answering``), gives a statement the sentences that follow it in its paragraph,
and hears the study a sentence names itself. Unit tests of that logic: the similarity is a
scripted stand-in for e5 (cosines chosen per sentence), the chunks are made up."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.chunks import Chunk
from assistant.sourcenotes import MAX_EMBEDDED, _run_on, statements

# a question with four terms (havens, robots, werk, zet): three must be shared
QUESTION = "Zetten havens robots in bij het werk?"


def _chunk(i: int, text: str, org: str = "") -> Chunk:
    return Chunk(
        id=f"d{i}:1:0",
        text=text,
        source=f"d{i}.txt",
        page=1,
        index=0,
        organisation=org or f"Bureau {i}",
        date=f"202{i}",
    )


def scripted(cosines: dict[str, float], asked: list[list[str]] | None = None) -> Callable:
    """Cosine per sentence by a word it holds (0.86 for any other): a stand-in for e5."""

    def similarity(question: str, texts: list[str]) -> list[float]:
        if asked is not None:
            asked.append(list(texts))
        return [next((c for w, c in cosines.items() if w in t), 0.86) for t in texts]

    return similarity


ALL_TERMS = "In de havens zetten ploegen robots in voor zwaar werk."
ONE_SHORT = "Rotterdam laat kranen door robots bedienen in de havens, zonder ploegen."


def test_a_sentence_one_term_short_needs_the_meaning() -> None:
    chunks = [_chunk(1, ALL_TERMS), _chunk(2, ONE_SHORT)]
    # terms alone: the second source shares two of four terms, no block
    assert statements(QUESTION, chunks) == []
    # close in meaning (cosine 0.88, rescaled 0.83): admitted, both sources side by side
    close = statements(QUESTION, chunks, similarity=scripted({"kranen": 0.88, "zwaar": 0.88}))
    assert {s.voice for s in close} == {"Bureau 1", "Bureau 2"}
    # far in meaning: still one term short, still no block
    far = statements(QUESTION, chunks, similarity=scripted({"kranen": 0.82, "zwaar": 0.88}))
    assert far == []


def test_shared_terms_about_another_subject_are_dropped() -> None:
    other = "Over robots in de havens is op het werk nog niets besloten, zet de vakbond."
    chunks = [_chunk(1, ALL_TERMS), _chunk(2, other), _chunk(3, ONE_SHORT)]
    cos = {"zwaar": 0.88, "kranen": 0.88, "vakbond": 0.79}
    said = statements(QUESTION, chunks, similarity=scripted(cos))
    assert [s.voice for s in said] == ["Bureau 1", "Bureau 3"]
    # without a similarity the term rule alone decides, as before
    assert {s.voice for s in statements(QUESTION, chunks)} == {"Bureau 1", "Bureau 2"}


def test_meaning_ranks_a_voice_s_statements() -> None:
    first = "Robots werken in de havens soms mee, zet de directie in een bijzin."
    second = "In de havens zet men robots in voor het zware werk aan de kade."
    elsewhere = "Op het werk in kleine havens zet de bond nog weinig robots in, meldt een peiling."
    chunks = [_chunk(1, f"{first}\n\n{second}"), _chunk(2, elsewhere)]
    said = statements(QUESTION, chunks, similarity=scripted({"kade": 0.89, "bijzin": 0.83}))
    mine = [s.quote for s in said if s.voice == "Bureau 1"]
    assert mine == [second, first]  # same terms: the closer meaning first


def test_the_number_of_sentences_embedded_is_bounded() -> None:
    many = [
        _chunk(i % 9, f"Robots in de havens doen werk nummer {i} voor de ploegen.")
        for i in range(60)
    ]
    asked: list[list[str]] = []
    statements(QUESTION, many, similarity=scripted({}, asked))
    assert len(asked) == 1 and len(asked[0]) == MAX_EMBEDDED


def test_a_statement_runs_on_in_its_paragraph() -> None:
    text = (
        "Havens lopen voorop met robots. Bijna 40% van de kades werkt ermee. "
        "Dat is meer dan elders.\n\nNieuwe paragraaf. Hier begint iets anders.\n"
        "• Een opsomming."
    )
    start = text.index("Havens")
    assert _run_on(text, start, "Havens lopen voorop met robots.") == text[: text.index("\n\n")]
    # only while the next sentence stays on the subject (here: gives a figure)
    figure = _run_on(text, start, "Havens lopen voorop met robots.", lambda p: "%" in p)
    assert figure == "Havens lopen voorop met robots. Bijna 40% van de kades werkt ermee."
    second = text.index("Hier")
    assert _run_on(text, second, "Hier begint iets anders.") == "Hier begint iets anders."
    # a long paragraph: whole sentences only, up to the limit
    long = "Robots helpen. " + "Een lange zin over kranen en kades die maar doorgaat. " * 20
    out = _run_on(long, 0, "Robots helpen.")
    assert out.endswith(".") and len(out) <= 300 and long.startswith(out)


@pytest.mark.parametrize("similarity", [None, scripted({})])
def test_a_sentence_that_names_its_study_is_that_study_s_voice(similarity: Callable | None) -> None:
    compilation = "Volgens onderzoek van Havenraad zetten de meeste havens robots in voor het werk."
    chunks = [_chunk(1, compilation, org="Verzamelbundel"), _chunk(2, ALL_TERMS)]
    said = statements(QUESTION, chunks, similarity=similarity)
    assert "Havenraad (in: Verzamelbundel)" in {s.voice for s in said}


def test_the_run_on_of_a_statement_stays_on_the_question() -> None:
    text = f"{ALL_TERMS} Dat scheelt 12% aan kosten. Het regende die dag."
    close = scripted({"kranen": 0.88})
    said = statements(QUESTION, [_chunk(1, text), _chunk(2, ONE_SHORT)], similarity=close)
    mine = next(s.quote for s in said if s.voice == "Bureau 1")
    assert mine == f"{ALL_TERMS} Dat scheelt 12% aan kosten."


def test_a_list_lead_in_is_no_statement() -> None:
    lead_in = "In de havens zetten ploegen robots in voor dit werk:\n• lossen\n• laden"
    chunks = [_chunk(1, lead_in), _chunk(2, ALL_TERMS.replace("ploegen", "bonden"))]
    assert statements(QUESTION, chunks) == []
    chunks.append(_chunk(3, "Robots doen in havens het zware werk, zet de bond uiteen."))
    assert {s.voice for s in statements(QUESTION, chunks)} == {"Bureau 2", "Bureau 3"}


def test_the_setting_bounds_or_switches_off_the_embedding() -> None:
    from datetime import date

    from assistant.citations import CheckedAnswer, Citation
    from assistant.service import Answer
    from assistant.settings import SourceSettings
    from assistant.sourcenotes import STATEMENTS_INTRO, annotate

    first, second = _chunk(1, ALL_TERMS), _chunk(2, ONE_SHORT)
    checked = CheckedAnswer(f"{ALL_TERMS} [1]", (), (Citation(1, first, ALL_TERMS),), "answer", 1.0)
    answer = Answer(
        question=QUESTION,
        query=QUESTION,
        text=checked.text,
        mode="answer",
        checked=checked,
        passages=[first],
    )
    today = date(2026, 11, 27)
    asked: list[list[str]] = []
    close = scripted({"kranen": 0.88}, asked)
    on = annotate(answer, SourceSettings(meaning=1), today, [second], similarity=close)
    assert [len(a) for a in asked] == [1]  # the sentence with the most terms only
    assert STATEMENTS_INTRO not in on.text  # the one a term short was not embedded
    asked.clear()
    both = annotate(answer, SourceSettings(), today, [second], similarity=close)
    assert STATEMENTS_INTRO in both.text and "Rotterdam laat kranen" in both.text
    asked.clear()
    off = annotate(answer, SourceSettings(meaning=0), today, [second], similarity=close)
    assert asked == [] and STATEMENTS_INTRO not in off.text
