"""Shared fixtures: an isolated cache folder, the CLI runner, and the ../shared benchmarks path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

# repo_env is re-exported for tests/align and tests/io/test_executor.py, which other branches own;
# new tests import it from tests.helpers.
from tests.helpers import REPO, repo_env  # noqa: F401

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
