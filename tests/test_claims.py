"""Claims, not words: lists in the sources, sentences that add nothing, copies of earlier
turns (assistant/citations/lists.py and novelty.py). Pure logic, own example texts."""

from __future__ import annotations

import pytest

from assistant.chunks import Chunk, Passage
from assistant.citations.lists import covers, item_matches, pick_list, source_lists
from assistant.citations.novelty import adds_information, contradicts, echoes, yes_no
from assistant.citations.quotes import missing_names
from assistant.evidence import asked_count, asks_for_list, listed_noun, names_noun


def chunk(text: str, page: int = 1, index: int = 0, stem: str = "gids") -> Chunk:
    return Chunk(
        id=f"{stem}:{page}:{index}",
        text=text,
        source=f"{stem}.txt",
        page=page,
        index=index,
        title="Gids voor de bibliotheek van morgen",
        organisation="Stichting Lezen",
    )


# a list announced at the end of one chunk, its items in the next
HEAD = chunk(
    "Bibliotheken kampen met minder bezoekers en krappere budgetten.\n\n"
    "De vier grootste knelpunten van bibliotheken:",
    index=0,
)
SHORT = chunk(
    "Te weinig vrijwilligers. Verouderde gebouwen. Dalende subsidies. Concurrentie van "
    "streamingdiensten.\n\nDaarnaast groeit de vraag naar digitale cursussen.",
    index=1,
)
# a numbered list whose items have explanations between them, over two chunks
NUMBERED_A = chunk(
    "De gids doet drie aanbevelingen:\n\n1. Meer leesclubs voor jongeren\n\n"
    "Leesclubs trekken jonge lezers die anders wegblijven.\n\n2. Langere openingstijden\n\n"
    "Veel werkenden kunnen alleen 's avonds komen.",
    page=2,
    index=0,
)
NUMBERED_B = chunk(
    "3. Samenwerking met scholen\n\nScholen brengen klassen naar de bibliotheek.\n\n"
    "Tot slot vat de gids de kosten samen.",
    page=2,
    index=1,
)
BULLETS = chunk(
    "De bezoekers noemen als redenen om te komen:\n"
    "• Rust om te studeren. Vooral studenten zoeken een stille plek.\n"
    "• Gratis internet\n"
    "• Het aanbod van tijdschriften",
    page=3,
)
DOC = [HEAD, SHORT, NUMBERED_A, NUMBERED_B, BULLETS]


@pytest.mark.parametrize(
    ("question", "n", "is_list"),
    [
        ("Wat zijn de vier grootste knelpunten van bibliotheken?", 4, True),
        ("Welke drie aanbevelingen doet de gids?", 3, True),
        ("Wat is de top 5 van ergernissen?", 5, True),
        ("Welke redenen noemen bezoekers?", None, True),
        ("Welke nieuwe diensten komen er?", None, True),
        ("Welke rol speelt de gemeente?", None, False),
        ("Hoeveel bezoekers komen er per jaar?", None, False),
        ("Waarom komen werkenden 's avonds?", None, False),
        ("Hoe lang duurt het twee jaar durende traject?", None, False),
        ("Noem de drie grootste ICT-knelpunten van de bibliotheek.", 3, True),
        # a follow-up searched with the question before it: the last question counts
        ("Hoeveel bezoekers komen er per jaar? Welke vier knelpunten noemt de gids?", 4, True),
        ("Hoeveel bezoekers komen er per jaar? Welke knelpunten ziet de gids?", None, True),
        ("Welke knelpunten noemt de gids? Hoeveel bezoekers komen er per jaar?", None, False),
    ],
)
def test_list_questions(question: str, n: int | None, is_list: bool) -> None:
    assert asked_count(question) == n
    assert asks_for_list(question) is is_list


def test_lists_are_read_across_chunks() -> None:
    lists = source_lists(DOC)
    texts = [[i.text for i in plist.items] for plist in lists]
    assert [
        "Te weinig vrijwilligers.",
        "Verouderde gebouwen.",
        "Dalende subsidies.",
        "Concurrentie van streamingdiensten.",
    ] in texts
    assert [
        "Meer leesclubs voor jongeren",
        "Langere openingstijden",
        "Samenwerking met scholen",
    ] in texts
    # a long item is shown as its first sentence; each item is exact text of its chunk
    assert ["Rust om te studeren.", "Gratis internet", "Het aanbod van tijdschriften"] in texts
    for plist in lists:
        for item in plist.items:
            assert item.text in item.chunk.text
    four = next(p for p in lists if len(p.items) == 4)
    assert four.intro is not None and four.intro.text.endswith("knelpunten van bibliotheken:")
    assert four.intro.chunk.id == HEAD.id and four.items[0].chunk.id == SHORT.id


