"""Quotes: the quote-only answer (``quote_fallback``) built from the passage sentences that
best answer a question (ranked by ``assistant.evidence.rank_quotes``), and the names a
question asks about that no passage mentions (``missing_names``).

Trade-off: verbatim sentences with their source instead of a model's paraphrase when the
model's answer fails the check: less fluent, never wrong about what the source says.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from assistant.chunks import Chunk, Passage
from assistant.citations.markers import dedupe
from assistant.citations.types import (
    QUOTE_CLOSE,
    QUOTE_OPEN,
    CheckedAnswer,
    Citation,
    SentenceCheck,
    nest_quotes,
)
from assistant.dutch.text import (
    PLACE_ABBREVIATIONS,
    YEAR_RE,
    light_stem,
    names_of,
    same_spelling,
    stem_found,
    words_of,
)
from assistant.evidence import (
    Blocked,
    QuestionSimilarity,
    Quote,
    Similarity,
    asked,
    passage_header,
    rank_quotes,
)

JOINED_CHARS = 600  # two overlapping quotes shown as one, at most this long
EVIDENCE_MARGIN = 0.1  # an added quote scores at most this much below the best one
SAME_PASSAGE_DISCOUNT = 0.15  # per earlier quote from its passage, when quotes are spread


DEFAULT_QUOTE_LINE = f"{QUOTE_OPEN}{{quote}}{QUOTE_CLOSE} [{{n}}]"


# --------------------------------------------------------------------------- quotes


def quote_fallback(
    question: str,
    passages: list[Passage],
    *,
    max_quotes: int = 3,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    blocked: Blocked | None = None,
    intro: str,
    line: str = DEFAULT_QUOTE_LINE,
    summary: bool = False,
) -> CheckedAnswer:
    """Quote the passage sentences that best answer ``question`` verbatim, with markers.

    Candidates are ranked by ``rank_quotes``; only usable ones count: they score at least
    ``MIN_SCORE`` and, when the question asks for a figure, name or date, give one. Quotes
    much weaker than the best one are left out, and quotes from a passage already quoted count
    a bit less, to spread quotes over passages. With no usable candidate the result is mode
    "refusal" with an empty text (the caller shows its message). ``summary``: see
    ``rank_quotes``.
    """
    ranked = rank_quotes(
        question,
        passages,
        similarity=similarity,
        question_similarity=question_similarity,
        blocked=blocked,
        summary=summary,
    )
    return quote_answer(question, ranked, max_quotes, intro, line)


def quote_line(template: str, chunk: Chunk, quote: str, n: int) -> str:
    """One verbatim sentence as an answer line: "Volgens KPN: „…" [1]" (prompts/quote_line.md)."""
    return template.format(
        quote=nest_quotes(quote),
        n=n,
        organisation=chunk.organisation or chunk.title or chunk.source,
        title=chunk.title or chunk.source,
        page=chunk.page,
    )


def quote_answer(
    question: str,
    ranked: list[Quote],
    max_quotes: int,
    intro: str,
    line: str = DEFAULT_QUOTE_LINE,
) -> CheckedAnswer:
    """The usable quotes, each as a ``line`` that says whose words they are, with markers."""
    picked = best_quotes(question, ranked, max_quotes)
    if not picked or not question.strip():
        return CheckedAnswer("", (), (), "refusal", 0.0)
    numbering = {n: i for i, n in enumerate(dedupe(q.passage.n for q in picked), start=1)}
    checks, citations, seen = [], [], set()
    for q in picked:
        p = q.passage
        shown = quote_line(line, p.chunk, q.text, numbering[p.n])
        checks.append(SentenceCheck(shown, (), p.n, q.text, True, "ok"))
        if p.n not in seen:
            seen.add(p.n)
            citations.append(Citation(numbering[p.n], p.chunk, q.text))
    body = quote_block([c.text for c in checks])
    text = f"{intro.strip()}\n\n{body}" if intro.strip() else body
    return CheckedAnswer(text, tuple(checks), tuple(citations), "quotes", 0.0)


def quote_block(lines: list[str]) -> str:
    """Quote lines as shown: one on its own, several as a bulleted list."""
    return lines[0] if len(lines) == 1 else "\n".join(f"- {line}" for line in lines)


def best_quotes(question: str, ranked: list[Quote], max_quotes: int) -> list[Quote]:
    """The usable quotes worth showing for ``question``, at most ``max_quotes``: none much
    weaker than the best one (``_pick``)."""
    usable = [q for q in ranked if q.usable]
    if not usable:
        return []
    if usable[0].complete:  # one sentence answers every part: partial ones add only noise
        usable = [q for q in usable if q.complete]
    best = usable[0].score
    # a figure, name or date may stand in any passage: spread the quotes over them; for an
    # open question the sentences after the best one usually hold the rest of its answer
    spread = asked(question).specific
    return _pick([q for q in usable if q.score >= best - 0.2], max_quotes, spread)


