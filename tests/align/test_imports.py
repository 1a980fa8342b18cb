"""How the modules of finsta_cli/align import each other: no import cycle (lazy and
type-checking imports included) and no private name taken from another module."""

from __future__ import annotations

import ast
from pathlib import Path

import finsta_cli.align

PACKAGE = Path(finsta_cli.align.__file__).parent
PREFIX = "finsta_cli.align."


def _imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def _modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PACKAGE.glob("*.py")) if path.stem != "__init__"}


def _targets(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The align modules an import statement names (``from finsta_cli.align import data`` too)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        module = node.module or ""
        names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return {name.removeprefix(PREFIX).split(".")[0] for name in names if name.startswith(PREFIX)}


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    def walk(path: list[str]) -> list[str] | None:
        for target in sorted(edges[path[-1]]):
            if target == path[0]:
                return [*path, target]
            if target not in path:
                found = walk([*path, target])
                if found:
                    return found
        return None

    for start in sorted(edges):
        cycle = walk([start])
        if cycle:
            return cycle
    return None


def test_align_modules_import_no_cycle() -> None:
    modules = _modules()
    edges = {
        name: {t for node in _imports(path) for t in _targets(node) if t in modules and t != name}
        for name, path in modules.items()
    }
    assert {"trainer", "checkpoint"} <= set(modules)  # the walk sees the package
    cycle = _find_cycle(edges)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_name_is_imported_across_modules() -> None:
    for path in [PACKAGE / "__init__.py", *_modules().values()]:
        for node in _imports(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("finsta_cli"):
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]  # fmt: skip
                assert not private, f"{path.name} imports {private} from {node.module}"
