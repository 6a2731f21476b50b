"""Sentence splitting for Dutch text, and the citation markers ("[1]", "[bron 2]") that may
follow a full stop.

One splitter with one abbreviation list, used by ingest (chunk boundaries), the answer check,
the prompt's passage focus and quote ranking alike. Trade-off: rules, not a trained model (no
download, microseconds per passage); it knows the abbreviations of Dutch reports ("bijv.",
"o.a.", "ca.", "d.w.z."), initials, decimals ("3,5") and that a lowercase word after a full
stop continues the sentence, and it misses what such rules miss (an unknown abbreviation
before a capitalised name).
"""

from __future__ import annotations

import re

_NUMS = r"\d{1,3}(?:\s*(?:,|;|&|\ben\b|\band\b|-|–)\s*\d{1,3})*"
MARKER = (
    rf"[\[【〔]\s*(?:(?:bronnen|bron|passages?|sources?|ref)\s*)?(?:{_NUMS})\s*[\]】〕]"
    rf"|\(\s*(?:bronnen|bron|passages?)\s+(?:{_NUMS})\s*\)"
)
MARKER_RE = re.compile(MARKER, re.IGNORECASE)
MARKER_RUN_RE = re.compile(rf"(?:{MARKER})(?:[ \t]*(?:{MARKER}))*", re.IGNORECASE)


def tidy(text: str) -> str:
    """Collapse the spaces a removed marker leaves behind."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([.,;:!?…])", r"\1", text)
    return re.sub(r"[ \t]+\n", "\n", text).strip(" \t")


def remove_markers(text: str) -> str:
    """``text`` without citation markers."""
    return tidy(MARKER_RUN_RE.sub("", text))


_ABBREVIATIONS = frozenset(
    """bijv bv b.v o.a ca nr nrs d.w.z m.a.w e.d enz etc i.p.v t.o.v incl excl resp mln mld mrd
    dhr mevr drs dr prof ir mr ing jl vgl zgn z.g.n evt ong blz p pp pag art min max gem o.b.v
    a.d.h.v m.b.t v.w.b t.a.v i.v.m i.h.k.v e.a c.q n.a.v t/m jan feb mrt apr jun jul aug sep
    sept okt nov dec st vs z.o.z a.s o.m m.n i.e e.g fig tab hfst par red vnl n.v nl""".split()
)
BULLET_RE = re.compile(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s+")
# a line that closes a sentence or announces what follows (a colon): not broken off mid-way
CLOSED_RE = re.compile(r"[.!?…:;]['\"”’»)\]]*\s*$")
_TERMINAL_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*")
_AFTER_MARKERS_RE = re.compile(rf"(?:[ \t]*(?:{MARKER}))+", re.IGNORECASE)


def _is_boundary(line: str, m: re.Match[str]) -> int | None:
    """End offset of the sentence if the terminal punctuation ``m`` ends one, else None."""
    end = m.end()
    trailing = _AFTER_MARKERS_RE.match(line, end)  # "… werk. [1]" belongs to "… werk."
    if trailing:
        end = trailing.end()
    rest = line[end:]
    if rest and not rest[0].isspace():
        return None  # "3.5", "o.a.", "www.kpn.nl"
    nxt = rest.lstrip()
    if nxt and nxt[0].islower():
        return None  # "ca. de helft": unknown abbreviation, not a new sentence
    if m.group(0)[0] == ".":
        head = line[: m.start()]
        token = head.rsplit(None, 1)[-1] if head.strip() else ""
        token = token.lstrip("(„“\"'‘").lower()
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return None
    return end


def line_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of one line, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _TERMINAL_RE.finditer(line):
        if m.start() < start:
            continue  # inside markers already consumed
        end = _is_boundary(line, m)
        if end is not None:
            spans.append((start, end))
            start = end
    spans.append((start, len(line)))
    out = []
    for s, e in spans:
        piece = line[s:e]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((s + lead, s + len(piece.rstrip())))
    return out


def sentence_spans(text: str, offset: int = 0, *, bullets: bool = False) -> list[tuple[int, int]]:
    """Sentence spans over a whole text (shifted by ``offset``): lines are boundaries too, and
    a list bullet is left out of its sentence unless ``bullets`` (ingest keeps them: a chunk
    is an exact slice of its page)."""
    spans: list[tuple[int, int]] = []
    for line in text.split("\n"):
        bullet = None if bullets else BULLET_RE.match(line)
        skip = bullet.end() if bullet else 0
        spans.extend((offset + skip + s, offset + skip + e) for s, e in line_spans(line[skip:]))
        offset += len(line) + 1
    return spans


def split_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text`` (see ``split_sentences``)."""
    return sentence_spans(text)


def split_sentences(text: str) -> list[str]:
    """Dutch-aware sentence split; bullets and newlines are boundaries, bullets are dropped.

    Does not split on abbreviations ("bijv.", "o.a.", "ca.", "nr.", "d.w.z."), initials, decimals
    ("3,5", "3.5") or before a lowercase word; "26%. Ook" does split. Markers after the full stop
    ("… werk. [1]") stay with the sentence before them.
    """
    return [text[s:e] for s, e in sentence_spans(text)]
