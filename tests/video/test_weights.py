"""Tests of finsta_cli/video/weights.py: detector files are loaded without running their code.

Checkpoints are built in code: a random YOLO from its YAML saved by ultralytics, and malicious
files whose unpickling would run ``touch MARKER`` (alone, or hidden in a valid checkpoint).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from finsta_cli.assets import default_detector_weights
from finsta_cli.errors import ExitCode, InputError, MissingResourceError
from finsta_cli.io.torchfile import RefusedFileError
from finsta_cli.offline import import_ultralytics
from finsta_cli.video.weights import allowed_global, check_detector_file, load_yolo
from tests.pickles import Touch


@pytest.fixture(scope="module")
def saved_yolo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random YOLOv8n saved by ultralytics' own ``model.save`` (the checkpoint format)."""
    path = tmp_path_factory.mktemp("yolo") / "random-yolov8n.pt"
    load_yolo("yolov8n.yaml").save(str(path))
    return path


@pytest.fixture
def checkpoint(saved_yolo: Path) -> Iterator[dict[str, Any]]:
    # The test's own file, read back with weights_only and the layers it needs.
    with torch.serialization.safe_globals(check_detector_file(saved_yolo)):
        payload = torch.load(saved_yolo, map_location="cpu", weights_only=True)
    yield payload


def _refused(path: Path, marker: Path, *names: str) -> None:
    with pytest.raises(InputError) as info:
        load_yolo(path)
    message = info.value.message
    assert message.startswith(f"{path}: refused: "), message
    for name in names:
        assert name in message
    assert info.value.exit_code == ExitCode.FATAL
    assert "\n" not in message and "\x1b" not in message and "weights_only" not in message
    assert not marker.exists(), "the file's code ran"


def test_a_checkpoint_written_by_ultralytics_loads(saved_yolo: Path) -> None:
    model = load_yolo(saved_yolo)
    assert type(model.model).__name__ == "DetectionModel" and model.task == "detect"


def test_the_shipped_detector_loads_as_the_unrestricted_loader_built_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weights = default_detector_weights()
    if not weights.is_file():
        pytest.skip(f"no shipped detector at {weights}")
    ours = load_yolo(weights).model
    # The loader before this change: ultralytics' weights_only=False path, on the shipped
    # (trusted) file, to show the restricted one builds the same model.
    ultralytics = import_ultralytics()
    import ultralytics.nn.tasks as tasks

    monkeypatch.setattr(tasks, "SAFE_LOAD", False)
    theirs = ultralytics.YOLO(str(weights)).model
    assert [type(m).__name__ for m in ours.modules()] == [
        type(m).__name__ for m in theirs.modules()
    ]
    a, b = ours.state_dict(), theirs.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
    assert ours.names == theirs.names and torch.equal(ours.stride, theirs.stride)
    assert ours.args == theirs.args and ours.yaml == theirs.yaml


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"model": Touch(marker)}, path)
    _refused(path, marker, "posix.system")


@pytest.mark.parametrize("where", ["train_args", "model attribute", "ema"])
def test_a_payload_hidden_in_a_valid_checkpoint_is_refused(
    checkpoint: dict[str, Any], tmp_path: Path, where: str
) -> None:
    marker = tmp_path / "MARKER"
    hidden = copy.copy(checkpoint)
    if where == "train_args":
        hidden["train_args"] = {"epochs": 1, "project": Touch(marker)}
    elif where == "model attribute":
        hidden["model"] = copy.deepcopy(checkpoint["model"])
        hidden["model"].payload = Touch(marker)
    else:
        hidden["ema"] = Touch(marker)
    path = tmp_path / "hidden.pt"
    torch.save(hidden, path)
    _refused(path, marker, "posix.system")


def test_functions_and_other_classes_are_refused_by_name(
    checkpoint: dict[str, Any], tmp_path: Path
) -> None:
    marker = tmp_path / "MARKER"  # nothing here runs code; the names alone are refused
    path = tmp_path / "getattr.pt"
    torch.save({**checkpoint, "extra": [getattr, eval, copy.deepcopy]}, path)
    _refused(path, marker, "builtins.eval", "builtins.getattr", "copy.deepcopy")
    assert allowed_global("ultralytics.nn.modules.block.TorchVision") is None
    assert allowed_global("ultralytics.nn.tasks.WorldModel") is None
    assert allowed_global("torch.nn.modules.conv.Conv2d") is torch.nn.Conv2d
    assert allowed_global("ultralytics.nn.modules.Conv") is None  # a re-export, not its home


