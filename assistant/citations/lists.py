"""Lists in the sources, and the answer to a question that asks for one.

A report's list (an intro line or heading followed by numbered, bulleted or arrowed lines, or
by a paragraph of short items: "De top 5 zorgen van organisaties: AI en ... . Digitale
veiligheid ... .") is one claim: *these* are the items. A small model asked for it drops
items, adds one the source does not list, or writes a sentence that only repeats the
question, and a word-by-word check passes all three, because every word is somewhere in the
passage. So a list question is answered with the source's list:

* ``source_lists`` reads the lists of one document across its chunks (a list often starts at
  the end of one chunk and goes on in the next, so the chunks given to the model rarely hold
  all of it);
* ``pick_list`` chooses the list that answers the question: it must touch a passage the
  retriever found, share enough of the question's key terms (in its intro, heading or items),
  and have as many items as the question says ("de vijf ...") when it says a number;
* ``list_answer`` shows the source's items verbatim, each with its citation; it counts as the
  model's answer only when the model's list states exactly those items (all of them, and
  none the source does not list), else as quotes.

Trade-off: list *structure* is read from line starts ("1.", "•", "→", "-", a PDF's "o" for a
second-level bullet) and from a colon followed by short sentences; a bullet that ends in a
colon above items of another kind is the intro of those items (a nested list); a list
written inline ("A, B en C") is an ordinary sentence and is left to the sentence check.
Items are shown as their first sentence (exact text of the source), so a long bulleted
paragraph does not swamp the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.chunks import Chunk, Passage
from assistant.citations.quotes import quote_line
from assistant.citations.types import CheckedAnswer, Citation, SentenceCheck
from assistant.dutch.claims import Claim
from assistant.dutch.sentences import CLOSED_RE, line_spans, remove_markers
from assistant.dutch.text import stem_found, terms_of
from assistant.evidence import (
    asked_count,
    asks_for_list,
    key_terms,
    listed_noun,
    names_noun,
    relevance,
)
from assistant.question import answer_items

# "o" is how a word processor's second-level bullet comes out of a PDF ("o Datavalidatie")
ITEM_RE = re.compile(r"^\s*(?:(?P<num>\d{1,2})[.)]|(?P<mark>[•▪◦·*→–-]|o(?=\s+[A-ZÀ-Þ])))\s+(?=\S)")
MAX_GAP_LINES = 8  # a numbered item may be followed by this many lines of explanation
SHORT_ITEM_WORDS = 9  # "AI en de impact op werkgelegenheid." is an item, not a sentence
HEADING_WORDS = 8  # a line without end punctuation this short is a heading ("Aanbevelingen")
# right above "1." a heading may be longer: a sentence broken off mid-line is not followed by
# a numbered item
NUMBERED_HEADING_WORDS = 15
DASHES = ("–", "-")
MIN_ITEMS = 2
MAX_SHOWN = 10  # a longer list is cut (and says so by its count)
# The list must share this weighted share of the question's key terms (intro, items; heading
# and title at half weight). On the tune half the lists that answered scored 0.43-0.95; with
# the noun and count gates of ``pick_list`` no wrong list scored above 0.35.
MIN_LIST_RELEVANCE = 0.4


@dataclass(frozen=True)
class Item:
    text: str  # exact substring of ``chunk.text``
    chunk: Chunk


@dataclass(frozen=True)
class SourceList:
    intro: Item | None  # the line that announces the list ("... de volgende vragen:")
    items: tuple[Item, ...]
    chunk_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def text(self) -> str:
        head = self.intro.text if self.intro else ""
        return " ".join([head, *(i.text for i in self.items)])


# --------------------------------------------------------------------------- the sources


@dataclass
class _Line:
    text: str  # stripped of nothing: an exact substring of chunk.text
    chunk: Chunk
    number: int | None  # "3." -> 3
    marker: str  # "" for no item, "1" for a numbered one, else the bullet ("•", "o")

    @property
    def item(self) -> bool:
        return self.marker != ""

    @property
    def sublist_intro(self) -> bool:
        """An item that announces items of another kind under it ("• De uitdagingen:" over
        "1. ...", "2. ..."): the intro of that list, not one of its own list's items."""
        return self.item and self.text.endswith(":")


def _lines(chunks: Sequence[Chunk]) -> list[_Line]:
    """The non-empty lines of one document's chunks in reading order, overlaps read once."""
    out: list[_Line] = []
    last: dict[int, int] = {}  # page -> end offset read so far
    for c in sorted(chunks, key=lambda c: (c.page, c.index)):
        offset = 0
        for raw in c.text.split("\n"):
            start = c.start + offset
            offset += len(raw) + 1
            if not raw.strip() or (c.end and start < last.get(c.page, -1)):
                continue
            m = ITEM_RE.match(raw)
            number = int(m.group("num")) if m and m.group("num") else None
            marker = "" if not m else "1" if number is not None else m.group("mark")
            if marker in DASHES and out and not CLOSED_RE.search(out[-1].text):
                marker = ""  # "... verloopt\n– er is geen sprake ...": a dash within a sentence
            out.append(_Line(raw.strip(), c, number, marker))
        if c.end:
            last[c.page] = max(last.get(c.page, -1), c.end)
    return out


