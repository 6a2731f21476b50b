"""Support: how well one passage backs one sentence of the answer (see the package docstring:
lexical coverage of content words, numbers and names, the hard rule on numbers and names, and
an optional embedding blend)."""

from __future__ import annotations

from assistant.dutch.claims import Claim, PassageIndex, Window
from assistant.dutch.text import (
    light_stem,
    stem_found,
)

SIM_FLOOR = 0.80  # e5 cosine at or below this counts as "unrelated" (rescaled 0)
SIM_CEIL = 0.92  # e5 cosine at or above this counts as "same statement" (rescaled 1)
WHOLE_PASSAGE_WEIGHT = 0.9  # a claim spread over a passage counts a little less than one window


def rescale(similarity: float | None) -> float:
    if similarity is None:
        return 0.0
    return min(1.0, max(0.0, (similarity - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR)))


def _hard_rule_ok(claim: Claim, whole: Window) -> bool:
    if not claim.numbers <= whole.numbers:
        return False
    return all(stem_found(light_stem(name), set(whole.tokens)) for name in claim.names)


def claim_coverage(claim: Claim, window: Window) -> float:
    if claim.size == 0:
        return 0.0
    stems = set(window.stems)
    hits = sum(stem_found(s, stems) for s in claim.stems)
    hits += len(claim.numbers & window.numbers)
    tokens = set(window.tokens)
    hits += sum(stem_found(light_stem(n), tokens) for n in claim.names)
    return hits / claim.size


def claim_support(claim: Claim, index: PassageIndex, similarity: float | None) -> tuple[float, str]:
    if index.whole is None or claim.size == 0 or not _hard_rule_ok(claim, index.whole):
        return 0.0, ""
    best, quote = 0.0, ""
    for w in index.windows:
        if not claim.numbers <= w.numbers:
            continue  # a figure must stand in the quote itself, not elsewhere in the passage
        score = claim_coverage(claim, w)
        # prefer the shorter window on a tie: single sentences come first in ``windows``
        if score > best:
            best, quote = score, index.text[w.start : w.end]
    if claim.numbers and not quote:
        return 0.0, ""  # the figures occur, but never together with the claim
    lexical = best
    if not claim.numbers:  # a claim without figures may be spread over the passage
        lexical = max(best, WHOLE_PASSAGE_WEIGHT * claim_coverage(claim, index.whole))
    score = max(lexical, 0.5 * lexical + 0.5 * rescale(similarity))
    if score > 0 and not quote and index.windows:  # raised by similarity alone
        quote = index.text[index.windows[0].start : index.windows[0].end]
    return score, quote


def support(sentence: str, passage_text: str, similarity: float | None = None) -> tuple[float, str]:
    """Support score in [0, 1] of ``sentence`` by ``passage_text``, and the best quote.

    The score is the share of the sentence's content words, numbers and names found in the best
    passage sentence or pair of adjacent sentences (the quote, an exact substring of
    ``passage_text``). It is 0 when a number or a non-initial capitalised name of the sentence
    does not occur in the passage. ``similarity`` (a cosine, e.g. from e5) can raise the score:
    ``max(lexical, 0.5 * lexical + 0.5 * rescaled)``, so a sentence that shares almost no
    words with the passage (lexical below ``2 * threshold - 1``) is never carried by it.
    """
    return claim_support(Claim.of(sentence), PassageIndex.of(passage_text), similarity)
