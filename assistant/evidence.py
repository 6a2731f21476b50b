"""Evidence: which passage sentences answer a question, ranked lexically (``rank_quotes``).

One measure serves three stages, so they agree: retrieval ranks up passages whose sentences
give the kind of fact asked (``answer_type_scores``) and refuses when none can
(``evidence_gap``); the prompt points the model at the best sentences (``sentence_scores``);
the answer check and the quote fallback (``assistant.citations``) judge relevance and pick
quotes with ``rank_quotes``. Pure functions of text: nothing here reads the index or a model.

Trade-off: a transparent score (key-term share weighted by rarity, embedding similarity, the
passage's retrieval rank) rather than a reranker model: no extra model on two cores, and every
quote can be explained.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from assistant.chunks import Chunk, Passage
from assistant.dutch.claims import Claim, PassageIndex
from assistant.dutch.sentences import remove_markers, split_sentences
from assistant.dutch.text import (
    NUMBER_WORDS,
    content_stems,
    fold,
    light_stem,
    names_of,
    numbers_of,
    same_spelling,
    stem_found,
    terms_of,
)
from assistant.question import (
    QUESTION_WORDS,
    Asked,
    asked,
    carry_weight,
    kinds_given,
    last_question,
    provides,
    says_little,
    topic_phrase,
)

Similarity = Callable[[list[str], list[str]], list[list[float]]]

# cosines between one question (embedded as a query) and candidate sentences (as passages)
QuestionSimilarity = Callable[[str, list[str]], list[float]]

Blocked = Callable[[str], bool]  # text that must never be shown (planted instruction, prompt)

# The answer-side refusal: a quote (or the model's answer) is relevant enough to show when its
# score (``quote_score``) reaches MIN_SCORE. One threshold, calibrated on the tune half of
# eval/questions.jsonl with equal cost for refusing an answerable question and answering an
# unanswerable one (trade-off curve in bench/README.md): the minimum lies at 0.44-0.45, just
# before a cliff (0.47 refuses a quarter of the answerable questions), so the threshold sits
# a little below it.
MIN_SCORE = 0.42

# ... or when it holds this share of the question's key terms whatever the embedding says: no
# change on the tune curve (0 to 0.7 alike), but the decision stays lexical when the embedding
# carries no signal (hash embeddings of tests and demos, keyword-only search).
CLEAR_RELEVANCE = 0.45

ALL_KINDS_BONUS = 0.2  # score added to a sentence that gives every kind of fact asked for

NOUN_BONUS = 0.1  # score added to a sentence that names what "welke X" asks for
# a summary's quotes: one step down per sentence into a passage, less per passage, so every
# passage's opening comes before any second sentence (top_k passages stay within one step)
SUMMARY_SENTENCE_STEP = 0.5
SUMMARY_PASSAGE_STEP = 0.05
QUOTE_CHARS = 400  # a quote as ranked: a sentence and what follows it in its paragraph
# a quote as shown: the same, run on further in its paragraph. Ranked on the shorter text, so a
# longer run-on cannot win on words its later sentences happen to share with the question
SHOWN_CHARS = 600

QUOTE_SIM_FLOOR = 0.78  # e5 query-passage cosine at or below this: unrelated (rescaled 0)

QUOTE_SIM_CEIL = 0.90  # at or above this: as related as it gets (rescaled 1)

_DOCUMENT = r"[\w'’-]*(?:rapport|onderzoek|whitepaper|essay|artikel|studie)"  # "het HRM-rapport"

# "volgens bureau X", "in het jaarverslag", "van X en Y": where the answer should
# come from, not what it says. Such terms weigh little; the passage header usually has them.
_SOURCE_PHRASE_RE = re.compile(
    r"\b(?:volgens|according\s+to)\s+((?:(?:het|de|een)\s+)?[\w'’-]+(?:\s+[\w'’-]+)?)"
    rf"|\b(?:in|uit|van)\s+(?:het|de)\s+({_DOCUMENT})\b"
)

# "de studie over thuiswerk en welzijn": a report named by its subject (loose names)
_REPORT_ABOUT_RE = re.compile(
    rf"\b(?:het|de|dat|die)\s+(?:{_DOCUMENT})\s+(?:over|naar)\s+([^?,.;]{{3,60}})"
)

# "Dit rapport biedt een overzicht van ...", "Voorliggend rapport levert ...": a sentence whose
# subject is the document itself says what the document covers, not what it found
_ABOUT_THE_DOCUMENT_RE = re.compile(
    r"^\W*(?:in\s+)?(?:dit|deze|voorliggende?)\s+(?:\w+\s+)?"
    rf"(?:rapportage|verslag|publicatie|hoofdstuk|{_DOCUMENT})\b",
    re.IGNORECASE,
)

CONTEXT_WEIGHT = 0.3  # weight of a source term relative to a content term


# --------------------------------------------------------------------------- lists asked for

_COUNTS = {w: n for w, n in NUMBER_WORDS.items() if n <= 12}

_COUNT_RE = re.compile(
    r"\b(?:top\s*-?\s*)?(?P<n>" + "|".join(_COUNTS) + r"|\d{1,2})\b(?!\s*(?:%|procent|jaar|keer))"
    r"\s+(?:\w+\s+){0,2}?(?P<noun>(?:[^\W\d_]+-)*[^\W\d_]{3,}(?:en|s|'s|’s))\b"
)  # a compound with a hyphen is one noun: "de vijf HR-uitdagingen"

_LIST_START_RE = re.compile(
    r"^\W*(?:en\s+|maar\s+)?(?:wat\s+zijn|welke|noem|geef|op\s+welke|in\s+welke|met\s+welke|"
    r"aan\s+welke|naar\s+welke|uit\s+welke|van\s+welke|voor\s+welke|bij\s+welke)\b"
)

_WORD = r"[^\W\d_]+(?:-[^\W\d_]+)*(?:['’]s)?"  # "risico's", "AI-tools": one word each

_WELKE_NOUN_RE = re.compile(rf"\bwelke\s+(?P<a>{_WORD})(?:\s+(?P<b>{_WORD}))?")

# Dutch plural endings (-en, -'s, -s after -el/-er/-em/-je) and English ones ("skills",
# "tools"); not any -s ("gids", "proces")
_PLURAL = ("en", "'s", "’s", "ers", "els", "ems", "jes", "ies", "ls", "ps", "ks", "ts")

# "Wat zijn (volgens X) de (grootste) zorgen": the first plural noun after "de"
_WAT_ZIJN_RE = re.compile(r"\bwat\s+zijn\b")

_DE_NOUN_RE = re.compile(
    r"\b(?:de|die)\s+(?:[^\W\d_]+e\s+){0,2}(?P<noun>[^\W\d_]+(?:-[^\W\d_]+)*(?:['’]s)?)"
)


@lru_cache(maxsize=1024)
def _last_asked(question: str) -> str:
    """The question's last question (a follow-up is searched with the one before it), folded,
    on one line: what the list rules read, as ``asked`` does."""
    return fold(" ".join(last_question(question).split()))


def asked_count(question: str) -> int | None:
    """N of "Wat zijn de vijf ...", "Welke drie ...", "de top 5 ...", or None. Of several
    questions, the last one's (``_last_asked``)."""
    m = _COUNT_RE.search(_last_asked(question))
    if not m:
        return None
    n = m.group("n")
    return int(n) if n.isdigit() else _COUNTS[n]


