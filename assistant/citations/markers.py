"""Citation markers in the model's answer: "[1]", "[1, 3]", "[1-3]", "【1】", "(bron 2)".

Trade-off: a lenient reader (the small model writes markers in many shapes) and one strict
writer: markers are always rendered as "[1][3]".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.dutch.sentences import MARKER_RE, MARKER_RUN_RE, tidy

_NUMS_IN_MARKER_RE = re.compile(r"(\d{1,3})(?:\s*[-–]\s*(\d{1,3}))?")


def _marker_numbers(marker_text: str) -> list[int]:
    out: list[int] = []
    for m in _NUMS_IN_MARKER_RE.finditer(marker_text):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        out.extend(range(lo, hi + 1) if 0 <= hi - lo <= 10 else (lo, hi))
    return out


def dedupe(items: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(items))


def parse_markers(text: str) -> list[int]:
    """Passage numbers cited in ``text``, in order of first appearance, without duplicates.

    Understands "[1]", "[1, 3]", "[1][2]", "[1] [2]", "[1-3]", "【1】", "[bron 2]", "(bron 2)".
    Numbers of four digits ("[2025]") are not markers.
    """
    return dedupe(n for m in MARKER_RE.finditer(text) for n in _marker_numbers(m.group(0)))


def render(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def strip_invalid_markers(text: str, valid: set[int]) -> str:
    """Remove marker numbers that point at no passage and normalise runs to "[1][3]"."""

    def repl(m: re.Match[str]) -> str:
        return render([n for n in dedupe(_marker_numbers(m.group(0))) if n in valid])

    return tidy(MARKER_RUN_RE.sub(repl, text))