def test_a_model_yaml_cannot_run_code(tmp_path: Path) -> None:
    ultralytics = import_ultralytics()
    marker = tmp_path / "MARKER"
    base = Path(ultralytics.__file__).parent / "cfg" / "models" / "v8" / "yolov8.yaml"
    evil = tmp_path / "yolov8n-evil.yaml"
    payload = f"__import__('os').system('touch {marker}')"
    evil.write_text(base.read_text(encoding="utf-8") + f'\nactivation: "{payload}"\n')
    with pytest.raises(InputError, match=r"yolov8n-evil\.yaml: refused: .*activation"):
        load_yolo(evil)
    assert not marker.exists()


def test_ultralytics_own_loader_is_left_restricted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved_yolo: Path
) -> None:
    import_ultralytics()
    import ultralytics.nn.tasks as tasks

    monkeypatch.setattr(tasks, "SAFE_LOAD", False)  # as if ultralytics came before finsta
    before = torch.serialization.get_safe_globals()
    load_yolo(saved_yolo)
    assert tasks.SAFE_LOAD is True
    assert set(torch.serialization.get_safe_globals()) == set(before)  # nothing left allowed
    # A second line of defence: ultralytics itself now refuses what finsta refuses.
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"model": Touch(marker)}, path)
    with pytest.raises(TypeError, match="outside the supported"):
        tasks.torch_safe_load(str(path))
    assert not marker.exists()


def test_missing_foreign_and_damaged_files(tmp_path: Path, saved_yolo: Path) -> None:
    with pytest.raises(MissingResourceError, match=r"absent\.pt: detector weights not found"):
        load_yolo(tmp_path / "absent.pt")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"onnx")
    with pytest.raises(InputError, match=r"model\.onnx: not an ultralytics \.pt checkpoint"):
        load_yolo(onnx)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"garbage\.pt: not an ultralytics \.pt checkpoint"):
        load_yolo(garbage)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(saved_yolo.read_bytes()[:5000])
    with pytest.raises(InputError, match=r"cut\.pt: not"):
        load_yolo(cut)
    tensors = tmp_path / "tensors.pt"
    torch.save({"w": torch.zeros(2)}, tensors)
    with pytest.raises(InputError, match=r"tensors\.pt: not an ultralytics checkpoint"):
        load_yolo(tensors)
    layer = tmp_path / "layer.pt"
    torch.save({"model": torch.nn.Conv2d(1, 1, 1)}, layer)
    with pytest.raises(InputError, match=r"layer\.pt: a Conv2d, not an ultralytics detection"):
        load_yolo(layer)


def test_refusals_are_refused_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": Touch(tmp_path / "MARKER")}, path)
    with pytest.raises(RefusedFileError) as info:
        check_detector_file(path)
    assert info.value.offending == "posix.system"
    assert "train-detector" in (info.value.hint or "")


@pytest.mark.slow
def test_the_shipped_detector_gives_byte_identical_dsgs(
    synth_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = default_detector_weights()
    if not weights.is_file():
        pytest.skip(f"no shipped detector at {weights}")
    from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

    config = BuildDSGConfig(frames=8, threads=1, device="cpu")
    videos = sorted((synth_dir / "videos").glob("*.mp4"))[:3]
    assert run_build_dsg(videos, tmp_path / "new", config, quiet=True).failed == 0
    # The same run through the loader before this change (ultralytics, weights_only=False).
    ultralytics = import_ultralytics()
    import ultralytics.nn.tasks as tasks

    import finsta_cli.video.weights as loader

    def unrestricted(path: str | Path) -> Any:
        monkeypatch.setattr(tasks, "SAFE_LOAD", False)
        return ultralytics.YOLO(str(path))

    monkeypatch.setattr(loader, "load_yolo", unrestricted)
    assert run_build_dsg(videos, tmp_path / "old", config, quiet=True).failed == 0
    for old in sorted((tmp_path / "old").glob("synth-*")):
        assert old.read_bytes() == (tmp_path / "new" / old.name).read_bytes(), old.name
    assert len(list((tmp_path / "old").glob("synth-*"))) == 2 * len(videos)
