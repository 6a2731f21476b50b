"""Sentences that make no claim of their own, whatever their words.

Two kinds pass a word-overlap check although they answer nothing:

* a sentence whose content words all come from the question ("AI-risico's in HRM noemt het
  rapport over AI in HRM [1]."): every word is in the passage too, because the passage was
  found by those words. ``adds_information`` asks for at least one content word, number or
  name the question does not already give. A yes/no question is the exception: "Ja, grote
  bedrijven omarmen AI sneller" answers it with the question's own words.
  A why/how question asks for a reason or a way, which the names of the sources never give:
  there, words of the documents' titles and organisations are not new either ("Openbare
  bibliotheken twijfelen over zelfscankassa's" for "Waarom twijfelen bibliotheken over
  zelfscankassa's?", from a report titled "Zelfbediening in de openbare bibliotheek").
  Section headings are not counted as given: a heading ("Vaste klanten
  behouden") is often the very answer to a how-question.
* a question ("Leidt AI tot aanpassingen?", copied from a passage's list of research
  questions) asserts nothing either;
* a sentence copied from elsewhere in the conversation: an earlier answer, a refusal or
  fallback text, a prompt template ("Bronpassages:", "Eerder in dit gesprek"). ``echoes``
  finds them by shared word 4-grams (half of the sentence's 4-grams in one such text).

Trade-off: both are cheap, lexical and explainable. A paraphrase of the question that adds
nothing but a synonym ("bezwaren" for "risico's") still counts as new; the answer-level
relevance check and the list check catch more of those. Vague quantifiers ("verschillende",
"enkele") are not information.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache

from assistant.dutch.claims import Claim
from assistant.dutch.sentences import remove_markers
from assistant.dutch.text import (
    NEGATION_RE,
    content_stems,
    fold,
    names_of,
    numbers_of,
    stem_found,
    terms_of,
    words_of,
)
from assistant.evidence import asserts
from assistant.question import QUESTION_WORDS, asked

# Words that quantify or point without saying what, and words about the prompt itself
# ("in de bronpassage"): no information on their own.
_VAGUE = frozenset(
    content_stems(
        "verschillende diverse enkele meerdere sommige vele aantal volgende genoemde bepaalde "
        "specifieke concrete belangrijke grote kleine genoemd noemt noemen beschrijft bespreekt "
        "bronpassage bronpassages passage passages fragment vermeld vermeldt staat"
    )
)
_WH_RE = re.compile(
    r"^\W*(?:\w+\s+){0,3}?(?:wat|wie|welke?|hoe\w*|waar\w*|wanneer|waarom|hoeveel|noem\w*|"
    r"geef|vertel|beschrijf|leg|vat|what|who|which|how|where|when|why)\b"
)
_EXPLAIN_RE = re.compile(r"\b(?:waarom|hoe(?!veel)\w*)\b")  # "hoeveel" asks for a figure
ECHO_N = 4  # word n-grams
ECHO_SHARE = 0.5  # of the sentence's n-grams found in one earlier text
RESTATED_RUN = 5  # words copied in a row from the question ...
RESTATED_NEW = 2  # ... with at most this many content words of the sentence's own


def yes_no(question: str) -> bool:
    """A question that a "ja" or "nee" answers: it opens with a verb, not a question word."""
    return not _WH_RE.search(fold(" ".join(question.split())))


def explains(question: str) -> bool:
    """A why/how question: it asks for a reason or a way, not for a figure, name or date."""
    return bool(_EXPLAIN_RE.search(fold(question))) and not asked(question).specific


def adds_information(sentence: str, question: str, sources: str = "") -> bool:
    """Whether ``sentence`` says something the question does not: a content word, a number or
    a name beyond the question's own (and beyond vague quantifiers). A question asserts
    nothing ("Leidt nieuwe technologie tot aanpassingen?", copied from a passage's list).
    For a why/how question, the words of ``sources`` (the documents' titles and
    organisations) count as given too."""
    if not asserts(sentence, question):
        return False
    if not question.strip():
        return True
    if yes_no(question) and _takes_side(sentence, question):
        return True
    given = f"{question} {sources}" if explains(question) else question
    new_stems, new_numbers, new_names = _new(sentence, question, given)
    if explains(question) and not new_numbers and _restates(sentence, question, new_stems):
        return False
    return bool(new_stems or new_numbers or new_names)


def _new(sentence: str, question: str, given: str) -> tuple[list[str], set[float], set[str]]:
    """The content words, numbers and names of ``sentence`` that ``given`` lacks."""
    claim = Claim.of(sentence)
    terms = terms_of(given)
    new_stems = [
        s
        for s in claim.stems
        if not stem_found(s, terms) and s not in _VAGUE and s not in QUESTION_WORDS
    ]
    new_numbers = set(claim.numbers - numbers_of(question, words=True))
    new_names = set(claim.names - names_of(given) - {fold(w) for w in words_of(given)})
    return new_stems, new_numbers, new_names


def bare_side(sentence: str, question: str) -> bool:
    """A yes/no answer that is only its side in the question's own words ("Ja, X doet Y",
    "X doet Y nog niet"): nothing in it but the side."""
    if not (yes_no(question) and _takes_side(sentence, question)):
        return False
    stems, numbers, names = _new(sentence, question, question)
    return not (numbers or names or set(stems) - _SIDE_WORDS)


def contradicts(sentence: str, quote: str, question: str) -> bool:
    """A bare side (``bare_side``) whose backing ``quote`` says the opposite ("X doet nog
    geen Y"): a word check cannot see the side, so it must agree with the quote's (a
    negation in both or in neither). A sentence with words of its own is left to the support
    check: a negation there may be a paraphrase ("weinig" for "niet veel")."""
    return bare_side(sentence, question) and _negative(sentence) != bool(
        NEGATION_RE.search(fold(quote))
    )


def _negative(sentence: str) -> bool:
    folded = fold(remove_markers(sentence))
    return bool(re.match(r"\W*nee\b", folded) or NEGATION_RE.search(folded))


def _restates(sentence: str, question: str, new_stems: Sequence[str]) -> bool:
    """A why/how question turned into a statement: half the sentence or more is one run of
    the question's words, and the rest adds at most ``RESTATED_NEW`` content words ("Het zo
    dringend om X te doen is urgent"). A reason or a way takes more words than that; a fact
    question is left alone, where one new word ("Uncertain") can be the whole answer."""
    words = words_of(remove_markers(sentence))
    run = _longest_run(words, words_of(question))
    return run >= RESTATED_RUN and 2 * run >= len(words) and len(new_stems) <= RESTATED_NEW


def _longest_run(words: Sequence[str], question: Sequence[str]) -> int:
    """The length of the longest run of ``words`` that occurs in ``question`` as it is."""
    matcher = difflib.SequenceMatcher(None, words, question, autojunk=False)
    return matcher.find_longest_match(0, len(words), 0, len(question)).size


_SIDE_RE = re.compile(r"\b(?:ja|nee|wel|yes|no|not)\b")
_SIDE_WORDS = frozenset(content_stems("ja nee wel inderdaad nog"))


def _takes_side(sentence: str, question: str) -> bool:
    """A yes/no answer: "ja", "nee", a negation (``NEGATION_RE``), or the question's verb
    (its first word)."""
    folded = fold(sentence)
    if _SIDE_RE.search(folded) or NEGATION_RE.search(folded):
        return True
    verb = next((w for w in words_of(question) if w not in ("en", "maar", "of")), "")
    stems = content_stems(verb)
    return bool(stems) and stem_found(stems.pop(), terms_of(sentence))


@lru_cache(maxsize=256)
def _grams(text: str) -> frozenset[tuple[str, ...]]:
    words = words_of(remove_markers(text))
    return frozenset(tuple(words[i : i + ECHO_N]) for i in range(len(words) - ECHO_N + 1))


def echoes(sentence: str, texts: Sequence[str]) -> bool:
    """Whether ``sentence`` is (half of it, by word 4-grams) a copy of one of ``texts``."""
    own = _grams(sentence)
    if not own:
        return False
    return any(len(own & _grams(t)) >= ECHO_SHARE * len(own) for t in texts if t.strip())
