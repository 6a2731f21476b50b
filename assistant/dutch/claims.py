"""What a sentence claims and what a passage says, as sets of stems, numbers and names.

``Claim.of(sentence)`` and ``PassageIndex.of(passage)`` are the lexical form the answer check
(``assistant.citations.support``), quote ranking and the retriever's answer-type ranking
(``assistant.evidence``) compare. Trade-off: crude stems and exact numbers (see
``assistant.dutch.text``) rather than a parser: cheap enough to index ~40 passages per question,
and every match can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from assistant.dutch.sentences import BULLET_RE, remove_markers, sentence_spans
from assistant.dutch.text import (
    MONTH_NAME_RE,
    content_stems,
    fold,
    light_stem,
    names_of,
    numbers_of,
    with_aliases,
    words_of,
)

TRIVIAL_MAX_CONTENT = 3  # a sentence with at most this many content words (and no number or
# name) makes no checkable claim: "Ja.", a heading, "Volgens de bronnen:"


@dataclass(frozen=True)
class Claim:
    """What a sentence asserts, in checkable form."""

    stems: frozenset[str]
    numbers: frozenset[float]
    names: frozenset[str]

    @classmethod
    def of(cls, sentence: str) -> Claim:
        body = remove_markers(sentence)
        body = BULLET_RE.sub("", body)
        # a month is checked like a name: "in mei 2025" needs "mei" in the cited passage
        months = frozenset(m.group(0) for m in MONTH_NAME_RE.finditer(fold(body)))
        return cls(
            frozenset(content_stems(body)),
            frozenset(numbers_of(body)),
            frozenset(names_of(body)) | months,
        )

    @property
    def size(self) -> int:
        return len(self.stems) + len(self.numbers) + len(self.names)

    @property
    def trivial(self) -> bool:
        return len(self.stems) <= TRIVIAL_MAX_CONTENT and not self.numbers and not self.names


@dataclass(frozen=True)
class Window:
    start: int
    end: int
    stems: frozenset[str]
    numbers: frozenset[float]
    tokens: frozenset[str]  # every stemmed word, stop words included (for names)


@dataclass(frozen=True)  # cached and shared (``_passage_index``): never changed
class PassageIndex:
    text: str
    windows: list[Window] = field(default_factory=list)  # single sentences, then pairs
    singles: int = 0
    whole: Window | None = None

    @classmethod
    def of(cls, text: str) -> PassageIndex:
        """The index of ``text``; cached, since the same passages recur across questions
        (retrieval ranks ~40 candidates per question, the check reads the same four)."""
        return _passage_index(text)

    @classmethod
    def build(cls, text: str) -> PassageIndex:
        spans = sentence_spans(text)
        singles = [cls._window(text, s, e) for s, e in spans]
        pairs = [cls._window(text, a[0], b[1]) for a, b in zip(spans, spans[1:], strict=False)]
        whole = cls._window(text, 0, len(text))
        return cls(text, singles + pairs, len(singles), whole)

    @staticmethod
    def _window(text: str, start: int, end: int) -> Window:
        piece = text[start:end]
        return Window(
            start,
            end,
            frozenset(with_aliases(content_stems(piece))),
            frozenset(numbers_of(piece, words=True)),
            frozenset(light_stem(w) for w in words_of(piece)),
        )


@lru_cache(maxsize=4096)
def _passage_index(text: str) -> PassageIndex:
    return PassageIndex.build(text)