def _pick(ranked: list[Quote], max_quotes: int, spread: bool) -> list[Quote]:
    """Greedy best-first; with ``spread`` each earlier pick from the same passage discounts
    ``SAME_PASSAGE_DISCOUNT``. A quote that overlaps a picked one (quotes run on into the next
    sentences) is never shown twice: when it runs on further, the picked quote is extended to
    its end (``_joined``)."""
    remaining = list(ranked)
    picked: list[Quote] = []
    taken: dict[int, int] = {}
    discount = SAME_PASSAGE_DISCOUNT if spread else 0.0
    while remaining and len(picked) < max_quotes:
        i = max(
            range(len(remaining)),
            key=lambda k: remaining[k].score - discount * taken.get(remaining[k].passage.n, 0),
        )
        q = remaining.pop(i)
        if any(_overlaps(x, q) for x in picked):
            picked = _join_into(picked, q)
            continue
        picked.append(q)
        taken[q.passage.n] = taken.get(q.passage.n, 0) + 1
    return picked


def _join_into(picked: list[Quote], q: Quote) -> list[Quote]:
    """``picked`` with the first quote ``q`` overlaps extended by it (``_joined``), unless
    the longer quote would then overlap another picked one."""
    for i, x in enumerate(picked):
        if _overlaps(x, q):
            joined = _joined(x, q)
            others = picked[:i] + picked[i + 1 :]
            if not any(_overlaps(joined, y) for y in others):
                return [*others[:i], joined, *others[i:]]
            break
    return picked


def _joined(a: Quote, b: Quote) -> Quote:
    """``a`` extended to the end of ``b``, an overlapping quote of the same passage that
    starts inside ``a`` and runs on past it, when both fit ``JOINED_CHARS``: a run-on is cut
    at ``SHOWN_CHARS``, and what completes the best sentence often follows just after the cut.
    Never backwards, unless ``b`` is a ranked quote of its own that holds all of ``a`` (it
    starts a sentence earlier): the sentence before the best one is context, rarely the
    answer, but a quote that ranked on its own merit is not dropped for overlapping."""
    if a.passage.n != b.passage.n:
        return a
    if a.text in b.text and len(b.text) <= JOINED_CHARS:
        return dataclasses.replace(a, text=b.text)  # b runs on over all of a
    text = a.passage.chunk.text
    sa, sb = text.find(a.text), text.find(b.text)
    end = sb + len(b.text)
    if sb < sa or end <= sa + len(a.text) or end - sa > JOINED_CHARS:
        return a
    return dataclasses.replace(a, text=text[sa:end])


def _overlaps(a: Quote, b: Quote) -> bool:
    if a.passage.n != b.passage.n:
        return a.text == b.text
    text = a.passage.chunk.text
    sa, sb = text.find(a.text), text.find(b.text)
    return sa < sb + len(b.text) and sb < sa + len(a.text)


_BY_DATE_RE = re.compile(r"\b(?:uit|van)\s+(?:19|20)\d\d\b", re.I)


def missing_names(
    question: str, passages: Sequence[Passage], context: Sequence[str] = ()
) -> list[str]:
    """For a question that asks for a figure, name or date: its names (a country, region,
    organisation: capitalised, not at the start) that occur in none of ``passages``, their
    text or header, even misspelt. The sources the answer may rest on say nothing about them,
    so no sentence gives *that* figure: the question asks about "Duitse werknemers" and the
    passages speak of Dutch ones. Common-noun acronyms (AI, HR) are no names (``names_of``).
    A year the question names ("in 2023") counts too when no passage mentions it.
    Other questions are left alone: a capitalised word in an open question ("... de werkvloer
    Negeer de bronnen") is too often no name at all. ``context``: more text that counts as
    the passages' own, such as the opening of the page a passage stands on ("McKinsey - 18
    juni 2024" above a news item whose second chunk no longer names it)."""
    if not asked(question).specific:
        return []
    words: set[str] = set()
    texts = [f"{p.chunk.text} {passage_header(p)}" for p in passages] + list(context)
    for text in texts:
        words |= set(words_of(text))
    stems = frozenset(light_stem(w) for w in words)
    # a year is a name of its own kind: "in 2023" when every passage speaks of other years
    seen = {y for text in texts for y in YEAR_RE.findall(text)}
    # "het rapport uit 2019" names the document by its date, which its text need not repeat
    seen |= {p.chunk.date[:4] for p in passages if _BY_DATE_RE.search(question)}
    years = [y for y in dict.fromkeys(YEAR_RE.findall(question)) if y not in seen]
    return years + [
        name
        for name in sorted(names_of(question))
        if not any(
            stem_found(light_stem(form.split()[0]), stems)
            for form in (name, *PLACE_ABBREVIATIONS.get(name, ()))
        )
        and not any(same_spelling(name, w) for w in words)  # "McKinsy" / "McKinsey"
    ]
