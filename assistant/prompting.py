"""Build the model's messages from the prompt files, within a token budget.

The prompt text lives in ``prompts/`` (Dutch), never in code. The system prompt comes first and
never changes, so llama.cpp's prefix cache skips it after the first question; everything that
varies (passages, history, question) goes in the user message after it. The budget is the
model's context window minus room for the answer and a safety margin (cl100k counts within
~15% of Qwen's tokenizer on Dutch): passages are added best-first until the passage budget is
spent, a passage that does not fit whole is cut at a token boundary, and history is kept short
(the last turns, truncated) because follow-ups are resolved before retrieval anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.chunks import Chunk
from assistant.dutch.sentences import split_spans
from assistant.dutch.text import fold
from assistant.evidence import sentence_scores
from assistant.llm import Message
from assistant.tokens import count_tokens, truncate_tokens

SAFETY_MARGIN = 0.15  # cl100k vs the model's own tokenizer
MIN_FOCUS_TOKENS = 80  # a focused passage gets at least this many tokens
SEQUEL_SHARE = 0.9  # a sentence right after a matching one scores at least this share of it


@dataclass(frozen=True)
class Prompts:
    """The prompt files, read once."""

    system: str
    answer: str
    passage: str
    history: str
    refusal: str
    fallback_intro: str
    backend_down: str
    quotes_intro: str = ""
    evidence_intro: str = ""
    refusal_nearest: str = ""
    refusal_declined: str = ""
    quote_line: str = '„{quote}" [{n}]'  # one verbatim sentence shown as (part of) an answer
    list_intro: str = ""  # the line above a source's list shown as the answer
    refusal_missing: str = ""  # added to a refusal: the names no passage mentions
    # prompts/guard.md: (key, pattern) of requests to change how the assistant works
    guard: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # prompts/declined.md: key -> the Dutch one-line remark shown when such a request is made
    declined: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Prompts:
        return _load_prompts(folder.resolve())


@lru_cache(maxsize=4)
def _load_prompts(folder: Path) -> Prompts:
    def read(name: str, default: str | None = None) -> str:
        path = folder / f"{name}.md"
        if default is not None and not path.is_file():
            return default
        return path.read_text(encoding="utf-8").strip()

    guard = tuple(
        (key, re.compile(line, re.IGNORECASE))
        for key, lines in _sections(read("guard", "")).items()
        for line in lines
    )
    declined = {
        key: " ".join(lines)
        for key, lines in _sections(read("declined", ""), bullets=False).items()
    }
    return Prompts(
        system=read("system"),
        answer=read("answer"),
        passage=read("passage"),
        history=read("history"),
        refusal=read("refusal"),
        fallback_intro=read("fallback_intro"),
        backend_down=read("backend_down"),
        quotes_intro=read("quotes_intro", ""),
        evidence_intro=read("evidence_intro", ""),
        refusal_nearest=read("refusal_nearest", ""),
        refusal_declined=read("refusal_declined", ""),
        quote_line=read("quote_line", '„{quote}" [{n}]'),
        list_intro=read("list_intro", ""),
        refusal_missing=read("refusal_missing", ""),
        guard=guard,
        declined=declined,
    )


def _sections(text: str, *, bullets: bool = True) -> dict[str, list[str]]:
    """ "## key" sections of a prompt data file: their "- " lines (or all lines), comments out."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    out: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("## "):
            key = stripped[3:].strip()
            out[key] = []
        elif key is not None and stripped:
            if bullets and stripped.startswith("- "):
                out[key].append(stripped[2:].strip())
            elif not bullets:
                out[key].append(stripped)
    return out


def format_passage(template: str, n: int, chunk: Chunk, text: str | None = None) -> str:
    return template.format(
        n=n,
        title=chunk.title or chunk.source,
        organisation=chunk.organisation or "onbekende organisatie",
        date=chunk.date or "z.d.",
        page=chunk.page,
        text=(text if text is not None else chunk.text).strip(),
    )


