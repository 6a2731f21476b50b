"""How a checked answer is shown: what the model copied from the prompt's layout (gap
markers, headings, titles, repeats, a sentence cut off by the token limit) is left out, a
why-question restated is no answer, and a verbatim answer says whose words it is.

Pure logic on real ``Passage``/``Chunk`` objects; the wording is made up for these tests."""

from __future__ import annotations

from assistant.chunks import Chunk
from assistant.citations import Passage, check_answer
from assistant.citations.novelty import adds_information, explains
from assistant.citations.tidy import drop_gap, headings, strip_headings, unfinished

TITLE = "Zelfbediening in de openbare bibliotheek"
ORGANISATION = "Stichting Leesplein"
LIBRARY_TEXT = (
    "Leners in beeld\n\n"
    "De bibliotheken in de provincie telden in 2023 ruim 41.000 actieve leners. "
    "Vooral jongeren lenen vaker digitale boeken dan vijf jaar geleden.\n\n"
    "Kassa's zonder personeel\n\n"
    "Veel vestigingen twijfelen over zelfscankassa's, omdat vaste bezoekers het praatje aan "
    "de balie missen. Daarnaast vrezen medewerkers dat hun werk minder afwisselend wordt."
)
SURVEY_TEXT = (
    "Uit de enquête blijkt dat 41% van de vestigingen al een zelfscankassa heeft. "
    "De overige vestigingen willen eerst de ervaringen van anderen afwachten. "
    "De meeste vestigingen zijn klein en hebben weinig budget voor nieuwe apparatuur."
)
QUOTE_LINE = 'Volgens {organisation}: „{quote}" [{n}]'


def passage(n: int, text: str, heading: str = "Leners in beeld") -> Passage:
    chunk = Chunk(
        id=f"bieb:{n}:0",
        text=text,
        source="bieb.pdf",
        page=n,
        index=0,
        title=TITLE,
        organisation=ORGANISATION,
        date="2024",
        heading=heading,
    )
    return Passage(n, chunk)


def test_gap_markers_copied_from_the_prompt_are_not_shown() -> None:
    raw = (
        "De bibliotheken in de provincie telden in 2023 ruim 41.000 actieve leners [1]. …\n"
        "Vooral jongeren lenen vaker digitale boeken dan vijf jaar geleden [1]. ..."
    )
    text = check_answer(raw, [passage(1, LIBRARY_TEXT)]).text
    assert "…" not in text and "..." not in text
    assert text.count("[1]") == 2


def test_a_short_fragment_before_a_gap_marker_is_dropped() -> None:
    assert drop_gap("Kassa's zonder personeel …") is None
    assert drop_gap("…") is None
    assert drop_gap("Veel vestigingen twijfelen over zelfscankassa's. …") == (
        "Veel vestigingen twijfelen over zelfscankassa's."
    )
    long_cut = "Veel vestigingen twijfelen over zelfscankassa's omdat vaste bezoekers het ..."
    assert drop_gap(long_cut) == long_cut[:-4]
    assert drop_gap("Dat kost geld, enz...") == "Dat kost geld, enz..."  # no bare marker
    # two kept sentences the prompt showed with a gap between them, copied as one
    assert drop_gap("Ze missen de balie, enz. … Vooral jongeren lenen digitaal.") == (
        "Ze missen de balie, enz. Vooral jongeren lenen digitaal."
    )


def test_the_same_sentence_is_shown_once() -> None:
    sentence = "Vooral jongeren lenen vaker digitale boeken dan vijf jaar geleden [1]."
    raw = f"{sentence}\n\n{sentence}\nDe bibliotheken in de provincie telden in 2023 ruim 41.000 actieve leners [1]."  # noqa: E501
    text = check_answer(raw, [passage(1, LIBRARY_TEXT)]).text
    assert text.count("Vooral jongeren") == 1
    assert "41.000" in text


def test_a_bold_heading_goes_with_its_emphasis() -> None:
    raw = "- **Kassa's zonder personeel Veel vestigingen twijfelen over zelfscankassa's.** [1]"
    text = check_answer(raw, [passage(1, LIBRARY_TEXT)]).text
    assert text == "- Veel vestigingen twijfelen over zelfscankassa's [1]."


def test_a_heading_glued_to_a_sentence_is_cut_off() -> None:
    raw = (
        "Kassa's zonder personeel Veel vestigingen twijfelen over zelfscankassa's, omdat vaste "
        "bezoekers het praatje aan de balie missen [1]."
    )
    text = check_answer(raw, [passage(1, LIBRARY_TEXT)]).text
    assert text.startswith("Veel vestigingen twijfelen")


def test_a_title_and_heading_as_a_sentence_is_dropped() -> None:
    opening = f"{TITLE}\n\n{LIBRARY_TEXT}"  # the first chunk of a report opens with its title
    raw = (
        f"{TITLE} Leners in beeld [1].\n"
        "Vooral jongeren lenen vaker digitale boeken dan vijf jaar geleden [1]."
    )
    text = check_answer(raw, [passage(1, opening)]).text
    assert text == "Vooral jongeren lenen vaker digitale boeken dan vijf jaar geleden [1]."


