"""The device of a build-dsg Ray actor, from ``--device`` and the GPUs Ray gave it."""

from __future__ import annotations

import pytest

from finsta_cli.errors import MissingResourceError
from finsta_cli.video.remote import actor_device


def test_an_actor_runs_where_ray_placed_it() -> None:
    assert actor_device("cpu", [0]) == "cpu"  # a declared GPU, but --device cpu
    assert actor_device("auto", []) == "cpu"  # no GPU given: not another actor's GPU
    assert actor_device("CPU", []) == "cpu"
    import torch

    if torch.cuda.is_available():
        assert (
            actor_device("cuda:3", ["3"]) == "cuda:0"
        )  # the one GPU its CUDA_VISIBLE_DEVICES lists
        assert actor_device("auto", ["1"]) == "cuda:0"
    else:
        with pytest.raises(MissingResourceError, match="device cuda:0 was asked for"):
            actor_device("cuda:3", ["3"])
