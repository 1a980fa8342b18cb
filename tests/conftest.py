"""Shared fixtures: an isolated cache folder, the CLI runner, and the ../shared benchmarks path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
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


def repo_env() -> dict[str, str]:
    """The environment for subprocess tests: this interpreter's, with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
