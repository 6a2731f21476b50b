"""``check_answer``: the model's answer, sentence by sentence, against its passages (see the
package docstring for the rules and their trade-offs)."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.chunks import Passage
from assistant.citations.markers import dedupe, parse_markers, render, strip_invalid_markers
from assistant.citations.novelty import adds_information, bare_side, contradicts, echoes
from assistant.citations.quotes import (
    DEFAULT_QUOTE_LINE,
    EVIDENCE_MARGIN,
    best_quotes,
    quote_answer,
    quote_block,
)
from assistant.citations.quotes import quote_line as as_quote_line
from assistant.citations.support import claim_coverage, claim_support
from assistant.citations.tidy import drop_gap, headings, key, strip_headings, unfinished
from assistant.citations.types import (
    QUOTE_CLOSE,
    QUOTE_OPEN,
    CheckedAnswer,
    Citation,
    SentenceCheck,
    Status,
    nest_quotes,
)
from assistant.dutch.claims import Claim, PassageIndex
from assistant.dutch.language import is_dutch, is_english_sentence
from assistant.dutch.sentences import (
    BULLET_RE,
    MARKER_RE,
    line_spans,
    remove_markers,
    sentence_spans,
)
from assistant.dutch.text import fold
from assistant.evidence import (
    Blocked,
    QuestionSimilarity,
    Quote,
    Similarity,
    asserts,
    heading_like,
    passage_header,
    quote_score,
    rank_quotes,
    relevance,
    relevant_enough,
)
from assistant.question import asked, provides

NOT_FOUND_SUFFIX = " (niet gevonden in de bronnen)"
OFF_QUESTION_GAP = 0.2  # key-term share by which the best quote beats a longer answer
SHOWN_SHARE = 0.7  # share of a sentence's content words an answer shows for it to count as shown
DEFAULT_THRESHOLD = 0.6  # lexical coverage needed; tuned on the cases in tests/test_citations.py


_HEADER_ECHO_RE = re.compile(
    r"^(\s*(?:[-*•]\s*)?)[\[【]\d{1,3}[\]】][^\n]{0,200}?,\s*(?:p|pag|blz|pagina)\.?\s*\d+"
    r"\s*[:.–-]?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_PREFIX_ECHO_RE = re.compile(
    r"^(\s*)(?:antwoord|(?:bron)?passage\s*\d+|fragment\s*\d+)\s*:[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_DROP_LINE_RE = re.compile(
    r"^\s*(?:bronnen|bron|referenties|sources?|vraag)\s*:.*$", re.IGNORECASE | re.MULTILINE
)
_FINAL_PUNCT_RE = re.compile(r"^(.*?)([.!?…]+[\"'”’»)\]]*)?$", re.DOTALL)


def _is_title_echo(line: str, titles: list[str]) -> bool:
    """ "[2] Titel van het rapport (KPN, 2025)": a passage header copied without its page."""
    line = BULLET_RE.sub("", line).strip()
    if not MARKER_RE.match(line):
        return False
    body = fold(remove_markers(line))
    return any(body.startswith(t) and len(body) <= len(t) + 60 for t in titles)


def _clean(raw: str, passages: list[Passage]) -> str:
    """Strip echoes of the passage headers and titles, "Bronnen:" lists, invalid markers."""
    text = raw.replace("\r\n", "\n")
    text = _HEADER_ECHO_RE.sub(r"\1", text)
    text = _PREFIX_ECHO_RE.sub(r"\1", text)
    text = _DROP_LINE_RE.sub("", text)
    titles = [fold(p.chunk.title.strip()) for p in passages if len(p.chunk.title.strip()) >= 8]
    if titles:
        text = "\n".join(ln for ln in text.split("\n") if not _is_title_echo(ln, titles))
    return strip_invalid_markers(text, {p.n for p in passages})


def _with_suffix(body: str, suffix: str) -> str:
    """Put ``suffix`` (markers or the not-found note) before the final punctuation."""
    m = _FINAL_PUNCT_RE.match(body)
    assert m is not None  # the pattern matches any string
    head, punct = m.group(1).rstrip(), m.group(2) or ""
    return f"{head}{suffix}{punct}"


def _trivial(body: str, cited: bool) -> bool:
    """No checkable claim: few content words, no number or name, and no marker (a short line
    the model did cite, like "- Personeelstekort en talentbehoud [1]", is checked)."""
    claim = Claim.of(body)
    return claim.trivial and (len(claim.stems) <= 1 or not cited)


@dataclass
class _Verdict:
    body: str
    cited: list[int]
    trivial: bool
    passages: list[int] = field(default_factory=list)  # backing passages, best first
    quotes: dict[int, tuple[float, str]] = field(default_factory=dict)
    status: Status = "unsupported"
    quoted: str = ""  # the passage's own words, shown instead of the body (a verbatim answer)


def _judge(v: _Verdict, scores: dict[int, tuple[float, str]], threshold: float) -> None:
    v.quotes = scores
    passing = [n for n in v.cited if scores.get(n, (0.0, ""))[0] >= threshold]
    if passing:
        v.passages = sorted(passing, key=lambda n: -scores[n][0])
        v.status = "ok"
        return
    best = max(scores, key=lambda n: scores[n][0], default=None)
    if best is not None and scores[best][0] >= threshold:
        v.passages = [best]
        v.status = "corrected" if v.cited else "added"


def _similarities(
    similarity: Similarity | None, bodies: list[str], passages: list[Passage]
) -> list[list[float | None]]:
    if similarity is None or not bodies or not passages:
        return [[None] * len(passages) for _ in bodies]
    matrix = similarity(bodies, [p.chunk.text for p in passages])
    return [list(row) for row in matrix]


def _segment(text: str, by_n: dict[int, Passage]) -> list[tuple[str, list[_Verdict]]]:
    """Lines as (bullet prefix, a verdict per sentence); a blank line is ("", []).

    What only copies the prompt's layout has no verdict (``citations.tidy``): a sentence that
    is only markers, a gap marker, a heading or title (one glued to the front of a sentence
    is cut off), an unfinished last sentence. Each verdict starts as "unsupported", with the
    markers that point at a given passage, and knows whether it is trivial.
    """
    heads = headings(by_n.values())
    lines: list[tuple[str, list[_Verdict]]] = []
    for line in text.split("\n"):
        bullet = BULLET_RE.match(line)
        prefix = bullet.group(0).strip() + " " if bullet else ""
        rest = line[bullet.end() :] if bullet else line
        verdicts = []
        for s, e in line_spans(rest):
            sentence = rest[s:e]
            body = drop_gap(remove_markers(sentence).strip())
            body = strip_headings(body, heads) if body else None
            if body:
                cited = [n for n in parse_markers(sentence) if n in by_n]
                verdicts.append(_Verdict(body, cited, _trivial(body, bool(cited))))
        if verdicts or not line.strip():  # a line of only layout leaves no blank line
            lines.append((prefix, verdicts))
    filled = [(bool(prefix), vs) for prefix, vs in lines if vs]
    if filled:  # compared with sentences of its kind: list items with list items
        kind = filled[-1][0]
        if unfinished([v.body for k, vs in filled if k == kind for v in vs]):
            filled[-1][1].pop()  # cut off by the token limit: half a claim
    return lines


_NUMBERED_RE = re.compile(r"^(\s*)\d{1,2}([.)]\s+)")


def _assemble(lines: list[tuple[str, list[str | None]]]) -> str:
    """The kept sentences line by line; a numbered list renumbered after a dropped item
    ("1.", "2.", "4." would make the reader look for the third)."""
    out: list[str] = []
    number = 0
    for prefix, sentences in lines:
        kept = [s for s in sentences if s]
        if kept:
            m = _NUMBERED_RE.match(prefix)
            number = number + 1 if m else 0
            if m:
                prefix = f"{m.group(1)}{number}{m.group(2)}"
            out.append(prefix + " ".join(kept))
        elif not sentences and out and out[-1] != "":
            out.append("")  # keep one blank line between paragraphs
    return "\n".join(out).strip()


def _renumber(verdicts: list[_Verdict]) -> dict[int, int]:
    order = dedupe(n for v in verdicts for n in v.passages)
    return {n: i for i, n in enumerate(order, start=1)}


def _shown(
    v: _Verdict,
    numbering: dict[int, int],
    drop_unsupported: bool,
    by_n: dict[int, Passage],
    line: str,
) -> str | None:
    if v.trivial:
        return v.body
    if v.passages and v.quoted:  # the passage's words, shown as whose words they are
        n = v.passages[0]
        return as_quote_line(line, by_n[n].chunk, v.quoted, numbering[n])
    if v.passages:
        return _with_suffix(v.body, " " + render([numbering[n] for n in v.passages]))
    return None if drop_unsupported else _with_suffix(v.body, NOT_FOUND_SUFFIX)


def _once(shown: list[str | None], seen: set[str]) -> list[str | None]:
    """Each sentence shown once: a repeat (the model copied a passage twice, or two bare
    facts rest on the same passage sentence) is left out."""
    out: list[str | None] = []
    for text in shown:
        k = key(text) if text else ""
        if k and k in seen:
            text = None
        seen.add(k)
        out.append(text)
    return out


def _citations(
    verdicts: list[_Verdict], numbering: dict[int, int], by_n: dict[int, Passage]
) -> tuple[Citation, ...]:
    best: dict[int, tuple[float, str]] = {}
    for v in verdicts:
        for n in v.passages:
            score, quote = v.quotes[n]
            if n not in best or score > best[n][0]:
                best[n] = (score, quote)
    ordered = sorted(numbering, key=numbering.__getitem__)
    return tuple(Citation(numbering[n], by_n[n].chunk, best[n][1]) for n in ordered)


def _ranker(
    question: str,
    passages: list[Passage],
    similarity: Similarity | None,
    question_similarity: QuestionSimilarity | None,
    blocked: Blocked | None,
    summary: bool,
    focus: str = "",
) -> Callable[[], list[Quote]]:
    """``rank_quotes`` for the check: ranked once, only when needed."""
    return functools.cache(
        functools.partial(
            rank_quotes,
            question,
            passages,
            similarity=similarity,
            question_similarity=question_similarity,
            blocked=blocked,
            summary=summary,
            focus=focus,
        )
    )


def check_answer(
    raw: str,
    passages: list[Passage],
    *,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    drop_unsupported: bool = True,
    question: str = "",
    fallback_intro: str = "",
    evidence_intro: str = "",
    max_quotes: int = 3,
    blocked: Blocked | None = None,
    compose: bool = True,
    earlier: Sequence[str] = (),
    quote_line: str = DEFAULT_QUOTE_LINE,
    summary: bool = False,
    focus: str = "",
) -> CheckedAnswer:
    """Check the model's answer sentence by sentence against ``passages`` (see package doc).

    Falls back to ``quote_fallback(question or raw, ...)`` with ``fallback_intro`` when the
    answer is empty, not Dutch, or has no supported substantive sentence. With ``question``
    and ``compose``, also when what is left does not answer the question (it shares too few of
    its key terms, or lacks the figure, name or date the question asks for); and a terse
    sentence ("43% [1]"), or a one-sentence answer copied word for word, is shown as the
    passage sentence that backs it (as ``quote_line``), and passage sentences it does not show
    yet follow ``evidence_intro`` (``_evidence``: an open question's quotes, or one).
    ``blocked(text)`` marks text that must never be shown (an instruction planted in a
    passage, the system prompt): a sentence that is, or is backed by, such text counts as
    unsupported. So does a sentence that adds nothing to ``question`` or copies one of
    ``earlier`` (earlier answers, refusals, prompt templates; see ``citations.novelty``).
    Quotes are shown as ``quote_line``; ``summary``: see ``_answers``; ``focus``: ``rank_quotes``.
    """
    by_n, q = {p.n: p for p in passages}, question or raw
    quotes = _ranker(q, passages, similarity, question_similarity, blocked, summary, focus)

    def fallback() -> CheckedAnswer:
        return quote_answer(q, quotes(), max_quotes, fallback_intro, quote_line)

    text = _clean(raw or "", passages)
    if not remove_markers(text).strip() or not is_dutch(text):
        return fallback()
    lines = _segment(text, by_n)
    substantive = [v for _, vs in lines for v in vs if not _is_trivial(v, blocked, earlier, q)]
    claims = _claims(substantive, question, passages, earlier)
    _judge_all(claims, passages, similarity, blocked, threshold, question)
    supported = [v for v in substantive if v.passages]
    if not supported:
        return fallback()
    evidence: list[Quote] = []
    if question and compose:
        if not _answers(question, supported, passages, similarity, question_similarity, summary):
            return fallback()
        supported = _quote_terse(supported, question)
        if not supported:
            return fallback()
        evidence = _evidence(supported, quotes(), question, max_quotes)
    answer = _compose(lines, by_n, drop_unsupported, evidence, evidence_intro, quote_line)
    return dataclasses.replace(answer, supported_rate=len(supported) / len(substantive))


def _claims(
    substantive: list[_Verdict], question: str, passages: list[Passage], earlier: Sequence[str]
) -> list[_Verdict]:
    """The sentences to judge: those with a claim of their own. One with only the question's
    words (for a why/how question also the documents' titles and organisations) or a copy
    of an earlier text is never supported."""
    named = " ".join(dict.fromkeys(f"{p.chunk.title} {p.chunk.organisation}" for p in passages))
    return [
        v
        for v in substantive
        if adds_information(v.body, question, named) and not echoes(v.body, earlier)
    ]


def _quote_terse(supported: list[_Verdict], question: str = "") -> list[_Verdict]:
    """A bare fact ("43% [1]") or a bare side ("Ja, X doet Y [1]", ``bare_side``) is shown
    as the passage sentence that backs it, and so is an answer that is one passage sentence
    word for word: all are the source's words, which say more. A bare fact backed by a
    heading or title line (a page header with a page number) is no answer. Returns the
    sentences still supported."""
    for v in supported:
        quote = v.quotes[v.passages[0]][1].strip()
        if _terse(v.body) or bare_side(v.body, question):
            if heading_like(quote):
                v.passages, v.status = [], "unsupported"
            else:
                v.quoted = quote
    supported = [v for v in supported if v.passages]
    if len(supported) == 1 and not supported[0].quoted:
        v = supported[0]
        v.quoted = _verbatim(v.body, v.quotes[v.passages[0]][1])
    return supported


def _verbatim(body: str, quote: str) -> str:
    """The sentence of ``quote`` that ``body`` is word for word, or ""."""
    own = key(body)
    for s, e in sentence_spans(quote):
        if key(quote[s:e]) == own:
            return quote[s:e].strip()
    return ""


def _is_trivial(
    v: _Verdict, blocked: Blocked | None, earlier: Sequence[str], question: str = ""
) -> bool:
    """A trivial sentence is kept unchecked, unless it is text never to show, a copy of an
    earlier turn (a list item of the previous answer repeated is short, but no answer) or a
    question (copied from a passage: "Hoe kan die winst tastbaar worden gemaakt?")."""
    never = blocked is not None and blocked(v.body)
    if v.trivial and (never or echoes(v.body, earlier) or not asserts(v.body, question)):
        v.trivial = False  # checked (and dropped) like any claim
    return v.trivial


def _judge_all(
    verdicts: list[_Verdict],
    passages: list[Passage],
    similarity: Similarity | None,
    blocked: Blocked | None,
    threshold: float,
    question: str = "",
) -> None:
    """Score every substantive sentence against every passage and judge it; a bare yes or
    no against its quote's side is unsupported ("Ja, X" backed by "nog geen X")."""
    sims = _similarities(similarity, [v.body for v in verdicts], passages)
    indexes = [PassageIndex.of(p.chunk.text) for p in passages]
    for v, row in zip(verdicts, sims, strict=True):
        if is_english_sentence(v.body) or (blocked is not None and blocked(v.body)):
            continue
        claim = Claim.of(v.body)
        scores = {
            p.n: claim_support(claim, idx, sim)
            for p, idx, sim in zip(passages, indexes, row, strict=True)
        }
        if blocked is not None:
            scores = {n: (0.0, "") if blocked(q) else (sc, q) for n, (sc, q) in scores.items()}
        _judge(v, scores, threshold)
        if v.passages and contradicts(v.body, v.quotes[v.passages[0]][1], question):
            v.passages, v.status = [], "unsupported"


def _answers(
    question: str,
    supported: list[_Verdict],
    passages: list[Passage],
    similarity: Similarity | None,
    question_similarity: QuestionSimilarity | None,
    summary: bool = False,
) -> bool:
    """Whether what is supported answers the question: relevant to it (``_answer_relevant``)
    and giving the kind of fact it asks for (no figure for "hoeveel": quotes or refusal).
    When the passages sum up a document (``summary``), whatever they support answers a
    request to sum it up, which shares no words with it."""
    if summary:
        return True
    if not _answer_relevant(question, supported, passages, similarity, question_similarity):
        return False  # supported, but about something else than the question
    return provides(asked(question), question, " ".join(v.body for v in supported))


def _compose(
    lines: list[tuple[str, list[_Verdict]]],
    by_n: dict[int, Passage],
    drop_unsupported: bool,
    evidence: list[Quote],
    evidence_intro: str,
    line: str = DEFAULT_QUOTE_LINE,
) -> CheckedAnswer:
    """The shown answer in one pass over the judged sentences: markers renumbered 1..m,
    unsupported sentences dropped (or marked), each sentence once, a verbatim sentence as a
    ``line`` that says whose words they are, the evidence quotes added at the end."""
    verdicts = [v for _, vs in lines for v in vs]
    numbering = _renumber(verdicts)
    citations = list(_citations(verdicts, numbering, by_n))
    for quote in evidence:
        numbering.setdefault(quote.passage.n, len(numbering) + 1)
    shown_lines: list[tuple[str, list[str | None]]] = []
    checks: list[SentenceCheck] = []
    seen: set[str] = set()
    for prefix, vs in lines:
        shown = _once([_shown(v, numbering, drop_unsupported, by_n, line) for v in vs], seen)
        checks.extend(_sentence_check(v, display) for v, display in zip(vs, shown, strict=True))
        shown_lines.append((prefix, shown))
    body = _assemble(shown_lines)
    added = []
    for quote in evidence:
        n = numbering[quote.passage.n]
        added.append(f"{QUOTE_OPEN}{nest_quotes(quote.text)}{QUOTE_CLOSE} [{n}]")
        checks.append(SentenceCheck(added[-1], (), quote.passage.n, quote.text, True, "ok"))
        if all(c.n != n for c in citations):
            citations.append(Citation(n, quote.passage.chunk, quote.text))
    if added:
        sep = " " if len(added) == 1 else "\n"
        intro = evidence_intro.strip()
        block = quote_block(added)
        body = f"{body}\n\n{intro}{sep}{block}" if intro else f"{body}\n\n{block}"
    return CheckedAnswer(body, tuple(checks), tuple(citations), "answer", 0.0)


def _sentence_check(v: _Verdict, display: str | None) -> SentenceCheck:
    best = v.passages[0] if v.passages else None
    return SentenceCheck(
        text=display if display is not None else v.body,
        cited=tuple(v.cited),
        passage=best,
        quote=v.quotes[best][1] if best is not None else "",
        supported=v.trivial or best is not None,
        status="ok" if v.trivial else v.status,
        trivial=v.trivial,
    )


def _answer_relevant(
    question: str,
    supported: list[_Verdict],
    passages: list[Passage],
    similarity: Similarity | None,
    question_similarity: QuestionSimilarity | None,
) -> bool:
    """Whether one kept sentence (with the passage sentence backing it) is relevant to the
    question by the same measure as a quote (``Quote.usable``)."""
    order = {p.n: i for i, p in enumerate(passages)}
    by_n = {p.n: p for p in passages}
    backing = [(v, v.quotes[v.passages[0]][1], by_n[v.passages[0]]) for v in supported]
    texts = [f"{_before(v.body, quote, p)} {v.body} {quote}" for v, quote, p in backing]
    sims: list[float | None] = [None] * len(texts)
    if question_similarity is not None:
        sims = list(question_similarity(question, [v.body for v in supported]))
    elif similarity is not None:
        sims = [x - 0.03 for x in similarity([question], [v.body for v in supported])[0]]
    for v, text, sim in zip(supported, texts, sims, strict=True):
        n = v.passages[0]
        rel = relevance(question, text, passage_header(by_n[n]))
        score, _ = quote_score(rel, sim, order[n])
        if relevant_enough(score, rel):
            return True
    return False


# a sentence that opens by pointing back ("Dit is ...", "Daardoor ...") continues the one before
_POINTS_BACK_RE = re.compile(
    r"^(?:dit|dat|deze|die|daardoor|daarom|hierdoor|hierbij|daarbij|zij|ze|hij|het)\b", re.I
)


def _before(body: str, quote: str, passage: Passage) -> str:
    """The passage sentence before ``quote`` (the passage's words backing ``body``) when
    ``body`` opens by pointing back: what it is about is said there ("Dit is lastig voor hen"
    after the sentence that names who and what)."""
    if not _POINTS_BACK_RE.match(body.strip()) or not quote:
        return ""
    text = passage.chunk.text
    at = text.find(quote)
    if at <= 0:
        return ""
    index = PassageIndex.of(text)  # the passage's sentences, cached
    earlier = [w for w in index.windows[: index.singles] if w.end <= at]
    return text[earlier[-1].start : earlier[-1].end] if earlier else ""


def _terse(body: str) -> bool:
    """ "43%", "Motivaction", "2025": a bare fact without what it is about."""
    claim = Claim.of(body)
    return len(claim.stems) <= 2 and claim.size <= 3


def _evidence(
    supported: list[_Verdict], ranked: list[Quote], question: str, max_quotes: int
) -> list[Quote]:
    """Passage sentences to add after the model's answer, which it does not already show.
    For an open question (no figure, name or date asked) the quotes a quote answer would
    show (``best_quotes``, at most ``max_quotes``): a small model's few sentences rarely hold
    every point of an explanation, the passage sentences around the best match do. Else one,
    the best relevant sentence (``_best_evidence``), when the answer is thin or writes around
    the question."""
    if not ranked or not ranked[0].usable:
        return []
    own = {v.quotes[n][1].strip() for v in supported for n in v.passages}
    bodies = " ".join(v.body for v in supported)
    # of those, the sentences the answer shows: one shown only in part ("in sectoren als X
    # blijft het achter" for "In A en B wordt het vaak ingezet, maar in sectoren als X blijft
    # het achter") leaves the reader without the rest, so the added quote may hold it
    seen = {o for o in own if _overlap(o, bodies) >= SHOWN_SHARE}
    used = " ".join([bodies, *sorted(seen)])
    shown = [v.quoted for v in supported if v.quoted]
    if question and not asked(question).specific:
        candidates, limit = best_quotes(question, ranked, max_quotes), max_quotes
    else:
        candidates, limit = _best_evidence(supported, ranked, question, own), 1
    out: list[Quote] = []
    for quote in candidates:
        text = _unshown(_unseen(_new_part(quote.text, seen), shown), used)
        if _new_to_reader(text, used):
            out.append(quote if text == quote.text else dataclasses.replace(quote, text=text))
            used = f"{used} {text}"
    return out[:limit]


def _best_evidence(
    supported: list[_Verdict], ranked: list[Quote], question: str, own: set[str]
) -> list[Quote]:
    """Candidates for the one quote added to a thin answer (one substantive sentence) or one
    that writes around ``question`` (``_off_question``), best first. Only near the best
    quote's score: a weaker sentence is not worth the reader's time."""
    if len(supported) > 1 and not _off_question(supported, ranked[0], question):
        return []
    # what the answer rests on, as ranked for the question: an added quote must rank higher
    rests_on = [q for q in ranked if q.text in own or any(q.text in o for o in own)]
    own_score = max((q.score for q in rests_on), default=-1.0)
    # nor may it share fewer of the question's key terms: a closer embedding alone does not
    # make a sentence a better answer than the one the model used
    own_relevance = max((q.relevance for q in rests_on), default=0.0)
    out = []
    for quote in ranked:
        if not quote.usable or quote.score < ranked[0].score - EVIDENCE_MARGIN:
            break
        if quote.score <= own_score:
            break
        if quote.relevance >= own_relevance:
            out.append(quote)
    return out


def _off_question(supported: list[_Verdict], best: Quote, question: str) -> bool:
    """Whether a longer answer writes around the question: all its sentences together share
    ``OFF_QUESTION_GAP`` less of the question's key terms than the best quote. Then the best
    quote is added too, as for a thin answer (the model wrote several supported sentences
    next to the question, the passage has the sentence that answers it)."""
    own = relevance(question, " ".join(v.body for v in supported))
    return bool(question) and own <= best.relevance - OFF_QUESTION_GAP


def _new_part(quote: str, own: set[str]) -> str:
    """``quote`` without the sentences at its start that the answer already rests on (a quote
    runs on into the sentences after its first): the rest is what the reader has not seen."""
    for sentence in sorted(own, key=len, reverse=True):
        if sentence and quote.startswith(sentence):
            return quote[len(sentence) :].strip()
    return quote


def _unseen(quote: str, shown: list[str]) -> str:
    """``quote`` without a sentence the answer already shows word for word: the part before
    it (the sentence the quote was ranked for comes first), or else the part after it."""
    for sentence in shown:
        start = quote.find(sentence)
        if start >= 0:
            before, after = quote[:start].strip(), quote[start + len(sentence) :].strip()
            quote = before if len(before) >= 20 else after
    return quote


def _unshown(quote: str, used: str) -> str:
    """``quote`` without its first and last sentences when the answer already shows them (in
    its own words or the passage's): what is left is new to the reader."""
    spans = sentence_spans(quote)
    while spans and _overlap(quote[slice(*spans[0])], used) >= SHOWN_SHARE:
        spans.pop(0)
    while spans and _overlap(quote[slice(*spans[-1])], used) >= SHOWN_SHARE:
        spans.pop()
    return quote[spans[0][0] : spans[-1][1]].strip() if spans else ""


def _new_to_reader(quote: str, used: str) -> bool:
    """Whether ``quote`` is worth adding after ``used`` (the answer and what it rests on): long
    enough to say something, not mostly shown already, and not a question the report asks."""
    if len(quote) < 20 or quote in used or _overlap(quote, used) >= SHOWN_SHARE:
        return False
    spans = sentence_spans(quote)
    return not quote[spans[0][0] : spans[0][1]].rstrip().endswith("?")


def _overlap(text: str, other: str) -> float:
    """Share of ``text``'s content words and numbers that also occur in ``other``."""
    claim, window = Claim.of(text), PassageIndex._window(other, 0, len(other))
    return claim_coverage(claim, window)
