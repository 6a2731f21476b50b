"""Structure-aware chunking of cleaned pages, sized in tiktoken tokens.

Units. Every block of a page (heading, paragraph, list item; see ``ingest.clean``) is split
into sentences, and a sentence longer than ``chunk_tokens`` into word runs; each unit knows
its block and whether it is the block's first. Units carry their character offsets in the
page text.

Packing. Units are packed greedily up to ``chunk_tokens`` (token counts of the units plus one
per gap between them). When the cut would fall inside a paragraph, it moves back to the last
block boundary if the chunk is at least half full there: paragraph boundaries first, sentence
boundaries second, a word boundary only inside a monster sentence. A chunk never ends on a
heading (the heading moves to the next chunk, where it belongs), and a crumb of under an eighth
of a chunk at the end of a page joins the chunk before it (which may then run up to an eighth
over ``chunk_tokens``) instead of standing alone. When a cut does fall inside a
paragraph, the next chunk starts with the last whole sentences of the previous one, up to
``chunk_overlap`` tokens, so a fact split over two sentences can be found from either side;
across paragraph boundaries there is no overlap (the context changes there anyway, and
overlap would only repeat text).

Pages. Chunks never span documents and, with one exception, never span pages, so every chunk
has one page to cite. The exception: when a page ends inside a list (or mid-sentence) and
the next page continues it — a list item, or a lower-case fragment — that continuation (up to
half a chunk) is appended to the last chunk of the previous page, separated by a newline (a
new list item) or a space (a continued sentence), and is left out of the next page's chunks.

Offsets (the invariant the tests check). ``chunk.start``/``chunk.end`` are character offsets
into the cleaned text of ``chunk.page``, and ``page_text[start:end] == chunk.text`` for every
chunk — except a chunk that took a continuation from the next page: its ``end`` is the end of
its own page (``len(page_text)``) and its text is ``page_text[start:end]`` + separator + the
first characters of the next page's text. Offsets therefore always point into the cited page.

Heading. Each chunk carries the nearest heading above its first line of text (so a chunk
that starts with two headings gets the second), looking back over earlier pages when its page
has none above it.

Trade-off: tiktoken's cl100k is not e5's tokenizer (e5 truncates at 512 of its own tokens);
with the default 180 cl100k tokens a chunk stays far below that limit for Dutch text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.chunks import Chunk, DocumentInfo, chunk_id
from assistant.dutch.sentences import sentence_spans
from assistant.tokens import count_tokens
from ingest.clean import CleanPage

_SENTENCE_FINAL = tuple('.!?…:;"”’)')


@dataclass
class Unit:
    start: int
    end: int
    tokens: int
    block: int  # index of the span (block) in the page
    heading: bool
    first: bool  # first unit of its block
    group: int = -1  # the list group of its block (see ``list_groups``), -1 for none
    lead: bool = False  # its block leads into the list of its group


def _word_runs(text: str, offset: int, budget: int) -> list[tuple[int, int, int]]:
    """Split an over-long sentence at spaces into runs of at most ``budget`` tokens."""
    runs: list[tuple[int, int, int]] = []
    run_start: int | None = None
    run_end = 0
    run_tokens = 0
    for match in re.finditer(r"\S+", text):
        w_tokens = count_tokens(" " + match.group())
        if w_tokens > budget:  # one "word" longer than a chunk (a URL, a table dump): cut it
            if run_start is not None:
                runs.append((offset + run_start, offset + run_end, run_tokens))
                run_start, run_tokens = None, 0
            step = max(1, len(match.group()) * budget // (w_tokens + 1))
            for s in range(match.start(), match.end(), step):
                e = min(s + step, match.end())
                runs.append((offset + s, offset + e, count_tokens(text[s:e])))
            continue
        if run_start is not None and run_tokens + w_tokens > budget:
            runs.append((offset + run_start, offset + run_end, run_tokens))
            run_start, run_tokens = None, 0
        if run_start is None:
            run_start = match.start()
        run_end = match.end()
        run_tokens += w_tokens
    if run_start is not None:
        runs.append((offset + run_start, offset + run_end, run_tokens))
    return runs


def list_groups(page: CleanPage) -> list[int]:
    """Per block of ``page``: the list group it belongs to, or -1.

    A group is a lead-in (a heading, or a block ending in ":") with the list items that follow
    it, or with the one block that follows it when that is not a list item ("De top 5 zorgen
    van organisaties:" and a paragraph of five short sentences); a run of list items without a
    lead-in is a group too. A group is what a list question asks for as a whole.
    """
    spans = page.spans
    groups = [-1] * len(spans)
    n = b = 0
    while b < len(spans):
        kind = spans[b].kind
        lead = kind == "heading" or page.span_text(spans[b]).rstrip().endswith(":")
        end = b
        if kind == "list_item" or lead:
            while end + 1 < len(spans) and spans[end + 1].kind == "list_item":
                end += 1
            if end == b and lead and kind != "heading" and b + 1 < len(spans):
                end = b + 1 if spans[b + 1].kind == "paragraph" else b
        if end > b or kind == "list_item":
            groups[b : end + 1] = [n] * (end + 1 - b)
            n += 1
        b = end + 1
    return groups


def page_units(
    page: CleanPage, budget: int, skip_to: int = 0, keep_lists: bool = True
) -> list[Unit]:
    """The units of ``page`` (see the module docstring), ignoring text before ``skip_to``;
    without ``keep_lists`` no block belongs to a list group."""
    units: list[Unit] = []
    groups = list_groups(page) if keep_lists else [-1] * len(page.spans)
    for b, span in enumerate(page.spans):
        if span.end <= skip_to:
            continue
        start = span.start
        if start < skip_to:  # the rest of a block whose beginning went to the previous page
            start = skip_to
            while start < span.end and page.text[start].isspace():
                start += 1
            if start >= span.end:
                continue
        text = page.text[start : span.end]
        heading = span.kind == "heading"
        # Sentences even when the block would fit whole: packing prefers block boundaries
        # anyway, and sentence units let a heading (or a short chunk) take the first
        # sentences of a paragraph that does not fit after it.
        sentences = [(start, span.end)] if heading else sentence_spans(text, start, bullets=True)
        pieces = []
        for s, e in sentences:
            t = count_tokens(page.text[s:e])
            if t <= budget:
                pieces.append((s, e, t))
            else:
                pieces.extend(_word_runs(page.text[s:e], s, budget))
        for n, (s, e, t) in enumerate(pieces):
            first = n == 0 and start == span.start
            lead = (
                groups[b] >= 0
                and span.kind != "list_item"
                and (b == 0 or groups[b - 1] != groups[b])
            )
            units.append(Unit(s, e, t, b, heading, first, groups[b], lead))
    return units


def _tokens(units: list[Unit], i: int, j: int) -> int:
    """Token estimate of units[i:j] as one chunk: their tokens plus one per gap."""
    return sum(u.tokens for u in units[i:j]) + max(0, j - i - 1)


def pack(units: list[Unit], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Index ranges [i, j) of ``units`` that form the chunks of one page."""
    ranges: list[tuple[int, int]] = []
    n = len(units)
    i = 0
    while i < n:
        j = i + 1
        total = units[i].tokens
        while j < n and total + 1 + units[j].tokens <= budget:
            total += 1 + units[j].tokens
            j += 1
        if j < n and not units[j].first:
            # The cut falls inside a block: back to the last block boundary if that still
            # leaves a chunk at least half full.
            for k in range(j - 1, i, -1):
                if units[k].first and _tokens(units, i, k) >= budget // 2:
                    j = k
                    break
        j = _keep_list(units, i, j, budget)
        while j < n and j - i > 1 and (units[j - 1].heading or _lead_in(units, j - 1)):
            j -= 1  # a heading or a lead-in ("De top 5 zorgen:") belongs with what follows
        ranges.append((i, j))
        if j >= n:
            break
        nxt = j
        if overlap > 0 and not units[j].first:
            # Carry the last whole sentences of the same block, within the overlap budget and
            # leaving room for at least the next new unit.
            carried = 0
            k = j
            while (
                k - 1 > i
                and units[k - 1].block == units[j].block
                and carried + units[k - 1].tokens + 1 <= overlap
                and carried + units[k - 1].tokens + 1 + units[j].tokens <= budget
            ):
                k -= 1
                carried += units[k].tokens + 1
            nxt = k
        i = nxt
    if len(ranges) >= 2:
        # A crumb at the end of a page ("(focusgroep zorg)" after a full chunk) joins the
        # chunk before it rather than standing alone, if that stays within an eighth over.
        (a, _), (c, d) = ranges[-2], ranges[-1]
        if _tokens(units, c, d) < budget // 8 and _tokens(units, a, d) <= budget + budget // 8:
            ranges[-2:] = [(a, d)]
    return ranges


def _lead_in(units: list[Unit], k: int) -> bool:
    """Does ``units[k]`` end the lead-in of a list ("De top 5 zorgen van organisaties:")?"""
    u = units[k]
    return (u.lead and k + 1 < len(units) and units[k + 1].block != u.block) and units[
        k + 1
    ].group == u.group


def _keep_list(units: list[Unit], i: int, j: int, budget: int) -> int:
    """End of the chunk starting at unit ``i`` when a cut at ``j`` would split a list group.

    A list belongs together: the cut moves back to the group's start when what is before it
    still fills half a chunk and the group fits in the next one; otherwise the chunk runs on
    to the group's end if that stays within half a chunk over the budget.
    """
    n = len(units)
    if j >= n or j <= i or units[j].group < 0 or units[j].group != units[j - 1].group:
        return j
    g = units[j].group
    start = j
    while start > i and units[start - 1].group == g:
        start -= 1
    end = j
    while end < n and units[end].group == g:
        end += 1
    if (
        start > i
        and _tokens(units, i, start) >= budget // 2
        and _tokens(units, start, end) <= budget
    ):
        return start
    if _tokens(units, i, end) <= budget + budget // 2:
        return end
    return j


def _continuation_end(prev: CleanPage, page: CleanPage) -> tuple[int, str] | None:
    """Where the continuation of ``prev``'s last block ends on ``page``, and the separator."""
    if not prev.spans or not page.spans:
        return None
    last, first = prev.spans[-1], page.spans[0]
    if first.kind == "heading":
        return None
    first_text = page.span_text(first)
    lower = first_text[:1].islower()
    if last.kind == "list_item" and (first.kind == "list_item" or lower):
        end = first.end
        for span in page.spans[1:]:
            if span.kind != "list_item":
                break
            end = span.end
        return end, (" " if lower else "\n")
    if lower and not prev.span_text(last).endswith(_SENTENCE_FINAL):
        sentences = sentence_spans(first_text, first.start, bullets=True)
        if sentences:
            return sentences[0][1], " "
    return None


def split_document(
    pages: list[CleanPage],
    info: DocumentInfo,
    *,
    stem: str,
    chunk_tokens: int,
    chunk_overlap: int,
    doc_hash: str = "",
    keep_lists: bool = True,
) -> list[Chunk]:
    """All chunks of one document (see the module docstring for the rules)."""
    # Chunks as mutable records first: a continuation may extend the previous page's last one.
    records: list[dict] = []
    heading = ""
    prev_page: CleanPage | None = None
    prev_last: dict | None = None  # the last chunk of prev_page, if it ends at its page end
    for page in pages:
        skip_to = 0
        if prev_page is not None and prev_last is not None:
            skip_to = _continue_previous(prev_page, prev_last, page, chunk_tokens)
        page_records, heading = _page_records(
            page, heading, chunk_tokens, chunk_overlap, skip_to, keep_lists
        )
        records.extend(page_records)
        if page_records:
            last = page_records[-1]
            prev_last = last if last["end"] == len(page.text) else None
            prev_page = page
        elif page.spans:  # text, but all of it went to the previous page's chunk
            prev_last = None
            prev_page = page
        else:  # an empty page (a picture): a list can't run over it
            prev_last, prev_page = None, None
    return [_chunk(r, info, stem, doc_hash) for r in records]


def _continue_previous(
    prev_page: CleanPage, prev_last: dict, page: CleanPage, chunk_tokens: int
) -> int:
    """Append the start of ``page`` that continues the previous page's last chunk (a list
    or sentence running over the page break) to that chunk; the offset where ``page``'s own
    chunks start (0 when nothing continues or it would make the chunk too long)."""
    cont = _continuation_end(prev_page, page)
    if cont is None:
        return 0
    end, sep = cont
    extra = page.text[:end]
    extra_tokens = count_tokens(extra)
    if (
        extra_tokens <= chunk_tokens // 2
        and prev_last["tokens"] + extra_tokens <= chunk_tokens + chunk_tokens // 2
    ):
        prev_last["text"] += sep + extra
        prev_last["tokens"] += extra_tokens
        return end
    return 0


def _page_records(
    page: CleanPage,
    heading: str,
    chunk_tokens: int,
    chunk_overlap: int,
    skip_to: int,
    keep_lists: bool = True,
) -> tuple[list[dict], str]:
    """The chunk records of one page from ``skip_to`` on, and the heading in force after it
    (``heading``: the one in force before it)."""
    units = page_units(page, chunk_tokens, skip_to, keep_lists)
    headings = [(s.start, page.span_text(s)) for s in page.spans if s.kind == "heading"]
    page_records: list[dict] = []
    for i, j in pack(units, chunk_tokens, chunk_overlap):
        start, end = units[i].start, units[j - 1].end
        # The heading of the chunk's first text: "# Rapport / ## Inleiding / text" is
        # about "Inleiding".
        body = next((u.start for u in units[i:j] if not u.heading), start)
        above = [text for pos, text in headings if pos <= body]
        page_records.append(
            {
                "page": page.number,
                "index": len(page_records),
                "start": start,
                "end": end,
                "text": page.text[start:end],
                "heading": above[-1] if above else heading,
                "tokens": _tokens(units, i, j),
            }
        )
    return page_records, (headings[-1][1] if headings else heading)


def _chunk(r: dict, info: DocumentInfo, stem: str, doc_hash: str) -> Chunk:
    return Chunk(
        id=chunk_id(stem, r["page"], r["index"]),
        text=r["text"],
        source=info.source,
        page=r["page"],
        index=r["index"],
        title=info.title,
        organisation=info.organisation,
        date=info.date,
        kind=info.kind,
        collection=info.collection,
        heading=r["heading"],
        start=r["start"],
        end=r["end"],
        doc_hash=doc_hash,
    )
