"""Fixtures of the video tests: a few rendered synth videos, their ground truth as a detections
file, and small mp4 files written with PyAV."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.synth.generate import SynthConfig, generate_dataset
from tests.video.helpers import write_gt_detections


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-video")
    summary = generate_dataset(SynthConfig(videos=6, seed=11), out, quiet=True)
    assert summary.failed == 0
    return out


@pytest.fixture(scope="session")
def gt_detections(synth_dir: Path) -> Path:
    """The synth ground truth as a generic detections file (no track ids)."""
    return write_gt_detections(
        synth_dir, synth_dir.parent / f"{synth_dir.name}-gt-detections.jsonl"
    )
