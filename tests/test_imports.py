"""How finsta's modules import each other: no import cycle when the package is imported, none at
all (lazy and type-checking imports included) inside the packages that have none, and no private
name taken from another module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import finsta_cli

ROOT = Path(finsta_cli.__file__).parent

# Packages whose modules import each other in one direction only, counting the imports inside
# functions and under TYPE_CHECKING too. The others have type-only or lazy back references
# (text: graph_builder <-> pronouns / temporal_order for the builder's type; io: executor <->
# stage for StageRun's type; hosts: the factory's lazy host constructors): no cycle at import
# time (checked for the whole package below), but not one-directional either.
ONE_WAY = [
    "align", "cli", "datasets", "graph", "hosts.clip4clip", "hsg", "nn", "schema", "synth",
    "tasks", "text.learned", "video",
]  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imports(path: Path, *, import_time_only: bool = False) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of a file; ``import_time_only``: those that run when the module is
    imported (not inside functions, not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not import_time_only:
        return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return found


def _named(node: ast.Import | ast.ImportFrom) -> list[str]:
    """What an import statement names: modules, and ``module.name`` for each name taken."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    module = node.module or ""
    return [module, *(f"{module}.{alias.name}" for alias in node.names)]


def _module_of(name: str) -> str | None:
    """The finsta module a dotted name lives in (``finsta_cli.io.stage.StageRun``: io.stage)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of a directed graph, as the nodes walked (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if not state.get(target):
                found = walk(target)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if not state.get(start):
            found = walk(start)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_importing_finsta_runs_into_no_import_cycle() -> None:
    edges = {
        name: {
            target
            for node in _imports(path, import_time_only=True)
            for named in _named(node)
            if named.startswith("finsta_cli") and (target := _module_of(named)) not in (None, name)
        }
        for name, path in MODULES.items()
    }
    assert len(edges) > 100  # the walk sees the package
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("package", ONE_WAY)
def test_package_modules_import_each_other_one_way(package: str) -> None:
    prefix = f"finsta_cli.{package}."
    modules = {
        name.removeprefix(prefix): path
        for name, path in MODULES.items()
        if name.startswith(prefix) and "." not in name.removeprefix(prefix)
    }
    assert modules, package
    edges = {
        name: {
            named.removeprefix(prefix).split(".")[0]
            for node in _imports(path)
            for named in _named(node)
            if named.startswith(prefix)
        }
        & (set(modules) - {name})
        for name, path in modules.items()
    }
    cycle = find_cycle(edges)
    assert cycle is None, f"{package}: " + " -> ".join(cycle)


def test_no_private_name_is_imported_from_another_module() -> None:
    for name, path in MODULES.items():
        for node in _imports(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("finsta_cli"):
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]  # fmt: skip
                assert not private, f"{name} imports {private} from {node.module}"
