"""The scoring rules: what counts as a key fact found, a correct citation, a hit, Dutch.

Every rule here is strict on purpose, so that a figure can only go up when the answers do:

- *Key facts* are looked for in the text the user is shown, case-insensitively after
  normalising whitespace. A fact that starts or ends with a digit is matched on number
  boundaries: "30" is found in "30%", "30 %" and "(30)", never in "300.000", "30,5", "1.30" or
  "2030". A fact of at most three letters ("EU", "AI") must be a whole word. Longer words are
  found inside compounds ("evalueren" in "continu evalueren"), as Dutch writes them together.
- *Evidence* is matched whitespace-free and case-folded (PDF text and .txt extractions wrap
  and hyphenate lines differently, so hyphens go too). A passage holds a quote when it holds
  the whole quote or, for a quote longer than ``MIN_SPAN`` characters, any ``MIN_SPAN``-character
  span of it: a chunk boundary may cut a quote, and a passage with 60 characters of it in a
  row holds the evidence, not a chance phrase.
- A *correct citation* is a passage of one of the item's source documents (matched on the
  stem: a PDF and its .txt are one document) that holds evidence or a key fact. Another
  passage of the right document is wrong: it is not what the reader needs to check.
- *Dutch* is judged by lingua-language-detector among a few languages a small model drifts
  into, not by the assistant's own function that decides its fallback.
- The *half* of an item is a fixed function of its id (sha256), so the tuning and check
  halves never change as items are added.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

MIN_SPAN = 60  # characters of a quote, whitespace-free, that make a passage hold it

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"'})
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_MARKERS = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")


def half_of(item_id: str) -> str:
    """ "check" or "tune", fixed by the id alone."""
    return "check" if int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2 == 1 else "tune"


def stem_of(name: str) -> str:
    return Path(name).stem.split(":")[0]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_QUOTES).casefold()


def squash(text: str) -> str:
    """Whitespace- and hyphen-free, case-folded text: for evidence containment."""
    return re.sub(r"[\s\-‐‑–]+", "", _fold(text))


def flat(text: str) -> str:
    """Case-folded text with one space for any whitespace, and none before a percent sign."""
    text = re.sub(r"\s+", " ", _fold(text)).strip()
    return re.sub(r"(\d) %", r"\1%", text)


@lru_cache(maxsize=4096)
def _fact_pattern(fact: str) -> re.Pattern[str]:
    f = flat(fact)
    pattern = re.escape(f)
    if f[:1].isdigit():
        pattern = r"(?<!\d)(?<!\d[.,])" + pattern
    if f[-1:].isdigit():
        pattern += r"(?!\d)(?![.,]\d)"
    if f.isalpha() and len(f) <= 3:
        pattern = rf"\b{pattern}\b"
    return re.compile(pattern)


def has_fact(text: str, fact: str) -> bool:
    """Whether ``fact`` (a must_contain string) occurs in ``text`` by the rules above."""
    if not fact.strip():
        return True
    return _fact_pattern(fact).search(flat(text)) is not None


def facts_found(text: str, facts: list[str]) -> list[str]:
    return [f for f in facts if has_fact(text, f)]


def holds_quote(passage_squashed: str, quote: str, min_span: int = MIN_SPAN) -> bool:
    """Whether a passage (already ``squash``-ed) holds ``quote`` or a ``min_span`` span of it."""
    q = squash(quote)
    if not q:
        return False
    if len(q) <= min_span:
        return q in passage_squashed
    return any(q[i : i + min_span] in passage_squashed for i in range(len(q) - min_span + 1))


def holds_evidence(text: str, source: str, item: dict[str, Any]) -> bool:
    """The retrieval hit rule: a passage of a source document that holds an evidence quote."""
    if stem_of(source) not in {stem_of(s) for s in item.get("sources") or []}:
        return False
    squashed = squash(text)
    return any(holds_quote(squashed, q) for q in item.get("evidence") or [])


def citation_correct(text: str, source: str, item: dict[str, Any]) -> bool:
    """A cited passage is correct when it is of a source document and holds evidence or a
    key fact."""
    if holds_evidence(text, source, item):
        return True
    if stem_of(source) not in {stem_of(s) for s in item.get("sources") or []}:
        return False
    return any(has_fact(text, f) for f in item.get("must_contain") or [])


def forbidden_found(text: str, forbidden: list[str]) -> list[str]:
    body = flat(text)
    return [f for f in forbidden if f.strip() and flat(f) in body]


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    # The languages a small multilingual model drifts into; Afrikaans is left out on purpose:
    # it would take plain Dutch sentences for its own and call a Dutch answer foreign.
    languages = [
        Language.DUTCH,
        Language.ENGLISH,
        Language.GERMAN,
        Language.FRENCH,
        Language.SPANISH,
        Language.CHINESE,
    ]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def language_of(text: str) -> str:
    """ISO 639-1 code of the text's language by lingua ("" when it cannot tell)."""
    body = _MARKERS.sub(" ", text).strip()
    if not body:
        return ""
    found = _detector().detect_language_of(body)
    return found.iso_code_639_1.name.lower() if found is not None else ""
