"""How old a source is, and which version of a document counts.

Dates come from the sidecar or the file and are partial as often as not ("2019", "2025-04",
"2025-09-04"). For age a partial date is read as the *end* of its period (a report of "2019"
is taken to be from 31-12-2019), so a source is only called old when it certainly is; a source
without a date is never called old (there is nothing to say about it).

Age note: an answer or briefing point that rests *only* on sources older than
``SourceSettings.max_age_years`` gets "Let op: deze bron is uit 2019." One recent source among
the cited ones is enough to leave the note out: the answer then also rests on something recent.

Versions: documents with the same title (case, accents and spacing ignored) and different
dates are versions of one document; the newest supersedes the others (``versions``).
``supersede`` is applied to the retrieved passages (not inside the search): passages of an
older version are dropped and replaced by the best-ranked passages of the newest version that
the search fused but left out, unless the question asks for the older one (it names the older
version's year, or says "oude/vorige/eerdere versie"). Trade-off: when the newest version has
no passage among the fused candidates at all, the older passages stay (the newer document may
simply not cover the point) but are named as an older version, so the reader knows; dropping
them would turn an answer into a refusal on a topic the new version left out.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from assistant.chunks import ScoredChunk

if TYPE_CHECKING:
    from assistant.chunks import Chunk
    from assistant.retrieval import Retrieval

MONTHS_NL = (
    "januari februari maart april mei juni juli augustus september oktober november december"
).split()
OLDER_VERSION_RE = re.compile(
    r"\b(?:oude|oudere|vorige|eerdere|voorgaande)\s+(?:versie|editie|uitgave|rapport|"
    r"onderzoek|meting)\b|\bversie\s+(?:van\s+)?(?:vorig|het\s+vorige)\s+jaar\b",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


class Dated(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def date(self) -> str: ...


# --------------------------------------------------------------------------- dates


def parse_date(value: str | None) -> tuple[int, int, int] | None:
    """(year, month, day) of "2019", "2025-04", "2025-09-04" (0 = not given), else None."""
    m = _DATE_RE.match(value or "")
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
    if not 1000 <= year <= 9999 or not 0 <= month <= 12 or not 0 <= day <= 31:
        return None
    return year, month, day


def latest_day(value: str | None) -> date | None:
    """The last day the date could mean: "2019" -> 31-12-2019, "2025-04" -> 30-04-2025."""
    parts = parse_date(value)
    if parts is None:
        return None
    year, month, day = parts
    month = month or 12
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last) if day else last)


def year_of(value: str | None) -> str:
    parts = parse_date(value)
    return str(parts[0]) if parts else ""


def dutch_date(value: str | None) -> str:
    """ "4 september 2025", "april 2025", "2024"; the raw value if it is no date."""
    parts = parse_date(value)
    if parts is None:
        return (value or "").strip()
    year, month, day = parts
    if not month:
        return str(year)
    if not day:
        return f"{MONTHS_NL[month - 1]} {year}"
    return f"{day} {MONTHS_NL[month - 1]} {year}"


def sort_key(value: str | None) -> tuple[int, int, int]:
    """For sorting by date, newest last; no date sorts first."""
    return parse_date(value) or (0, 0, 0)


def is_old(value: str | None, today: date, max_age_years: float) -> bool:
    """True when the source is certainly older than ``max_age_years`` on ``today``."""
    last = latest_day(value)
    if last is None:
        return False
    return (today - last).days > max_age_years * 365.25


def age_flag(value: str | None, today: date, max_age_years: float) -> str:
    """ "ouder dan 3 jaar" for a source certainly older than ``max_age_years``, else "": the
    flag beside a source's date on the source cards, the sidebar and the beheer page."""
    return f"ouder dan {max_age_years:g} jaar" if is_old(value, today, max_age_years) else ""


def age_note(dates: Iterable[str], today: date, max_age_years: float) -> str:
    """The Dutch note for something that rests only on old sources ("" otherwise)."""
    values = list(dates)
    if not values or not all(is_old(v, today, max_age_years) for v in values):
        return ""
    years = sorted({year_of(v) for v in values})
    if len(years) == 1:
        return f"Let op: deze bron is uit {years[0]}."
    return f"Let op: deze bronnen zijn uit {' en '.join([', '.join(years[:-1]), years[-1]])}."


