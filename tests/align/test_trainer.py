"""align-train's trainer: exact resume after SIGKILL, the batch plan and the schedule, and
training on detector DSGs (region features from build-dsg's .pt files)."""

from __future__ import annotations

import itertools
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.align.trainer import (
    BatchPlan,
    _deterministic_on_cpu,
    check_gradients,
    check_losses,
    check_weights,
    schedule_factor,
)
from finsta_cli.cli.app import app
from finsta_cli.errors import NonFiniteError
from finsta_cli.hosts.factory import load_checkpoint
from tests.align.fixtures import AlignSet, DetectorSet
from tests.conftest import repo_env

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


def test_batch_plan_is_a_function_of_seed_and_step() -> None:
    plan = BatchPlan([1, 2, 3, 1, 2, 2, 1], batch_size=3, seed=5)
    assert plan.per_epoch == 2
    again = BatchPlan([1, 2, 3, 1, 2, 2, 1], batch_size=3, seed=5)
    assert [plan.batch(s) for s in range(6)] == [again.batch(s) for s in range(6)]
    for step in range(6):
        batch = plan.batch(step)
        assert len(batch) == 3 and len({v for v, _ in batch}) == 3
        assert all(0 <= c < plan.counts[v] for v, c in batch)
    # An epoch never shows a video twice; another seed gives another order.
    epoch = [v for s in range(2) for v, _ in plan.batch(s)]
    assert len(set(epoch)) == 6
    other = BatchPlan([1, 2, 3, 1, 2, 2, 1], batch_size=3, seed=6)
    assert [other.batch(s) for s in range(6)] != [plan.batch(s) for s in range(6)]


def test_schedule_warms_up_then_decays_to_zero() -> None:
    factors = [schedule_factor(step, 4, 20) for step in range(21)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(factors[4:]))
    assert factors[20] == pytest.approx(0.0, abs=1e-12)
    assert schedule_factor(0, 0, 10) == pytest.approx(1.0)


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


def test_cpu_training_picks_deterministic_kernels() -> None:
    """With 2 threads the backward of x[index] (the graph encoders' gathers) adds in an order
    that depends on thread timing; inside align-train's CPU setting it does not, and the
    setting is undone afterwards."""
    threads = torch.get_num_threads()
    generator = torch.Generator().manual_seed(0)
    nodes = torch.randn(50, 32, generator=generator)
    index = torch.randint(0, 50, (5000,), generator=generator)
    weight = torch.randn(5000, 32, generator=generator)

    def gradient() -> torch.Tensor:
        x = nodes.clone().requires_grad_(True)
        (x[index] * weight).sum().backward()
        assert x.grad is not None
        return x.grad

    torch.set_num_threads(2)
    restore = _deterministic_on_cpu("cpu")
    try:
        assert torch.are_deterministic_algorithms_enabled()
        first = gradient()
        assert all(torch.equal(first, gradient()) for _ in range(10))
    finally:
        restore()
        torch.set_num_threads(threads)
    assert not torch.are_deterministic_algorithms_enabled()
    _deterministic_on_cpu("cuda:0")()  # CUDA: left as it is
    assert not torch.are_deterministic_algorithms_enabled()


def test_a_non_finite_loss_names_its_terms() -> None:
    good = "the last good train state (step 2) is kept in RUN/train_state.pt"
    check_losses(3, {"vtc": 1.0, "osc": 0.5, "loss": 1.5}, ["a", "b"], good)  # finite: fine
    with pytest.raises(NonFiniteError) as info:
        check_losses(3, {"vtc": 1.0, "osc": math.nan, "loss": math.nan}, ["a", "b"], good)
    assert info.value.message == "step 3: loss is nan (component: osc nan); batch videos: a, b"
    assert info.value.hint is not None and good in info.value.hint
    with pytest.raises(NonFiniteError, match=r"\(components: osc nan, kd inf\)"):
        check_losses(4, {"osc": math.nan, "kd": math.inf, "loss": math.nan}, ["a"], good)
    with pytest.raises(NonFiniteError, match="every component is finite: their weighted sum"):
        check_losses(5, {"vtc": 3e38, "osc": 3e38, "loss": math.inf}, ["a"], good)


def test_non_finite_gradients_and_weights_are_named() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    check_gradients(7, 0.0, model, "no state")  # finite: fine
    model[1].weight.grad[0, 0] = math.inf  # type: ignore[index]
    with pytest.raises(
        NonFiniteError, match=r"^step 7: gradient norm is inf \(not finite in 1\.weight\)"
    ):
        check_gradients(7, math.inf, model, "no state")
    check_weights(8, model, "no state")
    with torch.no_grad():
        model[0].bias[1] = math.nan  # type: ignore[index]
    with pytest.raises(
        NonFiniteError, match=r"^step 8: the weights are not finite after the update: '0\.bias'"
    ):
        check_weights(8, model, "no state")