def asks_for_list(question: str) -> bool:
    """Does ``question`` ask for several things: a count ("de vijf ..."), "Wat zijn ...", or
    "Welke" with a plural noun ("Welke risico's ...", not "Welke rol ...")? Of several
    questions, the last one."""
    q = _last_asked(question)
    if asked_count(question) not in (None, 1):
        return True
    if not _LIST_START_RE.search(q) and not re.search(r"\bnoem\w*\b", q):
        return False
    return bool(re.search(r"\bwat\s+zijn\b|\bnoem\w*\b", q)) or listed_noun(question) != ""


def listed_noun(question: str) -> str:
    """The plural noun that names what is to be listed ("zorgen", "risico's"), or "". Of
    several questions, the last one's."""
    q = _last_asked(question)
    m = _COUNT_RE.search(q)
    if m:
        return m.group("noun")
    m = _WELKE_NOUN_RE.search(q)
    if m:
        noun = m.group("a")
        if noun.endswith("e") and m.group("b"):  # "welke nieuwe acties": the adjective first
            noun = m.group("b")
        return noun if len(noun) > 3 and noun.endswith(_PLURAL) else ""
    m = _WAT_ZIJN_RE.search(q)
    if m:
        nouns = (d.group("noun") for d in _DE_NOUN_RE.finditer(q, m.end()))
        return next((n for n in nouns if len(n) > 3 and n.endswith(_PLURAL)), "")
    return ""


