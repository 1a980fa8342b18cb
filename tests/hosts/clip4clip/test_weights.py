"""Weights files of the clip4clip host: safetensors and nested state dicts read, key names
normalised, pickled objects, TorchScript archives and non-finite weights refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from finsta_cli.errors import InputError, NonFiniteError  # noqa: E402
from finsta_cli.hosts.clip4clip.weights import read_weights_file, split_state_dict  # noqa: E402


def test_safetensors_and_nested_forms_are_read(tmp_path: Path) -> None:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    state = {"visual.proj": torch.arange(6.0).reshape(2, 3), "logit_scale": torch.tensor(2.0)}
    path = tmp_path / "open_clip_model.safetensors"
    safetensors_torch.save_file(state, str(path))
    read = read_weights_file(path)
    assert read.keys() == state.keys() and all(torch.equal(read[k], state[k]) for k in state)
    nested = tmp_path / "epoch_3.pt"
    torch.save({"epoch": 3, "state_dict": {"module.visual.proj": state["visual.proj"]}}, nested)
    assert list(read_weights_file(nested)) == ["module.visual.proj"]
    finsta = tmp_path / "finsta.pt"
    torch.save(
        {"kind": "finsta-checkpoint", "host": {"clip.visual.proj": state["visual.proj"]}}, finsta
    )
    assert list(read_weights_file(finsta)) == ["clip.visual.proj"]


def test_key_forms_are_normalised() -> None:
    t = torch.zeros(1)
    clip, temporal, skipped = split_state_dict(
        {
            "module.clip.visual.conv1.weight": t,
            "clip.token_embedding.weight": t,
            "logit_scale": t,
            "input_resolution": t,
            "frame_position_embeddings.weight": t,
            "transformerClip.resblocks.0.ln_1.weight": t,
            "temporal.transformer.resblocks.1.ln_2.bias": t,
            "cross.pooler.dense.weight": t,
        }
    )
    assert set(clip) == {"visual.conv1.weight", "token_embedding.weight", "logit_scale"}
    assert set(temporal) == {
        "position_embeddings.weight",
        "transformer.resblocks.0.ln_1.weight",
        "transformer.resblocks.1.ln_2.bias",
    }
    assert skipped == ["cross.pooler.dense.weight"]


def test_pickled_and_torchscript_files_are_refused(tmp_path: Path) -> None:
    pickled = tmp_path / "with_args.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "args": argparse.Namespace(lr=1)}, pickled)
    with pytest.raises(InputError, match="refused: the file carries pickled objects"):
        read_weights_file(pickled)
    scripted = tmp_path / "ViT-B-32.pt"
    try:
        torch.jit.script(torch.nn.Linear(2, 2)).save(str(scripted))
    except Exception as exc:  # TorchScript gone from a future torch: nothing to refuse
        pytest.skip(f"cannot write a TorchScript archive here ({exc})")
    with pytest.raises(InputError, match="TorchScript") as info:
        read_weights_file(scripted)
    assert "torch.jit.load" in str(info.value)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InputError, match="not a readable weights file"):
        read_weights_file(garbage)
    no_tensors = tmp_path / "no_tensors.pt"
    torch.save({"epoch": 3}, no_tensors)
    with pytest.raises(InputError, match="no tensors found"):
        read_weights_file(no_tensors)


def test_weights_that_run_code_are_refused_in_one_clean_line(tmp_path: Path) -> None:
    from tests.pickles import Touch

    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "args": Touch(marker)}, path)
    with pytest.raises(InputError) as info:
        read_weights_file(path)
    assert info.value.message == (
        f"{path}: refused: the file carries pickled objects, not plain tensors (posix.system)"
    )
    assert not marker.exists()
    namespace = tmp_path / "namespace.pt"
    torch.save({"w": torch.zeros(2), "args": argparse.Namespace(lr=1)}, namespace)
    with pytest.raises(InputError) as info:
        read_weights_file(namespace)
    assert info.value.message.endswith("(argparse.Namespace)")
    assert "\x1b" not in info.value.message and "weights_only" not in info.value.message


def test_weights_with_nan_are_refused_naming_the_tensor(tmp_path: Path) -> None:
    proj = torch.arange(6.0).reshape(2, 3)
    proj[1, 2] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save({"visual.proj": proj, "logit_scale": torch.tensor(2.0)}, path)
    with pytest.raises(NonFiniteError) as info:
        read_weights_file(path)
    assert info.value.message == (
        f"{path}: refused: the weights are not finite: tensor 'visual.proj' holds 1 NaN of 6 values"
    )
