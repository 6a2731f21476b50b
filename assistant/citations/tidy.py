"""What the model copies from the prompt's layout instead of saying something.

The prompt shows each passage as its kept sentences with "…" between them, headings on lines
of their own, under a header with the document's title. A small model copies that layout
into its answer; none of it is a claim, so the check removes it before judging:

* a gap marker: a bare "…" (or " ...") after a sentence, or as a sentence of its own, is
  noise; a short fragment that ends in one (a heading, "Kosten en baten …") says nothing;
* a heading or the document title glued to the front of a sentence ("Leners in beeld De
  bibliotheken telden …") is cut off; a sentence that is only headings and titles
  is dropped (``strip_headings``);
* the same sentence twice in one answer is shown once (``key``);
* an unfinished last sentence, cut off by the answer's token limit ("… zoals de hoge kos"),
  or one that ends in a colon with nothing after it, is dropped (``unfinished``).

Trade-off: headings are taken from the passages themselves (the chunk's title and heading,
and short paragraphs without closing punctuation in its text), so only words the reader can
see are cut, and only when a new sentence visibly starts after them (a capital). A heading
the model rephrased stays; so does a real sentence that happens to start with one of the
heading's words. The cut-off rule looks only at the very last sentence, and only when an
earlier sentence does end with punctuation: a list of bare phrases is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.chunks import Passage
from assistant.dutch.sentences import BULLET_RE, CLOSED_RE, remove_markers
from assistant.dutch.text import fold
from assistant.evidence import heading_like

_GAP = r"(?:…|\.\.\.)"
_GAP_ONLY_RE = re.compile(rf"^[\s.…]*{_GAP}[\s.…]*$")
_GAP_INSIDE_RE = re.compile(rf"(?<=[.!?:;\"”’»)])[ \t]*{_GAP}(?=[ \t])")
_GAP_END_RE = re.compile(rf"(?<=\S)[ \t]+{_GAP}\s*$|(?<=[.!?:;\"”’»)])[ \t]*{_GAP}\s*$")
_ENDED_RE = re.compile(r"[.!?…;]['\"”’»)\]]*\s*$")
_WORD_RE = re.compile(r"\w+")
_NUMBERING_RE = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*[.)]?|[-*•])\s+")
SHORT = 9  # a fragment of fewer words than this before a gap marker is a heading or a stub


def drop_gap(body: str) -> str | None:
    """``body`` without a trailing gap marker, or None when nothing is left that could be a
    claim: only the marker, or a short fragment that ended in one."""
    if _GAP_ONLY_RE.match(body):
        return None
    body = _GAP_INSIDE_RE.sub("", body)  # "Zo kort. … Zo lang.": two kept sentences
    m = _GAP_END_RE.search(body)
    if not m:
        return body
    rest = body[: m.start()].rstrip()
    if not CLOSED_RE.search(rest) and len(rest.split()) < SHORT:
        return None  # "Kosten en baten …": a heading the prompt showed
    return rest


def _words(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in _WORD_RE.findall(text))


def headings(passages: Iterable[Passage]) -> list[tuple[str, ...]]:
    """The folded words of every title and heading the passages show: the chunk's title and
    section heading, and each short paragraph without closing punctuation in its text
    (numbering left off: "2. Kosten en baten"). Longest first."""
    found: set[tuple[str, ...]] = set()
    for p in passages:
        chunk = p.chunk
        lines = [ln.strip() for ln in chunk.text.split("\n") if ln.strip()]
        paragraphs = [ln for ln in lines if heading_like(ln)]
        for text in (chunk.title, chunk.heading, *paragraphs):
            words = _words(_NUMBERING_RE.sub("", text))
            if len(words) >= 2 or (words and text == chunk.heading and len(words[0]) >= 5):
                found.add(words)
    return sorted(found, key=len, reverse=True)


def strip_headings(body: str, heads: list[tuple[str, ...]]) -> str | None:
    """``body`` without the headings and titles glued to its front, or None when it is
    nothing but those. A heading is cut only when a new sentence starts after it."""
    while True:
        tokens = list(_WORD_RE.finditer(body))
        words = [fold(t.group(0)) for t in tokens]
        for head in heads:
            if tuple(words[: len(head)]) != head:
                continue
            if len(head) == len(words):
                return None  # the whole sentence is a heading or a title
            rest = body[tokens[len(head) - 1].end() :].lstrip(" \t:–-*_")
            if rest[:1].isupper() or rest[:1].isdigit():
                # "**Kop** Zin.": the emphasis went with the heading
                body = rest.replace("**", "") if body.startswith("**") else rest
                break
        else:
            return body


def key(shown: str) -> str:
    """What makes two shown sentences the same: their words and numbers, whatever the case,
    bullet, markers or punctuation."""
    return " ".join(_words(remove_markers(BULLET_RE.sub("", shown))))


def unfinished(bodies: list[str]) -> bool:
    """Whether the last of ``bodies`` (the answer's sentences in order) was cut off: it lacks
    closing punctuation while an earlier sentence ends one, or it ends in a colon (it
    announces what never follows: a heading copied with its colon)."""
    if bodies and bodies[-1].rstrip("*_ ").endswith(":"):
        return True
    if len(bodies) < 2 or CLOSED_RE.search(bodies[-1].rstrip("*_ ")):
        return False
    # an introduction ("De zorgen zijn:") before bare list items says nothing about them
    return any(_ENDED_RE.search(b.rstrip("*_ ")) for b in bodies[:-1])