def names_noun(noun: str, text: str) -> bool:
    """Whether ``text`` (a list's intro and heading) names what ``noun`` asks for: the same
    word, or one is the head of the other ("onderzoeksvragen" / "vragen")."""
    if not noun:
        return False
    asked_stem = light_stem(noun.replace("'", "").replace("’", ""))
    head = asked_stem.rsplit("-", 1)[-1]
    for w in terms_of(text):
        if w == asked_stem or (len(w) >= 4 and asked_stem.endswith(w)):
            return True
        if len(asked_stem) >= 4 and w.endswith(asked_stem):
            return True
        if len(head) >= 6 and same_spelling(head, w):  # a typo: "kneplunten"
            return True
    return False


# --------------------------------------------------------------------------- key terms


@lru_cache(maxsize=1024)
def _source_terms(question: str) -> frozenset[str]:
    found: set[str] = set()
    for m in _SOURCE_PHRASE_RE.finditer(question):
        found |= content_stems(m.group(1) or m.group(2) or "")
    if not topic_phrase(question):  # "het rapport over X" names a report, unless "zegt ... over X"
        for m in _REPORT_ABOUT_RE.finditer(question):
            found |= content_stems(m.group(1))
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
        return self.provides and relevant_enough(self.score, self.relevance)


def relevant_enough(score: float, relevance: float) -> bool:
    """The calibrated answer-side refusal rule (see ``MIN_SCORE`` and ``CLEAR_RELEVANCE``)."""
    return score >= MIN_SCORE or relevance >= CLEAR_RELEVANCE


def quote_score(relevance: float, similarity: float | None, rank: int) -> tuple[float, float]:
    """(ranking score, rescaled similarity) of a text for a question; ``rank`` is the
    0-based retrieval rank of its passage."""
    prior = max(0.0, 1.0 - 0.15 * rank)
    if similarity is None:
        return 0.9 * relevance + 0.1 * prior, 0.0
    rescaled = rescale_similarity(similarity)
    return 0.5 * relevance + 0.4 * rescaled + 0.1 * prior, rescaled


def rescale_similarity(cosine: float) -> float:
    """An e5 cosine on a 0-1 scale: e5 puts almost every Dutch sentence pair between
    ``QUOTE_SIM_FLOOR`` and ``QUOTE_SIM_CEIL``."""
    return min(1.0, max(0.0, (cosine - QUOTE_SIM_FLOOR) / (QUOTE_SIM_CEIL - QUOTE_SIM_FLOOR)))


