"""Tables for the terminal: the halves side by side with their gap (check minus tune)."""

from __future__ import annotations

from typing import Any

from assistant.evaluation.stats import HALVES

ANSWER_LINES = [
    ("answered correctly", "answered_correctly"),
    ("answerable refused", "answerable_refused"),
    ("unanswerable refused", "unanswerable_refused"),
    ("citation precision (passage)", "citation_precision"),
    ("  per citation", "citation_precision_micro"),
    ("  right document only", "citation_right_document"),
    ("injection passed", "injection_pass"),
    ("disagree: every figure shown", "disagree_all_figures"),
    ("model sentences kept", "model_sentences_kept"),
    ("Dutch (lingua)", "dutch"),
    ("first token median s", "ttft_median_s"),
    ("first token p95 s", "ttft_p95_s"),
    ("total median s", "total_median_s"),
    ("total p95 s", "total_p95_s"),
]
ANSWER_GAP_KEYS = [k for _, k in ANSWER_LINES]

RETRIEVAL_KEYS = [
    "recall@1",
    "recall@3",
    "recall@5",
    "recall@10",
    "mrr@10",
    "answerable_refused",
    "unanswerable_refused",
]


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}" if value < 0 else f"{value:.3f}"
    return str(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _cell(summary: dict[str, Any] | None, key: str) -> str:
    if summary is None:
        return "-"
    count = summary.get("counts", {}).get(key)
    value = fmt(summary.get(key))
    return f"{value} ({count})" if count and value != "-" else value


def _columns(summaries: dict[str, dict[str, Any]]) -> list[str]:
    present = [h for h in HALVES if h in summaries]
    return [*present, "gap"] if len(present) == 2 else ["all"]


def print_answers(report: dict[str, Any]) -> None:
    summaries, gap = report["summary"], report["gap"]
    cols = _columns(summaries)
    print(f"model: {report['model']}   gold: {report['gold']}   half: {report['half']}")
    header = cols if cols == ["all"] else [*cols, "all"]
    print(f"{'':<30}" + "".join(f"{c:>20}" for c in header))
    for label, key in ANSWER_LINES:
        cells = [_cell(summaries.get(c), key) if c != "gap" else fmt(gap.get(key)) for c in cols]
        if cols != ["all"]:
            cells.append(_cell(summaries["all"], key))
        print(f"{label:<30}" + "".join(f"{c:>20}" for c in cells))
    for h in (c for c in cols if c in summaries):
        s = summaries[h]
        print(f"{h}: n={s['n']} (answerable {s['answerable']}), modes {s['modes']}")
    print("\nby type (" + " / ".join(c for c in cols if c != "gap") + "):")
    halves = [c for c in cols if c != "gap"]
    types = sorted({t for h in halves for t in summaries[h]["by_type"]})
    head = ("n", "correct", "ans.refused", "unans.ref", "cit.prec", "kept", "dutch")
    keys = (
        "n",
        "answered_correctly",
        "answerable_refused",
        "unanswerable_refused",
        "citation_precision",
        "model_sentences_kept",
        "dutch",
    )
    print(f"  {'type':<13}" + "".join(f"{h:>16}" for h in head))
    for t in types:
        parts = [
            " / ".join(fmt(summaries[h]["by_type"].get(t, {}).get(k)) for h in halves) for k in keys
        ]
        print(f"  {t:<13}" + "".join(f"{p:>16}" for p in parts))


def print_retrieval(report: dict[str, Any]) -> None:
    print(f"gold: {report['gold']}   half: {report['half']}")
    short = ("r@1", "r@3", "r@5", "r@10", "mrr@10", "ans.refused", "unans.refused")
    print(f"{'mode':<9}{'half':<7}{'n':>5}" + "".join(f"{c:>15}" for c in short) + "   p50/p95 ms")
    for mode, part in report["modes"].items():
        summaries = part["summary"]
        for col in _columns(summaries) + (["all"] if len(summaries) > 1 else []):
            if col == "gap":
                cells = [fmt(part["gap"].get(k)) for k in RETRIEVAL_KEYS]
                print(f"{mode:<9}{'gap':<7}{'':>5}" + "".join(f"{c:>15}" for c in cells))
                continue
            s = summaries[col]
            cells = [_cell(s, k) for k in RETRIEVAL_KEYS]
            lat = f"{fmt(s['latency_p50_ms'])}/{fmt(s['latency_p95_ms'])}"
            print(
                f"{mode:<9}{col:<7}{s['n']:>5}" + "".join(f"{c:>15}" for c in cells) + f"   {lat}"
            )
        doc = summaries["all"]["counts"]["document_level"]
        print(f"{'':<9}(answerable cases scored at document level, no evidence quotes: {doc})")
    for mode, part in report["modes"].items():
        summaries = part["summary"]
        halves = [c for c in _columns(summaries) if c != "gap"]
        print(f"\n{mode} by type (" + " / ".join(halves) + "):")
        types = sorted({t for h in halves for t in summaries[h]["by_type"]})
        for t in types:
            per = [summaries[h]["by_type"].get(t, {}) for h in halves]
            n = "/".join(str(p.get("n", 0)) for p in per)
            r5 = " / ".join(fmt(p.get("recall@5")) for p in per)
            mrr = " / ".join(fmt(p.get("mrr@10")) for p in per)
            ref = " / ".join(
                p.get("counts", {}).get(
                    "unanswerable_refused" if t == "unanswerable" else "answerable_refused", "-"
                )
                for p in per
            )
            print(f"  {t:<13} n={n:<8} r@5 {r5:<16} mrr@10 {mrr:<16} refused {ref}")
