"""Fault injection: every stage killed, interrupted or out of disk at exact points, then rerun.

Each case runs a stage to completion for a reference, then on another folder runs it first with
other input or options (so that stale records would show), stops that run at a failpoint
(:mod:`finsta_cli.io.faults`: SIGKILL, Ctrl-C or a full disk), and runs the reference command
again. The outputs must equal the reference: JSON byte for byte, tensors value for value, no
temporary file left, exit 0. One case per stage runs by default; the rest are marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from finsta_cli.io.faults import ENV
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.helpers import repo_env
from tests.video.helpers import write_gt_detections

# ruff: noqa: F811  (align_set is the session fixture imported above)

# Files that describe a run rather than its results (timings, pid, paths of the run).
RUN_FILES = ("manifest", "config.yaml", ".finsta-ledger", ".finsta-lock")


def finsta(
    *args: str | Path, failpoints: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = repo_env()
    env.pop(ENV, None)
    if failpoints is not None:
        env[ENV] = failpoints
    return subprocess.run(
        [sys.executable, "-m", "finsta_cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def results(root: Path) -> dict[str, object]:
    """Every result file under ``root`` (or ``root`` itself): JSON as bytes, tensors as dicts."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    found: dict[str, object] = {}
    for path in files:
        name = path.name if root.is_file() else str(path.relative_to(root))
        if any(marker in path.name for marker in RUN_FILES):
            continue
        if path.suffix == ".pt":
            found[name] = torch.load(path, map_location="cpu", weights_only=True)
        else:
            found[name] = path.read_bytes()
    return found


