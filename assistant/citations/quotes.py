"""Quotes: the passage sentences that best answer a question, ranked (``rank_quotes``), and
the quote-only answer built from them (``quote_fallback``).

Trade-off: a transparent score (key-term share weighted by rarity, embedding similarity, the
passage's retrieval rank) rather than a reranker model: no extra model on two cores, and every
quote can be explained. The same measure decides whether the model's own answer is relevant
(``citations.check``) and whether retrieval's best passages can answer at all
(``evidence_gap``), so the floor, the check and the fallback agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from assistant.chunks import Chunk
from assistant.citations.markers import dedupe
from assistant.citations.support import Claim, PassageIndex
from assistant.citations.types import (
    QUOTE_CLOSE,
    QUOTE_OPEN,
    Blocked,
    CheckedAnswer,
    Citation,
    Passage,
    QuestionSimilarity,
    SentenceCheck,
    Similarity,
)
from assistant.dutch.text import content_stems, light_stem, numbers_of, stem_found, terms_of
from assistant.question import QUESTION_WORDS, Asked, asked, kinds_given, provides

# A quote (or the model's answer) is relevant enough to show when it has CLEAR_RELEVANCE of the
# question's key terms, or its score reaches MIN_SCORE and it has MIN_RELEVANCE of the key
# terms or a rescaled similarity of MIN_SIMILARITY. Measured on the dev questions (retrieved
# passages, e5): the sentence that answers scores 0.42-0.87 for most answerable questions
# (paraphrased ones lower), the best candidates of unanswerable ones 0.30-0.46.
MIN_SCORE = 0.40
MIN_RELEVANCE = 0.25
MIN_SIMILARITY = 0.5
EVIDENCE_MARGIN = 0.1  # an added quote scores at most this much below the best one
ALL_KINDS_BONUS = 0.2  # score added to a sentence that gives every kind of fact asked for
CLEAR_RELEVANCE = 0.45  # this share of the key terms is relevant enough on its own
QUOTE_SIM_FLOOR = 0.78  # e5 query-passage cosine at or below this: unrelated (rescaled 0)
QUOTE_SIM_CEIL = 0.90  # at or above this: as related as it gets (rescaled 1)


# "volgens Integron", "in het HRM-rapport", "van KPN en Motivaction": where the answer should
# come from, not what it says. Such terms weigh little; the passage header usually has them.
_SOURCE_PHRASE_RE = re.compile(
    r"\b(?:volgens|according\s+to)\s+((?:(?:het|de|een)\s+)?[\w'’-]+(?:\s+[\w'’-]+)?)"
    r"|\b(?:in|uit|van)\s+(?:het|de)\s+([\w'’-]*(?:rapport|onderzoek|whitepaper|essay|"
    r"artikel|studie))\b"
)
CONTEXT_WEIGHT = 0.3  # weight of a source term relative to a content term


@lru_cache(maxsize=1024)
def _source_terms(question: str) -> frozenset[str]:
    found: set[str] = set()
    for m in _SOURCE_PHRASE_RE.finditer(question):
        found |= content_stems(m.group(1) or m.group(2) or "")
    return frozenset(found)


@lru_cache(maxsize=1024)
def key_terms(question: str) -> tuple[str, ...]:
    claim = Claim.of(question)
    stems = {s for s in claim.stems if s not in QUESTION_WORDS and len(s) > 1}
    stems |= {light_stem(n) for n in claim.names}
    return tuple(sorted(stems))


def sentence_scores(question: str, sentences: list[str]) -> list[float]:
    """Weighted share of the question's key terms in each sentence (rare terms weigh more)."""
    terms = key_terms(question)
    sets = [terms_of(s) for s in sentences]
    weights = term_weights(terms, sets)
    return [relevance(question, s, "", weights) for s in sentences]


def term_weights(terms: Sequence[str], sets: Sequence[AbstractSet[str]]) -> dict[str, float]:
    """Rarity of each term among the candidate sentences: log((n + 1) / (df + 0.5)) + 0.5."""
    n = len(sets)
    return {t: math.log((n + 1) / (sum(stem_found(t, s) for s in sets) + 0.5)) + 0.5 for t in terms}


def passage_header(p: Passage) -> str:
    c = p.chunk
    return " ".join(x for x in (c.title, c.organisation, c.heading) if x)


def relevance(
    question: str, text: str, header: str = "", weights: dict[str, float] | None = None
) -> float:
    """Weighted share of the question's key terms found in ``text`` (full weight) or only in
    the passage ``header`` (title, organisation: half weight; they say where, not what)."""
    terms = key_terms(question)
    if not terms:
        return 0.0
    found, context = terms_of(text), terms_of(header) if header else set()
    sources = _source_terms(question)
    total = got = 0.0
    for t in terms:
        w = (weights or {}).get(t, 1.0)
        if t in sources:
            w *= CONTEXT_WEIGHT
            if stem_found(t, context):
                found = found | {t}  # named as the source, and the passage is from it
        total += w
        if stem_found(t, found):
            got += w
        elif context and stem_found(t, context):
            got += 0.5 * w
    return got / total if total else 0.0


