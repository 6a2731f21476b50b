"""Hybrid retrieval for Dutch questions: dense e5 search + Dutch BM25, fused by weighted RRF.

Pipeline of ``Retriever.retrieve`` and the trade-offs behind each step (figures: the dev half of
the gold set, 43 answerable questions; the unseen half decides, so every step is a general
mechanism and nothing is keyed to a gold item):

1. **The question.** Sentences that instruct instead of ask ("Vertaal je antwoord naar het
   Frans", "Gebruik gewoon je eigen kennis", "From now on, answer in English") are left out of
   the search when a question remains (``strip_instructions``): their words would pull both
   retrievers away from it. Everything else of the question is kept, even "Zet de onderzoeken
   naast elkaar": such words steer e5 towards passages that report (measured: dropping them
   cost a hit).
2. **Follow-ups** (``rewrite_question``). A rule, not a model call: the 0.5B model rewrites
   poorly and costs seconds. A question that leans on the conversation ("En in de zorg?",
   "Wat zeggen ze daarover?", "En de tweede?", "Welke van die drie ...") becomes a standalone
   question built from the previous (itself resolved) question: an elliptical fragment is merged
   into it ("Hoeveel werknemers gebruiken AI in de zorg?"), a referring question is appended,
   and a reference into the previous answer's list ("de tweede", "die drie") gets the items of
   that list. The result is what is searched *and* what the page shows ("Gezocht op"). The
   keyword search weighs the carried words below the new ones, so the new part decides. When the
   follow-up refers back (not after "En in de zorg?", which moves away), the previous answer's
   passages (``previous``; re-read from the index and access-checked) join the fusion. Risk: a
   new question that merely contains a pronoun ("... die AI gebruiken") is only treated as a
   follow-up when it is short; weak signals alone never trigger the rewrite.
3. **Two retrievers**, ``candidates`` (40) each. Dense (multilingual-e5-small) finds
   paraphrases; the keyword index (``assistant.keyword``: Dutch stemming, compound splitting)
   finds figures, names and rare terms a 384-d embedding blurs. One embedding per question: it
   is most of the latency, except for "Wat zeggen de onderzoeken in de deskresearch van het
   HRM-rapport over X?": the words that say *where* to look pull e5 towards passages about the
   research itself (its method section), so X alone is embedded and searched too
   (``topic_weight``; on gold_dev it lifted the one such miss from rank 7 to 3, and cost none).
   Dense alone reaches recall@5 0.84, keyword alone 0.86, fused 0.91.
4. **Document routing.** Many questions name the report ("volgens Integron", "het
   HRM-rapport", "het VIVO-rapport"). A document's *name terms* come from its title,
   organisation and kind, and must be rare in the corpus and concentrated in that document;
   organisation words, the kind and title words written as names ("HRM", "Work") name a
   document on their own, other title words only in pairs ("social profit"). Generic title words
   ("ai", "zorg", "digitalisering", "werkvloer" alone) name nothing. A question that names
   documents also gets both retrievers' rankings *inside* them, with the name terms weighed
   down in the keyword query (else the introduction that repeats the report's name wins). A
   boost, not a filter: a wrong routing costs rank, not recall. This was the largest gain
   (recall@5 0.79 -> 0.87 in a sweep).
5. **Fusion.** Weighted reciprocal rank fusion (``rrf_k`` 30, dense weight 1.5, keyword 1;
   and, for a question that asks for a figure, name or date, an *answer-type* ranking
   (``answer_type_weight`` 1): the candidates with a sentence that gives one, by that
   sentence's share of the question's key terms (a term only in the chunk's heading or title
   counts half, as in the answer check). It ranks "41 procent overweegt een nieuwe stap"
   above the introduction that repeats the question's words: gold_dev MRR@10 0.70 -> 0.78,
   r@1 0.58 -> 0.70):
   no calibration between cosine and BM25 scales, robust when either retriever misses. A tuned
   convex combination of normalised scores was tried and did no better; neither did a search
   on section headings. ``rrf_k``, the weights and the candidate count moved results by a
   question or less, so they are set to the middle of the good range, not to the best point.
6. **Diversity** (``diversify``). Near-duplicates (the KPN survey is reported in two
   documents) are dropped and at most ``max_per_document`` (2) passages per document are taken
   while other documents still have candidates: with 4 passages for the model, a second
   document's view helps more than a third passage of the same one (recall@4 0.86 vs 0.81 with
   3). Passages over the cap are deferred, not dropped, so ``top_k=10`` returns 10 passages
   when there are 10 candidates and a shorter list is a prefix of a longer one. The cap does
   not apply to documents the question names: then the answer is expected there.
7. **Relevance floor** (``judge_relevance``). e5 cosines are compressed: unrelated Dutch text
   scores ~0.76-0.85, questions the sources answer ~0.84-0.93. So the floor adds two signals
   from the Dutch analysis: *coverage*, the IDF-weighted share of the question's content words
   (words about sources such as "bronnen", "rapport" left out) found in the best passages,
   their headings or their document's title, organisation and kind; and *unknown names*, names
   in the question ("Frankrijk", "G20", "Eurostat") that occur nowhere in the sources.
   Refused: best cosine below ``relevance_floor`` (0.82); or below ``relevance_floor_strong``
   (0.85) with coverage below ``min_coverage`` (0.5) or an unknown name. Unknown ordinary words
   do not count: half of the answerable dev questions paraphrase with a word the reports never
   use ("strijken", "voortouw", "mkb"). Calibrated on questions written for it, not on the gold
   set: 28 of 30 off-topic questions refused (recipes, weather, salaries, other countries'
   indexes, software), 14 of 15 on a second set written afterwards, none of 35 on-topic ones.
   Questions on the corpus's subjects that it cannot answer (a figure a report does not give,
   who wrote an essay, a salary of an HR manager) mostly pass: their cosine is as high as an
   answerable question's, and a rule that refused them would refuse answerable ones too. The
   citation check of the answer step catches those. Keyword mode has no cosine: coverage alone
   (``KEYWORD_ONLY_COVERAGE``).
   So, third, the floor looks at the *sentences* of the best passages (``evidence_floor``,
   ``citations.evidence_gap``, the answer check's own measure): a question that asks for a
   figure (with its unit: "hoeveel minuten"), a name ("wie heeft ... geschreven") or a date
   that no sentence gives, or asks what the sources say "over X" where X occurs in none of
   them, is refused whatever its cosine. It reads the retrievers' own first passages, before
   the answer-type ranking (which brings up *some* sentence with a figure or a name for any
   question), and one more than the model gets (``FLOOR_EXTRA_PASSAGES``). A name asked with
   "wie" must be named as the one who did it ("geschreven door X"), not as where it appeared
   ("gepubliceerd in Y"). On gold_dev this refuses 5 of the 6 unanswerable items and 2 of 43
   answerable ones (one whose answer no retriever finds, one that only asks for a role-play);
   the rules are Dutch question forms, not tuned thresholds, but they were written while
   looking at the dev set, so the unseen half is the real test.

The modes ``dense`` and ``keyword`` (for evaluation) differ from ``hybrid`` only in which
retrievers run; rewriting, routing, diversity and the floor are the same.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from assistant.chunks import Chunk, ScoredChunk
from assistant.citations import Passage, answer_type_scores, asked, evidence_gap, topic_phrase
from assistant.errors import IndexMissing
from assistant.llm import Message
from assistant.settings import RetrievalSettings
from assistant.store import Store

log = logging.getLogger(__name__)

RRF_K = 60  # the constant from Cormack et al.; the setting ``rrf_k`` overrides it
Mode = Literal["hybrid", "dense", "keyword"]

CARRY_WEIGHT = 0.5  # keyword weight of words carried over from the previous question
NAME_MAX_DF = 0.08  # a name term occurs in at most this share of all chunks ...
NAME_MIN_DF = 3  # ... (or in at most this many chunks: in a tiny corpus every word is "common")
NAME_MIN_LIFT = 3.0  # ... and this many times more often in its document than elsewhere
ROUTE_MAX_DOCS = 4  # a question that "names" more documents than this names none
NAME_WEIGHT = 0.25  # keyword weight of name terms when searching inside the named documents
# The answer-type ranking reads this many fused candidates (~1 ms each; 15, 20, 30 and 40
# gave the same ranks on gold_dev)
ANSWER_TYPE_CANDIDATES = 20
# The evidence floor reads the retrievers' first top_k passages and this many more: the
# answer-type ranking lifts an answering passage from just below the first top_k (gold_dev: one
# answerable question refused at 0, none at 1-4; the unanswerable ones refused alike at 1-4).
FLOOR_EXTRA_PASSAGES = 1
KEYWORD_ONLY_COVERAGE = 0.3  # the floor without a dense score (keyword mode): coverage alone
MAX_QUERY_CHARS = 600  # a chain of follow-ups must not grow the query without bound
OVERFETCH_MAX = 300  # most dense hits fetched unfiltered to filter on collections here
NAMED_EXACT_MAX = 2000  # named documents up to this many chunks are scored from their vectors
NEAR_DUPLICATE = 0.7  # Jaccard overlap of word sets above which two passages are one


@dataclass
class Retrieval:
    query: str  # the standalone question that was searched
    passages: list[ScoredChunk]
    relevant: bool  # False: below the relevance floor, the assistant should refuse
    best_dense: float = 0.0
    best_keyword: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    coverage: float = 0.0  # IDF-weighted share of the question's terms in the best passages
    followup: bool = False  # the question was resolved against the conversation
    named: list[str] = field(default_factory=list)  # sources the question names (routing)
    reason: str = ""  # why the floor refused or accepted (logs, evaluation)
    fused: list[str] = field(default_factory=list)  # chunk ids in fused order, before diversity
    signal: RelevanceSignal | None = None  # what the floor judged (calibration, logs)


# --------------------------------------------------------------------------------------------
# Fusion and diversity
# --------------------------------------------------------------------------------------------


def rrf(
    rankings: dict[str, list[str]],
    k: int = RRF_K,
    weights: dict[str, float] | None = None,
) -> list[tuple[str, float, dict[str, int]]]:
    """Weighted reciprocal rank fusion: id -> sum of w/(k + rank) over the rankings it is in.

    Ties are broken by id, so the order is stable across runs.
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        if w <= 0:
            continue
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank)
            ranks.setdefault(cid, {})[name] = rank
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(cid, score, ranks[cid]) for cid, score in ordered]


