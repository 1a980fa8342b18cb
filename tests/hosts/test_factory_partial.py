"""Host weights that fit only in part: refused with the missing, unexpected and reshaped tensors
named, or (``allow_partial``) loaded where they fit, with the same report."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from finsta_cli.errors import ExitCode, InputError
from finsta_cli.hosts import build_host, save_host
from finsta_cli.hosts.factory import (
    WeightsReport,
    compare_state_dict,
    load_checkpoint,
    load_host_reporting,
    restore_host,
)

CAPTIONS = ["a red cube moves left", "a blue ball rolls up"]
SMALL = {"frame_size": 32, "num_frames": 2, "feature_dim": 16, "embed_dim": 16, "heads": 2}


def _payload(tmp_path: Path) -> dict[str, object]:
    torch.manual_seed(0)
    path = tmp_path / "host.pt"
    save_host(path, build_host("tiny", SMALL, texts=CAPTIONS))
    return load_checkpoint(path)


def _damaged(payload: dict[str, object]) -> tuple[dict[str, object], str, str]:
    """The payload with one tensor removed, one added and one reshaped; the removed and
    reshaped keys."""
    weights = dict(payload["host"])  # type: ignore[call-overload]
    keys = sorted(k for k, v in weights.items() if v.dim() == 2)
    removed, reshaped = keys[0], keys[1]
    del weights[removed]
    weights["extra.weight"] = torch.zeros(2)
    weights[reshaped] = torch.zeros(weights[reshaped].shape[0] + 1, weights[reshaped].shape[1])
    return {**payload, "host": weights}, removed, reshaped


def test_a_partial_fit_is_refused_naming_keys_and_shapes(tmp_path: Path) -> None:
    payload, removed, reshaped = _damaged(_payload(tmp_path))
    model_shape = list(payload["host"][reshaped].shape)  # type: ignore[index]
    model_shape[0] -= 1
    with pytest.raises(InputError) as info:
        restore_host(payload, tmp_path / "x.pt")
    message = info.value.message
    assert message.startswith(f"{tmp_path / 'x.pt'}: host weights do not fit the tiny architecture")
    shapes = f"{reshaped}: weights {list(payload['host'][reshaped].shape)}, model {model_shape}"  # type: ignore[index]
    assert f"size mismatch of 1 tensor: {shapes}" in message
    assert f"missing 1 tensor: {removed}" in message
    assert "unexpected 1 tensor: extra.weight" in message
    assert "--allow-partial" in (info.value.hint or "")
    assert info.value.exit_code == ExitCode.FATAL


def test_allow_partial_loads_what_fits_and_reports_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = _payload(tmp_path)
    payload, removed, reshaped = _damaged(original)
    with caplog.at_level(logging.WARNING):
        host, report = restore_host(payload, tmp_path / "x.pt", allow_partial=True)
    assert not report.complete
    assert report.missing == (removed,) and report.unexpected == ("extra.weight",)
    assert [m.key for m in report.mismatched] == [reshaped]
    assert "fit the tiny architecture only in part" in caplog.text and removed in caplog.text
    state = host.state_dict()
    fitting = [k for k in original["host"] if k not in (removed, reshaped)]  # type: ignore[attr-defined]
    assert all(torch.equal(state[k], original["host"][k]) for k in fitting)  # type: ignore[index]
    # the reshaped tensor is skipped: the fresh host's own, of the model's shape
    assert state[reshaped].shape != payload["host"][reshaped].shape  # type: ignore[index]
    written = report.to_json()
    assert written["complete"] is False
    assert (written["missing"], written["unexpected"], written["mismatched"]) == (1, 1, 1)
    assert written["missing_keys"] == [removed]
    assert written["mismatched_shapes"][0]["key"] == reshaped


def test_a_whole_checkpoint_reports_complete(tmp_path: Path) -> None:
    path = tmp_path / "host.pt"
    save_host(path, build_host("tiny", SMALL, texts=CAPTIONS))
    _, report = load_host_reporting(path, allow_partial=True)
    assert report.complete and report.describe() == "every tensor fits"
    assert report.to_json()["missing_keys"] == []


def test_the_report_counts_every_misfit_and_names_the_first_few() -> None:
    model = {f"layer{i}.weight": torch.zeros(2) for i in range(6)}
    report = compare_state_dict(model, {"layer0.weight": torch.zeros(3)})
    assert isinstance(report, WeightsReport)
    assert len(report.missing) == 5 and len(report.mismatched) == 1
    assert "missing 5 tensors: layer1.weight, layer2.weight, layer3.weight, ... 2 more" in (
        report.describe()
    )