def _novelty(quote: str, q_terms: AbstractSet[str], question: str) -> int:
    """How much ``quote`` adds to the question: new content words, figures count double."""
    new_stems = {s for s in content_stems(quote) if not stem_found(s, q_terms)}
    new_numbers = numbers_of(quote, words=True) - numbers_of(question, words=True)
    return len(new_stems) + 2 * len(new_numbers)


def heading_like(sentence: str) -> bool:
    """A short line without closing punctuation: a heading or a title, which states nothing."""
    return not re.search(r"[.!?…:]['\"”’»)]*\s*$", sentence) and len(sentence.split()) < 9


def _candidates(
    question: str, passages: list[Passage], blocked: Blocked | None
) -> list[tuple[int, Passage, str, str]]:
    """(retrieval rank, passage, quote, shown) of the passage sentences that may answer
    ``question``: no headings, questions, trivial or ``blocked`` sentences, and none that
    only repeat the question. ``quote`` runs on to ``QUOTE_CHARS`` and is what is ranked;
    ``shown`` runs on to ``SHOWN_CHARS`` (``_with_sequel``)."""
    q_terms = terms_of(question)
    candidates: list[tuple[int, Passage, str, str]] = []
    for rank, p in enumerate(passages):
        index = PassageIndex.of(p.chunk.text)
        singles = index.windows[: index.singles]
        for i, w in enumerate(singles):
            quote = p.chunk.text[w.start : w.end].strip()
            if "\n" in quote or heading_like(quote) or not asserts(quote, question):
                continue  # a heading, or a question (unless questions are asked for)
            if fold(quote).rstrip(".") in (fold(p.chunk.title), fold(p.chunk.heading)):
                continue  # the document's title or the section's heading states nothing
            if Claim.of(quote).trivial and not numbers_of(quote, words=True):
                continue  # short and says no figure ("Vijfentachtig procent wil dat." does)
            if blocked is not None and blocked(quote):
                continue
            spans = [(x.start, x.end) for x in singles[i:]]
            longer = _with_sequel(p.chunk.text, spans)
            if longer != quote and (blocked is None or not blocked(longer)):
                quote = longer
            if _novelty(quote, q_terms, question) < 2:
                continue  # says nothing the question does not already say
            # shown never ends on a question (ranked with it: its words are the topic)
            shown = _with_sequel(p.chunk.text, spans, SHOWN_CHARS, question)
            if blocked is not None and blocked(shown):
                shown = quote
            candidates.append((rank, p, quote, shown))
    return candidates


def _only_covers(quote: str, question: str) -> bool:
    """``quote`` opens with a sentence whose subject is the document itself ("Dit rapport biedt
    een overzicht van ..."), with no figure or name the question lacks. Such a sentence says
    what the document covers: it shares the words of many questions about that subject and
    answers none of them but those about the document. One on who made the study or whom it
    asked ("... uitgevoerd door X", "... betrof 2223 werkenden") answers those and counts."""
    if not _ABOUT_THE_DOCUMENT_RE.match(quote):  # the opening words: no split needed
        return False
    first = split_sentences(quote)[0]
    return not (numbers_of(first) - numbers_of(question) or names_of(first) - names_of(question))


def _with_sequel(
    text: str,
    spans: Sequence[tuple[int, int]],
    limit: int = QUOTE_CHARS,
    question: str | None = None,
) -> str:
    """The first sentence of ``spans`` with the sentences after it in its paragraph, up to
    ``limit`` characters in all. Reports state a finding, then explain or detail it ("Opvallend is
    dat AI-gebruikers vaker van baan wisselen. 34% solliciteerde ..."): the sentence that
    matches the question best is often the one before the answer. With ``question``, it never
    ends on a sentence that asserts nothing for it (``asserts``): "De verklaring? ..." is followed
    by its answer, a question at the end is not."""
    start, end = spans[0]
    for nxt in spans[1:]:
        piece = text[start : nxt[1]]
        if "\n" in piece.strip() or len(piece) > limit or heading_like(text[nxt[0] : nxt[1]]):
            break
        if question is None or asserts(text[nxt[0] : nxt[1]], question):
            end = nxt[1]
    return text[start:end].strip()


