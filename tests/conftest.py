"""Shared fixtures: an isolated cache folder, the CLI runner, the ../shared benchmarks path, and a
fusion-mode align-train checkpoint (for the tests of ``eval --with-graphs``)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.helpers import REPO

SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    # Each test gets its own finsta cache unless the user pointed ultralytics elsewhere already.
    cache = tmp_path_factory.getbasetemp() / "finsta-cache"
    monkeypatch.setenv("FINSTA_CACHE_DIR", str(cache))
    yield


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def shared_benchmarks() -> Path:
    """../shared/benchmarks; tests that use it skip when it is absent (as on a user's machine)."""
    if not SHARED_BENCHMARKS.is_dir():
        pytest.skip("../shared/benchmarks is not present")
    return SHARED_BENCHMARKS


_FUSION_RUNS: dict[Path, Path] = {}


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
    """A fusion-mode align-train run on the session's synth set (3 steps, ground-truth DSGs
    without detector features), built once per session."""
    if align_set.root not in _FUSION_RUNS:
        _FUSION_RUNS[align_set.root] = build_fusion_run(
            align_set, align_set.root / "runs" / "fusion"
        )
    return _FUSION_RUNS[align_set.root]
