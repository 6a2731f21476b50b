"""What a checked answer says about its sources after its own text: where the sources give
different figures for what was asked (``figures.compare``), and that it rests only on old
sources (``dates.age_note``).

Both are fixed Dutch text built from the passages, never from the model: the figures block
lists each figure with the clause it stands in, its source and year, and a citation [n] to its
passage (a passage the answer did not cite yet gets the next number; its clause becomes the
citation's quote, so the source card highlights it). The age note is decided on every source
the final answer cites, the figures block's included.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING

from assistant.citations import Citation
from assistant.dates import age_note
from assistant.figures import Figure, compare

if TYPE_CHECKING:
    from assistant.service import Answer
    from assistant.settings import SourceSettings

FIGURES_INTRO = "**De bronnen noemen verschillende cijfers hierover:**"
FIGURES_OUTRO = "De cijfers staan naast elkaar zoals de bronnen ze geven; ze zijn niet verrekend."
OTHER_GROUPS = "Ze gaan niet allemaal over dezelfde groep."
MAX_FIGURES = 6
MAX_CLAUSE = 180


def annotate(answer: Answer, settings: SourceSettings, today: date) -> Answer:
    """``answer`` with the figures block and the age note added (answers and quotes only)."""
    checked = answer.checked
    if checked is None or answer.mode not in ("answer", "quotes") or not checked.citations:
        return answer
    citations = list(checked.citations)
    parts = [answer.text]
    if settings.disagreement:
        figures = compare(answer.query or answer.question, answer.passages)[:MAX_FIGURES]
        if figures:
            block, citations = figures_block(figures, answer, citations)
            parts.append(block)
    note = age_note([c.chunk.date for c in citations], today, settings.max_age_years)
    if note:
        parts.append(f"{note} Er kan nieuwere informatie zijn.")
    if len(parts) == 1:
        return answer
    text = "\n\n".join(p for p in parts if p)
    checked = dataclasses.replace(checked, text=text, citations=tuple(citations))
    return dataclasses.replace(answer, text=text, checked=checked)


def figures_block(
    figures: list[Figure], answer: Answer, citations: list[Citation]
) -> tuple[str, list[Citation]]:
    """The Dutch block listing ``figures``, and the citations extended to cover them."""
    citations = list(citations)
    lines = [FIGURES_INTRO]
    for fig in figures:
        chunk = answer.passages[fig.passage - 1]
        n = next((c.n for c in citations if c.chunk.id == chunk.id), None)
        quote = _clip(fig.clause)
        if n is None:
            n = max((c.n for c in citations), default=0) + 1
        if not any(c.n == n and c.quote == quote for c in citations):
            citations.append(Citation(n, chunk, quote))
        who = ", ".join(x for x in (fig.label, fig.year or "zonder jaar") if x)
        group = f" {fig.group}" if fig.group and fig.group not in fig.shown else ""
        lines.append(f"- {fig.shown}{group}: „{' '.join(quote.split())}” ({who}) [{n}]")
    named = [f.group_terms for f in figures if f.group_terms]
    apart = any(not (a & b) for i, a in enumerate(named) for b in named[i + 1 :])
    outro = FIGURES_OUTRO + (f" {OTHER_GROUPS}" if apart else "")
    return "\n".join(lines) + "\n\n" + outro, citations


def _clip(clause: str) -> str:
    """A clause cut at a word before ``MAX_CLAUSE`` characters (still a substring)."""
    clause = clause.strip(" •-–")
    if len(clause) <= MAX_CLAUSE:
        return clause
    return clause[:MAX_CLAUSE].rsplit(" ", 1)[0]