# --------------------------------------------------------------------------- quotes


@dataclass(frozen=True)
class Quote:
    """A passage sentence ranked as a quote for a question."""

    passage: Passage
    text: str  # exact substring of passage.chunk.text
    score: float  # ranking score
    relevance: float  # weighted share of the question's key terms (see ``relevance``)
    provides: bool  # gives the kind of fact the question asks for (always True if none)
    similarity: float = 0.0  # rescaled embedding similarity to the question (0 if none)
    complete: bool = False  # gives every kind of fact a two-part question asks for

    @property
    def usable(self) -> bool:
        return self.provides and relevant_enough(self.score, self.relevance, self.similarity)


def relevant_enough(score: float, relevance: float, similarity: float) -> bool:
    if relevance >= CLEAR_RELEVANCE:
        return True  # most of the question's key terms, whatever the embedding says
    return score >= MIN_SCORE and (relevance >= MIN_RELEVANCE or similarity >= MIN_SIMILARITY)


def quote_score(relevance: float, similarity: float | None, rank: int) -> tuple[float, float]:
    """(ranking score, rescaled similarity) of a text for a question; ``rank`` is the
    0-based retrieval rank of its passage."""
    prior = max(0.0, 1.0 - 0.15 * rank)
    if similarity is None:
        return 0.9 * relevance + 0.1 * prior, 0.0
    rescaled = min(
        1.0, max(0.0, (similarity - QUOTE_SIM_FLOOR) / (QUOTE_SIM_CEIL - QUOTE_SIM_FLOOR))
    )
    return 0.5 * relevance + 0.4 * rescaled + 0.1 * prior, rescaled


def _novelty(quote: str, q_terms: AbstractSet[str], question: str) -> int:
    """How much ``quote`` adds to the question: new content words, figures count double."""
    new_stems = {s for s in content_stems(quote) if not stem_found(s, q_terms)}
    new_numbers = numbers_of(quote, words=True) - numbers_of(question, words=True)
    return len(new_stems) + 2 * len(new_numbers)


def _heading_like(sentence: str) -> bool:
    return not re.search(r"[.!?…:]['\"”’»)]*\s*$", sentence) and len(sentence.split()) < 9


def rank_quotes(
    question: str,
    passages: list[Passage],
    *,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    blocked: Blocked | None = None,
) -> list[Quote]:
    """Passage sentences ranked as answers to ``question``, best first.

    score = 0.5 * key-term share (terms weighted by rarity among the candidates; a term only in
    the passage's title or organisation counts half) + 0.4 * embedding similarity to the
    question (rescaled; ``question_similarity`` embeds the question as a query, else
    ``similarity``) + 0.1 * retrieval rank prior (passage 1 = 1.0, then -0.15 a rank).
    Without any similarity the lexical part weighs 0.9. Headings, sentences that only repeat
    the question, ``blocked`` text and, when the question asks for a figure, name or date,
    sentences without one are ranked last (``provides`` False); when it asks for more than one
    kind, a sentence that gives them all scores ``ALL_KINDS_BONUS`` more.
    """
    terms = key_terms(question)
    ask = asked(question)
    multi_kind = ask.number + ask.name + ask.date > 1
    q_terms = terms_of(question)
    candidates: list[tuple[int, Passage, str]] = []
    for rank, p in enumerate(passages):
        index = PassageIndex.of(p.chunk.text)
        for w in index.windows[: index.singles]:
            quote = p.chunk.text[w.start : w.end].strip()
            if "\n" in quote or _heading_like(quote):
                continue
            if Claim.of(quote).trivial and not numbers_of(quote, words=True):
                continue  # short and says no figure ("Vijfentachtig procent wil dat." does)
            if _novelty(quote, q_terms, question) < 2:
                continue  # says nothing the question does not already say
            if blocked is not None and blocked(quote):
                continue
            candidates.append((rank, p, quote))
    if not candidates or not terms:
        return []
    weights = term_weights(terms, [terms_of(q) for _, _, q in candidates])
    sims: list[float | None] = [None] * len(candidates)
    if question.strip():
        texts = [q for _, _, q in candidates]
        if question_similarity is not None:
            sims = list(question_similarity(question, texts))
        elif similarity is not None:
            sims = [s - 0.03 for s in similarity([question], texts)[0]]  # passage-style
    out = []
    for (rank, p, quote), sim in zip(candidates, sims, strict=True):
        rel = relevance(question, quote, passage_header(p), weights)
        score, rescaled = quote_score(rel, sim, rank)
        gives = provides(ask, question, quote)
        # "Wanneer ..., en welk bureau ...?": a sentence that gives both beats one that gives a
        # year and repeats the question's words
        complete = gives and multi_kind and all(kinds_given(ask, question, quote))
        score += ALL_KINDS_BONUS if complete else 0.0 if gives else -1.0
        out.append(Quote(p, quote, score, rel, gives, rescaled, complete))
    out.sort(key=lambda q: -q.score)
    return out


