"""A fusion-mode align-train run on the session's synth set (3 steps, ground-truth DSGs without
detector features), built once per session; tests of ``eval --with-graphs`` import it."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)

_BUILT: dict[Path, Path] = {}


def build_fusion_run(align_set: AlignSet, out: Path) -> Path:
    """``align-train --mode fusion`` for 3 steps; returns its checkpoint.pt."""
    from finsta_cli.cli.app import app

    args = ["align-train", "--data", str(align_set.data), "--out", str(out), "--config",
            str(align_set.config), "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg),
            "--hsg", str(align_set.hsg), "--mode", "fusion", "--steps", "3", "--seed", "0",
            "-q"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out / "checkpoint.pt"


@pytest.fixture(scope="session")
def fusion_checkpoint(align_set: AlignSet) -> Path:
    if align_set.root not in _BUILT:
        _BUILT[align_set.root] = build_fusion_run(align_set, align_set.root / "runs" / "fusion")
    return _BUILT[align_set.root]