def test_heading_rules_leave_real_sentences_alone() -> None:
    heads = headings([passage(1, LIBRARY_TEXT)])
    assert ("kassa", "s", "zonder", "personeel") in heads
    # the heading's words start a sentence that goes on in lower case: not a heading
    sentence = "Leners in beeld brengen kost de vestigingen veel tijd."
    assert strip_headings(sentence, heads) == sentence
    assert strip_headings("Leners in beeld", heads) is None


def test_an_unfinished_last_sentence_is_dropped_but_bare_phrases_stay() -> None:
    assert unfinished(["Vestigingen twijfelen.", "Daarnaast vrezen medewerkers dat hun"])
    assert not unfinished(["Dit zijn de redenen:", "vaste bezoekers", "minder afwisseling"])
    assert not unfinished(["41.000 leners"])
    raw = (
        "Veel vestigingen twijfelen over zelfscankassa's [1].\n"
        "Daarnaast vrezen medewerkers dat hun werk minder"
    )
    text = check_answer(raw, [passage(1, LIBRARY_TEXT)]).text
    assert text == "Veel vestigingen twijfelen over zelfscankassa's [1]."
    # an introduction that ends with a full stop says nothing about bare list items after it
    listed = "Vestigingen noemen twee bezwaren [1].\n- het praatje aan de balie [1]\n- minder afwisseling [1]"  # noqa: E501
    assert "- minder afwisseling" in check_answer(listed, [passage(1, LIBRARY_TEXT)]).text


def test_a_why_question_restated_with_title_words_adds_nothing() -> None:
    question = "Waarom twijfelen vestigingen over zelfscankassa's?"
    named = f"{TITLE} {ORGANISATION}"
    restated = "De openbare bibliotheek-vestigingen twijfelen over zelfscankassa's."
    assert explains(question)
    assert not adds_information(restated, question, named)
    assert adds_information(restated, question)  # without the titles: "openbare" is new
    reason = "Vaste bezoekers missen het praatje aan de balie."
    assert adds_information(reason, question, named)
    # a question for a name or figure is not a why/how question: titles may answer it
    assert not explains("Hoeveel vestigingen hebben een zelfscankassa?")
    assert adds_information(restated, "Welke vestigingen twijfelen over zelfscankassa's?", named)


def test_a_restated_why_question_is_not_shown_as_the_answer() -> None:
    question = "Waarom twijfelen veel vestigingen over zelfscankassa's?"
    raw = "Veel vestigingen in de openbare bibliotheek twijfelen over zelfscankassa's [1]."
    checked = check_answer(
        raw, [passage(1, LIBRARY_TEXT, "Kassa's zonder personeel")], question=question
    )
    assert "in de openbare bibliotheek twijfelen" not in checked.text
    assert checked.mode == "quotes"
    assert "praatje aan de balie" in checked.text


def test_a_bare_figure_is_shown_as_the_source_says_it_with_no_repeat_after_it() -> None:
    question = "Welk percentage vestigingen heeft al een zelfscankassa?"
    checked = check_answer(
        "41% [1]",
        [passage(1, SURVEY_TEXT, "Enquête")],
        question=question,
        evidence_intro="Letterlijk in de bron:",
        quote_line=QUOTE_LINE,
    )
    first = checked.text.split("\n")[0]
    assert first == (
        f"Volgens {ORGANISATION}: „Uit de enquête blijkt dat 41% van de vestigingen al een "
        'zelfscankassa heeft." [1]'
    )
    assert checked.text.count("41%") == 1  # not quoted again as evidence


def test_a_bare_figure_backed_by_a_page_header_is_no_answer() -> None:
    page = (
        f"{TITLE} 7\n\nDe overige vestigingen willen eerst afwachten. Bibliotheken zonder "
        "zelfscankassa hebben vaak minder dan tien medewerkers."
    )
    raw = "Bibliotheken zonder zelfscankassa hebben vaak minder dan tien medewerkers [1].\n7 [1]"
    question = "Hoeveel medewerkers hebben bibliotheken zonder zelfscankassa?"
    checked = check_answer(raw, [passage(1, page, "")], question=question)
    assert checked.mode == "answer"
    assert TITLE not in checked.text
    # one sentence of the source, word for word: shown as its words (default line: no name)
    assert checked.text == (
        '„Bibliotheken zonder zelfscankassa hebben vaak minder dan tien medewerkers." [1]'
    )


def test_a_last_sentence_that_announces_nothing_is_dropped() -> None:
    assert unfinished(["Kassa's zonder personeel:"])
    assert unfinished(["Vestigingen twijfelen.", "De bezwaren op een rij:"])
    raw = "Veel vestigingen twijfelen over zelfscankassa's [1]. De bezwaren op een rij: [1]"
    text = check_answer(raw, [passage(1, LIBRARY_TEXT)]).text
    assert text == "Veel vestigingen twijfelen over zelfscankassa's [1]."
    # an introduction followed by its items still stands
    listed = "De bezwaren op een rij [1]:\n- het praatje aan de balie [1]\n- minder afwisseling [1]"
    assert "- het praatje aan de balie" in check_answer(listed, [passage(1, LIBRARY_TEXT)]).text