def test_an_intro_that_counts_ends_the_list() -> None:
    text = (
        "Tekorten verwacht de gids in twee gebieden:\n1. Jeugdboeken\n2. Stripboeken\n"
        "Daarna volgt een ander overzicht.\n3. Onderhoud van gebouwen"
    )
    (plist,) = source_lists([chunk(text, page=4)])
    assert [i.text for i in plist.items] == ["Jeugdboeken", "Stripboeken"]


def test_a_bullet_that_ends_in_a_colon_introduces_the_items_under_it() -> None:
    text = (
        "Cijfers over de leden\n"
        "• Slechts 12% van de leden leent e-books.\n"
        "• De meest genoemde wensen van leden:\n"
        "1. Langere uitleentermijn – 41%\n"
        "2. Meer Engelstalige boeken – 30%\n"
        "3. Een leescafé – 22%\n"
        "• Digitale diensten worden vooral gebruikt voor:\n"
        "o Reserveren van boeken (39%).\n"
        "o Verlengen van de uitleentermijn (34%).\n"
    )
    lists = source_lists([chunk(text, page=5)])
    by_first = {p.items[0].text: p for p in lists}
    wishes = by_first["Langere uitleentermijn – 41%"]
    assert wishes.intro is not None and wishes.intro.text == "De meest genoemde wensen van leden:"
    assert len(wishes.items) == 3
    digital = by_first["Reserveren van boeken (39%)."]
    assert digital.intro is not None and digital.intro.text.startswith("Digitale diensten")
    assert [i.text for i in digital.items][1] == "Verlengen van de uitleentermijn (34%)."
    # the announcing bullets are no items of a list of their own
    assert not any(i.text.endswith(":") for p in lists for i in p.items)


def test_a_broken_line_and_a_second_paragraph_stay_with_their_bullet() -> None:
    text = (
        "Tips voor bibliotheken:\n"
        "→ Begin klein, want de meeste leden wennen langzaam\n"
        "– er is geen haast. Zo blijft iedereen mee.\n"
        "→ Vraag leden wat ze missen.\n"
        "Betrek ook de vrijwilligers.\n"
        "→ Meet wat werkt."
    )
    (plist,) = source_lists([chunk(text, page=7)])
    assert [i.text for i in plist.items] == [
        "Begin klein, want de meeste leden wennen langzaam",
        "Vraag leden wat ze missen.",
        "Meet wat werkt.",
    ]


def test_a_longer_heading_above_a_numbered_list_announces_it() -> None:
    text = (
        "Waarom de bibliotheek de komende jaren belangrijker wordt voor gezinnen en scholen\n"
        "1. Leesachterstand\nSteeds meer kinderen lezen onder hun niveau.\n"
        "2. Kosten van boeken\nBoeken worden duurder.\n"
        "3. Digitale geletterdheid\nOuders zoeken hulp bij apps."
    )
    (plist,) = source_lists([chunk(text, page=6)])
    assert plist.intro is not None and plist.intro.text.startswith("Waarom de bibliotheek")
    # a list must name what is asked, even with the asked number of items
    q = "Wat zijn de drie redenen waarom de bibliotheek belangrijker wordt voor gezinnen?"
    assert pick_list(q, [plist], [plist.items[0].chunk]) is None
    q = "Welke drie problemen noemt de gids waarom de bibliotheek belangrijker wordt?"
    assert pick_list(q, [plist], [plist.items[0].chunk]) is None


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("Welke risico's van leesclubs noemt de gids?", "risico's"),
        ("Welke nieuwe diensten komen er?", "diensten"),
        ("Wat zijn volgens de gids de grootste knelpunten?", "knelpunten"),
        ("Wat zijn de drie aanbevelingen van de gids?", "aanbevelingen"),
        ("Welke rol speelt de gemeente?", ""),
        ("Welke e-books leent de bibliotheek uit?", "e-books"),
        ("Welke ICT-diensten biedt de bibliotheek?", "ict-diensten"),
        ("Wat zijn de vier ICT-knelpunten van de bibliotheek?", "ict-knelpunten"),
        ("Hoeveel bezoekers komen er? En welke knelpunten noemt de gids?", "knelpunten"),
    ],
)
def test_what_is_to_be_listed(question: str, noun: str) -> None:
    assert listed_noun(question) == noun


