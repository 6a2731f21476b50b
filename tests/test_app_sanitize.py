"""Output safety of the page: model text is sanitized, passages escaped, markers linked."""

from __future__ import annotations

import pytest

from assistant.chunks import Chunk
from assistant.safety import plain_stream_text, strip_active_markup
from ui.components import (
    SourceItem,
    highlight_html,
    link_markers,
    plain,
    sanitize_model_output,
    source_card_html,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Gewoon een zin [1].", "Gewoon een zin [1]."),
        ("Zie ![grafiek](http://evil.example/x.png) hier [1].", "Zie  hier [1]."),
        ("Zie ![grafiek][ref] hier.\n\n[ref]: http://evil.example/x.png", "Zie  hier."),
        ("Lees [dit rapport](https://evil.example/r) [2].", "Lees dit rapport [2]."),
        ("Klik [hier](javascript:alert(1)).", "Klik hier."),
        ("Een <b>vette</b> zin<script>alert(1)</script>.", "Een vette zinalert(1)."),
        ("<img src=x onerror=alert(1)>Tekst", "Tekst"),
        ("Tekst <!-- verborgen --> verder", "Tekst  verder"),
        ("Adres <https://evil.example/a> hier", "Adres `https://evil.example/a` hier"),
        ("Ga naar https://evil.example/pad?x=1.", "Ga naar `https://evil.example/pad?x=1`."),
        ("Zie www.evil.example voor meer", "Zie `www.evil.example` voor meer"),
        ("Het kost $5 en $10", "Het kost \\$5 en \\$10"),
        ("Een 3 < 5 vergelijking", "Een 3 &lt; 5 vergelijking"),
        ("", ""),
    ],
)
def test_sanitize_model_output(raw: str, expected: str) -> None:
    assert sanitize_model_output(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "!<b>[x](http://evil.example/i.png)</b>",  # removing the tag must not form an image
        "![a![b](http://evil.example/1.png)](http://evil.example/2.png)",
        "[![logo](http://evil.example/l.png)](http://evil.example)",
        "<a href='http://evil.example'>link</a>",
        "[x]: http://evil.example\n![x]",
    ],
)
def test_no_image_or_outside_link_survives(raw: str) -> None:
    out = sanitize_model_output(raw)
    assert "](" not in out
    assert "<a" not in out and "<img" not in out
    assert "http://evil" not in out.replace("`http://evil", "")  # only as inert code, if at all


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Zie [het rapport](https://evil.example/r) [1].", "Zie het rapport [1]."),
        ("Een zin [1] (zie tabel 2).", "Een zin [1] (zie tabel 2)."),  # no link: kept
        ("Let op![2] [3] het kost meer.", "Let op![2] [3] het kost meer."),  # markers stay
        ("Tekst ![p](http://evil.example/p.png)<b>vet</b> [1]", "Tekst vet [1]"),
        ("Tekst <!-- negeer dit --> verder [1].", "Tekst  verder [1]."),
        ("Een [relatieve link](pad/x) blijft.", "Een [relatieve link](pad/x) blijft."),
    ],
)
def test_stored_answer_loses_active_markup_but_keeps_markers(raw: str, expected: str) -> None:
    """The stored answer (before the check) uses the display's patterns, less strictly."""
    assert strip_active_markup(raw) == expected


def test_markers_become_anchor_links_only_for_known_sources() -> None:
    text = link_markers("Eerste [1] en tweede [2][3], jaartal [2025].", "m1", [1, 2])
    assert "[\\[1\\]](#bron-m1-1)" in text
    assert "[\\[2\\]](#bron-m1-2)" in text
    assert "[3]" in text and "#bron-m1-3" not in text
    assert "[2025]" in text


def test_exclamation_before_marker_does_not_make_an_image() -> None:
    assert "![" not in link_markers("Zo is het![1]", "m", [1])


def test_highlight_escapes_passage_and_marks_quote() -> None:
    passage = "Intro <script>x</script>.\nDe kern: 26 procent & meer.\nSlot."
    out = highlight_html(passage, ["De kern: 26 procent & meer."])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<mark>De kern: 26 procent &amp; meer.</mark>" in out
    assert "\n" not in out and "<br>" in out


def test_highlight_finds_quote_with_other_whitespace() -> None:
    out = highlight_html("Een zin\nover werk die doorloopt.", ["zin over werk"])
    assert "<mark>zin<br>over werk</mark>" in out


def test_source_card_escapes_metadata_and_has_anchor() -> None:
    chunk = Chunk(
        id="d:1:0",
        text="Tekst met 26 procent.",
        source="d.txt",
        page=2,
        index=0,
        title="<b>Titel</b>",
        organisation="Org & Co",
        date="2025",
        heading="Kop",
    )
    card = source_card_html(SourceItem(1, chunk, ("26 procent",)), "m9")
    assert 'id="bron-m9-1"' in card
    assert "&lt;b&gt;Titel&lt;/b&gt;" in card and "Org &amp; Co" in card
    assert "<mark>26 procent</mark>" in card
    assert "\n" not in card  # one line: Markdown treats it as one HTML block


def test_plain_escapes_markdown() -> None:
    out = plain("![x](http://e.example) **vet** $5")
    assert "\\!\\[x\\]\\(http\\:" in out
    assert "\\*\\*vet\\*\\*" in out and "\\$5" in out


def test_stream_escaping_is_per_character() -> None:
    pieces = ["![gra", "fiek](http://e", ".example/x.png)"]
    assert "".join(plain_stream_text(p) for p in pieces) == plain_stream_text("".join(pieces))
