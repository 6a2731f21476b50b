"""What the dense search embeds: the question without the words that only say where to look.

e5 embeds every word of a question as content. "Welke rol spelen leidinggevenden volgens
het jaarverslag?" is about leidinggevenden; "volgens het jaarverslag" pulls the vector towards the
passages that talk *about* the report (its introduction, its method). Routing
(``KeywordView.named_documents``) reads the whole question and does the "where"; these
functions give the dense searches the "what". Trade-off: a regular expression and a few Dutch
function words, not a parser: it removes phrases of the listed forms only, and keeps the
research when it is the subject ("Hoe zijn de onderzoekers aan hun informatie gekomen?").
Measured per function in ``bench/README.md`` (``without_names``: on; ``without_source``: off,
its gain did not carry to the check half).
"""

from __future__ import annotations

import re

from assistant.keyword_view import KeywordView

_NAME_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_ARTICLES = frozenset({"het", "de", "dat", "die", "deze", "dit"})
_PREPOSITIONS = frozenset({"volgens", "in", "uit", "van", "bij", "door", "over"})
_JOINERS = frozenset({"en", "of"})


# "volgens het jaarverslag", "in de interviews", "volgens dat Belgische rapport": where to
# look, not what is asked. e5 embeds it as content, which pulls the question towards passages
# *about* the research (introductions, method sections). Routing reads the whole question.
_SOURCE_PHRASE = re.compile(
    r"\b(?:volgens|in|uit|bij)\s+(?:het|de|dat|die|deze|dit)\s+(?:[^\W_]+[- ])?"
    r"(?:rapport|onderzoek|studie|verkenning|enquête|focusgroep(?:en)?|deelnemers"
    r"|onderzoekers|auteurs|bronnen|document|respondenten)\b",
    re.IGNORECASE,
)


def without_source(text: str) -> str:
    """``text`` without the phrases that say in which source to look ("volgens het
    VIVO-rapport", "in de focusgroepen"): what the dense search embeds."""
    return _tidy(_SOURCE_PHRASE.sub("", text))


def _tidy(text: str) -> str:
    """Spaces and punctuation left behind by removed words."""
    text = re.sub(r"\s+([,;:?!.])", r"\1", re.sub(r"\s{2,}", " ", text))
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    return re.sub(r"[,;:]\s*([?!.])", r"\1", text).strip()


def without_names(text: str, view: KeywordView, name_terms: set[str] | frozenset[str]) -> str:
    """``text`` without the words that name a document, with the article and preposition
    before them and an "en"/"of" between two of them ("volgens het jaarverslag", "van bureau X en
    bureau Y"): inside the named documents the name says nothing, and it pulls e5 towards
    the passages *about* the report (its introduction, its method)."""
    if not name_terms:
        return text
    words = list(_NAME_WORD.finditer(text))
    low = [m.group(0).lower() for m in words]
    gone: set[int] = set()
    for i, m in enumerate(words):
        if not set(view.analyse(m.group(0))) & name_terms:
            continue
        gone.add(i)
        j = i - 1
        if j >= 0 and low[j] in _ARTICLES:
            gone.add(j)
            j -= 1
        if (
            j >= 0
            and low[j] in _PREPOSITIONS | _JOINERS
            and (low[j] not in _JOINERS or j - 1 in gone)
        ):
            gone.add(j)
    for i in sorted(gone, reverse=True):
        text = text[: words[i].start()] + text[words[i].end() :]
    return _tidy(text)
