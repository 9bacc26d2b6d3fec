"""The house rules of the code, read from its source: the package reads top-down (no import between two of its
parts runs both ways, directly or round a circle), every module says what it owns, and none is over 300 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "qa").rglob("*.py"), *(ROOT / "ui").glob("*.py")])
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    """The part of the house a module belongs to: its subpackage of qa (qa.answer, qa.server, ...), or the
    top-level module itself (qa.api, qa.settings); `qa` is the package's own __init__."""
    parts = module.split(".")
    if parts[0] != "qa" or len(parts) == 1:
        return parts[0] if parts[0] != "qa" else "qa"
    return f"qa.{parts[1]}"


def imports(path: Path) -> Iterator[str]:
    """Every module of ours that `path` imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def room_graph() -> dict[str, set[str]]:
    known = {module_name(p) for p in SOURCES}
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        here = room(module_name(path))
        used = {room(m) for m in imports(path) if m in known}
        graph.setdefault(here, set()).update(used - {here})
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of rooms, if there is one."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_rooms_of_the_house_import_top_down_with_no_circle() -> None:
    graph = room_graph()
    assert {"qa.answer", "qa.index", "qa.ingest", "qa.server", "qa.records", "qa.text"} <= set(graph)
    assert cycle(graph) is None, f"imports run round a circle: {' -> '.join(cycle(graph) or [])}"


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_library_never_imports_its_front_ends() -> None:
    """The layers below the public surface know nothing of the CLI, the HTTP service, the app or evaluation."""
    graph = room_graph()
    low = ("qa.records", "qa.text", "qa.injection", "qa.index", "qa.ingest", "qa.answer", "qa.llm", "qa.api")
    front = {"qa.cli", "qa.server", "qa.evaluation", "ui"}
    for name in low:
        assert not graph.get(name, set()) & front, f"{name} imports {graph[name] & front}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_module_says_what_it_owns_and_stays_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if not text.strip():  # an empty __init__.py of a plain folder (ui/)
        return
    assert ast.get_docstring(ast.parse(text)), "a module docstring saying what the module owns"
    assert len(text.splitlines()) <= MAX_LINES, f"{len(text.splitlines())} lines; split it by job"
