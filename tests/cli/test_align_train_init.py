"""``finsta align-train --init``: a checkpoint or a plain host state dict whose weights fit only
in part is refused naming the keys and shapes, or with ``--allow-partial`` trained from what
fits, the report in the result and manifest.json."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.errors import ExitCode
from finsta_cli.hosts.factory import load_checkpoint
from finsta_cli.io.hashing import hash_file
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


def _train(runner: CliRunner, align_set: AlignSet, out: Path, init: Path, *args: str) -> Any:
    command = ["align-train", "--data", str(align_set.data), "--out", str(out), "--config",
               str(align_set.config), "--objective", "host-only", "--steps", "1", "--init",
               str(init), "--json", "-q", *args]  # fmt: skip
    return runner.invoke(app, command)


def _misfit(weights: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str, str]:
    """``weights`` with one tensor removed, one added and one reshaped; the removed and
    reshaped keys."""
    keys = sorted(k for k, v in weights.items() if v.dim() == 2)
    removed, reshaped = keys[0], keys[1]
    changed = {k: v for k, v in weights.items() if k != removed}
    changed["extra.bias"] = torch.zeros(4)
    changed[reshaped] = torch.zeros(1, weights[reshaped].shape[1])
    return changed, removed, reshaped


def test_a_partial_init_checkpoint_is_refused_then_reported(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    payload = load_checkpoint(align_set.checkpoint)
    weights, removed, reshaped = _misfit(payload["host"])
    init = tmp_path / "partial.pt"
    torch.save({**payload, "host": weights}, init)
    refused = _train(runner, align_set, tmp_path / "no", init)
    assert refused.exit_code == ExitCode.FATAL, refused.output
    message = " ".join(refused.output.split())
    width = payload["host"][reshaped].shape[1]
    assert f"{reshaped}: weights [1, {width}], model {list(payload['host'][reshaped].shape)}" in (
        message
    )
    assert f"missing 1 tensor: {removed}" in message
    assert "unexpected 1 tensor: extra.bias" in message and "--allow-partial" in message

    out = tmp_path / "yes"
    accepted = _train(runner, align_set, out, init, "--allow-partial")
    assert accepted.exit_code == 0, accepted.output
    assert "only in part" in accepted.stderr
    record = json.loads(accepted.stdout)["init"]
    assert record["path"] == str(init) and record["sha256"] == hash_file(init)
    assert record["kind"] == "checkpoint" and record["complete"] is False
    assert (record["missing"], record["unexpected"], record["mismatched"]) == (1, 1, 1)
    assert record["missing_keys"] == [removed] and record["unexpected_keys"] == ["extra.bias"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["result"]["init"] == record
    assert manifest["config"]["allow_partial"] is True


def test_a_plain_state_dict_initialises_the_host_of_host(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    """The session's host weights saved as torch.save(host.state_dict()): the tiny host built
    from the config (same data, same vocabulary) takes them all."""
    host_weights = load_checkpoint(align_set.checkpoint)["host"]
    plain = tmp_path / "plain.pt"
    torch.save(host_weights, plain)
    result = _train(runner, align_set, tmp_path / "plain", plain, "--host", "tiny")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["init"]
    assert record["kind"] == "state_dict" and record["complete"] is True

    weights, removed, _ = _misfit(host_weights)
    torch.save(weights, plain)
    refused = _train(runner, align_set, tmp_path / "refused", plain, "--host", "tiny")
    assert refused.exit_code == ExitCode.FATAL
    message = " ".join(refused.output.split())
    assert "weights do not fit the tiny host (--host)" in message and removed in message


def test_host_options_a_checkpoint_does_not_take_are_named(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    """A finsta checkpoint rebuilds its own host: an option asked for that differs from it is
    not applied, and the run says so (stderr and the result's init record)."""
    stored = json.loads(str(load_checkpoint(align_set.checkpoint)["host_config"]))
    asked = stored["dropout"] + 0.25
    result = _train(
        runner, align_set, tmp_path / "run", align_set.checkpoint,
        "--set", f"host_options.dropout={asked}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    message = " ".join(result.stderr.split())
    assert (
        f"host option(s) dropout={asked!r} not applied (it has dropout={stored['dropout']!r})"
        in message
    )
    assert json.loads(result.stdout)["init"]["ignored_host_options"] == {"dropout": asked}
    same = _train(
        runner, align_set, tmp_path / "same", align_set.checkpoint,
        "--set", f"host_options.dropout={stored['dropout']}",
    )  # fmt: skip
    assert same.exit_code == 0, same.output
    assert "not applied" not in same.stderr
    assert "ignored_host_options" not in json.loads(same.stdout)["init"]