def focus_passage(question: str, text: str, max_tokens: int) -> str:
    """The sentences of ``text`` that share most key terms with ``question``, in their own
    order, within ``max_tokens``; a gap between kept sentences is shown as "…".

    Trade-off: a small model reads a short, on-topic context better than a whole chunk, and
    every prompt token costs time before the first answer token (~8 s per 1,000 on 2 CPU
    threads). Lexical only (no embedding call before the model starts); a paraphrased answer
    sentence may be cut, but the passage stays whole for the check and the quote fallback.
    """
    spans = split_spans(text)
    if count_tokens(text) <= max_tokens or len(spans) <= 1:
        return text.strip()
    scores = sentence_scores(question, [text[s:e] for s, e in spans])
    # the sentence after a matching one often holds its explanation or figure (as quotes do,
    # ``evidence.QUOTE_CHARS``): it ranks just below the sentence it follows
    scores = [max(x, SEQUEL_SHARE * prev) for x, prev in zip(scores, [0.0, *scores], strict=False)]
    order = sorted(range(len(spans)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    used = 0
    for i in order:
        cost = count_tokens(text[spans[i][0] : spans[i][1]]) + 1
        if used + cost > max_tokens:
            continue
        chosen.append(i)
        used += cost
    if not chosen:
        return truncate_tokens(text, max(1, max_tokens - 2)).strip() + " …"
    out: list[str] = []
    prev = None
    for i in sorted(chosen):
        if prev is not None and i != prev + 1:
            out.append("…")
        out.append(text[spans[i][0] : spans[i][1]])
        prev = i
    if sorted(chosen)[-1] != len(spans) - 1:
        out.append("…")
    return " ".join(out)


def fit_passages(
    template: str,
    chunks: list[Chunk],
    budget_tokens: int,
    question: str = "",
    *,
    opening: bool = False,
) -> list[tuple[Chunk, str]]:
    """Best-first passages (chunk, formatted text) that fit ``budget_tokens`` together.

    With ``question``, each passage is first narrowed to its sentences most related to the
    question (``focus_passage``) so that more passages fit: an equal share of the budget each,
    at least ``MIN_FOCUS_TOKENS``. With ``opening`` instead, to its first sentences (passages
    that sum up a document state their main points first).
    """
    out: list[tuple[Chunk, str]] = []
    used = 0
    share = max(MIN_FOCUS_TOKENS, budget_tokens // max(1, len(chunks)))
    for chunk in chunks:
        n = len(out) + 1
        text = None
        if question or opening:
            room = share - count_tokens(format_passage(template, n, chunk, ""))
            # without a question every sentence scores alike: the first ones are kept
            text = focus_passage(
                "" if opening else question, chunk.text, max(MIN_FOCUS_TOKENS // 2, room)
            )
        block = format_passage(template, n, chunk, text)
        cost = count_tokens(block) + 2
        if used + cost > budget_tokens:
            room = budget_tokens - used - count_tokens(format_passage(template, n, chunk, "")) - 2
            if room < 40:  # a stub of a passage helps nobody
                break
            cut = truncate_tokens(chunk.text, room - 2) + " …"  # the ellipsis costs ≤ 2 tokens
            block = format_passage(template, n, chunk, cut)
            cost = count_tokens(block) + 2
        out.append((chunk, block))
        used += cost
    return out


def pipeline_texts(prompts: Prompts) -> list[str]:
    """The fixed pieces of every text the pipeline writes itself or sends the model (prompt
    templates cut at their placeholders, refusals, intros, notes): no model answer may copy
    them, and a history turn that holds one is not a model answer."""
    templates = [
        prompts.system,
        prompts.answer,
        prompts.passage,
        prompts.history,
        prompts.refusal,
        prompts.refusal_nearest,
        prompts.refusal_declined,
        prompts.refusal_missing,
        prompts.fallback_intro,
        prompts.backend_down,
        prompts.quotes_intro,
        prompts.evidence_intro,
        *prompts.declined.values(),
    ]
    pieces = (p.strip() for t in templates for p in re.split(r"\{\w+\}", t))
    return [p for p in pieces if len(p.split()) >= 2]


def model_history(prompts: Prompts, history: list[Message]) -> list[Message]:
    """The conversation as the model may see it: the user's questions and the checked model
    answers, never a refusal, a quote-only answer or another text the pipeline wrote (a small
    model copies them). The notes on declined requests and the added quote ("Letterlijk in de
    bron: ...") are cut from an answer; what is left is the model's own checked text."""
    fixed = [fold(p) for p in pipeline_texts(prompts)]
    notes = {n.strip() for n in prompts.declined.values()}
    out: list[Message] = []
    for turn in history:
        if turn["role"] == "user":
            out.append(turn)
            continue
        text = turn["content"]
        if prompts.evidence_intro.strip():
            text = text.split(prompts.evidence_intro.strip(), 1)[0]
        paragraphs = [p for p in text.split("\n\n") if p.strip() and p.strip() not in notes]
        text = "\n\n".join(paragraphs).strip()
        folded = fold(text)
        if text and not _QUOTED_LINE_RE.search(text) and not any(f in folded for f in fixed):
            out.append({"role": "assistant", "content": text})
    return out


# a line that is a verbatim quote: „…" [n]
_QUOTED_LINE_RE = re.compile(r"(?m)„[^\n]{3,}[\"”]\s*(?:\[\d{1,3}\])+\s*$")


def format_history(template: str, history: list[Message], max_tokens: int) -> str:
    """The last turns of the conversation, newest kept, within ``max_tokens``."""
    if not history or max_tokens <= 0:
        return ""
    lines: list[str] = []
    used = 0
    for turn in reversed(history[-4:]):
        who = "Gebruiker" if turn["role"] == "user" else "Assistent"
        line = f"{who}: {truncate_tokens(turn['content'].strip(), 120)}"
        cost = count_tokens(line)
        if used + cost > max_tokens:
            break
        lines.insert(0, line)
        used += cost
    return template.format(turns="\n".join(lines)) + "\n\n" if lines else ""


def passage_budget(
    context_window: int, max_answer_tokens: int, configured: int, fixed_tokens: int
) -> int:
    """Tokens left for passages: the window minus answer room, fixed text and a margin."""
    usable = int(context_window * (1 - SAFETY_MARGIN)) - max_answer_tokens - fixed_tokens
    return max(0, min(configured, usable))


def build_messages(
    prompts: Prompts,
    question: str,
    chunks: list[Chunk],
    *,
    history: list[Message] | None = None,
    context_window: int,
    max_answer_tokens: int,
    passage_tokens: int,
    summary: bool = False,
) -> tuple[list[Message], list[Chunk]]:
    """The chat messages for ``question`` and the chunks actually given, numbered from 1.

    The passages are narrowed to their sentences most related to the question, or to their
    openings when they sum up a document (``summary``; see ``fit_passages``); the chunks
    returned are whole, for the check and the quotes.
    """
    history_text = format_history(prompts.history, history or [], max_tokens=200)
    fixed = (
        count_tokens(prompts.system)
        + count_tokens(prompts.answer.format(passages="", history=history_text, question=question))
        + 16
    )  # chat-template tokens
    budget = passage_budget(context_window, max_answer_tokens, passage_tokens, fixed)
    fitted = fit_passages(prompts.passage, chunks, budget, question=question, opening=summary)
    user = prompts.answer.format(
        passages="\n".join(block for _, block in fitted),
        history=history_text,
        question=question.strip(),
    )
    messages: list[Message] = [
        {"role": "system", "content": prompts.system},
        {"role": "user", "content": user},
    ]
    return messages, [c for c, _ in fitted]
