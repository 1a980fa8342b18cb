"""Checkpoints: plain tensor dicts loaded with ``weights_only=True``; files carrying pickled
objects are refused (and never executed), damaged or foreign files get a clear error."""

from __future__ import annotations

import collections
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from finsta_cli.errors import (
    ExitCode,
    InputError,
    MissingResourceError,
    NonFiniteError,
    UsageError,
)
from finsta_cli.hosts import build_host, load_host, save_host
from finsta_cli.hosts.factory import CHECKPOINT_KIND, host_from_payload, load_checkpoint

CAPTIONS = ["a red cube moves left", "a blue ball rolls up"]
SMALL = {"frame_size": 32, "num_frames": 2, "feature_dim": 16, "embed_dim": 16, "heads": 2}


@dataclass
class PickledConfig:
    """A dataclass instance: a plain ``torch.load`` would unpickle it, weights_only must not."""

    lr: float


class TensorDict(collections.OrderedDict):  # type: ignore[type-arg]
    """An OrderedDict subclass, as some training scripts save their state dicts."""


class Marker:
    """Unpickling this writes a file: proof that a checkpoint ran code on load."""

    path = ""

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        return (os.mkdir, (self.path, 0o755))


def _saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "host.pt"
    save_host(path, build_host("tiny", SMALL, texts=CAPTIONS))
    return path


def test_saved_checkpoint_is_plain_and_loads_weights_only(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    assert payload["kind"] == CHECKPOINT_KIND and payload["host_name"] == "tiny"
    assert isinstance(json.loads(payload["host_config"])["vocab"], list)
    assert all(isinstance(v, torch.Tensor) for v in payload["host"].values())
    assert load_checkpoint(path)["version"] == payload["version"]


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        ({"host": torch.zeros(2), "config": PickledConfig(lr=0.1)}, "PickledConfig"),
        (TensorDict(weight=torch.zeros(2)), "TensorDict"),
    ],
    ids=["dataclass", "ordereddict-subclass"],
)
def test_pickled_objects_are_refused(tmp_path: Path, obj: object, name: str) -> None:
    path = tmp_path / "pickled.pt"
    torch.save(obj, path)
    with pytest.raises(InputError) as info:
        load_checkpoint(path)
    message = info.value.message
    assert message.startswith(f"{path}: refused: the file carries pickled objects")
    assert f"tests.hosts.test_factory.{name}" in message
    assert "\x1b" not in message and "weights_only` set to `False`" not in message
    assert "state_dict" in (info.value.hint or "")
    assert info.value.exit_code == ExitCode.FATAL


def test_pickled_code_is_never_run(tmp_path: Path) -> None:
    marker = Marker()
    marker.path = str(tmp_path / "ran")
    path = tmp_path / "evil.pt"
    torch.save({"host": marker}, path)
    with pytest.raises(InputError, match=r"refused: .*pickled objects.*\(posix\.mkdir\)"):
        load_checkpoint(path)
    assert not (tmp_path / "ran").exists()


def test_missing_checkpoint_is_a_missing_resource(tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    assert MissingResourceError("x").exit_code == ExitCode.MISSING_RESOURCE


def test_damaged_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.pt"
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(InputError, match="not a readable checkpoint") as info:
        load_checkpoint(path)
    assert "pickled" not in info.value.message
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(_saved(tmp_path).read_bytes()[:200])
    with pytest.raises(InputError, match=str(truncated.name)):
        load_checkpoint(truncated)


def test_non_dict_and_foreign_dicts_are_refused(tmp_path: Path) -> None:
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(InputError, match="not a finsta checkpoint"):
        load_checkpoint(tensor)
    state_dict = tmp_path / "state.pt"
    torch.save({"weight": torch.zeros(3)}, state_dict)
    with pytest.raises(InputError, match="no host weights"):
        host_from_payload(load_checkpoint(state_dict), state_dict)


def test_newer_format_and_wrong_weights_are_refused(tmp_path: Path) -> None:
    payload = load_checkpoint(_saved(tmp_path))
    with pytest.raises(InputError, match="newer than this finsta reads"):
        host_from_payload({**payload, "version": 99}, tmp_path / "x.pt")
    weights = dict(payload["host"])
    weights.pop("logit_scale")
    weights["extra.weight"] = torch.zeros(1)
    with pytest.raises(InputError, match="do not fit the tiny architecture"):
        host_from_payload({**payload, "host": weights}, tmp_path / "x.pt")


def test_weights_of_other_shapes_are_refused(tmp_path: Path) -> None:
    payload = load_checkpoint(_saved(tmp_path))
    weights = {**payload["host"], "logit_scale": torch.zeros(3)}
    with pytest.raises(InputError, match=r"do not fit the tiny architecture \(size mismatch"):
        host_from_payload({**payload, "host": weights}, tmp_path / "x.pt")


def test_load_host_is_in_eval_mode(tmp_path: Path) -> None:
    host = load_host(_saved(tmp_path))
    assert not host.training  # type: ignore[attr-defined]


def test_checkpoint_with_non_finite_weights_is_refused_naming_the_tensor(tmp_path: Path) -> None:
    """A diverged run's weights would evaluate to meaningless, plausible-looking figures."""
    payload = load_checkpoint(_saved(tmp_path))
    name = sorted(payload["host"])[0]
    weights = dict(payload["host"])
    weights[name] = weights[name].clone().fill_(float("nan"))
    bad = tmp_path / "diverged.pt"
    torch.save({**payload, "host": weights}, bad)
    with pytest.raises(NonFiniteError) as info:
        load_checkpoint(bad)
    message = info.value.message
    assert message.startswith(f"{bad}: refused: the weights are not finite: tensor 'host.{name}'")
    assert f"{weights[name].numel()} NaN" in message
    assert info.value.exit_code == ExitCode.FATAL
    with pytest.raises(NonFiniteError, match=r"diverged\.pt: refused"):
        load_host(bad)
    inf = tmp_path / "inf.pt"
    torch.save({**payload, "extra": {"scale": torch.tensor([1.0, float("inf")])}}, inf)
    with pytest.raises(NonFiniteError, match=r"tensor 'extra\.scale' holds 1 infinite of 2"):
        load_checkpoint(inf)


def test_the_registry_holds_every_host_name_and_the_config_takes_them() -> None:
    from typing import get_args

    from finsta_cli.align.config import AlignTrainConfig
    from finsta_cli.hosts import HOST_NAMES, HOSTS, HostName

    assert tuple(HOSTS) == HOST_NAMES == get_args(HostName)
    assert get_args(AlignTrainConfig.model_fields["host"].annotation) == HOST_NAMES


def test_an_unknown_host_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown host 'tinny'") as caught:
        build_host("tinny")
    assert caught.value.hint == "choose one of tiny, clip4clip, lite"