def assert_same(actual: dict[str, object], expected: dict[str, object]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        other = actual[name]
        if isinstance(value, bytes):
            assert other == value, f"{name} differs from the uninterrupted run"
        else:
            assert _tensors_equal(other, value), f"{name}: tensors differ"


def _tensors_equal(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_tensors_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def temporaries(root: Path) -> list[Path]:
    folder = root.parent if root.suffix else root
    return sorted(folder.rglob(".*.tmp"))


def stopped(result: subprocess.CompletedProcess[str], action: str) -> None:
    """The faulted run stopped the way its failpoint says."""
    if action == "kill":
        assert result.returncode == -signal.SIGKILL, result.stderr
    elif action == "int":
        assert result.returncode == 130, result.stderr
    else:
        assert result.returncode == 1, result.stderr
        assert "no space left on device" in result.stderr, result.stderr


def fault_case(
    reference_args: Sequence[str | Path],
    other_args: Sequence[str | Path],
    out: Path,
    reference_out: Path,
    failpoint: str,
) -> None:
    """Run ``other_args`` (writing ``out``) up to ``failpoint``, then ``reference_args`` into
    ``out`` again: the result must equal the uninterrupted reference run's."""
    action = failpoint.rpartition(":")[2]
    faulted = finsta(*other_args, failpoints=failpoint)
    stopped(faulted, action)
    again = finsta(*reference_args)
    assert again.returncode == 0, again.stderr
    assert_same(results(out), results(reference_out))
    assert temporaries(out) == []


# -- parse-text ---------------------------------------------------------------------------------
CAPTIONS = 600


@pytest.fixture(scope="module")
def captions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("captions")
    words = ["cube", "ball", "cone", "star", "ring", "cylinder"]
    versions = {}
    for version, verb in (("v1", "slides left of"), ("v2", "moves behind")):
        path = root / f"{version}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for i in range(CAPTIONS):
                a, b = words[i % 6], words[(i * 5 + 1) % 6]
                text = f"a red {a} {verb} the blue {b} and then stops {i}"
                handle.write(json.dumps({"id": f"c{i}", "text": text}) + "\n")
        versions[version] = path
    return versions


@pytest.fixture(scope="module")
def parsed(captions: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The uninterrupted outputs of both caption versions."""
    root = tmp_path_factory.mktemp("parsed")
    outputs = {}
    for version, source in captions.items():
        out = root / version / "tsg.jsonl"
        assert finsta("parse-text", source, "--out", out, "-q").returncode == 0
        outputs[version] = out
    return outputs


PARSE_FAULTS_DEFAULT = ["stage.snapshot=1:kill"]
PARSE_FAULTS_SLOW = [
    "stage.done=300:int",
    "stage.done=1:kill",
    "stage.done=450:kill",
    "atomic.replace=1:kill",
    "atomic.replace=1:enospc",
    "stage.snapshot=1:int",
]


def _parse_text_case(
    tmp_path: Path, captions: dict[str, Path], parsed: dict[str, Path], failpoint: str
) -> None:
    out = tmp_path / "tsg.jsonl"
    v1 = ("parse-text", captions["v1"], "--out", out, "-q")
    v2 = ("parse-text", captions["v2"], "--out", out, "-q")
    assert finsta(*v1).returncode == 0  # an earlier run, its ledger valid
    # v2 stopped at the failpoint, then v1 again: v1's records, none of v2's.
    fault_case(v1, v2, out, parsed["v1"], failpoint)
    # v2 stopped there, then v2 again: v2's records, none of v1's.
    fault_case(v2, v2, out, parsed["v2"], failpoint)


@pytest.mark.parametrize("failpoint", PARSE_FAULTS_DEFAULT)
def test_parse_text_faults(
    tmp_path: Path, captions: dict[str, Path], parsed: dict[str, Path], failpoint: str
) -> None:
    _parse_text_case(tmp_path, captions, parsed, failpoint)


@pytest.mark.slow
@pytest.mark.parametrize("failpoint", PARSE_FAULTS_SLOW)
def test_parse_text_faults_more_points(
    tmp_path: Path, captions: dict[str, Path], parsed: dict[str, Path], failpoint: str
) -> None:
    _parse_text_case(tmp_path, captions, parsed, failpoint)


@pytest.mark.slow
def test_parse_text_options_changed_then_interrupted(
    tmp_path: Path, captions: dict[str, Path], parsed: dict[str, Path]
) -> None:
    out = tmp_path / "tsg.jsonl"
    reference = ("parse-text", captions["v1"], "--out", out, "-q")
    assert finsta(*reference).returncode == 0
    cut = (*reference, "--max-chars", "12")
    fault_case(reference, cut, out, parsed["v1"], "stage.done=200:int")


# -- synth, build-dsg, build-hsg ------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-faults") / "synth"
    assert finsta("synth", "--out", out, "--videos", "5", "--seed", "3", "-q").returncode == 0
    return out


def _gt_detections(synth_set: Path) -> Path:
    path = synth_set.parent / "gt.jsonl"
    return path if path.exists() else write_gt_detections(synth_set, path)


def _dsg_args(synth_set: Path, out: Path, frames: int) -> tuple[str | Path, ...]:
    detections = _gt_detections(synth_set)
    return (
        "build-dsg", synth_set / "videos", "--out", out, "--frames", str(frames),
        "--detector", "file", "--detections", detections, "-q",
    )  # fmt: skip


@pytest.fixture(scope="module")
def dsg_reference(synth_set: Path) -> Path:
    out = synth_set.parent / "dsg-reference"
    assert finsta(*_dsg_args(synth_set, out, 6)).returncode == 0
    return out


DSG_FAULTS_DEFAULT = ["stage.done=2:kill"]
DSG_FAULTS_SLOW = ["stage.done=1:int", "atomic.replace=3:kill", "atomic.replace=2:enospc"]


def _build_dsg_case(tmp_path: Path, synth_set: Path, reference: Path, failpoint: str) -> None:
    out = tmp_path / "sgs"
    assert finsta(*_dsg_args(synth_set, out, 6)).returncode == 0  # an earlier run, as reference
    # Other options (4 keyframes), stopped; then the reference options again.
    fault_case(
        _dsg_args(synth_set, out, 6), _dsg_args(synth_set, out, 4), out, reference, failpoint
    )


@pytest.mark.parametrize("failpoint", DSG_FAULTS_DEFAULT)
def test_build_dsg_faults(
    tmp_path: Path, synth_set: Path, dsg_reference: Path, failpoint: str
) -> None:
    _build_dsg_case(tmp_path, synth_set, dsg_reference, failpoint)


@pytest.mark.slow
@pytest.mark.parametrize("failpoint", DSG_FAULTS_SLOW)
def test_build_dsg_faults_more_points(
    tmp_path: Path, synth_set: Path, dsg_reference: Path, failpoint: str
) -> None:
    _build_dsg_case(tmp_path, synth_set, dsg_reference, failpoint)


def _tsg_for(synth_set: Path, root: Path, verb: str | None = None) -> Path:
    """parse-text over the synth captions (ids VIDEO.cK, as build-hsg pairs them)."""
    captions = root / f"captions-{verb or 'gold'}.jsonl"
    with captions.open("w", encoding="utf-8") as handle:
        for path in sorted(synth_set.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                for k, caption in enumerate(record.get("captions", [])):
                    text = caption["text"] if verb is None else f"{caption['text']} {verb}"
                    item = {"id": f"{record['video_id']}.c{k}", "text": text}
                    handle.write(json.dumps(item) + "\n")
    out = root / f"tsg-{verb or 'gold'}.jsonl"
    assert finsta("parse-text", captions, "--out", out, "-q").returncode == 0
    return out


def test_build_hsg_faults(tmp_path: Path, synth_set: Path, dsg_reference: Path) -> None:
    tsg = _tsg_for(synth_set, tmp_path)
    other = _tsg_for(synth_set, tmp_path, "quickly")
    reference_out = tmp_path / "hsg-reference"
    reference = ("build-hsg", "--tsg", tsg, "--dsg", dsg_reference, "--out", reference_out, "-q")
    assert finsta(*reference).returncode == 0
    out = tmp_path / "hsg"
    again = ("build-hsg", "--tsg", tsg, "--dsg", dsg_reference, "--out", out, "-q")
    changed = ("build-hsg", "--tsg", other, "--dsg", dsg_reference, "--out", out, "-q")
    assert finsta(*again).returncode == 0
    fault_case(again, changed, out, reference_out, "stage.done=3:kill")


def test_synth_faults(tmp_path: Path, synth_set: Path) -> None:
    out = tmp_path / "synth"
    args = ("synth", "--out", out, "--videos", "5", "--seed", "3", "-q")
    # Another seed names other videos, so the same command is the one killed and rerun.
    fault_case(args, args, out, synth_set, "stage.done=2:kill")


# -- a real full disk ---------------------------------------------------------------------------
def _mount_tmpfs(path: Path, size: str) -> bool:
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


@pytest.mark.slow
def test_build_dsg_on_a_full_disk_stops_then_resumes(
    tmp_path: Path, synth_set: Path, dsg_reference: Path
) -> None:
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "40k"):
        pytest.skip("cannot mount a small tmpfs here (needs root on Linux)")
    try:
        out = disk / "sgs"
        full = finsta(*_dsg_args(synth_set, out, 6))
        assert full.returncode == 1, full.stderr
        assert "no space left on device" in full.stderr and str(out) in full.stderr
        assert "Traceback" not in full.stderr
        subprocess.run(["mount", "-o", "remount,size=20m", str(disk)], check=True)
        again = finsta(*_dsg_args(synth_set, out, 6))
        assert again.returncode == 0, again.stderr
        assert_same(results(out), results(dsg_reference))
        assert temporaries(out) == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


# -- align-train ----------------------------------------------------------------------------------
def _train_args(align_set: AlignSet, config: Path, out: Path) -> tuple[str | Path, ...]:
    return (
        "align-train", "--data", align_set.data, "--config", config, "--out", out,
        "--tsg", align_set.tsg, "--dsg", align_set.dsg, "--hsg", align_set.hsg, "-q",
    )  # fmt: skip


def _checkpoint(run: Path) -> object:
    return results(run / "checkpoint.pt")["checkpoint.pt"]


@pytest.mark.parametrize(
    "failpoint",
    ["align.step=5:kill", pytest.param("atomic.replace=4:kill", marks=pytest.mark.slow)],
)
def test_align_train_faults(align_set: AlignSet, tmp_path: Path, failpoint: str) -> None:
    # checkpoint_every 2: the kill at step 5 loses one step, which --resume redoes exactly; the
    # 4th atomic write is the train state of step 4 (after config, manifest, step 2), cut short.
    config = align_set.write_config(
        tmp_path / "c.yaml", steps=8, checkpoint_every=2, warmup_steps=2, seed=7, threads=1
    )
    reference = tmp_path / "reference"
    assert finsta(*_train_args(align_set, config, reference)).returncode == 0
    run = tmp_path / "run"
    stopped(finsta(*_train_args(align_set, config, run), failpoints=failpoint), "kill")
    resumed = finsta(*_train_args(align_set, config, run), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _tensors_equal(_checkpoint(run), _checkpoint(reference))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    for row in rows + expected:
        row.pop("samples_per_s")
    assert rows == expected  # no step logged twice or lost
    assert temporaries(run) == []