# --------------------------------------------------------------------------- versions


def title_key(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title or "")
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"\w+", folded))


def versions(documents: Iterable[Dated]) -> dict[str, Dated]:
    """Superseded source -> the newest version of its document (same title, later date)."""
    groups: dict[str, list[Dated]] = {}
    for d in documents:
        if title_key(d.title) and parse_date(d.date):
            groups.setdefault(title_key(d.title), []).append(d)
    out: dict[str, Dated] = {}
    for docs in groups.values():
        newest = max(docs, key=lambda d: sort_key(d.date))
        for d in docs:
            if sort_key(d.date) < sort_key(newest.date):
                out[d.source] = newest
    return out


def asked_versions(question: str, older: Iterable[Dated]) -> list[str]:
    """The sources of older versions the question asks for: those whose year it names, or
    all of them when it says "oude/vorige versie"."""
    older = list(older)
    if OLDER_VERSION_RE.search(question):
        return [d.source for d in older]
    return [
        d.source
        for d in older
        if year_of(d.date) and re.search(rf"\b{year_of(d.date)}\b", question)
    ]


def asks_for_older(question: str, older: Iterable[Dated]) -> bool:
    """The question names an older version: its year, or "oude/vorige versie"."""
    return bool(asked_versions(question, older))


def older_title(chunk: Chunk, newest: Dated) -> Chunk:
    """The chunk, its title naming it an older version (shown wherever the title is)."""
    year, new_year = year_of(chunk.date), year_of(newest.date)
    label = f"oudere versie{f' uit {year}' if year else ''}; nieuwste versie: {new_year}"
    if label in chunk.title:
        return chunk
    return dataclasses.replace(chunk, title=f"{chunk.title} ({label})")


def supersede(
    retrieval: Retrieval,
    question: str,
    documents: Sequence[Dated],
    fetch: Callable[[list[str]], list[Chunk]],
) -> Retrieval:
    """``retrieval`` with passages of superseded versions replaced (see the module doc)."""
    newer = versions(documents)
    if not newer:
        return retrieval
    wanted_old = asked_versions(question, [d for d in documents if d.source in newer])
    if wanted_old:  # the older version is asked for: make sure it is there, named as such
        have = {p.chunk.id for p in retrieval.passages}
        floor = min((p.score for p in retrieval.passages), default=0.0)
        ids = [i for i in retrieval.fused if i not in have and _of(i, wanted_old)][:2]
        added = [ScoredChunk(c, floor) for c in fetch(ids)] if ids else []
        return _retitled(retrieval, retrieval.passages + added, newer)
    old = [p for p in retrieval.passages if p.chunk.source in newer]
    if not old:
        return retrieval
    kept = [p for p in retrieval.passages if p.chunk.source not in newer]
    have = {p.chunk.id for p in kept}
    wanted = [newer[p.chunk.source].source for p in old]
    ids = [i for i in retrieval.fused if i not in have and _of(i, wanted)][: len(old)]
    fresh = fetch(ids) if ids else []
    if not fresh and not kept:
        return _retitled(retrieval, retrieval.passages, newer)
    scores = [p.score for p in old]
    added = [ScoredChunk(c, scores[min(i, len(scores) - 1)]) for i, c in enumerate(fresh)]
    passages = sorted(kept + added, key=lambda p: -p.score)
    return dataclasses.replace(retrieval, passages=passages)


def _of(chunk_id: str, sources: Iterable[str]) -> bool:
    """The chunk id belongs to one of ``sources``."""
    return any(chunk_id.startswith(_stem(s) + ":") for s in sources)


def _retitled(
    retrieval: Retrieval, passages: list[ScoredChunk], newer: dict[str, Dated]
) -> Retrieval:
    out = [
        dataclasses.replace(p, chunk=older_title(p.chunk, newer[p.chunk.source]))
        if p.chunk.source in newer
        else p
        for p in passages
    ]
    return dataclasses.replace(retrieval, passages=out)


def _stem(source: str) -> str:
    """The chunk-id stem of a source file (as ``ingest.sync.chunk_stem``)."""
    return source.rsplit(".", 1)[0].replace(":", "_") if "." in source else source


def documents_of(manifest: Any) -> list[Dated]:
    """The documents of a manifest (or none)."""
    return list(manifest.documents.values()) if manifest is not None else []
