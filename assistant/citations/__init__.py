"""Grounding check: every sentence of the model's answer must be backed by a passage.

The model receives numbered passages [1]..[n] and writes a Dutch answer with inline markers.
A tiny local model forgets markers, cites the wrong passage, copies the passage header, drifts
into English or invents figures, so ``check_answer`` re-checks the answer sentence by sentence:

* a sentence its cited passage supports stays (``ok``); a sentence another passage supports is
  re-pointed (``added`` when the model wrote no marker, ``corrected`` when it was wrong);
  a sentence no passage supports is dropped, or kept with " (niet gevonden in de bronnen)";
* markers are renumbered 1..m in order of first appearance and each citation carries the exact
  passage sentence (``quote``) that backs it;
* what the model copied from the prompt's layout (gap markers "…", headings and titles,
  repeated sentences, a last sentence cut off by the token limit) is left out before judging
  (``citations.tidy``); a bare fact, or an answer that is one passage sentence word for word,
  is shown as the source's words with whose they are (``quote_line``);
* an empty, English or wholly unsupported answer becomes a quote-only answer
  (``quote_fallback``): the passage sentences that best match the question, verbatim; a thin
  answer (one sentence, or several that share clearly fewer of the question's key terms than
  the best quote) gets the best quote it does not already show added.

Trade-off: support is *lexical* (overlap of crudely stemmed content words, with a few
acronym/expansion aliases such as AI = kunstmatige intelligentie), optionally blended with an
embedding similarity the caller passes in. Lexical overlap is cheap, explainable (the quote
shows why) and needs no model, but it misses real paraphrases; so the threshold is lenient
(60% of the sentence's content words, numbers and names must be found in one passage sentence
or two adjacent ones; prefixes and compound heads match: gebruik/gebruikt,
omgeving/werkomgeving) and precision comes from a hard rule instead: every number (26%,
"26 procent", 3,5, 2025) and every capitalised name or acronym that is not sentence-initial
(KPN, Integron, Motivaction, also "Nederland") must occur in the passage, otherwise support is
0. Invented figures and names are what hurts most in a research answer; a paraphrase that is
dropped by mistake costs less, because the quote fallback still shows the user the right
passage. Known misses: loose paraphrases ("spelen een rol") and number words in the answer
("zeven") are not checked (only digits are; "zes" in a passage does match "6").

Trivial sentences ("Ja.", headings, "Volgens de bronnen:": at most 3 content words, no
number, no name, no marker) are kept unchecked and do not count in ``supported_rate``; a short
line the model did cite ("- Personeelstekort [1]") is checked.

Embedding blend: ``score = max(lexical, 0.5 * lexical + 0.5 * rescaled)`` where ``rescaled``
maps the cosine from [SIM_FLOOR, SIM_CEIL] onto [0, 1] (values measured for
multilingual-e5-small, whose cosines for unrelated Dutch sentences are already ~0.8). The blend
can only raise a lexical score, never lower it, cannot override the hard rule, and cannot carry
a sentence that shares almost no words with the passage (lexical < 2 * threshold - 1).

All user-facing texts except the fixed suffix are parameters (they live in ``prompts/``).
"""

from assistant.chunks import Passage
from assistant.citations.check import DEFAULT_THRESHOLD, NOT_FOUND_SUFFIX, check_answer
from assistant.citations.markers import parse_markers, strip_invalid_markers
from assistant.citations.quotes import quote_fallback
from assistant.citations.support import support
from assistant.citations.types import CheckedAnswer, Citation, Mode, SentenceCheck, Status
from assistant.evidence import Blocked, QuestionSimilarity, Similarity

__all__ = [
    "DEFAULT_THRESHOLD",
    "NOT_FOUND_SUFFIX",
    "Blocked",
    "CheckedAnswer",
    "Citation",
    "Mode",
    "Passage",
    "QuestionSimilarity",
    "SentenceCheck",
    "Similarity",
    "Status",
    "check_answer",
    "parse_markers",
    "quote_fallback",
    "strip_invalid_markers",
    "support",
]
