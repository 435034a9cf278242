"""The shape of the code: each folder does one job, and the rules that keep it so are checked here.

`models/` never imports `telegram`, `bot` or `handlers` (ruff's banned-api rule, `models/ruff.toml`,
fails the lint step; the test below fails the test run too). `handlers/` holds no loop and no job,
and no handler module grows past a size a newcomer can read. No two modules import each other,
directly or round a longer circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("bot", "handlers", "models", "schedule", "simulator", "web")
HANDLER_MODULE_MAX_LINES = 400
# What only a running part may do: start a task or schedule a job.
BACKGROUND_CALLS = {"create_task", "ensure_future", "run_repeating", "run_once", "run_daily", "run_custom"}


def _modules(package: str) -> list[Path]:
    return sorted(path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, *, top_level_only: bool) -> set[str]:
    """First-party modules imported by a module (outside `if TYPE_CHECKING:` blocks)."""
    found: set[str] = set()
    package = module if module in FIRST_PARTY else module.rsplit(".", 1)[0]

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            if top_level_only:
                if isinstance(node, ast.If | ast.Try):
                    visit(node.body)
                    visit(node.orelse)
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])

    visit(tree.body)
    return {name for name in found if name.split(".")[0] in FIRST_PARTY}


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    paths = [path for package in FIRST_PARTY for path in _modules(package)]
    names = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imports(tree, module, top_level_only=top_level_only)
        # `from pkg import name` names a module only when `pkg.name` is one.
        graph[module] = {name for name in imported if name in names and name != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, if there is any (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ importing its own modules is how packages are built, not a circle.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_models_import_neither_telegram_nor_the_bot() -> None:
    """The domain layer knows nothing of Telegram, the bot's wiring or the handlers."""
    offenders = []
    for path in _modules("models"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.split(".")[0] in {"telegram", "bot", "handlers"}
            ]
    assert offenders == []


def test_no_import_circle() -> None:
    """No module imports itself back through others, even from inside a function."""
    assert _cycle(_graph(top_level_only=False)) is None


@pytest.mark.parametrize("path", _modules("handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_handler_modules_stay_small(path: Path) -> None:
    """A handler module is read in one sitting: parse, call the domain, render."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= HANDLER_MODULE_MAX_LINES, f"{lines} lines"


@pytest.mark.parametrize("path", _modules("handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_handlers_start_no_task_and_no_job(path: Path) -> None:
    """Loops and jobs live in `schedule/` (named jobs rebuilt at start), never in a handler."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert calls & BACKGROUND_CALLS == set()


def test_the_cycle_finder_finds_a_circle() -> None:
    """The check above would see a circle if there were one."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
