"""Figures and where sources disagree (``assistant.figures``): pure functions over passage
text and document metadata, no index."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from assistant.chunks import Chunk
from assistant.figures import cluster, compare, figures_in, focus, measure_label, same_terms


def _chunk(n: int, text: str, date: str, organisation: str, source: str = "") -> Chunk:
    source = source or f"doc{n}.txt"
    return Chunk(
        id=f"{source}:1:{n}",
        text=text,
        source=source,
        page=1,
        index=n,
        title=f"Rapport {n}",
        organisation=organisation,
        date=date,
    )


def test_figure_with_group_after_and_before_and_reference_back() -> None:
    text = (
        "Slechts 26% van de werknemers maakt actief gebruik van kunstmatige intelligentie. "
        "57% van de teamleiders gebruikt AI, maar bij uitvoerende medewerkers zonder "
        "klantcontact ligt dat percentage op slechts 17%."
    )
    figs = figures_in(text)
    assert [(f.value, f.shown) for f in figs] == [(26, "26%"), (57, "57%"), (17, "17%")]
    assert figs[0].group == "van de werknemers"
    assert figs[1].group == "van de teamleiders"
    assert figs[2].group == "bij uitvoerende medewerkers"
    # "AI" and "kunstmatige intelligentie" are one measure; "dat percentage" refers back
    assert {"ai", "bruik"} <= figs[0].measure
    assert {"ai", "bruik"} <= figs[2].measure
    for f in figs:
        assert f.clause in text  # always copied from the passage


def test_shares_in_words_and_ratios_and_parentheses() -> None:
    figs = figures_in(
        "De helft van de werkgevers biedt training aan. 1 op de 5 werknemers twijfelt. "
        "Grotere bedrijven (55%) omarmen AI meer dan het midden- en kleinbedrijf (37%)."
    )
    assert [round(f.value) for f in figs] == [50, 20, 55, 37]
    assert figs[2].group == "Grotere bedrijven"
    assert figs[3].group == "midden- en kleinbedrijf"


def test_procentpunt_is_no_share_and_negation_is_kept() -> None:
    figs = figures_in("De groei is 1 procentpunt. Ruim 40% van de werkgevers gebruikt nog geen AI.")
    assert [f.value for f in figs] == [40]
    assert figs[0].negated


def test_focus_of_a_question() -> None:
    want = focus("Hoeveel procent van alle werknemers gebruikt AI actief?")
    assert want is not None
    assert want.group == {"werknemer"}
    assert want.measure == {"bruik", "ai", "actief"}
    assert focus("Welke zorgen noemen professionals in de zorg?") is None  # no figure asked


QUESTION = "Hoeveel procent van alle werknemers gebruikt AI?"


def test_two_sources_with_different_figures_disagree() -> None:
    new = _chunk(
        1, "Slechts 26% van de werknemers gebruikt AI actief in het werk.", "2025-04", "Integron"
    )
    old = _chunk(
        2, "In 2019 gebruikte 12 procent van de werknemers AI op het werk.", "2019", "VIVO"
    )
    other = _chunk(3, "64 procent van de professionals vindt ethische kaders nodig.", "2025", "KPN")
    figs = compare(QUESTION, [new, old, other])
    assert [(f.value, f.label, f.year, f.passage) for f in figs] == [
        (12, "VIVO", "2019", 2),
        (26, "Integron", "2025", 1),
    ]  # oldest first; the unrelated 64% is not about the question


def test_agreeing_or_single_source_figures_are_no_disagreement() -> None:
    a = _chunk(
        1, "85 procent van de werknemers gebruikt AI volgens het onderzoek.", "2025-09", "KPN"
    )
    b = _chunk(2, "Maar liefst 85 procent van de werknemers gebruikt AI.", "2025-12", "KPN")
    assert compare(QUESTION, [a, b]) == []  # same value
    one = _chunk(
        1,
        "26% van de werknemers gebruikt AI, tegenover 57% van de werknemers in de IT.",
        "2025",
        "X",
    )
    assert compare(QUESTION, [one]) == []  # one document: nothing to set side by side


def test_figures_of_other_groups_or_opposite_measure_do_not_count() -> None:
    emp = _chunk(1, "26% van de werknemers gebruikt AI in het werk.", "2025", "Integron")
    org = _chunk(2, "21% van de Nederlandse organisaties gebruikt AI in de payroll.", "2024", "HRM")
    neg = _chunk(3, "Ruim 40% van de werknemers gebruikt nog geen AI.", "2024", "HRM")
    assert compare(QUESTION, [emp, org]) == []  # organisations are not employees
    assert compare(QUESTION, [emp, neg]) == []  # "gebruikt geen AI" is another measure


def test_same_title_in_two_years_counts_as_two_sources() -> None:
    a = _chunk(1, "30% van de werknemers gebruikt AI.", "2021", "Monitor", source="m.txt")
    b = _chunk(2, "45% van de werknemers gebruikt AI.", "2024", "Monitor", source="m.txt")
    assert [f.value for f in compare(QUESTION, [a, b])] == [30, 45]


@pytest.mark.parametrize(
    ("texts", "groups"),
    [
        (
            [
                "26% van de werknemers gebruikt AI actief.",
                "12 procent van de werknemers gebruikt AI op het werk.",
                "85 procent van de professionals wil meer ondersteuning bij digitale vaardigheden.",
                "Slechts 20% krijgt ondersteuning bij digitale vaardigheden.",
            ],
            [[0, 1], [2, 3]],
        ),
    ],
)
def test_cluster_groups_by_measure(texts: list[str], groups: list[list[int]]) -> None:
    figs = [figures_in(t, i)[0] for i, t in enumerate(texts)]
    got = [[f.passage for f in g] for g in cluster(figs)]
    assert got == groups
    assert measure_label(figs[0]) == "gebruikt AI actief"


def test_a_figure_without_group_does_not_answer_for_a_named_group() -> None:
    # "Slechts 26% maakt ..." may be about anyone: not set against a share of companies
    anyone = _chunk(1, "Slechts 26% maakt actief gebruik van AI in het werk.", "2025", "Integron")
    firms = _chunk(2, "40% van de Belgische bedrijven gebruikt AI.", "2024", "SD")
    firms_old = _chunk(3, "Vier op de tien bedrijven gebruiken AI.", "2021", "AWS")
    question = "Hoeveel Belgische bedrijven gebruiken AI?"
    assert compare(question, [anyone, firms]) == []
    assert compare(question, [firms, firms_old]) == []  # 40% and four in ten agree
    figs = compare("Hoeveel procent gebruikt AI?", [anyone, firms])  # no group asked
    assert [f.value for f in figs] == [40, 26]


def test_every_measure_term_of_a_short_question_is_needed() -> None:
    hr = _chunk(1, "10% van de organisaties gebruikt AI in HR voor het werven.", "2024", "HRM")
    general = _chunk(2, "57% van de organisaties gebruikt AI.", "2025", "Integron")
    assert compare("Hoeveel organisaties gebruiken AI in HR?", [hr, general]) == []
    assert [f.value for f in compare("Hoeveel organisaties gebruiken AI?", [hr, general])] == [
        10,
        57,
    ]


# --------------------------------------------------------------------------- statements
# (``sourcenotes.statements``: per source the sentences that answer a broad question)


@dataclass
class _Doc:
    text: str
    source: str
    organisation: str
    date: str
    title: str = ""


_HARBOUR = _Doc(
    "Havens in Europa\n\nVolgens de peiling blijven Nederlandse havens voorop in Europa bij "
    "automatisering van kranen. Het weer was die week zonnig.",
    "haven.txt",
    "Havenraad",
    "2023",
)
_DIGEST = _Doc(
    "Onderzoek Kadeklub - 3 maart 2022\n\nNederlandse havens raken achterop in Europa bij "
    "automatisering: 28% van de kranen rijdt zelfstandig. Duitse havens halen 41,5%.",
    "overzicht.txt",
    "Bureau Samenvatting",
    "2024",
)
_HARBOUR_FIGURE = _Doc(
    "Uit de telling blijkt dat 35% van de kranen in Nederlandse havens zelfstandig rijdt.",
    "telling.txt",
    "Telbureau",
    "2025",
)


def test_statements_give_each_source_its_answering_sentence() -> None:
    from assistant.sourcenotes import statements

    found = statements(
        "Lopen Nederlandse havens voor of achter in Europa met automatisering?",
        [_HARBOUR, _DIGEST],
    )
    voices = [(s.voice, s.year) for s in found]
    # the study a digest quotes speaks with its own name and year, the digest in brackets
    assert voices[0] == ("Kadeklub (in: Bureau Samenvatting)", "2022")
    assert ("Havenraad", "2023") in voices
    quotes = [s.quote for s in found]
    assert any("raken achterop in Europa" in q for q in quotes)
    assert any("blijven Nederlandse havens voorop" in q for q in quotes)
    assert not any("zonnig" in q for q in quotes)  # off topic
    for st in found:  # verbatim: every quote is a substring of its passage
        assert st.quote in [_HARBOUR, _DIGEST][st.passage - 1].text


def test_statements_quiet_for_one_source_or_a_named_source() -> None:
    from assistant.sourcenotes import statements

    asked = "Lopen Nederlandse havens voor of achter in Europa met automatisering?"
    assert statements(asked, [_HARBOUR]) == []  # one source: nothing to set side by side
    named = "Lopen Nederlandse havens volgens de Havenraad voor of achter in Europa?"
    assert statements(named, [_HARBOUR, _DIGEST]) == []
    report = "Lopen havens in dit rapport voor of achter in Europa met automatisering?"
    assert statements(report, [_HARBOUR, _DIGEST]) == []
    for named in (
        "Lopen havens volgens Kadeklub voor of achter in Europa met automatisering?",
        "Lopen havens in het Kadeklub-onderzoek voor of achter in Europa met automatisering?",
    ):
        assert statements(named, [_HARBOUR, _DIGEST]) == []
    # an open "wat/hoe" question is no question across the corpus, also after a preposition
    assert (
        statements("Bij wat voor havens gaat automatisering in Europa voor?", [_HARBOUR, _DIGEST])
        == []
    )
    assert statements("Wat doen havens aan automatisering in Europa?", [_HARBOUR, _DIGEST]) == []


def test_statements_for_how_many_need_a_figure() -> None:
    from assistant.sourcenotes import statements

    found = statements(
        "Hoeveel kranen in Nederlandse havens rijden zelfstandig?",
        [_HARBOUR, _DIGEST, _HARBOUR_FIGURE],
    )
    assert {s.voice for s in found} == {"Kadeklub (in: Bureau Samenvatting)", "Telbureau"}
    assert all(re.search(r"\d+%", s.quote) for s in found)  # the harbour view has no figure


def test_same_terms_read_words_reports_use_for_one_another() -> None:
    assert same_terms("jobs") == same_terms("banen")
    assert same_terms("AI ingezet") == same_terms("AI gebruikt")
    assert same_terms("krapte") == same_terms("tekort")
    # they are no people: "gebruikt" stays the measure of a question about employees
    want = focus("Hoeveel docenten gebruiken robots?")
    assert want is not None and "bruik" in want.measure and want.group == {"docent"}
