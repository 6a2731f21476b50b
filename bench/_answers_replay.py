"""Throwaway: re-check recorded model outputs with the current answer check, no model run.

Reads the rows ``bench/_answers_drive.py`` wrote (question, history as sent, the passages the
model got, its raw text) and runs ``Assistant._finish`` on them again, so a change to the check,
the list answer or the refusal rule can be measured in seconds. A change to the prompt or the
history given to the model is not replayed (the recorded text stays): that needs a real run.

    PYTHONPATH=. .venv/bin/python bench/_answers_replay.py /tmp/ans_base.jsonl /tmp/ans_replay.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _answers_drive import score_turn, summary  # noqa: E402

from assistant.chunks import ScoredChunk  # noqa: E402
from assistant.question import Question  # noqa: E402
from assistant.retrieval import Retrieval  # noqa: E402
from assistant.service import AnswerStream, Assistant  # noqa: E402
from assistant.settings import load_settings  # noqa: E402


def main() -> int:
    rows = [json.loads(x) for x in Path(sys.argv[1]).read_text().splitlines() if x]
    bank = {}
    for line in Path("eval/questions.jsonl").read_text().splitlines():
        item = json.loads(line)
        for k, turn in enumerate(item.get("turns") or [item]):
            bank[item["id"] + (f"#{k}" if item.get("turns") else "")] = turn
    assistant = Assistant.from_settings(load_settings())
    out = []
    for row in rows:
        history = row.get("history") or []
        question = Question.of(row["question"], history, assistant.prompts)
        chunks = assistant.store.get_chunks(row.get("passage_ids") or [])
        retrieval = Retrieval(
            question.query, [ScoredChunk(c, 1.0) for c in chunks], relevant=bool(chunks)
        )
        stream = AnswerStream(
            assistant, question, retrieval, history, 0.0, None, collections=None, sources=None
        )
        stream._parts = [row["raw"]] if row["raw"] else []
        stream._done = True
        answer = assistant._finish(stream)
        new = score_turn(bank[row["id"]], answer)
        new.update(id=row["id"], type=row["type"], history=history)
        out.append(new)
    with open(sys.argv[2], "w") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    summary(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
