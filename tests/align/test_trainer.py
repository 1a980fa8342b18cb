"""align-train's run: exact resume after SIGKILL, and training on detector DSGs (region features
from build-dsg's .pt files)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.hosts.factory import load_checkpoint
from tests.align.fixtures import AlignSet, DetectorSet
from tests.helpers import repo_env

STEPS = 8
EVERY = 2


def _command(align_set: AlignSet, out: Path, config: Path, *extra: str) -> list[str]:
    return ["align-train", "--data", str(align_set.data), "--out", str(out), "--config",
            str(config), "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg), "--hsg",
            str(align_set.hsg), "-q", *extra]  # fmt: skip


def _rows(run: Path) -> list[dict[str, float]]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("samples_per_s")
    return rows


@pytest.mark.parametrize("threads", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_resume_after_sigkill_reaches_the_same_weights(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, threads: int
) -> None:
    """Bit-identical, as docs/align-train.md says: the same --threads for both runs, CPU."""
    # Dropout stays on (0.1): the saved random state matters as much as the weights.
    config = align_set.write_config(
        tmp_path / "c.yaml", steps=STEPS, checkpoint_every=EVERY, warmup_steps=2, seed=7,
        threads=threads,
    )  # fmt: skip
    killed = tmp_path / "killed"
    log = tmp_path / "killed.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "finsta_cli", *_command(align_set, killed, config)],
            env=repo_env(), stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            state = killed / "train_state.pt"
            deadline = time.monotonic() + 300
            while not state.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)  # a no-op if it has ended (and been reaped)
        finally:
            process.wait(timeout=60)
    stderr = log.read_text(errors="replace")[-4000:]
    assert process.returncode == -signal.SIGKILL, stderr
    assert not (killed / "checkpoint.pt").exists()
    killed_at = int(load_checkpoint(state)["step"])
    assert killed_at % EVERY == 0 and 0 < killed_at < STEPS

    # The same run, uninterrupted.
    whole = tmp_path / "whole"
    result = runner.invoke(app, _command(align_set, whole, config))
    assert result.exit_code == 0, result.output

    result = runner.invoke(app, [*_command(align_set, killed, config), "--resume", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[result.stdout.index("{") :])
    assert payload["resumed_from"] == killed_at

    a, b = load_checkpoint(killed / "checkpoint.pt"), load_checkpoint(whole / "checkpoint.pt")
    assert a["host"].keys() == b["host"].keys()
    for key, value in b["host"].items():
        assert torch.equal(a["host"][key], value), key
    a, b = load_checkpoint(killed / "train_state.pt"), load_checkpoint(whole / "train_state.pt")
    assert a["step"] == b["step"] == STEPS
    for key, value in b["model"].items():  # the scene-graph encoders too
        assert torch.equal(a["model"][key], value), key
    resumed, reference = _rows(killed), _rows(whole)
    assert [r["step"] for r in resumed] == list(range(1, STEPS + 1))  # no duplicated rows
    assert resumed == reference  # the killed run's rows were kept, the rest are the same


@pytest.mark.slow
def test_train_on_detector_dsgs(
    runner: CliRunner, align_set: AlignSet, detector_set: DetectorSet, tmp_path: Path
) -> None:
    run = tmp_path / "detector"
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), "--tsg", str(align_set.tsg), "--dsg", str(detector_set.dsg),
               "--hsg", str(detector_set.hsg), "--mode", "fusion", "--json", "-q"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["warnings"] == [] and payload["counts"]["videos_with_dsg"] == 9
    assert payload["counts"]["osc_anchors"] > 0 and payload["counts"]["ptc_anchors"] > 0
    checkpoint = load_checkpoint(run / "checkpoint.pt")
    region_dim = json.loads(checkpoint["sg_config"])["region_dim"]
    assert region_dim > 0  # the detector's region features are inputs of the DSG encoder
    inputs = region_dim + json.loads(checkpoint["host_config"])["feature_dim"]  # + host patches
    assert any(v.shape[-1] == inputs for k, v in checkpoint["sg"].items() if "dsg_encoder" in k)