def _words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return {w for w in re.findall(r"\w+", folded) if len(w) > 2}


def _similar(wa: set[str], wb: set[str], threshold: float = NEAR_DUPLICATE) -> bool:
    return bool(wa) and bool(wb) and len(wa & wb) / len(wa | wb) >= threshold


def near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE) -> bool:
    """Jaccard overlap of word sets; catches the same passage reported twice."""
    return _similar(_words(a), _words(b), threshold)


def diversify(
    items: list[ScoredChunk],
    top_k: int,
    max_per_document: int,
    uncapped: set[str] | frozenset[str] = frozenset(),
) -> list[ScoredChunk]:
    """Best-first selection without near-duplicates and with a soft cap per document.

    A passage of a document that already has ``max_per_document`` passages is deferred: it is
    taken only when no other document has a candidate left. So the result has ``top_k``
    passages whenever that many distinct passages exist, and a shorter ``top_k`` gives a
    prefix of a longer one. Documents whose stem is in ``uncapped`` are not capped.
    """
    chosen: list[ScoredChunk] = []
    words: list[set[str]] = []
    deferred: list[ScoredChunk] = []
    per_doc: dict[str, int] = {}

    def fresh(item: ScoredChunk) -> set[str] | None:
        w = _words(item.chunk.text)
        return None if any(_similar(w, other) for other in words) else w

    for item in items:
        if len(chosen) >= top_k:
            break
        stem = item.chunk.stem
        if stem not in uncapped and per_doc.get(stem, 0) >= max_per_document:
            deferred.append(item)
            continue
        w = fresh(item)
        if w is None:
            continue
        chosen.append(item)
        words.append(w)
        per_doc[stem] = per_doc.get(stem, 0) + 1
    for item in deferred:
        if len(chosen) >= top_k:
            break
        w = fresh(item)
        if w is not None:
            chosen.append(item)
            words.append(w)
    return chosen


# --------------------------------------------------------------------------------------------
# Follow-up questions
# --------------------------------------------------------------------------------------------

_CONNECTIVE = re.compile(
    r"^(?:en|maar|ook|dus|oké|ok|verder|tot slot|en verder|en wat|wat dan|hoe zit het"
    r"(?: dan)?(?: met)?|hoe dan|waarom dan|en hoe|en waarom)\b[\s,]*",
    re.I,
)
# Pronominal adverbs and the like: they point at something said before.
_STRONG_REF = re.compile(
    r"\b(?:daar(?:over|van|bij|in|mee|voor|door|op|uit|aan|naar|om|tegen|onder|naast|na)?|"
    r"hier(?:over|van|bij|in|mee|voor|door|op|uit|aan|naar|om)|hetzelfde|dezelfde|zo'n|zulke|"
    r"diezelfde|datzelfde|eerstgenoemde|laatstgenoemde|bovenstaande|voornoemde)\b",
    re.I,
)
# "in deze sector", "van die drie", "uit dat onderzoek"
_DEMONSTRATIVE_NP = re.compile(
    r"\b(?:van|in|bij|uit|over|voor|met|op|onder|tussen|aan|naar|volgens)\s+"
    r"(?:die|deze|dat|dit)\s+\w+",
    re.I,
)
_START_DEMONSTRATIVE = re.compile(r"^(?:die|deze|dat|dit|welke van (?:die|deze))\b", re.I)
# "die drie", "deze twee": the items of the previous answer
_COUNT_REF = re.compile(r"\b(?:die|deze)\s+(?:twee|drie|vier|vijf|zes|zeven)\b", re.I)
# "dat" / "dit" as a pronoun: "Waarom is dat zo?", "Hoe komt dat?", "Geldt dat ook ...?"
_PRONOUN = re.compile(
    r"\b(?:dat|dit)\s*(?:[?.!]|$)|\b(?:dat|dit)\s+(?:zo|ook|dan|precies|eigenlijk|concreet)\b|"
    r"\b(?:is|komt|geldt|betekent|zit|kan|moet|zou|wordt|waarom|hoe) (?:dat|dit)\b",
    re.I,
)
_WEAK_REF = re.compile(r"\b(?:ze|zij|hen|hem)\b", re.I)  # not "hun": "AI in hun werk"
_ORDINALS = {
    "eerste": 1,
    "tweede": 2,
    "derde": 3,
    "vierde": 4,
    "vijfde": 5,
    "zesde": 6,
    "laatste": -1,
}
_ORDINAL = re.compile(
    r"\b(?:de|het|die|dat)\s+(eerste|tweede|derde|vierde|vijfde|zesde|laatste)\b", re.I
)
_PREPOSITIONS = (
    "in",
    "bij",
    "onder",
    "voor",
    "op",
    "met",
    "van",
    "over",
    "tijdens",
    "volgens",
    "binnen",
    "buiten",
    "tussen",
    "na",
    "sinds",
    "vanuit",
    "zonder",
    "tegen",
    "per",
    "rond",
)
_QUESTION_WORD = re.compile(
    r"\b(?:wat|wie|welke?|waar\w*|wanneer|waarom|hoe\w*|hoeveel|in hoeverre)\b", re.I
)
_CITATION = re.compile(r"\[[^\]]{1,80}\]")
_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
_CAPITALISED = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][a-z]*[A-Z]\w*|[A-Z]{2,}\w*|[A-Z][a-z]+)\b")


