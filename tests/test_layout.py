"""The package layout keeps its promises: ``assistant/dutch`` is pure Dutch text handling that
imports nothing from the rest of ``assistant``, and no module in ``assistant/`` is over 700
lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUTCH = ROOT / "assistant" / "dutch"


def _imports(path: Path) -> list[str]:
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                out.append("assistant.dutch" + ("." + node.module if node.module else ""))
            elif node.module:
                out.append(node.module)
    return out


def _outside_dutch(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if (m == "assistant" or m.startswith("assistant."))
        and not (m == "assistant.dutch" or m.startswith("assistant.dutch."))
    ]


def test_dutch_imports_nothing_else_from_assistant() -> None:
    files = sorted(DUTCH.glob("*.py"))
    assert len(files) >= 4  # __init__, text, sentences, language
    offenders = {f.name: _outside_dutch(_imports(f)) for f in files}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_import_rule_catches_an_import_from_assistant(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from assistant.chunks import Chunk\nimport assistant.settings\n"
        "from assistant.dutch.text import fold\n",
        encoding="utf-8",
    )
    assert _outside_dutch(_imports(bad)) == ["assistant.chunks", "assistant.settings"]


def test_no_module_in_assistant_over_700_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "assistant").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert long == {}