def quote_fallback(
    question: str,
    passages: list[Passage],
    *,
    max_quotes: int = 3,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    blocked: Blocked | None = None,
    intro: str,
) -> CheckedAnswer:
    """Quote the passage sentences that best answer ``question`` verbatim, with markers.

    Candidates are ranked by ``rank_quotes``; only usable ones count: they contain at least
    ``MIN_RELEVANCE`` of the question's key terms and, when the question asks for a figure,
    name or date, give one. Quotes much weaker than the best one are left out, and quotes from
    a passage already quoted count a bit less, to spread quotes over passages. With no usable
    candidate the result is mode "refusal" with an empty text (the caller shows its message).
    """
    ranked = rank_quotes(
        question,
        passages,
        similarity=similarity,
        question_similarity=question_similarity,
        blocked=blocked,
    )
    return quote_answer(question, ranked, max_quotes, intro)


def quote_answer(question: str, ranked: list[Quote], max_quotes: int, intro: str) -> CheckedAnswer:
    usable = [q for q in ranked if q.usable]
    if not usable or not question.strip():
        return CheckedAnswer("", (), (), "refusal", 0.0)
    if usable[0].complete:  # one sentence answers every part: partial ones add only noise
        usable = [q for q in usable if q.complete]
    best = usable[0].score
    picked = _pick([q for q in usable if q.score >= best - 0.2], max_quotes)
    numbering = {n: i for i, n in enumerate(dedupe(q.passage.n for q in picked), start=1)}
    checks, citations, seen = [], [], set()
    for q in picked:
        p = q.passage
        line = f"{QUOTE_OPEN}{q.text}{QUOTE_CLOSE} [{numbering[p.n]}]"
        checks.append(SentenceCheck(line, (), p.n, q.text, True, "ok"))
        if p.n not in seen:
            seen.add(p.n)
            citations.append(Citation(numbering[p.n], p.chunk, q.text))
    body = "\n".join(f"- {c.text}" for c in checks)
    text = f"{intro.strip()}\n\n{body}" if intro.strip() else body
    return CheckedAnswer(text, tuple(checks), tuple(citations), "quotes", 0.0)


def _pick(ranked: list[Quote], max_quotes: int) -> list[Quote]:
    """Greedy best-first, each earlier pick from the same passage discounting by 15%."""
    remaining = list(ranked)
    picked: list[Quote] = []
    taken: dict[int, int] = {}
    while remaining and len(picked) < max_quotes:
        i = max(
            range(len(remaining)),
            key=lambda k: remaining[k].score - 0.15 * taken.get(remaining[k].passage.n, 0),
        )
        q = remaining.pop(i)
        if any(x.text == q.text for x in picked):
            continue
        picked.append(q)
        taken[q.passage.n] = taken.get(q.passage.n, 0) + 1
    return picked


def evidence_gap(question: str, passages: list[Passage]) -> str:
    """Why no sentence of ``passages`` can answer ``question``, or "" when one may.

    "topic": the question asks what the sources say *over X* and X occurs in none of the
    passages. "kind": it asks for a figure (with its unit), a name or a date, and no passage
    sentence that says something beyond the question gives one (``rank_quotes``' candidates,
    lexical only: no embedding, so the retriever can afford it). Used by the retrieval floor;
    the same measure as the answer check's, so floor and check agree.
    """
    ask = asked(question)
    if ask.topic and not any(
        provides(Asked(topic=ask.topic), question, p.chunk.text) for p in passages
    ):
        return "topic"
    if ask.specific and not any(q.provides for q in rank_quotes(question, passages)):
        return "kind"
    return ""


def answer_type_scores(question: str, chunks: list[Chunk]) -> list[float] | None:
    """For a question that asks for a figure, name or date: per chunk, the key-term share of
    its best sentence that gives one (``rank_quotes``, lexical; terms only in the chunk's
    title, organisation or heading count half, as in the answer check), or -1 when no
    sentence does. None when the question asks for no particular kind of fact.

    Lets retrieval rank up the passages that can answer "hoeveel ...?" or "wie ...?" over
    ones that only share its words (an introduction that repeats a report's name).
    """
    if not asked(question).specific:
        return None
    out = []
    for chunk in chunks:  # one at a time: term rarity within the passage
        ranked = rank_quotes(question, [Passage(1, chunk)])
        out.append(max((q.relevance for q in ranked if q.provides), default=-1.0))
    return out
