"""Every command that reads a pickle-based file (detector weights, checkpoints, train states, DSG
tensors) refuses one that would run code: a clear one-line message naming the file and what was
refused, no traceback, the right exit code, and the marker its code would write never appears.

The malicious files are built in code: ``torch.save`` of an object whose unpickling runs
``touch MARKER`` (alone, or hidden in an otherwise valid file).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.hosts.factory import load_checkpoint
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.pickles import Touch
from tests.video.helpers import make_mp4

# ruff: noqa: F811  (align_set is the session fixture imported above)


def _evil(path: Path, marker: Path, **valid: object) -> Path:
    torch.save({**valid, "payload": Touch(marker)}, path)
    return path


def _assert_refused(result: object, path: Path, marker: Path, code: int = 1) -> None:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == code, output  # type: ignore[attr-defined]
    assert f"{path}: refused: " in output and "posix.system" in output, output
    assert "Traceback" not in output and "internal error" not in output
    assert "\x1b" not in output and "weights_only" not in output  # no advice to load it unsafely
    assert not marker.exists(), "the file's code ran"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "MARKER"


@pytest.fixture(scope="module")
def detector_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A valid ultralytics checkpoint dict (a random YOLOv8n saved by ultralytics)."""
    from finsta_cli.video.weights import check_detector_file, load_yolo

    path = tmp_path_factory.mktemp("yolo") / "random.pt"
    load_yolo("yolov8n.yaml").save(str(path))
    with torch.serialization.safe_globals(check_detector_file(path)):
        payload: dict[str, object] = torch.load(path, weights_only=True)
    return payload


@pytest.mark.parametrize("hidden", [False, True], ids=["alone", "inside-a-valid-checkpoint"])
def test_build_dsg_weights(
    runner: CliRunner, tmp_path: Path, marker: Path, request: pytest.FixtureRequest, hidden: bool
) -> None:
    video = make_mp4(tmp_path / "a.mp4", 4)
    valid = request.getfixturevalue("detector_checkpoint") if hidden else {}
    weights = _evil(tmp_path / "evil.pt", marker, **valid)
    out = tmp_path / "sgs"
    result = runner.invoke(
        app, ["build-dsg", str(video), "--out", str(out), "--weights", str(weights), "-q"]
    )
    _assert_refused(result, weights, marker)
    assert not (out / "a.json").exists()


def test_build_dsg_model_yaml(runner: CliRunner, tmp_path: Path, marker: Path) -> None:
    from finsta_cli.offline import import_ultralytics

    base = Path(import_ultralytics().__file__).parent / "cfg" / "models" / "v8" / "yolov8.yaml"
    evil = tmp_path / "yolov8n-evil.yaml"
    code = f"__import__('os').system('touch {marker}')"
    evil.write_text(base.read_text(encoding="utf-8") + f'\nactivation: "{code}"\n')
    video = make_mp4(tmp_path / "a.mp4", 4)
    result = runner.invoke(
        app, ["build-dsg", str(video), "--out", str(tmp_path / "sgs"), "--weights", str(evil)]
    )
    assert result.exit_code == 1, result.output
    assert f"{evil}: refused: " in result.output and "activation" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists(), "the YAML's code ran"


def test_train_detector_model(runner: CliRunner, tmp_path: Path, marker: Path) -> None:
    weights = _evil(tmp_path / "evil.pt", marker)
    data = tmp_path / "data"
    data.mkdir()
    result = runner.invoke(
        app,
        ["train-detector", "--data", str(data), "--out", str(tmp_path / "out"),
         "--model", str(weights)],
    )  # fmt: skip
    _assert_refused(result, weights, marker)


def test_env_weights(runner: CliRunner, tmp_path: Path, marker: Path) -> None:
    weights = _evil(tmp_path / "evil.pt", marker)
    result = runner.invoke(app, ["env", "--json", "--weights", str(weights), "--device", "cpu"])
    assert result.exit_code == 4, result.output
    [missing] = json.loads(result.stdout)["missing"]
    assert missing["what"] == "detector weights"
    assert missing["reason"].startswith(f"{weights}: refused: ")
    assert missing["reason"].endswith("(posix.system)")
    assert not marker.exists(), "the file's code ran"
    table = runner.invoke(app, ["env", "--weights", str(weights), "--device", "cpu"])
    assert table.exit_code == 4 and "(refused)" in table.output


def test_align_train_init_and_resume(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, marker: Path
) -> None:
    init = _evil(tmp_path / "init.pt", marker, **load_checkpoint(align_set.checkpoint))
    base = ["align-train", "--data", str(align_set.data), "--config", str(align_set.config),
            "--objective", "host-only", "-q"]  # fmt: skip
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "r"), "--init", str(init)])
    _assert_refused(result, init, marker)

    run = tmp_path / "run"
    shutil.copytree(align_set.host_run, run)
    state = run / "train_state.pt"
    _evil(state, marker, **load_checkpoint(state))
    result = runner.invoke(app, [*base, "--out", str(run), "--resume"])
    _assert_refused(result, state, marker)


def test_align_train_dsg_tensors(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, marker: Path
) -> None:
    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    first = sorted(dsg.glob("*.json"))[0]
    tensors = _evil(first.with_suffix(".pt"), marker, features=torch.zeros(1, 4))
    result = runner.invoke(
        app,
        ["align-train", "--data", str(align_set.data), "--config", str(align_set.config),
         "--out", str(tmp_path / "r"), "--tsg", str(align_set.tsg), "--dsg", str(dsg),
         "--hsg", str(align_set.hsg), "-q"],
    )  # fmt: skip
    assert result.exit_code == 3, result.output  # that video alone is left out
    failures = (tmp_path / "r" / "failures.jsonl").read_text(encoding="utf-8").splitlines()
    reasons = [json.loads(line)["error"] for line in failures]
    assert reasons == [
        f"{tensors}: refused: the file carries pickled objects, not plain tensors (posix.system)"
    ]
    assert not marker.exists(), "the file's code ran"


def test_eval_and_zeroshot_checkpoint(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, marker: Path
) -> None:
    checkpoint = _evil(tmp_path / "ckpt.pt", marker, **load_checkpoint(align_set.checkpoint))
    for command in ("eval", "zeroshot"):
        result = runner.invoke(
            app,
            [command, "--task", "retrieval", "--checkpoint", str(checkpoint),
             "--data", str(align_set.data), "--out", str(tmp_path / command)],
        )  # fmt: skip
        _assert_refused(result, checkpoint, marker)


def test_build_hsg_host_checkpoint(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, marker: Path
) -> None:
    checkpoint = _evil(tmp_path / "ckpt.pt", marker, **load_checkpoint(align_set.checkpoint))
    result = runner.invoke(
        app,
        ["build-hsg", "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg),
         "--out", str(tmp_path / "hsg"), "--matcher", "embed",
         "--host-checkpoint", str(checkpoint)],
    )  # fmt: skip
    _assert_refused(result, checkpoint, marker)
