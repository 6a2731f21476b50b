"""Is a text Dutch? Counted by common function words of Dutch and English.

Trade-off: a word count, not a language model: instant, needs nothing, and explains itself;
it only has to tell the answer language apart from English, the tiny model's usual drift.
"""

from __future__ import annotations

from assistant.dutch.sentences import remove_markers
from assistant.dutch.text import words_of

_DUTCH_WORDS = frozenset(
    """de het een en van dat die te voor met zijn niet aan er ook als bij om door maar naar
    dan wordt worden uit dit deze ze hun wat meer nog kan zo tot wel geen hebben heeft werd
    veel onder tussen volgens waar omdat zich zij vooral procent blijkt bijna ongeveer hoe
    welke daarom echter op je wij mensen werknemers organisaties""".split()
)
_ENGLISH_WORDS = frozenset(
    """the and to are that this with for it on be by from have has which not or but they
    their these can than most also there what about employees would will were been its into
    more only such other our we you your he she do does while used using because however
    people organisations organizations""".split()
)


def _language_counts(text: str) -> tuple[int, int]:
    words = words_of(remove_markers(text))
    return (sum(w in _DUTCH_WORDS for w in words), sum(w in _ENGLISH_WORDS for w in words))


def is_dutch(text: str) -> bool:
    """Cheap language check: more common Dutch function words than English ones.

    Loanwords (AI, cloud, hybride werken) are not function words, so they do not tip a Dutch
    answer over; a text with no function words of either language counts as Dutch (the support
    check decides about it). An empty text is not Dutch.
    """
    if not text.strip():
        return False
    nl, en = _language_counts(text)
    return nl > en or nl == en == 0


def is_english_sentence(text: str) -> bool:
    nl, en = _language_counts(text)
    return en >= 2 and en > nl
