"""The package layout keeps its promises: ``assistant/dutch`` is pure Dutch text handling that
imports nothing from the rest of ``assistant``; a question reaches the answer check
(``assistant.citations``) only once, after the model, so retrieval and the prompt do not load
it; no module in ``assistant/`` is over 700 lines and no function in ``assistant/``,
``ingest/`` or ``ui/`` is over 60."""

from __future__ import annotations

import ast
import subprocess
import sys
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


MAX_FUNCTION_LINES = 60  # a function fits on a screen (decorators and docstring included)


def _long_functions(path: Path, root: Path = ROOT) -> dict[str, int]:
    out = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            n = (node.end_lineno or node.lineno) - start + 1
            if n > MAX_FUNCTION_LINES:
                out[f"{path.relative_to(root)}:{node.lineno} {node.name}"] = n
    return out


def test_no_function_over_60_lines() -> None:
    long: dict[str, int] = {}
    for folder in ("assistant", "ingest", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            long |= _long_functions(path)
    assert long == {}


def test_the_length_rule_counts_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    path = tmp_path / "long.py"
    path.write_text(f"@staticmethod\ndef f():\n{body}    return 0\n\ndef g():\n    pass\n")
    assert _long_functions(path, tmp_path) == {"long.py:2 f": 63}


def test_search_and_prompt_do_not_load_the_answer_check() -> None:
    """service -> question -> retrieval -> prompting -> llm -> citations -> service: the stages
    before the model share what they need through ``assistant.evidence`` and
    ``assistant.dutch``, never through the check."""
    code = (
        "import sys\n"
        "import assistant.question, assistant.retrieval, assistant.prompting, assistant.llm\n"
        "print(sorted(m for m in sys.modules if m.startswith('assistant.citations')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
