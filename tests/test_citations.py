"""Known-answer tests for the grounding check (assistant/citations.py). Pure logic, fast."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.chunks import Chunk, summary_chunks
from assistant.citations import (
    DEFAULT_THRESHOLD,
    NOT_FOUND_SUFFIX,
    Passage,
    check_answer,
    parse_markers,
    quote_fallback,
    strip_invalid_markers,
    support,
)
from assistant.citations.quotes import JOINED_CHARS, _join_into, best_quotes, missing_names
from assistant.citations.types import nest_quotes
from assistant.dutch.language import is_dutch
from assistant.dutch.sentences import split_sentences
from assistant.evidence import QUOTE_CHARS, SHOWN_CHARS, Quote, rank_quotes
from assistant.question import asked

AI_TEXT = (
    "Slechts 26% maakt actief gebruik van kunstmatige intelligentie in hun dagelijkse werk. "
    "Bij de overheid ligt dat aandeel lager dan in de financiële dienstverlening."
)
SKILLS_TEXT = (
    "85 procent van de ondervraagde professionals pleit voor meer ondersteuning bij het "
    "ontwikkelen van digitale vaardigheden van medewerkers. Dat blijkt uit het Future of "
    "Work-onderzoek van KPN en Motivaction onder 920 IT- en HR-professionals in zes sectoren."
)
HYBRID_TEXT = (
    "Hybride werken is in 2024 de norm geworden.\n"
    "De meeste organisaties bieden hun medewerkers een mix van thuiswerken en kantoorwerk; "
    "gemiddeld werken zij 3,5 dag per week op kantoor."
)
INTRO = "Het model gaf geen controleerbaar antwoord; dit zijn de passages die de vraag het best beantwoorden:"  # noqa: E501

SUPPORTED = "Ongeveer 26% van de werknemers gebruikt AI actief in het dagelijkse werk [1]."
PARAPHRASE = "Een kwart van het personeel zet kunstmatige intelligentie in bij hun taken."
INVENTED = "AI wordt vooral gebruikt voor het schrijven van e-mails en rapporten [1]."


def chunk(stem: str, text: str, title: str = "", page: int = 1) -> Chunk:
    return Chunk(
        id=f"{stem}:{page}:0",
        text=text,
        source=f"{stem}.pdf",
        page=page,
        index=0,
        title=title or f"Rapport {stem}",
        organisation="KPN",
        date="2025",
    )


@pytest.fixture
def passages() -> list[Passage]:
    return [
        Passage(1, chunk("ai", AI_TEXT, "Future of Work 2025: AI op de werkvloer")),
        Passage(2, chunk("skills", SKILLS_TEXT)),
        Passage(3, chunk("hybride", HYBRID_TEXT)),
    ]


def statuses(result) -> list[str]:
    return [s.status for s in result.sentences if not s.trivial]


# --------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("werk [1].", [1]),
        ("werk [1, 3].", [1, 3]),
        ("werk [1][2].", [1, 2]),
        ("werk [1] [2].", [1, 2]),
        ("werk 【2】.", [2]),
        ("werk (bron 2).", [2]),
        ("werk [bron 3].", [3]),
        ("werk [1-3].", [1, 2, 3]),
        ("werk [2] en meer [1] en weer [2].", [2, 1]),
        ("het rapport [2025] telt niet", []),
        ("geen markers", []),
    ],
)
def test_parse_markers(text: str, expected: list[int]) -> None:
    assert parse_markers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("werk [1, 3].", "werk [1][3]."),
        ("werk [1] [2].", "werk [1][2]."),
        ("werk 【2】.", "werk [2]."),
        ("werk (bron 2).", "werk [2]."),
        ("werk [9].", "werk."),
        ("werk [1, 9].", "werk [1]."),
        ("werk [1][1].", "werk [1]."),
    ],
)
def test_strip_invalid_markers(text: str, expected: str) -> None:
    assert strip_invalid_markers(text, {1, 2, 3}) == expected


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dit geldt bijv. voor de zorg. Ook de overheid.",
            ["Dit geldt bijv. voor de zorg.", "Ook de overheid."],
        ),
        (
            "Het gaat o.a. om KPN en Motivaction. Zij deden onderzoek.",
            ["Het gaat o.a. om KPN en Motivaction.", "Zij deden onderzoek."],
        ),
        (
            "Dat is ca. 3,5 dag per week. Zie nr. 4 in de lijst.",
            ["Dat is ca. 3,5 dag per week.", "Zie nr. 4 in de lijst."],
        ),
        (
            "Hybride werken, d.w.z. deels thuis, is de norm. Dat blijft zo.",
            ["Hybride werken, d.w.z. deels thuis, is de norm.", "Dat blijft zo."],
        ),
        ("Slechts 26%. Ook 3.5 telt als decimaal.", ["Slechts 26%.", "Ook 3.5 telt als decimaal."]),
        (
            "Het gebruik groeit. [1] Daarna volgt de zorg [2].",
            ["Het gebruik groeit. [1]", "Daarna volgt de zorg [2]."],
        ),
        (
            "Zorgen:\n- personeelstekort\n- cybersecurity [2]\n1. AI",
            ["Zorgen:", "personeelstekort", "cybersecurity [2]", "AI"],
        ),
        ("Volgens J. de Vries is dat zo. Klopt!", ["Volgens J. de Vries is dat zo.", "Klopt!"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "dutch"),
    [
        ("Ongeveer 26% van de werknemers gebruikt AI actief in het dagelijkse werk [1].", True),
        ("Door hybride werken en de cloud is de digitale werkomgeving complexer geworden.", True),
        ("AI en cybersecurity zijn de belangrijkste zorgen van organisaties [2].", True),
        ("About 26% of employees actively use AI in their daily work [1].", False),
        ("The most important concerns are AI and cybersecurity, according to the survey.", False),
        ("", False),
    ],
)
def test_is_dutch(text: str, dutch: bool) -> None:
    assert is_dutch(text) is dutch


# --------------------------------------------------------------------------- support


def test_paraphrase_is_supported_with_the_right_quote() -> None:
    score, quote = support(SUPPORTED, AI_TEXT)
    assert score >= DEFAULT_THRESHOLD
    assert quote == AI_TEXT.split(". ")[0] + "."


@pytest.mark.parametrize(
    "sentence",
    [
        "Ongeveer 27% van de werknemers gebruikt AI actief in het dagelijkse werk.",  # wrong figure
        "In 2023 gebruikte 26% van de werknemers AI actief in het dagelijkse werk.",  # added year
        "Volgens Integron gebruikt 26% AI actief in het dagelijkse werk.",  # invented name
    ],
)
def test_invented_number_or_name_gives_zero(sentence: str) -> None:
    assert support(sentence, AI_TEXT) == (0.0, "")


@pytest.mark.parametrize(
    ("sentence", "supported"),
    [
        (
            "Volgens KPN pleit 85% van de professionals voor meer ondersteuning bij digitale "
            "vaardigheden.",
            True,
        ),  # "85%" == "85 procent", KPN occurs
        ("Het onderzoek liep onder 920 professionals in 6 sectoren.", True),  # 6 == "zes"
        ("Medewerkers werken gemiddeld 3,5 dag per week op kantoor.", True),
        ("Medewerkers werken gemiddeld 3,6 dag per week op kantoor.", False),
        ("Werknemers in de zorg maken zich grote zorgen over hun pensioen.", False),
    ],
)
def test_support_known_answers(sentence: str, supported: bool) -> None:
    text = SKILLS_TEXT + "\n" + HYBRID_TEXT
    score, quote = support(sentence, text)
    assert (score >= DEFAULT_THRESHOLD) is supported
    assert quote in text


def test_similarity_raises_but_never_overrides_the_number_rule() -> None:
    low, _ = support(PARAPHRASE, AI_TEXT)
    high, quote = support(PARAPHRASE, AI_TEXT, similarity=0.95)
    assert low < DEFAULT_THRESHOLD <= high and quote.startswith("Slechts 26%")
    # similarity cannot carry a sentence that shares (almost) no words with the passage
    unrelated = "Een kwart van het personeel zet slimme software in bij het werk."
    assert support(unrelated, AI_TEXT, similarity=1.0)[0] < DEFAULT_THRESHOLD
    assert support("Slechts 30% gebruikt AI.", AI_TEXT, similarity=0.99)[0] == 0.0


# --------------------------------------------------------------------------- check_answer


def test_supported_sentence_is_kept(passages: list[Passage]) -> None:
    result = check_answer(SUPPORTED, passages)
    assert result.mode == "answer"
    assert result.text == SUPPORTED
    assert statuses(result) == ["ok"]
    assert result.supported_rate == 1.0
    (citation,) = result.citations
    assert citation.n == 1 and citation.chunk.id == "ai:1:0"
    assert citation.quote in AI_TEXT and citation.quote.startswith("Slechts 26%")


@pytest.mark.parametrize("drop", [True, False])
def test_unsupported_sentence_dropped_or_marked(passages: list[Passage], drop: bool) -> None:
    result = check_answer(f"{SUPPORTED} {INVENTED}", passages, drop_unsupported=drop)
    assert statuses(result) == ["ok", "unsupported"]
    assert result.supported_rate == 0.5
    if drop:
        assert result.text == SUPPORTED
    else:
        assert result.text == (
            SUPPORTED
            + " AI wordt vooral gebruikt voor het schrijven van e-mails en rapporten"
            + NOT_FOUND_SUFFIX
            + "."
        )
    bad = result.sentences[1]
    assert bad.passage is None and bad.quote == "" and not bad.supported and bad.cited == (1,)


def test_wrong_marker_is_corrected(passages: list[Passage]) -> None:
    result = check_answer(SUPPORTED.replace("[1]", "[2]"), passages)
    (check,) = result.sentences
    assert check.status == "corrected" and check.cited == (2,) and check.passage == 1
    assert result.text == SUPPORTED
    assert [c.chunk.id for c in result.citations] == ["ai:1:0"]


def test_missing_marker_is_added(passages: list[Passage]) -> None:
    result = check_answer(SUPPORTED.replace(" [1]", ""), passages)
    (check,) = result.sentences
    assert check.status == "added" and check.cited == () and check.passage == 1
    assert result.text == SUPPORTED


def test_number_mismatch_is_unsupported(passages: list[Passage]) -> None:
    wrong = SUPPORTED.replace("26%", "27%")
    hybrid = "Hybride werken is in 2024 de norm geworden [3]."
    result = check_answer(f"{wrong} {hybrid}", passages)
    assert statuses(result) == ["unsupported", "ok"]
    assert "27%" not in result.text
    assert result.text == "Hybride werken is in 2024 de norm geworden [1]."


def test_invalid_marker_is_removed(passages: list[Passage]) -> None:
    result = check_answer(SUPPORTED.replace("[1]", "[1][9]"), passages)
    assert "[9]" not in result.text
    assert result.text == SUPPORTED
    assert result.sentences[0].cited == (1,)


def test_markers_are_renumbered_in_order_of_appearance(passages: list[Passage]) -> None:
    raw = "Hybride werken is in 2024 de norm geworden [3]. " + SUPPORTED
    result = check_answer(raw, passages)
    assert result.text == (
        "Hybride werken is in 2024 de norm geworden [1]. " + SUPPORTED.replace("[1]", "[2]")
    )
    assert [(c.n, c.chunk.id) for c in result.citations] == [(1, "hybride:1:0"), (2, "ai:1:0")]
    assert [s.passage for s in result.sentences] == [3, 1]  # model's numbering


def test_marker_after_full_stop_belongs_to_the_sentence(passages: list[Passage]) -> None:
    raw = (
        "Slechts 26% gebruikt kunstmatige intelligentie actief in het dagelijkse werk. [1] "
        "Hybride werken is in 2024 de norm geworden. [3]"
    )
    result = check_answer(raw, passages)
    assert statuses(result) == ["ok", "ok"]
    assert result.text == (
        "Slechts 26% gebruikt kunstmatige intelligentie actief in het dagelijkse werk [1]. "
        "Hybride werken is in 2024 de norm geworden [2]."
    )


def test_two_supporting_markers_are_both_kept(passages: list[Passage]) -> None:
    both = Passage(4, chunk("kopie", "Ook hier: " + AI_TEXT))
    result = check_answer(SUPPORTED.replace("[1]", "[1, 4]"), [*passages, both])
    assert result.text == SUPPORTED.replace("[1]", "[1][2]")
    assert [c.chunk.id for c in result.citations] == ["ai:1:0", "kopie:1:0"]
    assert all(c.quote in c.chunk.text for c in result.citations)


def test_trivial_sentences_are_kept_and_not_counted(passages: list[Passage]) -> None:
    raw = f"Ja.\nVolgens de bronnen:\n{SUPPORTED} {INVENTED}"
    result = check_answer(raw, passages)
    assert result.text == f"Ja.\nVolgens de bronnen:\n{SUPPORTED}"
    assert [s.trivial for s in result.sentences] == [True, True, False, False]
    assert result.supported_rate == 0.5


def test_header_echo_and_source_list_are_stripped(passages: list[Passage]) -> None:
    raw = (
        "[1] Future of Work 2025: AI op de werkvloer (KPN, 2025), p. 1:\n"
        f"{SUPPORTED}\n"
        "Bronnen: [1] Future of Work 2025"
    )
    result = check_answer(raw, passages)
    assert result.text == SUPPORTED


def test_header_echo_without_page_is_stripped(passages: list[Passage]) -> None:
    raw = f"[1] Future of Work 2025: AI op de werkvloer (KPN, 2025)\n{SUPPORTED}"
    assert check_answer(raw, passages).text == SUPPORTED


def test_english_sentence_in_dutch_answer_is_dropped(passages: list[Passage]) -> None:
    hybrid = "Hybride werken is in 2024 de norm geworden [3]."
    raw = f"{SUPPORTED} Only 26% of the employees use it in their daily work [1]. {hybrid}"
    result = check_answer(raw, passages)
    assert result.text == SUPPORTED + " " + hybrid.replace("[3]", "[2]")
    assert statuses(result) == ["ok", "unsupported", "ok"]


def test_list_answer_keeps_its_bullets(passages: list[Passage]) -> None:
    raw = (
        "De belangrijkste punten:\n"
        f"- {SUPPORTED}\n"
        f"- {INVENTED}\n"
        "- Hybride werken is in 2024 de norm geworden [3]."
    )
    result = check_answer(raw, passages)
    assert result.text == (
        f"De belangrijkste punten:\n- {SUPPORTED}\n"
        "- Hybride werken is in 2024 de norm geworden [2]."
    )


def test_similarity_callable_is_used(passages: list[Passage]) -> None:
    raw = PARAPHRASE
    calls: list[tuple[list[str], list[str]]] = []

    def similarity(a: list[str], b: list[str]) -> list[list[float]]:
        calls.append((a, b))
        return [[0.95 if "Slechts 26%" in p else 0.7 for p in b] for _ in a]

    assert check_answer(raw, passages, question="AI?", fallback_intro=INTRO).mode == "quotes"
    result = check_answer(raw, passages, similarity=similarity)
    assert result.mode == "answer" and result.sentences[0].passage == 1
    assert calls and calls[0][0] == [raw]


# --------------------------------------------------------------------------- fallback


@pytest.mark.parametrize(
    "raw",
    [
        "About 26% of employees actively use AI in their daily work [1].",  # English
        "",  # empty
        "   \n [1] ",  # only a marker
        INVENTED,  # nothing supported
    ],
)
def test_unusable_answer_falls_back_to_quotes(passages: list[Passage], raw: str) -> None:
    result = check_answer(
        raw, passages, question="Hoeveel werknemers gebruiken AI actief?", fallback_intro=INTRO
    )
    assert result.mode == "quotes"
    assert result.text.startswith(INTRO)
    assert result.supported_rate == 0.0
    assert result.citations and result.citations[0].chunk.id == "ai:1:0"
    assert "„Slechts 26% maakt actief gebruik" in result.text


def test_fallback_quotes_are_exact_substrings(passages: list[Passage]) -> None:
    result = quote_fallback(
        "Welke digitale vaardigheden en hybride werken?", passages, intro=INTRO, max_quotes=3
    )
    assert result.mode == "quotes"
    assert 1 <= len(result.sentences) <= 3
    by_n = {p.n: p for p in passages}
    for check in result.sentences:
        assert check.passage is not None
        assert check.quote and check.quote in by_n[check.passage].chunk.text
        assert f'„{check.quote}"' in result.text
    for citation in result.citations:
        assert citation.quote in citation.chunk.text
    shown = parse_markers(result.text)
    assert shown == list(range(1, len(result.citations) + 1))


def test_fallback_without_intro_is_just_the_quotes(passages: list[Passage]) -> None:
    result = quote_fallback(
        "Hoeveel procent gebruikt kunstmatige intelligentie?", passages, intro="", max_quotes=1
    )
    # a quote is the sentence with what follows it in its paragraph (evidence.QUOTE_CHARS)
    assert result.text == f'„{AI_TEXT}" [1]'


def test_a_finding_is_quoted_with_the_explanation_that_follows() -> None:
    text = (
        "Werknemers met een flexibel rooster melden minder verzuim. "
        "Zij plannen zorgtaken en werk zelf, wat stress vermindert en uitval voorkomt.\n"
        "Een nieuwe alinea over iets anders."
    )
    ranked = rank_quotes(
        "Waarom melden werknemers met een flexibel rooster minder verzuim?",
        [Passage(1, chunk("r", text))],
    )
    assert ranked[0].text == text.split("\n")[0]  # the finding and its reason, one paragraph
    assert all("nieuwe alinea" not in q.text or q.text.startswith("Een") for q in ranked)


def test_a_quote_does_not_end_on_a_question_but_keeps_one_that_is_answered() -> None:
    text = (
        "Gemeenten kampen met een tekort aan handhavers op straat. "
        "Centraal staat de vraag: hoe houden gemeenten genoeg handhavers in dienst?\n"
        "Boa's stoppen vaker dan vroeger. De oorzaak? Zij werken veel in de avond."
    )
    passages = [Passage(1, chunk("r", text))]
    ranked = rank_quotes("Waarmee kampen gemeenten bij de handhaving?", passages)
    assert ranked[0].text == "Gemeenten kampen met een tekort aan handhavers op straat."
    assert all(not q.text.endswith("?") for q in ranked)
    why = rank_quotes("Waarom stoppen boa's vaker dan vroeger?", passages)
    assert why[0].text == text.split("\n")[1]  # the question is followed by its answer
    # asked for the questions themselves, the question is the answer and may end the quote
    asked_for = rank_quotes("Welke vraag staat centraal bij de handhaving in gemeenten?", passages)
    assert any(q.text.endswith("in dienst?") for q in asked_for)


def test_what_a_report_covers_is_not_the_list_a_question_asks_for() -> None:
    text = (
        "Dit rapport beschrijft de gevolgen van vergrijzing voor gemeenten en hun personeel.\n"
        "De knelpunten zijn het tekort aan handhavers, hoge werkdruk en verouderde systemen."
    )
    passages = [Passage(1, chunk("r", text))]
    ranked = rank_quotes("Welke knelpunten hebben gemeenten door vergrijzing?", passages)
    assert ranked[0].text.startswith("De knelpunten")
    about = next(q for q in ranked if q.text.startswith("Dit rapport"))
    assert not about.usable
    # asked what the report covers, the same sentence is the answer
    covers = rank_quotes("Welke gevolgen van vergrijzing beschrijft het rapport?", passages)
    assert covers[0].text.startswith("Dit rapport") and covers[0].usable


def test_words_that_say_where_to_look_are_no_key_terms() -> None:
    # "zoals het essay beschrijft" names the source, not the fact: the answering sentence
    # need not repeat it to be usable
    text = "Vroeger stond alle opslag in een kelder op kantoor, met eigen beheerders."
    question = "Hoe was de opslag vroeger geregeld, zoals het essay dat beschrijft?"
    ranked = rank_quotes(question, [Passage(1, chunk("r", text))])
    assert ranked and ranked[0].usable


def test_a_follow_up_is_answered_on_its_own_words_first() -> None:
    text = (
        "Van de volwassen leden leest 40% wekelijks romans uit de bibliotheek.\n"
        "Bij scholieren ligt het aandeel lezers op 25%, vooral van strips."
    )
    passages = [Passage(1, chunk("r", text))]
    question = (
        "Welk deel van de volwassen leden leest wekelijks romans uit de bibliotheek? "
        "Hoe ligt dat aandeel bij scholieren?"
    )
    # the words carried over from the previous question count less than the new ones
    ranked = rank_quotes(question, passages, focus="Hoe ligt dat aandeel bij scholieren?")
    assert ranked[0].text.startswith("Bij scholieren")
    assert rank_quotes(question, passages)[0].text.startswith("Van de volwassen")
    # a follow-up that says little ("Waarom is dat?") carries all it asks about
    assert rank_quotes(question, passages, focus="Waarom is dat?")[0].text.startswith("Van de")


def test_a_long_paragraph_is_quoted_up_to_its_limit() -> None:
    sentence = "De enquête onder {} bedrijven liet zien dat de kosten stegen met {} procent. "
    text = "".join(sentence.format(100 + i, i) for i in range(12)).strip()
    ranked = rank_quotes("Hoeveel procent stegen de kosten?", [Passage(1, chunk("r", text))])
    assert ranked and all(len(q.text) <= SHOWN_CHARS for q in ranked)
    assert all(q.text in text and q.text.endswith(".") for q in ranked)


def test_a_quote_is_ranked_on_its_opening_and_shown_with_the_rest_of_its_paragraph() -> None:
    lead = (
        "Andere taken van de afdeling veranderen ook door de nieuwe roosterplanning, "
        "bijvoorbeeld de werving van nieuwe collega's in de drukke zomermaanden. "
    )
    filler = "Dat vraagt elke week overleg tussen de teamleiders en de planners van alle locaties. "
    rest = "Ook thema's als thuiswerken, leiderschap en verlof vragen om duidelijke afspraken."
    text = lead + filler * 3 + rest
    assert len(lead + filler * 3) > QUOTE_CHARS and len(text) <= SHOWN_CHARS
    question = "Welke andere taken veranderen door de nieuwe roosterplanning?"
    best = rank_quotes(question, [Passage(1, chunk("r", text))])[0]
    assert best.text == text  # what completes the answer follows after the ranked part
    # the score is that of the ranked part: the same paragraph cut at QUOTE_CHARS scores alike
    short = rank_quotes(question, [Passage(1, chunk("r", lead + filler * 3))])[0]
    assert best.score == short.score and best.relevance == short.relevance


def test_a_later_quote_that_runs_on_over_a_picked_one_takes_its_place() -> None:
    text = "Eerste zin over dijken. Tweede zin over gemalen. Derde zin over boeren."
    p = Passage(1, chunk("r", text))
    picked = Quote(p, "Tweede zin over gemalen.", 1.0, 1.0, True)
    covering = Quote(p, text, 0.9, 1.0, True)  # starts earlier and holds all of it
    assert [q.text for q in _join_into([picked], covering)] == [text]


def test_overlapping_quotes_are_not_shown_twice() -> None:
    text = (
        "Het verzuim daalde met 12 procent na de invoering. "
        "De daling was het grootst bij ploegendiensten, met 20 procent. "
        "Kantoorpersoneel merkte weinig verschil, met 3 procent."
    )
    result = quote_fallback(
        "Met hoeveel procent daalde het verzuim bij ploegendiensten en kantoorpersoneel?",
        [Passage(1, chunk("r", text))],
        intro="",
        max_quotes=3,
    )
    shown = [c.quote for c in result.sentences]
    spans = sorted((text.find(q), text.find(q) + len(q)) for q in shown)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("question", ["Wat is de hoofdstad van Frankrijk?", "", "?"])
def test_refusal_when_nothing_overlaps(passages: list[Passage], question: str) -> None:
    result = quote_fallback(question, passages, intro=INTRO)
    assert result.mode == "refusal"
    assert result.text == "" and result.citations == () and result.sentences == ()


def test_refusal_without_passages() -> None:
    result = check_answer(
        SUPPORTED, [], question="Hoeveel werknemers gebruiken AI?", fallback_intro=INTRO
    )
    assert result.mode == "refusal" and result.text == ""


def test_short_cited_list_items_are_checked(passages: list[Passage]) -> None:
    raw = (
        "De zorgen volgens de bronnen:\n"
        "- Digitale vaardigheden van medewerkers [2]\n"
        "- Pensioenen en salarissen [2]\n"
        "- Hybride werken [3]"
    )
    result = check_answer(raw, passages)
    assert result.text == (
        "De zorgen volgens de bronnen:\n"
        "- Digitale vaardigheden van medewerkers [1]\n"
        "- Hybride werken [2]"
    )
    assert statuses(result) == ["ok", "unsupported", "ok"]


def test_a_two_part_question_prefers_the_sentence_that_answers_both() -> None:
    from assistant.evidence import rank_quotes

    passages = [
        Passage(
            1,
            Chunk(
                id="a:1:0",
                source="a.txt",
                page=1,
                index=0,
                text=(
                    "Uit de leesmonitor 2024 van de stichting blijkt dat 60 procent van de "
                    "bibliotheken werkt aan digitale dienstverlening."
                ),
            ),
        ),
        Passage(
            2,
            Chunk(
                id="b:1:0",
                source="b.txt",
                page=1,
                index=0,
                text=(
                    "De leesmonitor werd in maart 2024 uitgevoerd door het bureau Ipsos Nederland."
                ),
            ),
        ),
    ]
    question = "Wanneer liep de leesmonitor, en welk bureau deed het onderzoek?"
    ranked = rank_quotes(question, passages)
    assert ranked[0].text.startswith("De leesmonitor werd in maart 2024")  # date and agent
    assert ranked[1].provides  # a year alone still gives a date: kept, ranked lower
    assert ranked[0].complete and not ranked[1].complete
    shown = quote_fallback(question, passages, intro="")
    assert [c.chunk.id for c in shown.citations] == ["b:1:0"]  # the partial one adds only noise


@pytest.mark.parametrize(("date", "missing"), [("2022-03-01", []), ("2025", ["2022"])])
def test_a_report_named_by_its_year_is_found_by_its_date(date: str, missing: list[str]) -> None:
    # "uit 2022" names the document by its date, which its text need not repeat
    passage = Passage(1, dataclasses.replace(chunk("p", "14 musea sloten."), date=date))
    assert missing_names("Hoeveel musea sloten volgens de monitor uit 2022?", [passage]) == missing


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("Leesapp 4Kids en het 5G-netwerk", set()),  # digits in a name are no figure
        ("model e5 en A12", set()),
        ("in 2024 las 31% van 1.200 kinderen", {2024.0, 31.0, 1200.0}),
        ("18-24 jaar, 3,5 uur", {18.0, 24.0, 3.5}),
    ],
)
def test_only_free_standing_digits_are_figures(text: str, figures: set[float]) -> None:
    from assistant.dutch.text import numbers_of
    from assistant.question import asked, provides

    assert numbers_of(text) == figures
    question = "Hoeveel doen er mee?"
    assert provides(asked(question), question, text) is bool(figures)


def test_written_out_dutch_numbers_count_as_figures() -> None:
    from assistant.dutch.text import numbers_of as _numbers
    from assistant.evidence import evidence_gap
    from assistant.question import asked, provides

    assert _numbers("Vijfentachtig procent en tweeënveertig mensen", words=True) == {85.0, 42.0}
    assert _numbers("zeventien of eenendertig", words=True) == {17.0, 31.0}
    assert _numbers("een man en een vrouw", words=True) == set()  # "een" is an article
    question = "Hoeveel procent wil meer ondersteuning?"
    assert provides(asked(question), question, "Vijfentachtig procent wil meer ondersteuning.")
    # the sentence that only adds the figure to the question's words is the answer
    assert (
        evidence_gap(
            question,
            [
                Passage(
                    1,
                    Chunk(
                        id="k:1:0",
                        source="k.txt",
                        page=1,
                        index=0,
                        text="Vijfentachtig procent van de professionals wil meer ondersteuning.",
                    ),
                )
            ],
        )
        == ""
    )


def test_a_month_must_stand_in_the_cited_passage() -> None:
    survey = "Uit het Future of Work 2025-onderzoek blijkt dat 60 procent eraan werkt."
    dated = "Het onderzoek werd in mei 2025 uitgevoerd door Motivaction."
    assert support("Het onderzoek is gehouden in mei 2025.", survey)[0] == 0.0
    assert support("Het onderzoek is gehouden in mei 2025.", dated)[0] > DEFAULT_THRESHOLD


def test_no_quote_is_added_that_is_only_closer_in_embedding() -> None:
    question = "Wie hebben het onderzoek naar AI in HRM uitgevoerd?"
    study = "Dit onderzoek naar AI in HRM is uitgevoerd door Communication Concert."
    other = "Nederland loopt achter met AI in HRM, blijkt uit een onderzoek door SD Worx."
    passages = [
        Passage(n, Chunk(id=f"d{n}:1:0", source=f"d{n}.txt", page=1, index=0, text=text))
        for n, text in ((1, study), (2, other))
    ]

    def closer_to_other(q: str, texts: list[str]) -> list[float]:
        return [0.95 if "SD Worx" in t else 0.80 for t in texts]

    raw = "Het onderzoek is uitgevoerd door Communication Concert [1]."
    checked = check_answer(
        raw,
        passages,
        question=question,
        evidence_intro="Letterlijk:",
        question_similarity=closer_to_other,
    )
    assert checked.mode == "answer"
    assert "Letterlijk:" not in checked.text  # SD Worx shares fewer of the question's terms


@pytest.mark.parametrize(
    ("question", "text", "missing"),
    [
        ("Hoeveel NL bedrijven investeren niet?", "In Nederland investeert 39% niet.", []),
        ("Hoeveel VL organisaties werken digitaal?", "In Vlaanderen werkt 60% digitaal.", []),
        ("Hoeveel NL bedrijven investeren niet?", "In Kroatië investeert 23% niet.", ["nl"]),
    ],
)
def test_place_abbreviations_are_found_written_out(
    question: str, text: str, missing: list[str]
) -> None:
    assert missing_names(question, [Passage(1, chunk("p", text))]) == missing


def test_the_word_after_a_question_mark_is_no_name() -> None:
    question = "Hoeveel bedrijven investeren niet? Geef de bron."
    assert missing_names(question, [Passage(1, chunk("p", "39% investeert niet."))]) == []


@pytest.mark.parametrize(
    ("question", "text", "missing"),
    [
        ("Hoeveel musea sloten in 2019?", "In 2021 sloten 14 musea hun deuren.", ["2019"]),
        ("Hoeveel musea sloten in 2021?", "In 2021 sloten 14 musea hun deuren.", []),
        ("Wat vinden bezoekers van musea sinds 2019?", "Bezoekers waarderen musea.", []),
    ],
)
def test_a_year_no_passage_mentions_is_missing_for_a_figure_question(
    question: str, text: str, missing: list[str]
) -> None:
    # the last question asks no figure, name or date: a year there is left alone
    assert missing_names(question, [Passage(1, chunk("p", text))]) == missing


def test_an_overlapping_quote_that_runs_on_further_extends_the_first() -> None:
    # the second quote starts inside the first and runs on one sentence further: shown
    # once, as one quote covering both
    text = (
        "Veel gemeenten geven elke wijk hetzelfde onderhoudsbudget voor openbaar groen, "
        "ongeacht hoe de wijk gebruikt wordt of hoeveel bomen er staan. "
        "Een vast onderhoudsbudget per wijk past zelden bij wat bewoners van hun groen vragen "
        "en leidt tot klachten over verwaarloosde parken en lege speelplaatsen. "
        "Bewoners van drukke wijken merken dat het eerst, omdat hun parken het intensiefst "
        "gebruikt worden door gezinnen en sporters. "
        "De gemeenten die het goed doen stemmen het onderhoud per wijk af op het gebruik."
    )
    question = "Waarom werkt een vast onderhoudsbudget per wijk voor openbaar groen niet goed?"
    passages = [Passage(1, chunk("groen", text))]
    assert all(len(q.text) <= SHOWN_CHARS for q in rank_quotes(question, passages))
    result = quote_fallback(question, passages, intro="", max_quotes=2)
    assert len(result.sentences) == 1
    quote = result.sentences[0].quote
    assert text.startswith(quote) and "intensiefst" in quote
    assert len(quote) <= JOINED_CHARS


def test_overlapping_quotes_longer_than_the_limit_together_are_not_joined() -> None:
    sentence = "In wijk {} staan {} bomen die het groenbedrijf elk voorjaar snoeit en controleert. "
    text = "".join(sentence.format(i, 10 * i + 7) for i in range(1, 15)).strip()
    question = "Hoeveel bomen snoeit het groenbedrijf elk voorjaar per wijk?"
    result = quote_fallback(question, [Passage(1, chunk("r", text))], intro="", max_quotes=3)
    shown = [c.quote for c in result.sentences]
    assert shown and all(len(q) <= JOINED_CHARS and q in text for q in shown)
    spans = sorted((text.find(q), text.find(q) + len(q)) for q in shown)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_a_sentence_shown_only_in_part_is_quoted_whole() -> None:
    # the model kept half of its backing sentence: the added quote starts with that sentence
    # (what the answer left out), not after it
    text = (
        "In de bouw en de logistiek werken veel bedrijven al met robots, maar in het onderwijs "
        "en de horeca blijft het gebruik van robots beperkt. "
        "Hoge aanschafkosten zijn volgens de ondervraagden de grootste drempel."
    )
    other = "De kantine van het hoofdkantoor gaat in mei open. Er komt een nieuwe koffieautomaat."
    checked = check_answer(
        "In het onderwijs en de horeca blijft het gebruik van robots beperkt [1].",
        [Passage(1, chunk("robots", text)), Passage(2, chunk("kantine", other))],
        question=(
            "In welke branches gebruiken bedrijven veel robots, en waar is het gebruik nog beperkt?"
        ),
        evidence_intro="Letterlijk:",
    )
    assert checked.mode == "answer"
    assert f'Letterlijk: „{text}" [1]' in checked.text


def test_a_sentence_shown_whole_is_not_quoted_again() -> None:
    text = (
        "In de bouw en de logistiek werken veel bedrijven al met robots. "
        "Hoge aanschafkosten zijn volgens de ondervraagden de grootste drempel."
    )
    checked = check_answer(
        "In de bouw en de logistiek werken veel bedrijven al met robots [1].",
        [Passage(1, chunk("robots", text))],
        question="In welke branches gebruiken bedrijven veel robots, en wat houdt ze tegen?",
        evidence_intro="Letterlijk:",
    )
    assert checked.text.count("logistiek") == 1


POLDER_TEXT = (
    "In de polder investeert het waterschap de komende jaren fors in nieuwe gemalen. "
    "Die gemalen in de polder vervangen installaties uit de jaren zestig.\n"
    "Volgens de slotsom van het rapport zijn tijdig onderhoud van dijken en goede afspraken "
    "met boeren doorslaggevend voor droge voeten in de polder."
)
POLDER_QUESTION = (
    "Wat is volgens de slotsom van het rapport doorslaggevend voor droge voeten in de polder?"
)


def _all_close(question: str, texts: list[str]) -> list[float]:
    return [0.9 for _ in texts]  # the embedding says nothing: only key terms decide


@pytest.mark.parametrize(
    ("raw", "added"),
    [
        (  # two supported sentences next to the question: the sentence that answers is added
            "In de polder investeert het waterschap fors in nieuwe gemalen [1]. "
            "Die gemalen in de polder vervangen installaties uit de jaren zestig [1].",
            True,
        ),
        (  # the answer itself holds the question's key terms: nothing is added
            "Volgens de slotsom van het rapport zijn tijdig onderhoud van dijken en afspraken "
            "met boeren doorslaggevend voor droge voeten in de polder [1]. "
            "Het waterschap investeert fors in nieuwe gemalen [1].",
            False,
        ),
    ],
)
def test_a_longer_answer_next_to_the_question_gets_the_best_quote(raw: str, added: bool) -> None:
    checked = check_answer(
        raw,
        [Passage(1, chunk("polder", POLDER_TEXT))],
        question=POLDER_QUESTION,
        evidence_intro="Letterlijk:",
        question_similarity=_all_close,
    )
    assert checked.mode == "answer"
    assert ("Letterlijk: „Volgens de slotsom" in checked.text) is added


def test_a_quote_is_not_joined_into_one_it_would_then_overlap() -> None:
    text = "Eerste zin over dijken. Tweede zin over gemalen. Derde zin over boeren. Vierde zin."
    p = Passage(1, chunk("r", text))

    def quote(start: str, end: str) -> Quote:
        a, b = text.index(start), text.index(end) + len(end)
        return Quote(p, text[a:b], 1.0, 1.0, True)

    first, last = quote("Eerste", "gemalen."), quote("Derde", "boeren.")
    bridge = quote("Tweede", "boeren.")  # overlaps both: joined, the first would hold the last
    assert _join_into([first, last], bridge) == [first, last]
    runs_on = quote("Tweede", "Vierde zin.")
    joined = _join_into([first], runs_on)
    assert [q.text for q in joined] == [text]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        # a remark wholly quoted in the source loses its own marks
        ("“We willen wel, maar de tijd ontbreekt.”", "We willen wel, maar de tijd ontbreekt."),
        # quotation marks inside become single ones, so „…" closes once
        (
            'Twee vragen staan centraal: "Wie werkt hier?" en "Wat kan beter?"',
            "Twee vragen staan centraal: 'Wie werkt hier?' en 'Wat kan beter?'",
        ),
        ("“Dat klopt,” zei hij, (focusgroep)", "‘Dat klopt,’ zei hij, (focusgroep)"),
        ("Geen aanhalingstekens hier.", "Geen aanhalingstekens hier."),
    ],
)
def test_a_quotation_within_a_quote_is_nested_for_display(source: str, shown: str) -> None:
    assert nest_quotes(source) == shown


def test_a_sentence_that_points_back_is_judged_with_the_sentence_before_it() -> None:
    # the model copies the second sentence; what it is about is said in the first one
    text = (
        "Tegelijk schrikt het bibliothecarissen af dat lezers elkaars leengeschiedenis "
        "kunnen inzien. Dit is voor hen lastig omdat privacy telt, zeker bij de jeugd."
    )
    passages = [Passage(1, chunk("p", text))]
    question = "Waarom schrikt het inzien van leengeschiedenis bibliothecarissen af?"
    raw = "Dit is voor hen lastig omdat privacy telt, zeker bij de jeugd [1]."
    checked = check_answer(raw, passages, question=question)
    assert checked.mode == "answer"
    assert "privacy telt" in checked.text


VILLAGE_TEXT = (
    "Steeds meer dorpsbibliotheken op het platteland sluiten hun deuren, blijkt uit het "
    "rapport van de provincie. Gemeenten bezuinigen op cultuur en de vrijwilligers achter de "
    "balie worden ouder. Jongeren lenen minder boeken sinds ze vooral online lezen."
)
CITY_TEXT = (
    "In de stad trekken bibliotheken juist meer bezoekers dankzij taalcursussen. "
    "De stadsbibliotheek breidt haar openingstijden in het weekend uit."
)


def test_an_open_question_gets_the_sentences_after_its_best_match() -> None:
    # two supported sentences that only restate the finding: the reasons follow it in the
    # passage, and an open question gets them as quotes (no figure, name or date is asked)
    checked = check_answer(
        "Steeds meer dorpsbibliotheken op het platteland sluiten hun deuren [1]. "
        "Dat blijkt uit het rapport van de provincie over het platteland [1].",
        [Passage(1, chunk("dorp", VILLAGE_TEXT)), Passage(2, chunk("stad", CITY_TEXT))],
        question="Waarom verdwijnen er zoveel bibliotheken uit de dorpen?",
        evidence_intro="Letterlijk:",
        question_similarity=_all_close,
    )
    assert checked.mode == "answer"
    own, _, added = checked.text.partition("Letterlijk:")
    assert "bezuinigen" in added and "online lezen" in added
    assert "sluiten hun deuren" not in added  # what the answer shows is not quoted again


def test_a_figure_question_keeps_a_supported_answer_without_quotes() -> None:
    text = (
        "Het waterschap bouwt de komende jaren 12 nieuwe gemalen in de polder. "
        "De oude gemalen dateren uit de jaren zestig en zijn aan vervanging toe."
    )
    checked = check_answer(
        "Het waterschap bouwt 12 nieuwe gemalen in de polder [1]. "
        "De oude gemalen dateren uit de jaren zestig [1].",
        [Passage(1, chunk("gemalen", text))],
        question="Hoeveel nieuwe gemalen bouwt het waterschap in de polder?",
        evidence_intro="Letterlijk:",
        question_similarity=_all_close,
    )
    assert checked.mode == "answer"
    assert "Letterlijk:" not in checked.text


@pytest.mark.parametrize(
    ("question", "passages"),
    [
        ("Waarom sluiten er steeds meer dorpsbibliotheken?", [1, 1]),
        ("Hoeveel dorpsbibliotheken sloten er in 2024?", [1, 2]),
    ],
)
def test_quotes_for_an_open_question_stay_with_the_best_passage(
    question: str, passages: list[int]
) -> None:
    # an open question's answer runs on in the passage of its best match; a figure may stand
    # in any passage, so a figure question's quotes are spread over the passages
    village = "Dorpsbibliotheken sluiten. Gemeenten bezuinigen. Vrijwilligers worden ouder."
    first, second = Passage(1, chunk("dorp", village)), Passage(2, chunk("stad", "In 2024: 9."))
    ranked = [
        Quote(first, "Dorpsbibliotheken sluiten.", 0.8, 0.6, True),
        Quote(first, "Vrijwilligers worden ouder.", 0.7, 0.5, True),
        Quote(second, "In 2024: 9.", 0.65, 0.5, True),
    ]
    picked = best_quotes(question, ranked, max_quotes=2)
    assert [q.passage.n for q in picked] == passages


# --------------------------------------------------------------------------- summing up


@pytest.mark.parametrize(
    ("question", "summary"),
    [
        ("Welke conclusies trekt het rapport?", True),
        ("Vat de gids van de Bibliotheekraad samen.", True),
        ("Geef de kern van dat essay.", True),
        ("Waar gaat het nieuwsbericht over?", True),
        ("Geef een samenvatting van de studie", True),
        ("Wat zegt het rapport van de Bibliotheekraad?", True),
        ("Wat zijn de belangrijkste bevindingen?", True),
        ("Welke aanbevelingen doet de gids?", False),
        ("Hoeveel leden lenen e-books?", False),
        ("Waarom komen jongeren vaker online?", False),
    ],
)
def test_a_request_to_sum_up(question: str, summary: bool) -> None:
    assert asked(question).summary is summary


def _section(heading: str, page: int, index: int) -> Chunk:
    return Chunk(
        id=f"gids:{page}:{index}",
        text=f"Tekst {page}.{index}.",
        source="gids.pdf",
        page=page,
        index=index,
        heading=heading,
    )


def test_the_chunks_that_sum_up_a_document() -> None:
    doc = [
        _section("Inleiding", 1, 0),
        _section("Conclusie", 2, 0),
        _section("Conclusie", 2, 1),
        _section("Resultaten", 3, 0),
        _section("Algemeen besluit", 4, 0),
        _section("Samenvatting", 1, 1),
    ]
    # a summary proper first, then each conclusion section's first chunk, then the rest
    ids = [c.id for c in summary_chunks(list(reversed(doc)), 4)]
    assert ids == ["gids:1:1", "gids:2:0", "gids:4:0", "gids:2:1"]
    # without such a heading: the opening, in reading order
    plain = [_section("Inleiding", 1, 0), _section("Resultaten", 1, 2), _section("", 1, 1)]
    assert [c.id for c in summary_chunks(plain, 2)] == ["gids:1:0", "gids:1:1"]


def test_a_summary_is_quoted_from_the_opening_of_each_passage() -> None:
    one = "Leden lenen steeds vaker e-books via de app.\n\nLuisterboeken groeien snel bij ouderen."
    two = (
        "Vrijwilligers hebben training nodig in digitale hulp.\n\n"
        "Gemeenten betalen de cursussen voor vrijwilligers."
    )
    first, second = Passage(1, chunk("gids", one)), Passage(2, chunk("gids", two, page=2))
    question = "Welke conclusies trekken de makers van de gids?"
    ranked = rank_quotes(question, [first, second], summary=True)
    assert [q.text for q in ranked] == [
        "Leden lenen steeds vaker e-books via de app.",
        "Vrijwilligers hebben training nodig in digitale hulp.",
        "Luisterboeken groeien snel bij ouderen.",
        "Gemeenten betalen de cursussen voor vrijwilligers.",
    ]
    assert all(q.usable for q in ranked)
    # ranked on the question's words, nothing in them answers "conclusies"
    assert not any(q.usable for q in rank_quotes(question, [first, second]))


def test_a_numbered_answer_is_renumbered_after_a_dropped_item(passages: list[Passage]) -> None:
    raw = "\n".join(
        [
            "1. Slechts 26% maakt actief gebruik van kunstmatige intelligentie [1].",
            f"2. {INVENTED}",
            "3. Hybride werken is in 2024 de norm geworden [3].",
        ]
    )
    result = check_answer(raw, passages)
    lines = [ln for ln in result.text.splitlines() if ln.strip()]
    assert [ln[:3] for ln in lines] == ["1. ", "2. "]
    assert lines[1].startswith("2. Hybride werken")


def test_a_bare_side_is_shown_as_its_passage_and_never_against_it() -> None:
    question = "Hebben gemeenten een plan voor de bibliotheken?"
    text = "Een plan van de gemeenten voor de bibliotheken bestaat nog niet. Dat volgt in 2027."
    passages = [Passage(1, chunk("plan", text))]
    wrong = check_answer(
        "Ja, gemeenten hebben een plan voor de bibliotheken [1].", passages, question=question
    )
    # the sentence is dropped: what is left is the fallback (quotes, or here without e5 a
    # refusal), never the wrong side
    assert "Ja, gemeenten" not in wrong.text and wrong.mode != "answer"
    right = check_answer(
        "Nee, gemeenten hebben nog geen plan voor de bibliotheken [1].", passages, question=question
    )
    # the right side, and only the side: shown as the passage's own words, which say more
    assert right.mode == "answer" and "Nee, gemeenten" not in right.text
    assert right.text.startswith("„Een plan van de gemeenten voor de bibliotheken bestaat nog")
    kept = check_answer(
        "Nee, gemeenten hebben pas in 2027 een plan voor de bibliotheken [1].",
        passages,
        question=question,
    )
    assert kept.mode == "answer" and kept.text.startswith("Nee, gemeenten hebben pas in 2027")


def test_a_question_the_model_copies_is_not_shown_unchecked() -> None:
    text = (
        "De bibliotheek zet in op vrijwilligers bij de balie. Dat vraagt een goede uitleg. "
        "Wie neemt de planning op zich? Hoe blijft het werk leuk?"
    )
    passages = [Passage(1, chunk("balie", text))]
    raw = "De bibliotheek zet in op vrijwilligers bij de balie [1]. Hoe blijft het werk leuk?"
    result = check_answer(raw, passages, question="Op wie rekent de bibliotheek aan de balie?")
    assert "vrijwilligers bij de balie" in result.text
    assert "Hoe blijft het werk leuk?" not in result.text