def _first_sentence(text: str) -> str:
    body = ITEM_RE.sub("", text, count=1)
    spans = line_spans(body)
    return body[spans[0][0] : spans[0][1]] if spans else body


def _item(line: _Line) -> Item:
    return Item(_first_sentence(line.text), line.chunk)


def _opens_sublist(lines: list[_Line], k: int) -> bool:
    if k + 1 >= len(lines) or not lines[k].sublist_intro:
        return False
    nxt = lines[k + 1]
    return nxt.item and nxt.marker != lines[k].marker


def _second_paragraph(lines: list[_Line], k: int, item: _Line) -> bool:
    """Whether unmarked line ``k`` is a paragraph of bullet ``item``: a full sentence with the
    next bullet of the same kind right after it (a heading between two lists has no full
    stop)."""
    nxt = lines[k + 1] if k + 1 < len(lines) else None
    return (
        not lines[k].item
        and bool(CLOSED_RE.search(lines[k].text))
        and nxt is not None
        and nxt.marker == item.marker
    )


def _intro(lines: list[_Line], first: int) -> Item | None:
    """The line just before the list, when it announces it (a colon, or a heading)."""
    if first == 0:
        return None
    prev = lines[first - 1]
    if prev.item:
        return Item(ITEM_RE.sub("", prev.text, count=1), prev.chunk) if prev.sublist_intro else None
    limit = NUMBERED_HEADING_WORDS if lines[first].number == 1 else HEADING_WORDS
    if prev.text.endswith(":") or (len(prev.text.split()) <= limit and prev.text[-1:] not in ".?!"):
        return Item(prev.text, prev.chunk)
    return None


def _marked_lists(lines: list[_Line]) -> list[SourceList]:
    """Runs of marked lines; numbered items may have lines of explanation between them."""
    out: list[SourceList] = []
    i = 0
    while i < len(lines):
        if not lines[i].item or _opens_sublist(lines, i):
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < len(lines):
            last = lines[run[-1]]
            if last.number is not None:  # the next number, within a few lines
                nxt = next(
                    (
                        k
                        for k in range(j, min(len(lines), j + MAX_GAP_LINES + 1))
                        if lines[k].number == last.number + 1
                    ),
                    None,
                )
                if nxt is None:
                    break
                run.append(nxt)
                j = nxt + 1
            elif lines[j].item and lines[j].number is None and not _opens_sublist(lines, j):
                run.append(j)
                j += 1
            elif _second_paragraph(lines, j, last):
                j += 1
            else:
                break
        intro = _intro(lines, i)
        announced = asked_count(intro.text) if intro else None
        if announced is not None and announced < len(run):
            run = run[:announced]  # "in drie gebieden:": the fourth line belongs elsewhere
        if len(run) >= MIN_ITEMS:
            items = tuple(_item(lines[k]) for k in run)
            ids = {lines[k].chunk.id for k in run} | ({intro.chunk.id} if intro else set())
            out.append(SourceList(intro, items, frozenset(ids)))
        i = run[-1] + 1
    return out


def _short_item_lists(lines: list[_Line]) -> list[SourceList]:
    """ "Intro:" followed by a paragraph of short sentences without a verb-like length."""
    out = []
    for k in range(len(lines) - 1):
        head, body = lines[k], lines[k + 1]
        if head.item or body.item or not head.text.endswith(":"):
            continue
        spans = line_spans(body.text)
        pieces = [body.text[s:e] for s, e in spans]
        if len(pieces) >= MIN_ITEMS and all(len(p.split()) <= SHORT_ITEM_WORDS for p in pieces):
            items = tuple(Item(p, body.chunk) for p in pieces)
            out.append(
                SourceList(
                    Item(head.text, head.chunk), items, frozenset({head.chunk.id, body.chunk.id})
                )
            )
    return out


def source_lists(chunks: Sequence[Chunk]) -> list[SourceList]:
    """Every list in one document (its chunks, any order)."""
    lines = _lines(chunks)
    return _marked_lists(lines) + _short_item_lists(lines)


# --------------------------------------------------------------------------- choosing


def _announces(plist: SourceList) -> str:
    """The list's intro and the heading above it: what the list is a list of."""
    first = plist.intro.chunk if plist.intro else plist.items[0].chunk
    return " ".join(x for x in (plist.intro.text if plist.intro else "", first.heading) if x)


