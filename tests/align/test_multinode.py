"""align-train on several nodes: two torchrun agents (one rank each) meet by c10d rendezvous as
two nodes would, are killed after a step, and the run resumes on one process (another world
size) to the same weights as one process that was never stopped; metrics are written once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.hosts.factory import load_checkpoint
from tests.align.fixtures import AlignSet
from tests.helpers import repo_env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _command(align_set: AlignSet, out: Path, config: Path) -> list[str]:
    return ["align-train", "--data", str(align_set.data), "--out", str(out), "--config",
            str(config), "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg), "--hsg",
            str(align_set.hsg), "-q"]  # fmt: skip


@pytest.mark.slow
def test_two_nodes_killed_then_resumed_on_one_process_match_one_process(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    # No dropout, no warm-up: each step's result depends on every gradient of the global batch.
    config = align_set.write_config(
        tmp_path / "c.yaml", steps=2, warmup_steps=0, dropout=0.0, checkpoint_every=1
    )
    nodes = tmp_path / "nodes"
    endpoint = f"127.0.0.1:{_free_port()}"
    env = {**repo_env(), "FINSTA_FAILPOINTS": "align.step=1:kill"}  # both die after step 1
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node",
              "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint,
              "--rdzv-id", "test"]  # fmt: skip
    agents = [
        subprocess.Popen(
            [
                *launch,
                "--node-rank",
                str(rank),
                "-m",
                "finsta_cli",
                *_command(align_set, nodes, config),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    errors = [agent.communicate(timeout=600)[1] for agent in agents]
    assert all(agent.returncode != 0 for agent in agents), errors  # killed, as told
    state = load_checkpoint(nodes / "train_state.pt")
    assert int(state["step"]) == 1, errors

    resumed = runner.invoke(app, [*_command(align_set, nodes, config), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    single = tmp_path / "single"
    invoked = runner.invoke(app, _command(align_set, single, config))
    assert invoked.exit_code == 0, invoked.output

    rows = [json.loads(line) for line in (nodes / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2]  # rank 0 alone writes; each step once
    expected = [json.loads(line) for line in (single / "metrics.jsonl").read_text().splitlines()]
    for row, other in zip(rows, expected, strict=True):
        assert row["loss"] == pytest.approx(other["loss"], rel=1e-4)
    a, b = load_checkpoint(nodes / "train_state.pt"), load_checkpoint(single / "train_state.pt")
    assert int(a["step"]) == int(b["step"]) == 2
    weights_a, weights_b = a["model"], b["model"]
    assert weights_a.keys() == weights_b.keys()
    for key, value in weights_b.items():
        assert torch.allclose(weights_a[key], value, atol=1e-5), key


@pytest.mark.slow
def test_a_batch_the_ranks_cannot_share_is_a_clear_error(
    align_set: AlignSet, tmp_path: Path
) -> None:
    config = align_set.write_config(tmp_path / "c.yaml", batch_size=3, steps=1)
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone",
              "--nproc-per-node", "2", "-m", "finsta_cli"]  # fmt: skip
    done = subprocess.run(
        [*launch, *_command(align_set, tmp_path / "run", config)],
        env=repo_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode != 0
    assert "batch size 3 is not divisible by the 2 ranks of torchrun" in done.stderr