def test_a_typo_in_the_listed_noun_still_finds_the_list() -> None:
    lists = source_lists(DOC)
    picked = pick_list("Wat zijn de vier grootste kneplunten van bibliotheken?", lists, [HEAD])
    assert picked is not None and len(picked.items) == 4
    # another word of about the same length is no typo of it
    assert not names_noun("kneplunten", "De vier grootste kansen voor bibliotheken:")


def test_a_list_of_something_else_is_not_picked() -> None:
    lists = source_lists(DOC)
    # the recommendations list shares "gids" and "bibliotheek", but lists no "risico's"
    assert pick_list("Welke risico's ziet de gids voor bibliotheken?", lists, DOC) is None


def test_the_list_that_answers_is_picked() -> None:
    lists = source_lists(DOC)
    q = "Wat zijn de vier grootste knelpunten van bibliotheken?"
    picked = pick_list(q, lists, [HEAD])  # only the chunk with the intro was retrieved
    assert picked is not None and len(picked.items) == 4
    # a count the list does not have: no list
    assert pick_list("Wat zijn de zes grootste knelpunten van bibliotheken?", lists, [HEAD]) is None
    # a list nowhere near the retrieved passages is not used
    assert pick_list(q, lists, [BULLETS]) is None
    # not a list question
    assert pick_list("Waarom kampen bibliotheken met knelpunten?", lists, [HEAD, SHORT]) is None
    picked = pick_list("Welke aanbevelingen doet de gids?", lists, [NUMBERED_B])
    assert picked is not None and picked.items[2].text == "Samenwerking met scholen"


def test_answer_items_must_be_the_source_items() -> None:
    plist = next(p for p in source_lists(DOC) if len(p.items) == 4)
    assert item_matches("te weinig vrijwilligers [1]", plist) == 0
    assert item_matches("Concurrentie van streamingdiensten", plist) == 3
    assert item_matches("Digitale cursussen", plist) is None  # in the passage, not in the list
    full = [
        "Te weinig vrijwilligers",
        "Verouderde gebouwen",
        "Dalende subsidies",
        "Concurrentie van streamingdiensten",
    ]
    assert covers(full, plist)
    assert not covers(full[:3], plist)  # one missing
    assert not covers(["Digitale cursussen", *full[1:]], plist)  # one not listed
    assert not covers([*full, "Digitale cursussen"], plist)