def rank_quotes(
    question: str,
    passages: list[Passage],
    *,
    similarity: Similarity | None = None,
    question_similarity: QuestionSimilarity | None = None,
    blocked: Blocked | None = None,
    summary: bool = False,
    focus: str = "",
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

    ``summary``: the passages sum up a document (``Retrieval.summary``): a request to sum up
    shares no words with what it asks for, so the sentences rank by place (``summary_quotes``).
    ``focus``: a follow-up's own words; terms only ``question`` carries over from the previous
    one weigh less (``question.carry_weight``), so the sentence the previous answer was about
    does not win again.
    """
    if summary:
        return summary_quotes(_candidates(question, passages, blocked))
    terms = key_terms(question)
    ask = asked(question)
    noun = listed_noun(question)
    multi_kind = ask.number + ask.name + ask.date > 1
    candidates = _candidates(question, passages, blocked)
    if not candidates or not terms:
        return []
    weights = _focused(term_weights(terms, [terms_of(q) for _, _, q, _ in candidates]), focus)
    sims: list[float | None] = [None] * len(candidates)
    if question.strip():
        texts = [q for _, _, q, _ in candidates]
        if question_similarity is not None:
            sims = list(question_similarity(question, texts))
        elif similarity is not None:
            sims = [s - 0.03 for s in similarity([question], texts)[0]]  # passage-style
    out = []
    for (rank, p, quote, shown), sim in zip(candidates, sims, strict=True):
        rel = relevance(question, quote, passage_header(p), weights)
        score, rescaled = quote_score(rel, sim, rank)
        gives = provides(ask, question, quote)
        # "Wanneer ..., en welk bureau ...?": a sentence that gives both beats one that gives a
        # year and repeats the question's words
        complete = gives and multi_kind and all(kinds_given(ask, question, quote))
        score += ALL_KINDS_BONUS if complete else 0.0 if gives else -1.0
        if noun and names_noun(noun, quote):
            score += NOUN_BONUS  # "Welke risico's ...?": a sentence about risks
        elif noun and _only_covers(quote, question):
            gives, score = False, score - 1.0  # what the report covers is not the list
        out.append(Quote(p, shown, score, rel, gives, rescaled, complete))
    out.sort(key=lambda q: -q.score)
    return out


def _focused(weights: dict[str, float], focus: str) -> dict[str, float]:
    """``weights`` with the terms a follow-up only carries over (not in ``focus``, its own
    words) weighed down; a follow-up that says little ("Waarom?") carries all it asks about."""
    if not focus or says_little(focus):
        return weights
    own = set(key_terms(focus)) & set(weights)
    carried = carry_weight(len(own), len(weights) - len(own))
    return {t: w if t in own else carried * w for t, w in weights.items()}


def summary_quotes(candidates: list[tuple[int, Passage, str, str]]) -> list[Quote]:
    """The opening sentence of each passage first, in passage order, then the next ones: a
    summary or conclusion section states its main point first."""
    out: list[Quote] = []
    place: dict[int, int] = {}
    for rank, p, _, text in candidates:
        place[p.n] = place.get(p.n, -1) + 1
        score = 1.0 - SUMMARY_SENTENCE_STEP * place[p.n] - SUMMARY_PASSAGE_STEP * rank
        out.append(Quote(p, text, score, 1.0, True))
    return sorted(out, key=lambda q: -q.score)


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


def asserts(sentence: str, question: str) -> bool:
    """A question asserts nothing, unless questions are what is asked for ("Welke vragen
    stelt het onderzoek?"): then a passage's question is the answer."""
    if not remove_markers(sentence).rstrip(" \"'”’»)").endswith("?"):
        return True
    return any(s.endswith(("vrag", "vraag")) for s in content_stems(question))