def list_relevance(question: str, plist: SourceList) -> float:
    """Weighted share of the question's key terms in the list (intro and items), with the
    chunk's heading and document title as context (half weight)."""
    first = plist.intro.chunk if plist.intro else plist.items[0].chunk
    header = " ".join(x for x in (first.title, first.organisation, first.heading) if x)
    return relevance(question, plist.text, header)


def pick_list(
    question: str, lists: Sequence[SourceList], passages: Sequence[Chunk]
) -> SourceList | None:
    """The source list that answers ``question`` (see the module docstring), or None."""
    if not asks_for_list(question) or not key_terms(question):
        return None
    given = {c.id for c in passages}
    count = asked_count(question)
    best, best_score = None, 0.0
    for plist in lists:
        if not plist.chunk_ids & given:
            continue
        if count is not None and len(plist.items) != count:
            continue
        if not names_noun(listed_noun(question), _announces(plist)):
            continue  # a list of something else ("vragen" for "aanbevelingen")
        score = list_relevance(question, plist)
        if score >= MIN_LIST_RELEVANCE and score > best_score:
            best, best_score = plist, score
    return best


# --------------------------------------------------------------------------- checking


def item_matches(answer_item: str, plist: SourceList) -> int | None:
    """Index of the source item ``answer_item`` states (at least half of its content words,
    and every number in it, found in that item), or None."""
    claim = Claim.of(answer_item)
    if not claim.stems and not claim.numbers:
        return None
    for k, item in enumerate(plist.items):
        terms = terms_of(item.text)
        hits = sum(stem_found(s, terms) for s in claim.stems)
        if 2 * hits >= len(claim.stems) and hits > 0:
            return k
    return None


def covers(answer_items: Sequence[str], plist: SourceList) -> bool:
    """Whether the answer's items are exactly the source's items: each states one, and
    together they state all of them."""
    found = [item_matches(remove_markers(a), plist) for a in answer_items]
    return None not in found and len(set(found)) == len(plist.items)


# --------------------------------------------------------------------------- the answer


def list_answer(
    raw: str,
    plist: SourceList,
    passages: Sequence[Passage],
    *,
    line: str,
    intro: str,
) -> tuple[CheckedAnswer, list[Passage]]:
    """The source's list, verbatim, each item cited: mode "answer" when the model's list
    (``raw``) states exactly its items, "quotes" when it did not (an item missing, one the
    source does not list, or no list at all). Returns the answer and the passages it adds
    (list chunks the model was not given, numbered after ``passages``).
    ``line`` shows the list's own intro as a quote (prompts/quote_line.md); without one,
    ``intro`` (prompts/list_intro.md) says whose list it is."""
    model_list = covers(answer_items(raw), plist)
    by_id = {p.chunk.id: p for p in passages}
    added: list[Passage] = []
    for item in ([plist.intro] if plist.intro else []) + list(plist.items):
        if item.chunk.id not in by_id:
            p = Passage(len(passages) + len(added) + 1, item.chunk)
            by_id[item.chunk.id] = p
            added.append(p)
    numbering: dict[int, int] = {}

    def marker(item: Item) -> int:
        n = by_id[item.chunk.id].n
        return numbering.setdefault(n, len(numbering) + 1)

    checks: list[SentenceCheck] = []
    quotes: dict[int, str] = {}
    first = plist.intro or plist.items[0]
    if plist.intro:
        head = quote_line(line, plist.intro.chunk, plist.intro.text, marker(plist.intro))
        checks.append(_item_check(head, plist.intro, by_id))
        quotes.setdefault(by_id[plist.intro.chunk.id].n, plist.intro.text)
    else:
        head = intro.format(
            organisation=first.chunk.organisation or first.chunk.title or first.chunk.source,
            title=first.chunk.title or first.chunk.source,
        )
    lines = [head]
    for item in plist.items[:MAX_SHOWN]:
        lines.append(f"- {item.text} [{marker(item)}]")
        checks.append(_item_check(lines[-1], item, by_id))
        quotes.setdefault(by_id[item.chunk.id].n, item.text)
    all_passages = {p.n: p for p in [*passages, *added]}
    citations = tuple(
        Citation(shown, all_passages[n].chunk, quotes[n])
        for n, shown in sorted(numbering.items(), key=lambda kv: kv[1])
    )
    answer = CheckedAnswer(
        "\n".join(lines),
        tuple(checks),
        citations,
        "answer" if model_list else "quotes",
        1.0 if model_list else 0.0,
    )
    return answer, added


def _item_check(line: str, item: Item, by_id: dict[str, Passage]) -> SentenceCheck:
    return SentenceCheck(line, (), by_id[item.chunk.id].n, item.text, True, "ok")
