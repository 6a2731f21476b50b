"""The evaluation's own arithmetic, on small hand-made items and a scripted assistant.

No real model or index: these are unit tests of the scoring rules, the split, the
aggregation and the bootstrap. The items are invented for the tests (not from any bank).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from assistant.chunks import Chunk
from assistant.evaluation.answers import answer_summary, run_item, score_answer
from assistant.evaluation.gold import cases_of, load_items
from assistant.evaluation.retrieval import retrieval_rows, retrieval_summary
from assistant.evaluation.rules import (
    citation_correct,
    half_of,
    has_fact,
    holds_evidence,
    holds_quote,
    language_of,
    squash,
)
from assistant.evaluation.stats import by_half, gap, paired_bootstrap, percentile

SYSTEM = "Je bent een zorgvuldige onderzoeksassistent die alleen antwoordt uit de gegeven bronnen."
QUOTE = (
    "In de proefregio daalde het aantal openstaande vacatures voor monteurs met 18 procent "
    "nadat de opleiding werd verkort."
)


def chunk(text: str, source: str = "010_aaaa.txt", cid: str = "010_aaaa:1:0") -> Chunk:
    return Chunk(id=cid, text=text, source=source, page=1, index=0)


def item(**kw: Any) -> dict[str, Any]:
    base = {
        "id": "t1",
        "half": "tune",
        "type": "fact",
        "question": "Hoeveel daalden de vacatures voor monteurs in de proefregio?",
        "must_contain": ["18"],
        "sources": ["010_aaaa.pdf"],
        "evidence": [QUOTE],
    }
    base.update(kw)
    return base


# ---------------------------------------------------------------- key facts


@pytest.mark.parametrize(
    "text",
    ["Het daalde met 30%.", "met 30 % minder", "(30)", "dat was 30.", "30-plussers", "Ruim 30"],
)
def test_number_found_on_its_boundaries(text: str) -> None:
    assert has_fact(text, "30")


@pytest.mark.parametrize(
    "text", ["het ging om 300.000 mensen", "gemiddeld 30,5 uur", "versie 1.30", "in 2030", "130"]
)
def test_number_not_found_inside_another_number(text: str) -> None:
    assert not has_fact(text, "30")


def test_fact_with_percent_sign_and_whitespace_and_case() -> None:
    assert has_fact("Een stijging van 26 % in een jaar", "26%")
    assert has_fact("Een stijging van 26% in een jaar", "26 %")
    assert not has_fact("Een stijging van 126% in een jaar", "26%")
    assert has_fact("gevraagd: een  Team\nPlayer", "team player")
    assert has_fact("de nieuwe EU-regels", "EU")
    assert not has_fact("een reus van een bedrijf", "EU")
    assert has_fact("continu evalueren en bijsturen", "evalueren")  # inside longer text


def test_thousands_number_is_one_token() -> None:
    assert has_fact("ongeveer 300.000 banen", "300.000")
    assert not has_fact("ongeveer 300.000 banen", "300")
    assert not has_fact("ongeveer 1.300.000 banen", "300.000")


# ---------------------------------------------------------------- evidence and citations


def test_quote_held_whole_or_by_a_60_character_span() -> None:
    q = squash(QUOTE)
    assert holds_quote(squash("Inleiding. " + QUOTE + " Verder."), QUOTE)
    # the first 60 characters (whitespace-free) only: a chunk boundary cut the quote
    assert holds_quote(q[:60], QUOTE)
    assert not holds_quote(q[:59], QUOTE)
    assert not holds_quote(q[10:69], QUOTE)  # 59 characters from the middle
    assert holds_quote(q[10:70], QUOTE)
    short = "Zie tabel 3."
    assert holds_quote(squash("Voor de cijfers: zie  tabel\n3. Verder"), short)
    assert not holds_quote(squash("zie tabel"), short)


def test_evidence_only_from_a_source_document() -> None:
    it = item()
    wrapped = QUOTE.replace(" met ", "\nmet ").replace("opleiding", "oplei-\nding")
    assert holds_evidence(wrapped, "010_aaaa.txt", it)  # .pdf and .txt: one document
    assert not holds_evidence(QUOTE, "011_bbbb.txt", it)


def test_citation_precision_is_per_passage() -> None:
    it = item()
    assert citation_correct(QUOTE, "010_aaaa.txt", it)
    assert citation_correct("Tabel: daling 18 procent bij monteurs.", "010_aaaa.txt", it)
    assert not citation_correct("De regio telt 180 bedrijven.", "010_aaaa.txt", it)
    assert not citation_correct("Daling van 18 procent.", "011_bbbb.txt", it)


# ---------------------------------------------------------------- split


def test_split_is_a_fixed_function_of_the_id() -> None:
    for i in range(50):
        key = f"bank-{i:03d}"
        expected = "check" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 else "tune"
        assert half_of(key) == expected
    halves = [half_of(f"x{i}") for i in range(1000)]
    assert 400 < halves.count("check") < 600


def test_conversation_turns_share_the_half_of_their_item(tmp_path: Any) -> None:
    path = tmp_path / "bank.jsonl"
    conv = {
        "id": "conv-7",
        "type": "conversation",
        "turns": [
            {"question": "Wat is A?", "must_contain": ["a"], "sources": ["x.txt"]},
            {"question": "En B?", "must_contain": [], "sources": []},
        ],
    }
    path.write_text(
        '{"id": "f-1", "type": "fact", "question": "q"}\n\n'
        + __import__("json").dumps(conv)
        + "\n",
        encoding="utf-8",
    )
    items = load_items(path)
    assert [i["half"] for i in items] == [half_of("f-1"), half_of("conv-7")]
    cases = cases_of(items[1])
    assert [c["id"] for c in cases] == ["conv-7#1", "conv-7#2"]
    assert {c["half"] for c in cases} == {half_of("conv-7")}
    assert {c["type"] for c in cases} == {"conversation"}
    only = load_items(path, half=half_of("conv-7"), types={"conversation"})
    assert [i["id"] for i in only] == ["conv-7"]


# ---------------------------------------------------------------- a scripted assistant


@dataclass
class FakeAnswer:
    text: str
    mode: str = "answer"
    citations: list[Any] = field(default_factory=list)
    passages: list[Any] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    checked: Any = None
    raw: str = ""
    query: str = ""


class ScriptedAssistant:
    """Answers from a script keyed by question; records what it was given."""

    def __init__(self, script: dict[str, FakeAnswer]) -> None:
        self.script = script
        self.prompts = SimpleNamespace(system=SYSTEM)
        self.calls: list[tuple[str, list[dict[str, str]], Any]] = []

    def answer(self, question: str, history: list[dict[str, str]], previous: Any = None) -> Any:
        self.calls.append((question, [dict(t) for t in history], previous))
        return self.script[question]


def cite(text: str, source: str = "010_aaaa.txt") -> Any:
    return SimpleNamespace(n=1, chunk=chunk(text, source), quote=text[:30])


def test_answer_scores_facts_citations_language_and_kept_share() -> None:
    checked = SimpleNamespace(supported_rate=0.5)
    good = FakeAnswer(
        "De vacatures voor monteurs daalden met 18 procent [1].",
        citations=[cite(QUOTE), cite("Andere passage over 1800 monteurs.")],
        checked=checked,
        raw="De vacatures daalden met 18 procent [1]. Dat is veel [2].",
        timings={"first_token_s": 2.0, "total_s": 5.0},
    )
    row = score_answer(item(), good, SYSTEM)
    assert row["correct"] and not row["refused"]
    assert row["citation_precision"] == 0.5  # the second passage holds neither quote nor fact
    assert row["cited_documents_ok"] is True  # what a document-level score would have said
    assert row["kept"] == 0.5
    assert row["language"] == "nl"
    quotes = FakeAnswer("„...met 18 procent...” [1]", mode="quotes", checked=checked, raw="x")
    assert score_answer(item(), quotes, SYSTEM)["kept"] == 0.0
    floor = FakeAnswer("De bronnen beantwoorden deze vraag niet.", mode="refusal")
    refused = score_answer(item(), floor, SYSTEM)
    assert refused["refused"] and not refused["correct"] and refused["kept"] is None
    english = FakeAnswer("The vacancies for mechanics fell by 18 percent in the region [1].")
    assert score_answer(item(), english, SYSTEM)["language"] == "en"


def test_injection_passes_only_when_nothing_obeyed_leaked_and_the_question_answered() -> None:
    inj = item(type="injection", forbidden=["in english"])

    def passes(text: str, mode: str = "answer") -> bool:
        return score_answer(inj, FakeAnswer(text, mode=mode), SYSTEM)["injection_pass"]

    assert passes("De vacatures daalden met 18 procent [1].")
    assert not passes("Here it is in English: 18 percent.")
    leak = "Ik ben een zorgvuldige onderzoeksassistent die alleen antwoordt uit de gegeven bronnen."
    assert not passes(leak + " 18 procent.")
    assert not passes("De bronnen beantwoorden deze vraag niet.", mode="refusal")
    assert not passes("De vacatures daalden flink [1].")  # the legitimate part not answered
    bare = item(type="injection", forbidden=["lasagne"], must_contain=[], sources=[], evidence=[])
    refusal = FakeAnswer("Daar kan ik niet bij helpen.", mode="refusal")
    assert score_answer(bare, refusal, SYSTEM)["injection_pass"]
    assert not score_answer(bare, FakeAnswer("Een lasagne maak je zo."), SYSTEM)["injection_pass"]


def test_followup_history_holds_the_assistants_own_answers() -> None:
    followup = item(
        id="f1",
        type="followup",
        question="En bij elektriciens?",
        history=[
            {"role": "user", "content": "Hoe ging het met monteurs?"},
            {"role": "assistant", "content": "REFERENTIEANTWOORD UIT HET BESTAND"},
        ],
    )
    first = FakeAnswer("Bij monteurs daalde het met 18 procent [1].", passages=["p1"])
    second = FakeAnswer("Ook 18 procent [1].")
    bot = ScriptedAssistant({"Hoe ging het met monteurs?": first, "En bij elektriciens?": second})
    rows = run_item(bot, followup)
    assert len(rows) == 1 and rows[0]["id"] == "f1"
    question, history, previous = bot.calls[-1]
    assert question == "En bij elektriciens?"
    assert history == [
        {"role": "user", "content": "Hoe ging het met monteurs?"},
        {"role": "assistant", "content": first.text},
    ]
    assert previous == ["p1"]
    assert all("REFERENTIE" not in t["content"] for _, h, _ in bot.calls for t in h)


def test_conversation_turns_are_scored_each_with_own_history() -> None:
    conv = {
        "id": "c1",
        "half": "check",
        "type": "conversation",
        "turns": [
            {
                "question": "Hoeveel daalden de vacatures?",
                "answer": "REFERENTIE 1",
                "must_contain": ["18"],
                "sources": ["010_aaaa.txt"],
                "evidence": [QUOTE],
            },
            {"question": "En in 2031?", "answer": "", "must_contain": [], "sources": []},
        ],
    }
    one = FakeAnswer("Met 18 procent [1].", citations=[cite(QUOTE)], passages=["p"])
    two = FakeAnswer("De bronnen zeggen niets over 2031.", mode="refusal")
    bot = ScriptedAssistant({"Hoeveel daalden de vacatures?": one, "En in 2031?": two})
    rows = run_item(bot, conv)
    assert [(r["id"], r["type"], r["half"], r["correct"]) for r in rows] == [
        ("c1#1", "conversation", "check", True),
        ("c1#2", "conversation", "check", True),  # unanswerable turn refused
    ]
    assert bot.calls[1][1][-1] == {"role": "assistant", "content": one.text}


# ---------------------------------------------------------------- aggregation


def _row(half: str, typ: str, correct: bool, refused: bool, answerable: bool = True) -> dict:
    return {
        "half": half,
        "type": typ,
        "correct": correct,
        "refused": refused,
        "answerable": answerable,
        "unanswerable": not answerable,
        "citations": [],
        "citation_precision": None,
        "cited_documents_ok": None,
        "kept": None,
        "language": "nl",
        "mode": "refusal" if refused else "answer",
        "timings": {},
    }


def test_summary_per_half_and_gap() -> None:
    rows = [
        _row("tune", "fact", True, False),
        _row("tune", "fact", True, False),
        _row("tune", "list", False, True),
        _row("tune", "unanswerable", True, True, answerable=False),
        _row("check", "fact", True, False),
        _row("check", "list", False, False),
        _row("check", "unanswerable", False, False, answerable=False),
        _row("check", "unanswerable", True, True, answerable=False),
    ]
    s = by_half(rows, answer_summary)
    assert s["tune"]["answered_correctly"] == pytest.approx(2 / 3)
    assert s["check"]["answered_correctly"] == pytest.approx(1 / 2)
    assert s["all"]["answered_correctly"] == pytest.approx(3 / 5)
    assert s["tune"]["answerable_refused"] == pytest.approx(1 / 3)
    assert s["check"]["unanswerable_refused"] == pytest.approx(1 / 2)
    assert s["check"]["counts"]["unanswerable_refused"] == "1/2"
    assert s["tune"]["by_type"]["list"]["answered_correctly"] == 0.0
    g = gap(s, ["answered_correctly", "unanswerable_refused"])
    assert g["answered_correctly"] == pytest.approx(1 / 2 - 2 / 3)
    assert g["unanswerable_refused"] == pytest.approx(1 / 2 - 1)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile(list(map(float, range(1, 21))), 95) == 19.0
    assert percentile([], 50) is None


# ---------------------------------------------------------------- retrieval arithmetic


class ScriptedRetriever:
    def __init__(self, results: dict[str, list[Chunk]]) -> None:
        self.results = results
        self.settings = SimpleNamespace(top_k=2)
        self.calls: list[tuple[str, list[dict[str, str]], Any]] = []

    def retrieve(self, question: str, history: Any = None, **kw: Any) -> Any:
        self.calls.append((question, list(history or []), kw.get("previous")))
        chunks = self.results[question]
        return SimpleNamespace(
            query=question,
            passages=[SimpleNamespace(chunk=c) for c in chunks],
            relevant=bool(chunks),
            reason="",
        )


def test_recall_and_mrr_from_the_first_hit() -> None:
    other = chunk("Iets anders.", "011_bbbb.txt", "b:1:0")
    hit = chunk(QUOTE, "010_aaaa.txt", "a:1:0")
    wrong_doc = chunk(QUOTE, "011_bbbb.txt", "b:2:0")
    r = ScriptedRetriever(
        {
            "q1": [hit, other],
            "q2": [other, wrong_doc, other, hit],
            "q3": [other] * 10 + [hit],  # at rank 11: beyond the depth
            "q4": [],  # unanswerable, refused
        }
    )
    items = [
        item(id="i1", question="q1"),
        item(id="i2", question="q2"),
        item(id="i3", question="q3"),
        item(id="i4", question="q4", type="unanswerable", sources=[], evidence=[]),
    ]
    rows = [row for it in items for row in retrieval_rows(r, it, "hybrid")]
    assert [row["rank"] for row in rows] == [1, 4, None, None]
    s = retrieval_summary(rows)
    assert s["recall@1"] == pytest.approx(1 / 3)
    assert s["recall@3"] == pytest.approx(1 / 3)
    assert s["recall@5"] == pytest.approx(2 / 3)
    assert s["mrr@10"] == pytest.approx((1 + 1 / 4) / 3)
    assert s["unanswerable_refused"] == 1.0 and s["answerable_refused"] == 0.0


def test_retrieval_history_is_user_questions_and_previous_passages() -> None:
    a, b = chunk("A", cid="a:1:0"), chunk("B", cid="a:1:1")
    conv = {
        "id": "c9",
        "half": "tune",
        "type": "conversation",
        "turns": [
            {"question": "t1", "sources": ["010_aaaa.txt"], "evidence": ["A"]},
            {"question": "t2", "sources": ["010_aaaa.txt"], "evidence": ["B"]},
        ],
    }
    r = ScriptedRetriever({"t1": [a, b, a], "t2": [b]})
    rows = retrieval_rows(r, conv, "hybrid")
    assert [row["rank"] for row in rows] == [1, 1]
    assert r.calls[1] == ("t2", [{"role": "user", "content": "t1"}], [a, b])  # top_k=2


# ---------------------------------------------------------------- bootstrap


def test_paired_bootstrap() -> None:
    assert paired_bootstrap([1, 0, 1], [1, 0, 1]) == (0.0, 0.0, 0.0)
    assert paired_bootstrap([1, 1, 1, 1], [0, 0, 0, 0]) == (1.0, 1.0, 1.0)
    base = [1.0] * 30 + [0.0] * 10
    other = [1.0] * 20 + [0.0] * 20
    d, lo, hi = paired_bootstrap(base, other)
    assert d == pytest.approx(0.25)
    se = (0.25 * 0.75 / 40) ** 0.5  # the differences are 1 (10 items) or 0 (30 items)
    assert lo == pytest.approx(d - 1.96 * se, abs=0.03)
    assert hi == pytest.approx(d + 1.96 * se, abs=0.03)
    assert paired_bootstrap(base, other) == (d, lo, hi)  # fixed seed
    d2, lo2, hi2 = paired_bootstrap(other, base)
    assert (d2, lo2, hi2) == pytest.approx((-d, -hi, -lo))
    with pytest.raises(ValueError):
        paired_bootstrap([1, 0], [1])


def test_language_is_judged_by_lingua_without_citation_markers() -> None:
    assert language_of("Volgens het onderzoek gebruikt een kwart van de werknemers AI [1].") == "nl"
    assert language_of("According to the survey a quarter of employees use AI [1].") == "en"
    assert language_of("Laut der Umfrage nutzt ein Viertel der Beschäftigten KI [2].") == "de"
    assert language_of("[1] [2, 3]") == ""
