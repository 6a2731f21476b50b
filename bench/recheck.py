"""Re-check recorded model answers with the current answer check, no model run.

For the tune-half (``--half all``: every) single-turn items of an eval JSON (``python -m
assistant eval --json``: per item ``question``, ``raw`` = the model's text, ``half``), the
passages are retrieved again with the current code (``Assistant.ask`` with
``RAG_LLM__MODE=fake``: nothing is generated) and the stored ``raw`` text goes through the same
check the service runs (``Assistant._check`` and the list answer, ``Assistant._list``; the
sources block and the date note added after it are left out unless ``--sources``: then the
whole answer as the service finishes it). Conversations and follow-ups are skipped: their
history is not replayed. Disagreement items (type or tag ``disagree``) also get
``all_figures``, as in the evaluation.

Prints every key fact (``facts_found``), passage-level citation precision
(``citation_correct``), mode counts, and how often the shown text has each presentation defect
(see ``defects``). ``--out`` writes the rows; ``--before ROWS.json`` (rows of another code
version, e.g. main's, run the same way from a copy of that tree) adds the figures side by side
and prints every answer whose shown text changed.

    PYTHONPATH=. RAG_LLM__MODE=fake .venv/bin/python bench/recheck.py RUN.json --out after.json
    ... bench/recheck.py FRESH_RUN.json --gold eval/fresh3.jsonl --half all   # a development set

Trade-off: the passages are today's retrieval, not those the model saw, so a marker may point
at another passage than the model meant; both code versions get the same passages, so the
comparison is fair, the absolute figures are only near those of the real run.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.chunks import Chunk, Passage
from assistant.dutch.sentences import remove_markers, split_sentences
from assistant.dutch.text import content_stems, fold, numbers_of
from assistant.evaluation.gold import default_gold, load_items
from assistant.evaluation.rules import citation_correct, facts_found
from assistant.evidence import heading_like
from assistant.service import Assistant
from assistant.settings import load_settings

SKIPPED_TYPES = ("conversation", "followup")
DEFECTS = ("gap", "duplicate", "heading", "restatement", "quote_twice", "bare_quote", "unfinished")
_GAP_RE = re.compile(r"(?:[.!?:]|\])[ \t]*(?:…|\.\.\.)|(?:…|\.\.\.)[ \t]*$", re.MULTILINE)
_END_RE = re.compile(r"[.!?:;…)\]\"'”’»]\s*$")
_EVIDENCE_SPLIT = "\n\n"


def _sentences(text: str) -> list[str]:
    """The sentences of ``text`` without bullets and citation markers."""
    return [s for s in (remove_markers(x).strip() for x in split_sentences(text)) if s]


def _key(sentence: str) -> str:
    return " ".join(re.findall(r"\w+", fold(sentence)))


def _headings(chunks: list[Chunk]) -> set[str]:
    """Titles, section headings and heading lines inside the passages, folded."""
    out = {_key(c.title) for c in chunks} | {_key(c.heading) for c in chunks}
    for c in chunks:
        out |= {_key(ln) for ln in c.text.split("\n") if ln.strip() and heading_like(ln.strip())}
    return {h for h in out if len(h.split()) >= 2}


def defects(text: str, question: str, chunks: list[Chunk]) -> Counter[str]:
    """Presentation defects in a shown answer, by a rule of this script's own (not the
    check's): a gap marker after a sentence end or at a line end; a sentence shown twice; a
    sentence that is, or starts with, a passage title or heading; a sentence of the model
    whose content words (bar one) are the question's or the documents' title/organisation words; a
    sentence shown again inside the evidence quote; a verbatim quote line without whose words
    they are; an unfinished last sentence (no closing punctuation where others have one)."""
    found: Counter[str] = Counter()
    own, _, evidence = text.partition(_EVIDENCE_SPLIT + "Letterlijk in de bron:")
    found["gap"] = len(_GAP_RE.findall(own))
    sentences = _sentences(own)
    keys = [_key(s) for s in sentences if len(s.split()) >= 4]
    found["duplicate"] = len(keys) - len(set(keys))
    heads = _headings(chunks)
    given = content_stems(" ".join([question, *(f"{c.title} {c.organisation}" for c in chunks)]))
    for s in sentences:
        quoted = "„" in s  # the source's own words: only a whole heading counts
        k = _key(s.split("„", 1)[-1])
        found["heading"] += any(k == h or (not quoted and k.startswith(h + " ")) for h in heads)
        if quoted or re.match(r"(?i)(?:ja|nee)\b", s):
            continue  # a quote, or the answer to a yes/no question
        new = content_stems(s) - given
        if len(new) <= 1 and not numbers_of(s) - numbers_of(question):
            found["restatement"] += len(content_stems(s)) >= 3
    found["quote_twice"] = sum(
        _key(s) in _key(evidence) for s in sentences if evidence and len(s.split()) >= 6
    )
    found["bare_quote"] = len(re.findall(r"^(?:[-*] )?„", own, re.MULTILINE))
    lines = [remove_markers(ln).strip() for ln in own.strip().split("\n") if ln.strip()]
    if len(sentences) > 1 and lines and not _END_RE.search(lines[-1]):
        found["unfinished"] = int(any(_END_RE.search(s) for s in sentences[:-1]))
    return found


def recheck(
    assistant: Assistant, item: dict[str, Any], case: dict[str, Any], sources: bool = False
) -> dict[str, Any]:
    stream = assistant.ask(item["question"])
    passages = [Passage(i, c) for i, c in enumerate(stream.passages, start=1)]
    raw = item.get("raw") or ""
    if sources:  # the service's own finish: check, list answer, sources block, date note
        stream._parts = [raw]
        answer = assistant._finish(stream)
        text, mode, citations = answer.text, answer.mode, list(answer.citations)
    elif stream.refused:
        text, mode, citations = "", "refusal", []
    else:
        checked = assistant._check(stream, raw, passages)
        checked, _ = assistant._list(stream, raw, checked, passages)
        text, mode, citations = checked.text, checked.mode, list(checked.citations)
    must = list(case.get("must_contain") or [])
    answerable = bool(case.get("sources")) and item["type"] != "unanswerable"
    row = {
        "id": item["id"],
        "question": item["question"],
        "shown": text,
        "passages": [c.id for c in stream.passages],
        "mode": mode,
        "answerable": answerable,
        "facts_ok": answerable and mode != "refusal" and len(facts_found(text, must)) == len(must),
        "cited": [citation_correct(c.chunk.text, c.chunk.source, case) for c in citations]
        if answerable
        else [],
        "defects": dict(defects(text, item["question"], list(stream.passages))),
    }
    if case["type"] == "disagree" or "disagree" in (case.get("tags") or []):
        row["all_figures"] = row["facts_ok"]
    return row


class _CachedVectors:
    """e5 vectors kept on disk between runs (the same passages and sentences recur in the
    before and after runs; embedding them dominates the run time on a shared CPU)."""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner, self.path = inner, path
        self.vectors: dict[str, list[float]] = (
            pickle.loads(path.read_bytes()) if path.is_file() else {}
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if "passage: " + t not in self.vectors]
        if missing:
            for t, v in zip(missing, self.inner.embed_documents(missing), strict=True):
                self.vectors["passage: " + t] = v
        return [self.vectors["passage: " + t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if "query: " + text not in self.vectors:
            self.vectors["query: " + text] = self.inner.embed_query(text)
        return self.vectors["query: " + text]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def save(self) -> None:
        self.path.write_bytes(pickle.dumps(self.vectors))


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    cited = [c for r in answerable for c in r["cited"]]
    out: dict[str, Any] = {
        "items": len(rows),
        "every key fact": sum(r["facts_ok"] for r in answerable),
        "answerable": len(answerable),
        "citation precision": round(sum(cited) / len(cited), 3) if cited else None,
        "citations": len(cited),
    }
    if any("all_figures" in r for r in rows):
        out["disagree: every figure shown"] = sum(r.get("all_figures", False) for r in rows)
    out.update({f"mode {m}": n for m, n in sorted(Counter(r["mode"] for r in rows).items())})
    for d in DEFECTS:
        n_items = sum(bool(r["defects"].get(d)) for r in rows)
        out[f"{d} (items/times)"] = f"{n_items}/{sum(r['defects'].get(d, 0) for r in rows)}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="eval JSON with per-item question, raw, half")
    parser.add_argument("--out", help="write the rows here")
    parser.add_argument("--before", help="rows of another code version to compare with")
    parser.add_argument("--vectors", help="keep e5 vectors in this file between runs")
    parser.add_argument("--gold", default=str(default_gold()), help="the bank (key facts)")
    # a development set other than the bank is read whole: its items' halves mean nothing
    parser.add_argument("--half", choices=("tune", "all"), default="tune")
    parser.add_argument("--sources", action="store_true", help="add the sources block too")
    args = parser.parse_args()
    bank = {c["id"]: c for c in load_items(args.gold, half=args.half)}
    items = json.loads(Path(args.run).read_text("utf-8"))["items"]
    items = [i for i in items if i["type"] not in SKIPPED_TYPES]
    items = [i for i in items if i["id"] in bank and not bank[i["id"]].get("history")]
    assistant = Assistant.from_settings(load_settings())
    cache = None
    if args.vectors:
        cache = _CachedVectors(assistant.embeddings, Path(args.vectors))
        assistant.embeddings = assistant.store.embeddings = cache  # type: ignore[assignment]
    rows = [recheck(assistant, i, bank[i["id"]], args.sources) for i in items]
    if cache is not None:
        cache.save()
    if args.out:
        Path(args.out).write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")
    after = summary(rows)
    before_rows = json.loads(Path(args.before).read_text("utf-8")) if args.before else None
    if before_rows is not None:
        old = {r["id"]: r for r in before_rows}
        # retrieval is not quite deterministic between processes (a tie for the last
        # passage): only items that got the same passages in both runs are compared
        differ = [r["id"] for r in rows if r["passages"] != old.get(r["id"], {}).get("passages")]
        rows = [r for r in rows if r["id"] not in differ]
        after = summary(rows)
        changed = [r for r in rows if r["id"] in old and old[r["id"]]["shown"] != r["shown"]]
        for r in changed:
            print(f"===== {r['id']} | {r['question']}")
            print(f"--- before ({old[r['id']]['mode']}):\n{old[r['id']]['shown']}")
            print(f"--- after ({r['mode']}):\n{r['shown']}\n")
        before = summary([old[r["id"]] for r in rows if r["id"] in old])
        print(f"{'':32} {'before':>10} {'after':>10}")
        for key in after:
            print(f"{key:32} {before.get(key)!s:>10} {after[key]!s:>10}")
        print(f"answers whose shown text changed: {len(changed)} of {len(rows)}")
        print(f"left out, other passages than in the before run: {differ}")
    else:
        for key, value in after.items():
            print(f"{key:32} {value!s:>10}")


if __name__ == "__main__":
    main()