@pytest.mark.parametrize(
    ("question", "sentence", "adds"),
    [
        (
            "Welke knelpunten van bibliotheken noemt de gids van Stichting Lezen?",
            "Knelpunten van bibliotheken noemt de gids van Stichting Lezen [1].",
            False,
        ),
        (
            "Welke knelpunten van bibliotheken noemt de gids?",
            "De gids noemt verschillende knelpunten van bibliotheken [1].",
            False,
        ),
        (
            "Welke knelpunten van bibliotheken noemt de gids?",
            "De gids noemt te weinig vrijwilligers als knelpunt [1].",
            True,
        ),
        ("Hoeveel bibliotheken sloten er?", "Er sloten 12 bibliotheken [1].", True),
        (
            "Wie schreef de gids over bibliotheken?",
            "De gids is geschreven door Stichting Lezen.",
            True,
        ),
        # a question copied from a passage asserts nothing
        ("Welke knelpunten noemt de gids?", "Leidt minder subsidie tot sluiting [1]?", False),
        # unless questions are what is asked for
        ("Welke vragen stelt de gids?", "Wie leest er nog kranten [1]?", True),
        # a yes/no question may be answered in its own words
        ("Sluiten er bibliotheken?", "Ja, er sluiten bibliotheken [1].", True),
        ("Sluiten er bibliotheken?", "Er sluiten bibliotheken [1].", True),
        ("Sluiten er bibliotheken?", "Nee, bibliotheken blijven open [1].", True),
        # ... but it must take a side: the question's words without its verb say nothing
        (
            "Letten bibliotheken bij het werven op leesvaardigheid?",
            "Bibliotheken bij het werven op leesvaardigheid [1].",
            False,
        ),
        # a why/how question turned into a statement with a word or two of its own says nothing
        (
            "Waarom sluiten zoveel kleine bibliotheken op het platteland hun deuren?",
            "Zoveel kleine bibliotheken op het platteland sluiten hun deuren in de regio [1].",
            False,
        ),
        (
            "Hoe verschilt het aantal leden tussen grote en kleine bibliotheken?",
            "Het aantal leden tussen grote en kleine bibliotheken is anders [1].",
            False,
        ),
        # ... but a reason after the copied words is one
        (
            "Waarom sluiten zoveel kleine bibliotheken op het platteland hun deuren?",
            "Kleine bibliotheken op het platteland sluiten omdat de gemeente de subsidie "
            "stopt en vrijwilligers moeilijk te vinden zijn [1].",
            True,
        ),
        # ... and a fact question may be answered with one word of its own
        (
            "Waar staat de L voor in de afkorting LVB van de bibliotheken?",
            "De L in de afkorting LVB van de bibliotheken staat voor Landelijk [1].",
            True,
        ),
    ],
)
def test_a_sentence_must_add_to_the_question(question: str, sentence: str, adds: bool) -> None:
    assert adds_information(sentence, question) is adds


def test_yes_no_questions() -> None:
    assert yes_no("Sluiten er bibliotheken?")
    assert yes_no("En zijn de subsidies gedaald?")
    assert not yes_no("Welke bibliotheken sluiten?")
    assert not yes_no("En in welke provincies sluiten ze?")


@pytest.mark.parametrize(
    ("sentence", "quote", "against"),
    [
        # only a side, in the question's words: it must agree with the quote's side
        (
            "Ja, gemeenten hebben een plan voor de bibliotheken [1].",
            "Een plan bestaat nog niet.",
            True,
        ),
        ("Nee, gemeenten hebben geen plan voor de bibliotheken [1].", "Er is geen plan.", False),
        ("Nee [1].", "Gemeenten hebben een plan voor de bibliotheken.", True),
        (
            "Ja, gemeenten hebben een plan voor de bibliotheken [1].",
            "Elke gemeente heeft er een.",
            False,
        ),
        # words of its own: left to the support check (a negation may be a paraphrase)
        (
            "Ja, gemeenten hebben een sluitingsplan voor 2026 [1].",
            "Een plan bestaat nog niet.",
            False,
        ),
    ],
)
def test_a_bare_side_must_agree_with_its_quote(sentence: str, quote: str, against: bool) -> None:
    question = "Hebben gemeenten een plan voor de bibliotheken?"
    assert contradicts(sentence, quote, question) is against
    assert not contradicts(sentence, quote, "Welk plan hebben gemeenten voor de bibliotheken?")


def test_copies_of_earlier_texts_are_found() -> None:
    refusal = 'De bronnen beantwoorden deze vraag niet. Ik heb gezocht naar: „{searched}".'
    earlier = "Te weinig vrijwilligers en verouderde gebouwen zijn de grootste knelpunten [1]."
    assert echoes("De bronnen beantwoorden deze vraag niet [1].", [refusal])
    assert echoes(
        "Te weinig vrijwilligers en verouderde gebouwen zijn de grootste knelpunten.", ["", earlier]
    )
    assert not echoes("Dalende subsidies raken vooral kleine bibliotheken [1].", [refusal, earlier])
    assert not echoes("Ja.", [refusal])  # too short to tell


def test_names_no_passage_mentions() -> None:
    passages = [Passage(1, HEAD), Passage(2, SHORT)]  # organisation: Stichting Lezen
    assert missing_names("Hoeveel Belgische bibliotheken sluiten?", passages) == ["belgische"]
    assert missing_names("Welke knelpunten noemt Stichting Lezen?", passages) == []
    assert missing_names("Welke knelpunten noemt Stichting Lezn?", passages) == []  # a typo
    assert missing_names("Welke knelpunten zien bibliotheken?", passages) == []