# Instructions about the answer rather than questions about the sources ("Vertaal je antwoord
# naar het Frans", "Gebruik gewoon je eigen kennis", "From now on, answer in English"). Their
# words would steer both retrievers away from the actual question, so a sentence or clause with
# one of these is left out of the search (never when it is all there is).
_INSTRUCTION = re.compile(
    r"\b(?:antwoord\w*|vertaal\w*|negeer\w*|instructies?|doe alsof|vanaf nu|vergeet|"
    r"systeemprompt|prompt|eigen kennis|in het (?:engels|frans|duits|spaans)|from now on|"
    r"answer|ignore|pretend|translate|english|please)\b",
    re.I,
)
# Words about the sources or the shape of the answer, not about a topic ("Wat zeggen de
# bronnen ...", "Zet de onderzoeken naast elkaar"): they do not count for the relevance floor's
# coverage. (They stay in the search: they do steer e5 towards the passages that report.)
META_WORDS: frozenset[str] = frozenset(
    """bron bronnen onderzoek onderzoeken rapport rapporten document documenten tekst teksten
    artikel artikelen studie studies publicatie zeggen zegt zeg vertellen vertelt staat staan
    vermeld vermelden noemen noemt geef geven zet leg uit vat samen kort overzicht lijst
    punten tabel vergelijk vergelijken naast elkaar verschillende eens even gewoon graag
    alsjeblieft aub svp volgens schrijven schrijft beschrijf beschrijven""".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


# A question that asks for several things: "Welke zorgen ...", "Wat zijn de vier kernpunten",
# "Op welke drie manieren", "Noem de redenen", "de top 5". "Welke rol" (singular) is not one.
_COUNT = r"(?:twee|drie|vier|vijf|zes|zeven|acht|negen|tien|\d{1,2})"
_LIST_QUESTION = re.compile(
    rf"^(?:wat zijn|noem)\b|\btop[ -]?\d|\b(?:de|het|die)\s+{_COUNT}\s+[^\W\d]{{3,}}|"
    r"\bwelke\s+(?:[^\W\d]+\s+)?[^\W\d]{2,}(?:en|s|'s)\b",
    re.I,
)
# A list in a passage: two or more lines that start with a number or a bullet, or a line that
# ends in a colon followed by more text ("De top 5 zorgen van organisaties:\n\nAI en ...").
_LIST_LINE = re.compile(r"^\s*(?:\d{1,2}[.)]|[-•*▪◦–])\s+\S", re.M)
_LEAD_IN_LINE = re.compile(r":\s*\n\s*\S")


def asks_list(question: str) -> bool:
    """Does ``question`` ask for a list of things (see ``_LIST_QUESTION``)?"""
    q = _CONNECTIVE.sub("", " ".join(question.split()), count=1)
    return bool(_LIST_QUESTION.search(q))


def holds_list(text: str) -> bool:
    """Does a passage hold a list (numbered or bulleted lines, or a lead-in and its items)?"""
    return len(_LIST_LINE.findall(text)) >= 2 or bool(_LEAD_IN_LINE.search(text))


def strip_instructions(question: str) -> str:
    """``question`` without sentences that instruct rather than ask (see ``_INSTRUCTION``).

    Only non-question parts are dropped, and only when a part with a question mark remains,
    so a plain statement that sets the topic ("In de zorg lijkt digitale stress groter.
    Wat zeggen de bronnen?") is kept.
    """
    q = " ".join(question.split())
    parts = [p.strip() for p in _SENTENCE_END.split(q) if p.strip()]
    if len(parts) < 2 or not any(p.endswith("?") for p in parts):
        return q
    kept = []
    for part in parts:
        if part.endswith("?"):
            # "Vertaal je antwoord ...: hoeveel procent ...?" splits at the colon already.
            kept.append(part)
            continue
        if _INSTRUCTION.search(part):
            continue
        kept.append(part)
    out = " ".join(kept).strip()
    if not _content_words(out):
        return q
    return out[0].upper() + out[1:]


@dataclass
class Rewrite:
    """A question resolved against the conversation."""

    query: str  # the standalone question: searched and shown to the user
    focus: str  # the new question's own words (without what was carried over)
    followup: bool = False
    refers_back: bool = False  # points at the previous answer ("daarover", "de tweede")
    carried: str = ""  # the previous question (and answer items) carried into ``query``


def _content_words(text: str) -> list[str]:
    from assistant.keyword import STOP_WORDS, fold

    return [w for w in _CONTENT_WORD.findall(fold(text)) if w not in STOP_WORDS]


def _has_name(text: str) -> bool:
    """A proper name or acronym after the first word ("NLQF", "Integron", "SD Worx")."""
    return bool(_CAPITALISED.search(text.strip()))


@dataclass(frozen=True)
class _Signals:
    followup: bool  # leans on the conversation
    refers: bool  # points back at what was said ("daarover", "die drie", "Waarom?")
    connective: bool  # starts with "En", "Maar", "Hoe zit het met" ...


def _signals(question: str) -> _Signals:
    """What the question alone says about being a follow-up (see the module docstring)."""
    q = question.strip()
    n_content = len(_content_words(q))
    connective = bool(_CONNECTIVE.match(q))
    strong = bool(
        _STRONG_REF.search(q)
        or _DEMONSTRATIVE_NP.search(q)
        or _START_DEMONSTRATIVE.match(q)
        or _COUNT_REF.search(q)
        or _PRONOUN.search(q)
    )
    ordinal = bool(_ORDINAL.search(q)) and (connective or n_content <= 3)
    weak = bool(_WEAK_REF.search(q)) and n_content <= 4
    short = n_content == 0 or (n_content <= 2 and not _has_name(q))
    first = q.split()[0].lower() if q.split() else ""
    fragment = first in _PREPOSITIONS and not _QUESTION_WORD.search(q)  # "Bij directieleden?"
    refers = strong or ordinal or weak or (short and not connective and not fragment)
    return _Signals(connective or refers or short, refers, connective)


def is_followup(question: str, history: list[Message]) -> bool:
    """Does ``question`` lean on the conversation (see the module docstring)?"""
    if not any(t.get("role") == "user" for t in history):
        return False
    return _signals(question).followup


def answer_items(answer: str) -> list[str]:
    """The items of a list in an answer: numbered/bulleted lines, or "A, B en C" inline."""
    text = _CITATION.sub("", answer)
    items = []
    for line in text.splitlines():
        m = re.match(r"^\s*(?:\d{1,2}[.)]|[-•*])\s+(.+?)\s*$", line)
        if m:
            items.append(_clause(m.group(1)))
    if len(items) >= 2:
        return [_trim_item(i) for i in items if i]
    for sentence in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")):
        part = sentence.split(":", 1)[1] if ":" in sentence else sentence
        part = _clause(part)
        pieces = [p.strip() for p in re.split(r",\s*|\s+en\s+|\s+of\s+", part) if p.strip()]
        if len(pieces) >= 3 and all(len(p.split()) <= 6 for p in pieces):
            return [_trim_item(p) for p in pieces]
    return []


def _clause(text: str) -> str:
    """``text`` up to the first colon, full stop or subordinate clause ("..., zoals ...")."""
    return re.split(r"[:.;]|,?\s+(?:zoals|waarbij|maar|want|omdat)\b|,\s*(?:die|dat)\b", text)[
        0
    ].strip()


def _trim_item(item: str) -> str:
    words = item.strip(" ,.'\"‘’“”").split()
    return " ".join(words[:6])


def _merge_fragment(previous: str, fragment: str) -> str:
    """Put an elliptical fragment ("in de zorg") into the previous question.

    A sentence-final phrase with the same preposition is replaced ("... AI in hun werk?" +
    "in de zorg" -> "... AI in de zorg?"); otherwise the fragment is appended.
    """
    prev = previous.strip().rstrip("?.! ")
    frag = fragment.strip().rstrip("?.! ")
    if len(frag) > 1 and frag[0].isupper() and frag[1].islower():
        frag = frag[0].lower() + frag[1:]  # "Bij directieleden" inside a sentence
    prep = frag.split()[0].lower() if frag.split() else ""
    if prep in _PREPOSITIONS:
        m = re.search(rf"\s{re.escape(prep)}\s+[^,;:?]{{1,40}}$", prev, re.I)
        if m and len(m.group(0).split()) <= 5:
            return f"{prev[: m.start()]} {frag}?"
    return f"{prev}, {frag}?"


def rewrite_question(question: str, history: list[Message], _depth: int = 0) -> Rewrite:
    """Resolve ``question`` against ``history`` (see the module docstring)."""
    q = strip_instructions(question)
    if not is_followup(q, history):
        return Rewrite(query=q, focus=q)
    last_user = max(i for i, t in enumerate(history) if t.get("role") == "user")
    prev_q = history[last_user]["content"]
    answer = next(
        (t["content"] for t in history[last_user + 1 :] if t.get("role") == "assistant"), ""
    )
    earlier = history[:last_user]
    if _depth < 2 and earlier:
        prev_q = rewrite_question(prev_q, earlier, _depth + 1).query
    prev_q = strip_instructions(prev_q)
    if len(prev_q) > MAX_QUERY_CHARS // 2:
        prev_q = prev_q[-(MAX_QUERY_CHARS // 2) :].split(" ", 1)[-1]
    sig = _signals(q)
    refers = sig.refers
    connective = _CONNECTIVE.match(q)
    rest = q[connective.end() :].strip() if connective else q
    items = answer_items(answer) if answer else []
    insert = ""
    anchor = _ORDINAL.search(q)
    if items and anchor:
        n = _ORDINALS[anchor.group(1).lower()]
        if n == -1 or n <= len(items):
            insert = items[n - 1 if n > 0 else -1]
    elif items and _COUNT_REF.search(q):
        anchor = _COUNT_REF.search(q)
        insert = ", ".join(items)
    if insert and anchor is not None:
        focus = f"{q[: anchor.end()]} ({insert}){q[anchor.end() :]}"
        query = f"{_ensure_q(prev_q)} {focus}"
        return Rewrite(
            query=_cap(query), focus=focus, followup=True, refers_back=True, carried=prev_q
        )
    words = rest.split()
    first = words[0].lower() if words else ""
    elliptical = (
        not refers
        and 0 < len(words) <= 10
        and (connective is not None or first in _PREPOSITIONS)
        and (first in _PREPOSITIONS or not _QUESTION_WORD.search(rest))
    )
    if elliptical:
        if first not in _PREPOSITIONS and connective and " met" in connective.group(0).lower():
            rest = "wat betreft " + rest  # "Hoe zit het met de overheid?"
        query = _merge_fragment(prev_q, rest)
        return Rewrite(
            query=_cap(query), focus=rest, followup=True, refers_back=False, carried=prev_q
        )
    query = f"{_ensure_q(prev_q)} {q}"
    return Rewrite(query=_cap(query), focus=q, followup=True, refers_back=True, carried=prev_q)


def _ensure_q(text: str) -> str:
    text = text.strip()
    return text if text.endswith(("?", ".", "!")) else text + "?"


def _cap(text: str) -> str:
    return text if len(text) <= MAX_QUERY_CHARS else text[-MAX_QUERY_CHARS:].split(" ", 1)[-1]


def standalone_question(question: str, history: list[Message]) -> str:
    """The question as searched and shown: ``rewrite_question(...).query``."""
    return rewrite_question(question, history).query


# --------------------------------------------------------------------------------------------
# Keyword helpers over the BM25 index: weighted terms, masks, IDF, document name terms
# --------------------------------------------------------------------------------------------


def _name_words(text: str, skip_first: bool = False) -> list[str]:
    """Words written as names: acronyms ("HRM", "KPN") and capitalised words ("Integron").

    With ``skip_first`` the first word is ignored (a title starts with a capital anyway).
    Hyphenated words count per part: "AI-toepassingen" gives "AI", not "toepassingen".
    """
    out = []
    for i, word in enumerate(re.findall(r"[^\W_]+", text)):
        if (word.isupper() and len(word) > 1) or any(ch.isupper() for ch in word[1:]):
            out.append(word)
        elif word[:1].isupper() and not (skip_first and i == 0):
            out.append(word)
    return out


class KeywordView:
    """Per-generation helpers around a ``KeywordIndex``.

    Scores weighted term lists directly on the index's precomputed BM25 matrix (``bm25s``
    stores per-term posting lists with the BM25 weight of each chunk), so a query can weigh
    its terms and restrict itself to some documents without a second analysis pass. Falls back
    to ``index.search`` (no weights, no routing) when the matrix is not available.
    """

    def __init__(self, index: Any, documents: dict[str, Any] | None = None) -> None:
        self.index = index
        self.n = len(index.ids)
        bm25: Any = getattr(index, "_bm25", None)
        scores: Any = getattr(bm25, "scores", None)
        self.ok = isinstance(scores, dict) and "indptr" in scores
        self.vocab: dict[str, int] = {}
        if self.ok:
            self.vocab = bm25.vocab_dict
            self.data = scores["data"]
            self.indices = scores["indices"]
            self.indptr = scores["indptr"]
            self.df = np.diff(self.indptr)
        self.sources = sorted(set(index.sources))
        self.source_code = {s: i for i, s in enumerate(self.sources)}
        self.codes = np.array([self.source_code[s] for s in index.sources], dtype=np.int32)
        self.per_source = np.bincount(self.codes, minlength=len(self.sources))
        self.source_collections: dict[str, set[str]] = {}
        for source, collection in zip(index.sources, index.collections, strict=True):
            self.source_collections.setdefault(source, set()).add(collection)
        self.collections = sorted(set(index.collections))
        self.collection_code = {c: i for i, c in enumerate(self.collections)}
        self.ccodes = np.array([self.collection_code[c] for c in index.collections], dtype=np.int32)
        self._masks: dict[frozenset[str], np.ndarray] = {}
        self._order: np.ndarray | None = None  # chunk positions sorted by source (rows_of)
        self._starts: np.ndarray | None = None
        self._lock = threading.Lock()
        self.name_terms: dict[str, dict[str, str]] = {}  # term -> {source: strong|weak}
        self.doc_terms: dict[str, set[str]] = {}  # source -> its metadata terms
        if documents:
            self._build_names(documents)

    # ---- analysis and statistics -----------------------------------------------------

    def analyse(self, text: str) -> list[str]:
        return self.index.analyse(text)

    def unknown_names(self, question: str) -> list[str]:
        """Names in ``question`` of which no term occurs in the corpus or its documents' titles.

        A name is a word written as one: a capital not at the start of a sentence
        ("Frankrijk", "Eurostat"), capitals or digits inside ("G20", "IMF"). Ordinary words are
        left alone: questions paraphrase ("strijken", "voortouw", "mkb" for words the reports
        put otherwise), but a name the sources never mention means another subject.
        """
        if not self.ok:
            return []
        known_meta = set().union(*self.doc_terms.values()) if self.doc_terms else set()
        out = []
        for m in re.finditer(r"[^\W_]+(?:-[^\W_]+)*", question):
            word = m.group(0)
            before = question[: m.start()].rstrip()
            at_start = not before or before[-1] in ".?!:;\"'(“‘"
            is_name = (
                any(ch.isupper() for ch in word[1:])
                or (any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word))
                or (word[0].isupper() and not at_start)
            )
            if not is_name or word in out:
                continue
            terms = [t for t in self.analyse(word) if t not in self.meta_terms]
            if terms and not any(t in self.vocab or t in known_meta for t in terms):
                out.append(word)
        return out

    @property
    def meta_terms(self) -> frozenset[str]:
        """The terms of ``META_WORDS``: they say nothing about the topic of a question."""
        terms = getattr(self, "_meta_terms", None)
        if terms is None:
            terms = self._meta_terms = frozenset(self.analyse(" ".join(sorted(META_WORDS))))
        return terms

    def idf(self, term: str) -> float:
        """BM25 IDF; a term the corpus has never seen gets the IDF of a one-off term."""
        df = int(self.df[self.vocab[term]]) if self.ok and term in self.vocab else 0
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def _build_names(self, documents: dict[str, Any]) -> None:
        """Name terms of each document, from its title, organisation and kind.

        *Strong* terms name a document on their own: words of the organisation and the kind,
        and title words written as names (acronyms, capitals after the first word: "HRM",
        "Work"). *Weak* terms are the other title words; a question must use two of them
        ("social profit", "mensgerichte ... werkomgeving") to name the document. Either kind
        must be rare in the corpus (``NAME_MAX_DF``) and concentrated in the document
        (``NAME_MIN_LIFT``), so generic title words ("ai", "zorg", "werkvloer" alone) name
        nothing.
        """
        strong_by_doc: dict[str, set[str]] = {}
        for source, doc in documents.items():
            title = str(getattr(doc, "title", "") or "")
            organisation = str(getattr(doc, "organisation", "") or "")
            kind = str(getattr(doc, "kind", "") or "")
            names = _name_words(title, skip_first=True) + _name_words(organisation)
            strong = {t for t in self.analyse(" ".join([*names, kind])) if not t.isdigit()}
            every = {t for t in self.analyse(f"{title} {organisation} {kind}") if not t.isdigit()}
            self.doc_terms[source] = every
            strong_by_doc[source] = strong
        if self.n == 0:
            return
        counts: dict[str, int] = {}
        for terms in self.doc_terms.values():
            for t in terms:
                counts[t] = counts.get(t, 0) + 1
        for term in counts:
            tid = self.vocab.get(term) if self.ok else None
            having = [s for s, ts in self.doc_terms.items() if term in ts]
            if tid is None:  # only in the metadata: unique to the documents that have it
                named = set(having) if len(having) <= ROUTE_MAX_DOCS else set()
            else:
                df = int(self.df[tid])
                if df > max(NAME_MAX_DF * self.n, NAME_MIN_DF):
                    continue
                rows = self.indices[self.indptr[tid] : self.indptr[tid + 1]]
                per_doc = np.bincount(self.codes[rows], minlength=len(self.sources))
                named = set()
                for source in having:
                    code = self.source_code.get(source)
                    if code is None:
                        continue
                    n_doc = int(self.per_source[code])
                    in_doc = int(per_doc[code])
                    rest = self.n - n_doc
                    rate_rest = (df - in_doc) / rest if rest else 0.0
                    if in_doc and in_doc / max(n_doc, 1) >= NAME_MIN_LIFT * rate_rest:
                        named.add(source)
            for source in named:
                kind = "strong" if term in strong_by_doc[source] else "weak"
                self.name_terms.setdefault(term, {})[source] = kind

    # ---- routing ---------------------------------------------------------------------

    def named_documents(self, text: str) -> tuple[list[str], set[str]]:
        """(sources ``text`` names, best first; the name terms it used).

        Counted per word of ``text``, so the parts of one compound ("werkomgeving" ->
        "werkomgeving", "omgeving") are one weak match, not two.
        """
        strength: dict[str, float] = {}
        strong: dict[str, int] = {}
        weak: dict[str, int] = {}
        used: dict[str, set[str]] = {}
        for word in dict.fromkeys(re.findall(r"[^\W_]+(?:-[^\W_]+)*", text)):
            best_kind: dict[str, str] = {}
            best_idf: dict[str, float] = {}
            for t in self.analyse(word):
                for source, kind in self.name_terms.get(t, {}).items():
                    if best_kind.get(source) != "strong":
                        best_kind[source] = kind
                    best_idf[source] = max(best_idf.get(source, 0.0), self.idf(t))
                    used.setdefault(source, set()).add(t)
            for source, kind in best_kind.items():
                strength[source] = strength.get(source, 0.0) + best_idf[source]
                counter = strong if kind == "strong" else weak
                counter[source] = counter.get(source, 0) + 1
        valid = {s for s in strength if strong.get(s, 0) >= 1 or weak.get(s, 0) >= 2}
        if not valid:
            return [], set()
        best = max(strength[s] for s in valid)
        named = sorted(
            (s for s in valid if strength[s] >= 0.5 * best), key=lambda s: (-strength[s], s)
        )
        if len(named) > ROUTE_MAX_DOCS or len(named) >= len(self.sources):
            return [], set()
        return named, set().union(*(used[s] for s in named))

    def readable(self, source: str, collections: set[str] | None) -> bool:
        """Does ``source`` have chunks in the index that ``collections`` allows?"""
        have = self.source_collections.get(source, set())
        return bool(have) and (collections is None or bool(have & collections))

    # ---- searching -------------------------------------------------------------------

    def mask(self, collections: set[str] | None) -> np.ndarray | None:
        """Chunks of ``collections`` (``None``: all), cached: access groups are few."""
        if collections is None:
            return None
        key = frozenset(collections)
        with self._lock:
            m = self._masks.get(key)
            if m is None:
                codes = [self.collection_code[c] for c in key if c in self.collection_code]
                m = np.isin(self.ccodes, np.asarray(codes, dtype=np.int32))
                if len(self._masks) > 64:
                    self._masks.clear()
                self._masks[key] = m
        return m

    def share(self, collections: set[str] | None) -> float:
        """Share of the index's chunks that ``collections`` allows (1.0 for ``None``)."""
        if collections is None or self.n == 0:
            return 1.0
        mask = self.mask(collections)
        return float(mask.mean()) if mask is not None else 1.0

    def rows_of(self, sources: list[str]) -> np.ndarray:
        """Index positions of the chunks of ``sources``."""
        order, starts = self._order, self._starts
        if order is None or starts is None:
            order = np.argsort(self.codes, kind="stable")
            starts = np.searchsorted(self.codes[order], np.arange(len(self.sources) + 1))
            self._order, self._starts = order, starts
        parts = []
        for source in sources:
            code = self.source_code.get(source)
            if code is not None:
                parts.append(order[starts[code] : starts[code + 1]])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def search(
        self,
        terms: dict[str, float],
        k: int,
        mask: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, weighted BM25), best first, score > 0.

        ``mask``: only chunks where it is true (collections); ``rows``: only these chunks
        (the documents a question names). Both apply before the top-k cut.
        """
        ids = [(self.vocab[t], w) for t, w in terms.items() if t in self.vocab and w > 0]
        if not ids or k <= 0:
            return []
        postings = np.concatenate(
            [self.indices[self.indptr[t] : self.indptr[t + 1]] for t, _ in ids]
        )
        weights = np.concatenate(
            [self.data[self.indptr[t] : self.indptr[t + 1]] * w for t, w in ids]
        )
        scores = np.bincount(postings, weights=weights, minlength=self.n)
        if rows is not None:
            candidates = rows[scores[rows] > 0]
        else:
            candidates = np.flatnonzero(scores > 0)
        if mask is not None:
            candidates = candidates[mask[candidates]]
        if candidates.size > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = np.lexsort((candidates, -scores[candidates]))
        return [(self.index.ids[i], float(scores[i])) for i in candidates[order]]


# --------------------------------------------------------------------------------------------
# Relevance floor
# --------------------------------------------------------------------------------------------


@dataclass
class RelevanceSignal:
    best_dense: float | None  # best cosine of the dense search (None: no dense search)
    coverage: float  # IDF-weighted share of question terms found in the best passages
    best_keyword: float = 0.0
    unknown: tuple[str, ...] = ()  # names in the question that occur nowhere in the sources
    evidence_gap: str = ""  # "topic" | "kind": no passage sentence can answer (see below)


EVIDENCE_GAPS = {
    "topic": "what the question is about occurs in none of the best passages",
    "kind": "no sentence of the best passages gives the figure, name or date asked for",
}


def judge_relevance(signal: RelevanceSignal, settings: RetrievalSettings) -> tuple[bool, str]:
    """(relevant, reason) by the rule in the module docstring.

    Between the two cosine floors a question must also have ``min_coverage`` and no name
    that occurs nowhere in the sources ("Frankrijk", "G20"): a question about something the
    sources never mention, at a middling cosine, is off-topic. ``relevance_floor`` 0 turns the
    floor off. Without a dense score (keyword mode) the decision rests on coverage alone.
    """
    floor = settings.relevance_floor
    if floor <= 0:
        return True, "floor off"
    if signal.evidence_gap and settings.evidence_floor:
        return False, EVIDENCE_GAPS[signal.evidence_gap]
    cov, need = signal.coverage, settings.min_coverage
    if signal.best_dense is None:
        if signal.best_keyword <= 0:
            return False, "no keyword match"
        need = KEYWORD_ONLY_COVERAGE
        ok = cov >= need
        return ok, f"coverage {cov:.2f} {'>=' if ok else '<'} {need:.2f}"
    d = signal.best_dense
    if d < floor:
        return False, f"best cosine {d:.3f} < {floor:.3f}"
    if d >= settings.relevance_floor_strong:
        return True, f"best cosine {d:.3f} >= {settings.relevance_floor_strong:.3f}"
    if cov < need:
        return False, f"best cosine {d:.3f} and coverage {cov:.2f} < {need:.2f}"
    if signal.unknown:
        return False, (f"best cosine {d:.3f} and not in the sources: " + ", ".join(signal.unknown))
    return True, f"best cosine {d:.3f}, coverage {cov:.2f}"


def coverage(question: str, passages: list[Chunk], view: KeywordView) -> float:
    """IDF-weighted share of the question's content words found in ``passages``.

    Counted per word of the question (stop words and ``META_WORDS`` left out), in the Dutch
    analysis of the passages' text and headings and of their documents' title, organisation
    and kind. A compound counts as found when at least half of its terms are (its parts:
    "wervingsbureaus" is found in a text about "werving" by "bureaus"); a word's weight is the
    mean IDF of its terms, so rare words weigh most and a word the corpus never saw weighs as
    a one-off term.
    """
    words: list[list[str]] = []
    for word in dict.fromkeys(re.findall(r"[^\W_]+(?:-[^\W_]+)*", question)):
        terms = [t for t in dict.fromkeys(view.analyse(word)) if t not in view.meta_terms]
        if terms:
            words.append(terms)
    if not words:
        return 1.0  # nothing to check: a question of only stop words
    found: set[str] = set()
    seen_docs: set[str] = set()
    for c in passages:
        found.update(view.analyse(f"{c.heading}\n{c.text}"))
        if c.source not in seen_docs:
            seen_docs.add(c.source)
            found.update(
                view.doc_terms.get(c.source) or view.analyse(f"{c.title} {c.organisation} {c.kind}")
            )
    total = hit = 0.0
    for terms in words:
        weight = sum(view.idf(t) for t in terms) / len(terms)
        total += weight
        if 2 * sum(t in found for t in terms) >= len(terms):
            hit += weight
    return hit / total if total else 1.0


# --------------------------------------------------------------------------------------------
# The retriever
# --------------------------------------------------------------------------------------------


def _where(collections: set[str] | None, sources: list[str] | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if collections is not None:
        clauses.append({"collection": {"$in": sorted(collections)}})
    if sources:
        clauses.append({"source": {"$in": sorted(sources)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class _Candidates:
    """The rankings of one query, with what is known about their chunks."""

    rankings: dict[str, list[str]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)
    dense: dict[str, float] = field(default_factory=dict)  # chunk id -> cosine
    keyword: dict[str, float] = field(default_factory=dict)  # chunk id -> BM25
    gone: set[str] = field(default_factory=set)  # ids no longer in the index
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, weight: float, hits: list[tuple[Chunk, float]]) -> None:
        self.rankings[name] = [chunk.id for chunk, _ in hits]
        self.weights[name] = weight
        for chunk, sim in hits:
            self.chunks.setdefault(chunk.id, chunk)
            self.dense.setdefault(chunk.id, sim)

    def add_scores(self, name: str, weight: float, hits: list[tuple[str, float]]) -> None:
        """A dense ranking of ids only (their chunks are read when they are needed)."""
        self.rankings[name] = [cid for cid, _ in hits]
        self.weights[name] = weight
        for cid, sim in hits:
            self.dense.setdefault(cid, sim)

    def add_keyword(self, name: str, weight: float, hits: list[tuple[str, float]]) -> None:
        self.rankings[name] = [cid for cid, _ in hits]
        self.weights[name] = weight
        for cid, score in hits:
            self.keyword.setdefault(cid, score)


class Retriever:
    """Hybrid retriever over the store's active generation."""

    def __init__(self, store: Store, settings: RetrievalSettings) -> None:
        self.store = store
        self.settings = settings
        self._keyword: tuple[str, Any, KeywordView] | None = None
        self._lock = threading.Lock()

    def keyword_index(self):  # noqa: ANN201 - KeywordIndex, imported lazily
        """The keyword index of the active generation; rebuilt from Chroma when missing."""
        return self._keyword_state()[0]

    def keyword_view(self) -> KeywordView:
        return self._keyword_state()[1]

    def _keyword_state(self) -> tuple[Any, KeywordView]:
        from assistant.keyword import KeywordIndex

        manifest = self.store.require_manifest()
        name = manifest.collection
        with self._lock:
            if self._keyword is not None and self._keyword[0] == name:
                return self._keyword[1], self._keyword[2]
            path = self.store.keyword_dir(name)
            try:
                index = KeywordIndex.load(path)
            except (OSError, ValueError, IndexMissing) as exc:
                log.info("keyword index for %s missing (%s); rebuilding from Chroma", name, exc)
                index = KeywordIndex.build(self.store.all_chunks())
                index.save(path)
            view = KeywordView(index, manifest.documents)
            self._keyword = (name, index, view)
            return index, view

    # ---- dense ---------------------------------------------------------------------------

    def _dense(
        self, vector: list[float], k: int, collections: set[str] | None, view: KeywordView
    ) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks of ``collections`` by cosine.

        Chroma applies a ``where`` filter by reading every matching row's metadata first: at
        100,000 chunks a filter on two of five collections costs ~300 ms against ~10 ms
        unfiltered. So when the allowed chunks are a large share, this over-fetches unfiltered
        (k / share, x1.5) and filters here, on each hit's own collection metadata (as strict
        as Chroma's filter); when they are a small share, or the over-fetch came back short, it
        lets Chroma filter (cheap then: few matching rows).
        """
        share = view.share(collections)
        if collections is None or share >= 1.0:
            return self.store.dense_search_by_vector(vector, k, None)
        fetch = math.ceil(1.5 * k / max(share, 1e-9)) + 10
        if share > 0 and fetch <= OVERFETCH_MAX:
            hits = self.store.dense_search_by_vector(vector, fetch, None)
            allowed = [(c, sim) for c, sim in hits if c.collection in collections]
            if len(allowed) >= k or len(hits) < fetch:  # enough, or the whole index seen
                return allowed[:k]
        return self.store.dense_search_by_vector(vector, k, collections)

    def _dense_in(
        self,
        vector: list[float],
        k: int,
        collections: set[str] | None,
        view: KeywordView,
        named: list[str],
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, cosine) inside the named documents.

        Scored exactly from the chunks' stored vectors (one read by id, a few ms for a few
        hundred chunks) rather than by a Chroma ``where`` on the source, which reads metadata
        of the whole index (~180 ms at 100,000 chunks). Very long documents go to Chroma.
        """
        rows = view.rows_of(named)
        mask = view.mask(collections)
        if mask is not None:
            rows = rows[mask[rows]]
        if rows.size == 0:
            return []
        if rows.size > NAMED_EXACT_MAX:
            col = self.store.active_collection()
            res = col.query(
                query_embeddings=[vector],
                n_results=max(1, k),
                where=_where(collections, named),
                include=["distances"],
            )
            return [
                (cid, 1.0 - float(d))
                for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)
            ]
        ids = [view.index.ids[i] for i in rows]
        res = self.store.active_collection().get(ids=ids, include=["embeddings"])
        got = res.get("embeddings")
        if got is None or len(got) == 0:
            return []
        matrix = np.asarray(got, dtype=np.float32)
        q = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = matrix @ q / np.where(norms > 0, norms, 1.0)
        order = np.argsort(-sims, kind="stable")[:k]
        return [(res["ids"][i], float(sims[i])) for i in order]

    # ---- the query -----------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        history: list[Message] | None = None,
        *,
        mode: Mode = "hybrid",
        collections: set[str] | None = None,
        top_k: int | None = None,
        previous: list[Chunk] | None = None,
    ) -> Retrieval:
        """Passages for ``question`` (see the module docstring).

        ``collections``: only chunks of these collections (``None``: all); enforced in every
        search and on ``previous``. ``previous``: the passages of the previous answer, used
        when the question is a follow-up that refers back to it. ``top_k``: passages to
        return (default ``settings.top_k``); the relevance floor always judges the first
        ``settings.top_k``, the passages the model would get.
        """
        t0 = time.perf_counter()
        s = self.settings
        rw = rewrite_question(question, history or [])
        if collections is not None and not collections:
            return Retrieval(
                rw.query,
                [],
                False,
                followup=rw.followup,
                reason="no collections",
                timings={"retrieve_s": time.perf_counter() - t0},
            )
        t = time.perf_counter()
        index, view = self._keyword_state()
        terms = self._weighted_terms(view, rw)
        named, name_terms = self._route(view, rw.query, collections)
        c = _Candidates(timings={"analyse_s": time.perf_counter() - t})
        if mode in ("hybrid", "dense"):
            self._dense_rankings(c, view, rw, named, collections)
        if mode in ("hybrid", "keyword"):
            self._keyword_rankings(c, index, view, rw.query, terms, named, name_terms, collections)
        if previous and rw.refers_back and s.previous_weight > 0:
            # Only when the question points back ("daarover", "die drie"): after "En in de
            # zorg?" the previous passages are about what the user moved away from.
            c.rankings["previous"] = list(dict.fromkeys(p.id for p in previous))[: s.candidates]
            c.weights["previous"] = s.previous_weight

        judged: list[ScoredChunk] | None = None
        if s.answer_type_weight > 0 and asked(rw.query).specific:
            t = time.perf_counter()
            # The evidence floor judges the retrievers' own best passages: the answer-type
            # ranking brings up *some* sentence with a figure or a name for any question.
            _, judged = self._fuse(c, collections, named, s.top_k + FLOOR_EXTRA_PASSAGES)
            self._answer_type_ranking(c, rw.query)
            c.timings["answer_type_s"] = time.perf_counter() - t
        elif s.list_weight > 0 and asks_list(rw.focus):
            t = time.perf_counter()
            self._list_ranking(c, view, rw.focus)
            c.timings["list_s"] = time.perf_counter() - t
        t = time.perf_counter()
        floor_k = s.top_k + FLOOR_EXTRA_PASSAGES
        want = top_k or s.top_k
        # one fusion for both: a shorter passage list is a prefix of a longer one
        fused, passages = self._fuse(c, collections, named, want if judged else max(want, floor_k))
        floor_read = (judged or passages)[:floor_k]
        passages = passages[:want]
        c.timings["fuse_s"] = time.perf_counter() - t

        best_dense = max(c.dense.values(), default=0.0)
        best_kw = max(c.keyword.values(), default=0.0)
        cov = coverage(rw.query, [p.chunk for p in passages[: s.top_k]], view)
        unknown = tuple(view.unknown_names(rw.query))
        gap = evidence_gap(rw.query, [Passage(i, p.chunk) for i, p in enumerate(floor_read, 1)])
        signal = RelevanceSignal(
            best_dense if mode != "keyword" else None, cov, best_kw, unknown, gap
        )
        relevant, reason = judge_relevance(signal, s)
        if not passages:
            relevant, reason = False, "no passages"
        c.timings["retrieve_s"] = time.perf_counter() - t0
        return Retrieval(
            rw.query,
            passages,
            relevant,
            best_dense,
            best_kw,
            c.timings,
            coverage=cov,
            followup=rw.followup,
            named=named,
            reason=reason,
            fused=[p.chunk.id for p in fused[: s.candidates]],
            signal=signal,
        )

    def _read(self, c: _Candidates, ids: list[str]) -> None:
        """Read the chunks of ``ids`` not yet known into ``c`` (one Chroma read); ids no
        longer in the index are remembered as gone."""
        missing = [cid for cid in ids if cid not in c.chunks and cid not in c.gone]
        if missing:
            found = {ch.id: ch for ch in self.store.get_chunks(missing)}
            c.chunks.update(found)
            c.gone.update(cid for cid in missing if cid not in found)

    def _answer_type_ranking(self, c: _Candidates, query: str) -> None:
        """For "hoeveel / wie / wanneer ...?": the fused candidates whose sentences give the
        kind of fact asked for, ranked by the key-term share of that sentence (a ranking of
        its own in the fusion, weight ``answer_type_weight``). Only the current candidates are
        re-ranked, so nothing the other rankings did not find (or may not be read) enters."""
        s = self.settings
        n = min(s.candidates, ANSWER_TYPE_CANDIDATES)
        head = [cid for cid, _, _ in rrf(c.rankings, s.rrf_k, c.weights)[:n]]
        self._read(c, head)
        ids = [cid for cid in head if cid in c.chunks]
        scores = answer_type_scores(query, [c.chunks[cid] for cid in ids])
        if scores is None:
            return
        ranked = sorted((i for i, sc in enumerate(scores) if sc >= 0), key=lambda i: -scores[i])
        c.rankings["answer_type"] = [ids[i] for i in ranked]
        c.weights["answer_type"] = s.answer_type_weight

    def _list_ranking(self, c: _Candidates, view: KeywordView, question: str) -> None:
        """For "Welke ... / Wat zijn de vijf ...?": the fused candidates that hold a list,
        ranked by the share of the question's terms in their heading and text (a ranking of
        its own in the fusion, weight ``list_weight``). Like the answer-type ranking, it only
        re-orders what the other rankings found."""
        s = self.settings
        head = [cid for cid, _, _ in rrf(c.rankings, s.rrf_k, c.weights)[:ANSWER_TYPE_CANDIDATES]]
        self._read(c, head)
        terms = {t for t in view.analyse(question) if t not in view.meta_terms}
        scored = []
        for cid in head:
            chunk = c.chunks.get(cid)
            if chunk is None or not holds_list(chunk.text):
                continue
            found = set(view.analyse(f"{chunk.heading}\n{chunk.text}"))
            share = sum(view.idf(t) for t in terms & found) / max(
                sum(view.idf(t) for t in terms), 1e-9
            )
            scored.append((share, cid))
        if scored:
            c.rankings["list"] = [cid for _, cid in sorted(scored, key=lambda x: -x[0])]
            c.weights["list"] = s.list_weight

    def _route(
        self, view: KeywordView, query: str, collections: set[str] | None
    ) -> tuple[list[str], set[str]]:
        """Documents the question names (that the user may read) and the name terms used."""
        if self.settings.document_weight <= 0 or not view.name_terms:
            return [], set()
        named, name_terms = view.named_documents(query)
        named = [src for src in named if view.readable(src, collections)]
        return named, (name_terms if named else set())

    def _dense_rankings(
        self,
        c: _Candidates,
        view: KeywordView,
        rw: Rewrite,
        named: list[str],
        collections: set[str] | None,
    ) -> None:
        s = self.settings
        t = time.perf_counter()
        vector = self.store.embeddings.embed_query(rw.query)
        c.timings["embed_s"] = time.perf_counter() - t
        t = time.perf_counter()
        c.add("dense", s.dense_weight, self._dense(vector, s.candidates, collections, view))
        if named:
            c.add_scores(
                "dense_doc",
                s.document_weight * s.dense_weight,
                self._dense_in(vector, s.candidates, collections, view, named),
            )
        c.timings["dense_s"] = time.perf_counter() - t
        for name, text, weight in self._rewritten_forms(rw):
            # One more embedding per extra form, only for the questions that have one.
            t = time.perf_counter()
            tv = self.store.embeddings.embed_query(text)
            weight *= s.dense_weight
            c.add(f"dense_{name}", weight, self._dense(tv, s.candidates, collections, view))
            if named:
                c.add_scores(
                    f"dense_{name}_doc",
                    s.document_weight * weight,
                    self._dense_in(tv, s.candidates, collections, view, named),
                )
            c.timings[f"dense_{name}_s"] = time.perf_counter() - t

    def _rewritten_forms(self, rw: Rewrite) -> list[tuple[str, str, float]]:
        """(name, text, weight) of the question's other forms searched densely besides it.

        - *topic*: X of "Wat zeggen de onderzoeken in de deskresearch over X?": the words that
          say where to look pull e5 towards passages *about* the research (its method
          section); X alone finds what they say about X.
        - *focus*: a follow-up's own words ("Welke systemen vallen daar dan onder?"): the
          standalone question is mostly the previous one, whose passages were already found;
          the new words alone find the passage that answers the new part.
        """
        s = self.settings
        forms = []
        topic = topic_phrase(rw.query) if s.topic_weight > 0 else ""
        if topic:
            forms.append(("topic", topic, s.topic_weight))
        if rw.followup and s.focus_weight > 0 and rw.focus.strip() != rw.query.strip():
            forms.append(("focus", rw.focus, s.focus_weight))
        return forms

    def _keyword_rankings(
        self,
        c: _Candidates,
        index: Any,
        view: KeywordView,
        query: str,
        terms: dict[str, float],
        named: list[str],
        name_terms: set[str],
        collections: set[str] | None,
    ) -> None:
        s = self.settings
        t = time.perf_counter()
        if view.ok:
            hits = view.search(terms, s.candidates, view.mask(collections))
        else:  # no access to the BM25 matrix: the index's own search, unweighted
            hits = index.search(query, s.candidates, collections)
        c.add_keyword("keyword", s.keyword_weight, hits)
        if named and view.ok:
            # Inside the named documents their names say nothing: weigh them down, or the
            # introduction that repeats the report's name wins.
            inner = {t_: w * (NAME_WEIGHT if t_ in name_terms else 1.0) for t_, w in terms.items()}
            hits = view.search(inner, s.candidates, view.mask(collections), view.rows_of(named))
            c.add_keyword("keyword_doc", s.document_weight * s.keyword_weight, hits)
        c.timings["keyword_s"] = time.perf_counter() - t

    def _fuse(
        self, c: _Candidates, collections: set[str] | None, named: list[str], top_k: int
    ) -> tuple[list[ScoredChunk], list[ScoredChunk]]:
        """(fused candidates, the diversified passages) by weighted RRF.

        Keyword hits and previous passages are only ids: their text and metadata are read
        from Chroma, and checked against ``collections``, for a window at the head of the
        ranking first (one small read), and for the rest only when diversity needs more.
        """
        s = self.settings
        ranked = rrf(c.rankings, s.rrf_k, c.weights)
        uncapped = {src.rsplit(".", 1)[0] for src in named}
        window = 3 * top_k + 10
        while True:
            self._read(c, [cid for cid, _, _ in ranked[:window]])
            fused = [
                ScoredChunk(c.chunks[cid], score, c.dense.get(cid), c.keyword.get(cid), ranks)
                for cid, score, ranks in ranked[:window]
                if cid in c.chunks
                and (collections is None or c.chunks[cid].collection in collections)
            ]
            passages = diversify(fused, top_k, s.max_per_document, uncapped)
            if len(passages) >= top_k or window >= len(ranked):
                return fused, passages
            window *= 3

    @staticmethod
    def _weighted_terms(view: KeywordView, rw: Rewrite) -> dict[str, float]:
        """Query terms with weights: the new question's words 1, carried-over words less.

        Carried words weigh ``CARRY_WEIGHT`` each, scaled down when they outnumber the new
        words, so that together they never outweigh them ("En bij directieleden?" is about
        directieleden first).
        """
        terms = dict.fromkeys(view.analyse(rw.focus), 1.0)
        if rw.followup:
            carried = [t for t in dict.fromkeys(view.analyse(rw.query)) if t not in terms]
            if carried:
                w = CARRY_WEIGHT * min(1.0, max(len(terms), 1) / len(carried))
                terms.update(dict.fromkeys(carried, w))
        return terms
