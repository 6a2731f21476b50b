"""Sentence splitting for Dutch text, and the citation markers ("[1]", "[bron 2]") that may
follow a full stop.

One splitter with one abbreviation list, used by the answer check, the prompt's passage focus
and quote ranking alike. Trade-off: rules, not a trained model (no download, microseconds per
passage); it knows the abbreviations of Dutch reports ("bijv.", "o.a.", "ca.", "d.w.z."),
initials, decimals ("3,5") and that a lowercase word after a full stop continues the sentence,
and it misses what such rules miss (an unknown abbreviation before a capitalised name).
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


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans over a whole text: lines and list bullets are boundaries too."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        bullet = BULLET_RE.match(line)
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


# --------------------------------------------------------------------------- for chunking

_CHUNK_ABBREVIATIONS = {
    "bv",
    "bijv",
    "o.a",
    "oa",
    "d.w.z",
    "m.a.w",
    "e.d",
    "enz",
    "etc",
    "nl",
    "ca",
    "resp",
    "incl",
    "excl",
    "evt",
    "vs",
    "dr",
    "mr",
    "prof",
    "ir",
    "ing",
    "drs",
    "mevr",
    "dhr",
    "blz",
    "p",
    "pp",
    "nr",
    "art",
    "jl",
    "t.o.v",
    "i.p.v",
    "m.b.t",
    "a.d.h.v",
    "zgn",
    "z.g",
    "fig",
    "tab",
    "hfst",
    "st",
    "jr",
    "sr",
    "vgl",
    "e.a",
    "al",
    "min",
    "max",
    "mln",
    "mld",
    "mrd",
    "no",
    "vol",
    "ed",
    "e.g",
    "i.e",
    "ggz",
    "i.s.m",
    "n.a.v",
    "m.u.v",
    "o.b.v",
    "t.a.v",
    "v.d",
    "a.s",
    "j.l",
}
_CHUNK_BOUNDARY = re.compile(r"[.!?…]+[\"”’')\]]*(\s+)")


def chunk_sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text`` (shifted by ``offset``), whitespace excluded.

    The splitter ingest cuts chunks with. It differs from ``sentence_spans`` above (its own
    abbreviation list; a boundary needs a capital, digit or quote after it; no markers):
    making the two one would move chunk boundaries, so it waits for a re-index and a
    re-measure (``bench/README.md``), not for a refactoring.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _CHUNK_BOUNDARY.finditer(text):
        nxt = text[match.end() : match.end() + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"“‘'(•[-–"):
            continue
        word = re.search(r"([\w.]+)[.!?…]*[\"”’')\]]*$", text[start : match.start(1)])
        if word and text[match.start()] == ".":
            token = word.group(1).rstrip(".").lower()
            if token in _CHUNK_ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue  # "bijv. De", "J. Jansen"
        spans.append((offset + start, offset + match.start(1)))
        start = match.end()
    if start < len(text):
        spans.append((offset + start, offset + len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s]
