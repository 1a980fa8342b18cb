"""Tests of how the modules of finsta_cli/video import each other: no import cycles (lazy and
type-checking imports included) and no private names taken from another module."""

from __future__ import annotations

import ast
from pathlib import Path

import finsta_cli.video

PACKAGE = Path(finsta_cli.video.__file__).parent


def _imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def _video_modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PACKAGE.glob("*.py")) if path.stem != "__init__"}


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]


def test_video_modules_import_no_cycle() -> None:
    modules = _video_modules()
    edges = {
        name: {
            target.removeprefix("finsta_cli.video.")
            for node in _imports(path)
            for target in _imported_modules(node)
            if target.removeprefix("finsta_cli.video.") in modules and target != name
        }
        for name, path in modules.items()
    }

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for target in sorted(edges[start]):
            if target == path[0]:
                return [*path, target]
            if target not in path:
                found = cycle_from(target, [*path, target])
                if found:
                    return found
        return None

    for name in modules:
        cycle = cycle_from(name, [name])
        assert cycle is None, " -> ".join(cycle)


def test_no_private_name_is_imported_from_another_module() -> None:
    for path in [PACKAGE / "__init__.py", *_video_modules().values()]:
        for node in _imports(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("finsta_cli"):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
