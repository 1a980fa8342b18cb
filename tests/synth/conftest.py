"""A small synth dataset rendered once per test session, shared by the tests of finsta_cli/synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.synth.generate import SynthConfig, generate_dataset
from finsta_cli.synth.records import SPLITS

SESSION_VIDEOS = 24


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    summary = generate_dataset(SynthConfig(videos=SESSION_VIDEOS, seed=3), out, quiet=True)
    assert summary.failed == 0
    return out


@pytest.fixture(scope="session")
def synth_records(synth_dir: Path) -> list[dict[str, Any]]:
    records = []
    for split in SPLITS:
        with (synth_dir / f"{split}.jsonl").open(encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle]
    return records
