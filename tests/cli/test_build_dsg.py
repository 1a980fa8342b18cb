"""``finsta build-dsg`` on real files: outputs, scoring, bad input, resume, SIGKILL and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.schema.dsg import DSG
from finsta_cli.synth.generate import SynthConfig, generate_dataset
from tests.helpers import repo_env
from tests.video.helpers import make_mp4, natural_frames, write_gt_detections


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Four synth videos and their ground truth as a detections file."""
    out = tmp_path_factory.mktemp("synth-cli")
    assert generate_dataset(SynthConfig(videos=4, seed=5), out, quiet=True).failed == 0
    return out, write_gt_detections(out, out / "gt.jsonl")


def _check_outputs(out: Path) -> list[str]:
    """Every DSG record validates and every tensor file loads; returns the video ids."""
    import torch

    ids = []
    for path in sorted(out.glob("*.json")):
        if path.name.startswith("manifest"):
            continue
        record = DSG.model_validate_json(path.read_text(encoding="utf-8"))
        tensors = torch.load(path.with_suffix(".pt"), weights_only=True)
        objects = sum(len(f.objects) for f in record.frames)
        assert tensors["boxes"].shape == (objects, 4)
        assert tensors["track_ids"].shape == (objects,)
        ids.append(record.video_id)
    return ids


def test_builds_graphs_that_score_against_gold(
    tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]
) -> None:
    data, detections = synth
    out = tmp_path / "sgs"
    args = ["build-dsg", str(data / "videos"), "--out", str(out), "--detector", "file"]
    args += ["--detections", str(detections), "--json", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["done"] == 4 and summary["failed"] == 0
    assert len(_check_outputs(out)) == 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["detector"] == "file"

    scored = runner.invoke(
        app, ["eval", "--task", "dsg", "--gold", str(data), "--pred", str(out), "--json"]
    )
    assert scored.exit_code == 0, scored.output
    metrics = json.loads(scored.stdout)
    assert metrics["videos"] == 4 and metrics["missing_predictions"] == 0
    assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0
    assert metrics["idf1"] >= 0.95
    assert metrics["relation_accuracy"] >= 0.9
    assert metrics["motion_accuracy"] >= 0.7

    again = runner.invoke(app, args)
    assert again.exit_code == 0 and json.loads(again.stdout)["skipped"] == 4
    forced = runner.invoke(app, [*args, "--force"])
    assert json.loads(forced.stdout)["done"] == 4

    # Decoding several videos at once changes nothing in the outputs.
    parallel = tmp_path / "sgs-parallel"
    args[3] = str(parallel)
    result = runner.invoke(app, [*args, "--decode-workers", "3"])
    assert result.exit_code == 0, result.output
    for path in sorted(out.glob("*.json")):
        if path.name.startswith("manifest"):
            continue
        assert (parallel / path.name).read_bytes() == path.read_bytes()

    # Nor does assembling in a worker process.
    apart = tmp_path / "sgs-process"
    args[3] = str(apart)
    result = runner.invoke(app, [*args, "--assemble", "process"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 4
    for path in sorted(out.glob("*.json")):
        if path.name.startswith("manifest"):
            continue
        assert (apart / path.name).read_bytes() == path.read_bytes()
        ours = torch.load(apart / path.with_suffix(".pt").name, weights_only=True)
        theirs = torch.load(path.with_suffix(".pt"), weights_only=True)
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[key], theirs[key]) for key in ours)


def test_bad_inputs_fail_alone(tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]) -> None:
    data, detections = synth
    videos = tmp_path / "videos"
    videos.mkdir()
    good = sorted((data / "videos").glob("*.mp4"))[0]
    (videos / "good.mp4").write_bytes(good.read_bytes())
    (videos / "zero.mp4").write_bytes(b"")
    (videos / "cut.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    (videos / "text.mp4").write_text("definitely not a video\n" * 20)
    (videos / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")  # unreadable: a dangling link
    short = make_mp4(videos / "short.mp4", 5)
    out = tmp_path / "sgs"
    result = runner.invoke(
        app,
        [
            *("build-dsg", str(videos), "--out", str(out), "--detector", "file"),
            *("--detections", str(detections), "--json", "--quiet", "--frames", "16"),
        ],
    )
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["done"] == 2 and summary["failed"] == 4
    failures = {
        r["id"]: r["reason"]
        for r in map(json.loads, (out / "failures.jsonl").read_text().splitlines())
    }
    assert set(failures) == {"zero", "cut", "text", "gone"}
    assert "empty file" in failures["zero"] and "zero.mp4" in failures["zero"]
    assert "not a video" in failures["text"]
    assert failures["gone"].startswith(f"not found: {videos / 'gone.mp4'} (a link to ")
    assert "cut.mp4" in failures["cut"]
    assert sorted(_check_outputs(out)) == ["good", "short"]
    # a video shorter than --frames uses all its frames; no detections: valid, empty frames
    record = DSG.model_validate_json((out / "short.json").read_text())
    assert [f.index for f in record.frames] == [0, 1, 2, 3, 4]
    assert all(not f.objects for f in record.frames) and record.tracks == []
    assert short.exists()


def test_bad_manifest_lines_and_repeated_ids_fail_alone(
    tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]
) -> None:
    data, detections = synth
    a, b, c = sorted((data / "videos").glob("*.mp4"))[:3]
    manifest = tmp_path / "videos.jsonl"
    lines = [
        json.dumps({"id": "a", "path": str(a)}),
        '{"id": "broken", "path": ',  # 2: invalid JSON
        json.dumps({"id": "nopath"}),  # 3: no path
        json.dumps({"id": {"x": 1}, "path": str(b)}),  # 4: an id that is no string
        json.dumps({"id": "x\ud800", "path": str(b)}),  # 5: a lone surrogate (escaped by dumps)
        json.dumps({"id": "b", "path": str(b)}),
        json.dumps({"id": "a", "path": str(c)}),  # 7: id a again, another file: fails
        json.dumps({"id": "b", "path": str(b)}),  # 8: the same video again: built once
    ]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "sgs"
    result = runner.invoke(
        app,
        [
            *("build-dsg", str(manifest), "--out", str(out), "--detector", "file"),
            *("--detections", str(detections), "--json"),
        ],
    )
    assert result.exit_code == 3, result.output
    assert "1 input(s) repeat a video already given (same id and file)" in result.output
    summary = json.loads(result.stdout)
    assert summary["done"] == 2 and summary["failed"] == 5
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    where = {f"{manifest}:{n}" for n in (2, 3, 4, 5)}
    by_source = {f["source"]: f for f in failures}
    assert set(by_source) == where | {str(c)}
    assert "invalid JSON" in by_source[f"{manifest}:2"]["reason"]
    assert by_source[f"{manifest}:3"]["id"] == "nopath"
    assert by_source[f"{manifest}:3"]["reason"] == (
        f"{manifest}:3: a manifest line needs 'path' (and 'id')"
    )
    assert "'id' must be a string, found dict" in by_source[f"{manifest}:4"]["reason"]
    assert "not valid Unicode: lone surrogate \\ud800 at id" in by_source[f"{manifest}:5"]["reason"]
    assert by_source[f"{manifest}:5"]["id"] == f"{manifest}:5"
    repeated = by_source[str(c)]
    assert repeated["id"] == "a" and f"{a} (built) and {c} (left out)" in repeated["reason"]
    assert sorted(_check_outputs(out)) == ["a", "b"]
    assert DSG.model_validate_json((out / "a.json").read_text()).source == str(a)


def test_a_file_name_that_is_not_utf8_fails_alone(
    tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]
) -> None:
    data, detections = synth
    a, b = sorted((data / "videos").glob("*.mp4"))[:2]
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "good.mp4").write_bytes(a.read_bytes())
    # Python reads the byte 0xE9 (latin-1 e-acute) of a name as the lone surrogate \udce9.
    with open(os.fsencode(videos) + b"/caf\xe9.mp4", "wb") as handle:
        handle.write(b.read_bytes())
    out = tmp_path / "sgs"
    result = runner.invoke(
        app,
        [
            *("build-dsg", str(videos), "--out", str(out), "--detector", "file"),
            *("--detections", str(detections), "--json", "-q"),
        ],
    )
    assert result.exit_code == 3, result.output
    [failure] = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert failure["id"] == "caf\\udce9"
    assert (
        failure["reason"] == f"{videos}/caf\\udce9.mp4: the file name is not UTF-8 text; rename it"
    )
    assert _check_outputs(out) == ["good"]


def test_a_corrupt_image_fails_its_frame_folder_alone(tmp_path: Path, runner: CliRunner) -> None:
    from PIL import Image

    frames = tmp_path / "frames"
    for name in ("good", "broken", "other"):
        (frames / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (48, 32), (60 * i, 90, 30)).save(frames / name / f"{i:06d}.jpg")
    bad = frames / "broken" / "000003.jpg"
    bad.write_bytes(b"not an image at all")
    out = tmp_path / "sgs"
    # A random YOLO (the detector imports ultralytics, which patches PIL's Image.open).
    result = runner.invoke(
        app,
        ["build-dsg", str(frames), "--out", str(out), "--weights", "yolov8n.yaml",
         "--imgsz", "64", "--frames", "4", "--device", "cpu", "--json", "-q"],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["done"] == 2 and summary["failed"] == 1
    [failure] = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert failure["id"] == "broken"
    assert failure["reason"] == f"{bad}: not a readable image (unknown or damaged image format)"
    assert sorted(_check_outputs(out)) == ["good", "other"]


def test_usage_and_missing_weights(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_mp4(tmp_path / "a.mp4", 3)
    out = tmp_path / "sgs"
    result = runner.invoke(app, ["build-dsg", str(video), "--out", str(out), "--detector", "file"])
    assert result.exit_code == 2 and "--detections" in result.output
    monkeypatch.setenv("FINSTA_DETECTOR_WEIGHTS", str(tmp_path / "absent.pt"))
    missing = runner.invoke(app, ["build-dsg", str(video), "--out", str(out), "--device", "cpu"])
    assert missing.exit_code == 4 and "train-detector" in missing.output


def test_sigkill_then_resume_completes_with_valid_artifacts(
    tmp_path: Path, synth: tuple[Path, Path]
) -> None:
    data, detections = synth
    # 30 items over the 4 videos: ids differ, so each is built and written on its own.
    paths = sorted((data / "videos").glob("*.mp4"))
    manifest = tmp_path / "videos.jsonl"
    with manifest.open("w") as handle:
        for k in range(30):
            path = paths[k % len(paths)]
            handle.write(json.dumps({"id": f"{path.stem}-{k:02d}", "path": str(path)}) + "\n")
    out = tmp_path / "sgs"
    command = [sys.executable, "-m", "finsta_cli", "build-dsg", str(manifest), "--out", str(out)]
    command += ["--detector", "file", "--detections", str(detections), "--quiet"]
    process = subprocess.Popen(
        command, env=repo_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ledger = out / ".finsta-ledger.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if ledger.exists() and len(ledger.read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = len(ledger.read_text().splitlines())
    assert 3 <= finished < 30
    _check_outputs(out)  # what the killed run left is valid

    resumed = subprocess.run([*command, "--json"], env=repo_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] >= finished and summary["done"] + summary["skipped"] == 30
    assert len(_check_outputs(out)) == 30


def test_shipped_detector_meets_quality_goals_on_synth(
    tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]
) -> None:
    from finsta_cli.assets import default_detector_weights

    if not default_detector_weights().is_file():
        pytest.skip(f"shipped weights {default_detector_weights()} absent (docs/synth.md)")
    data, _ = synth
    out = tmp_path / "sgs"
    result = runner.invoke(
        app, ["build-dsg", str(data / "videos"), "--out", str(out), "--device", "cpu", "-q"]
    )
    assert result.exit_code == 0, result.output
    scored = runner.invoke(
        app, ["eval", "--task", "dsg", "--gold", str(data), "--pred", str(out), "--json"]
    )
    metrics = json.loads(scored.stdout)
    assert metrics["recall"] >= 0.9 and metrics["idf1"] >= 0.85
    # On synth videos, the synth detector is not warned about.
    assert json.loads((out / "manifest.json").read_text())["warnings"] == []
    assert metrics["motion_accuracy"] >= 0.8
    import torch

    tensors = torch.load(next(out.glob("*.pt")), weights_only=True)
    assert tensors["features"].shape[1] == 448


def test_fps_sampling_and_config_file(tmp_path: Path, runner: CliRunner) -> None:
    video = make_mp4(tmp_path / "clip.mp4", 20)  # 8 fps
    detections = tmp_path / "none.jsonl"
    detections.write_text("")
    config = tmp_path / "dsg.yaml"
    config.write_text(
        "build_dsg:\n  fps: 2\n  detector: file\n  relations:\n    near_gap: 0.2\n"
        f"  detections: {detections}\n"
    )
    out = tmp_path / "sgs"
    result = runner.invoke(
        app, ["build-dsg", str(video), "--out", str(out), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    record = DSG.model_validate_json((out / "clip.json").read_text())
    assert [f.index for f in record.frames] == [0, 4, 8, 12, 16]
    assert [f.time for f in record.frames] == [0.0, 0.5, 1.0, 1.5, 2.0]
    resolved = (out / "config.yaml").read_text()
    assert "near_gap: 0.2" in resolved and "fps: 2.0" in resolved
    typo = tmp_path / "typo.yaml"
    typo.write_text("build_dsg:\n  relations:\n    neargap: 0.2\n")
    bad = runner.invoke(app, ["build-dsg", str(video), "--out", str(out), "--config", str(typo)])
    assert bad.exit_code == 2 and "near_gap" in bad.output


def test_shards_split_the_videos(
    tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]
) -> None:
    data, detections = synth
    out = tmp_path / "sgs"
    done = 0
    for shard in ("0/2", "1/2"):
        result = runner.invoke(
            app,
            [
                *("build-dsg", str(data / "videos"), "--out", str(out), "--shard", shard),
                *("--detector", "file", "--detections", str(detections), "--json", "-q"),
            ],
        )
        assert result.exit_code == 0, result.output
        done += json.loads(result.stdout)["done"]
    assert done == 4
    assert (out / "manifest.shard-0-of-2.json").is_file()
    assert len(_check_outputs(out)) == 4


def _flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())


def _warnings(out: Path) -> list[dict[str, str]]:
    warnings: list[dict[str, str]] = json.loads((out / "manifest.json").read_text())["warnings"]
    return warnings


def test_the_synth_detector_on_real_footage_is_warned_about(
    tmp_path: Path, runner: CliRunner, synth: tuple[Path, Path]
) -> None:
    from finsta_cli.assets import default_detector_weights
    from finsta_cli.synth.render import write_mp4

    if not default_detector_weights().is_file():
        pytest.skip(f"shipped weights {default_detector_weights()} absent (docs/synth.md)")
    data, _ = synth
    street = tmp_path / "street.mp4"
    write_mp4(street, list(natural_frames(6, 96, 160)), 8)  # colours of a filmed scene
    rendered = sorted((data / "videos").glob("*.mp4"))[0]
    out = tmp_path / "sgs"
    args = ["build-dsg", str(street), str(rendered), "--out", str(out), "--frames", "4"]
    result = runner.invoke(app, [*args, "--device", "cpu", "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 2  # warned, not refused
    text = _flat(result.output)
    assert "street does not look like finsta synth footage" in text
    assert "--detector nanodet" in text and rendered.stem not in text
    [warning] = _warnings(out)
    assert warning["code"] == "synth_detector_on_real_footage"
    assert warning["message"].startswith("1 of 2 video(s) (street) do not look like synth footage")
    assert "knows only the six synth shapes" in warning["message"]
    # A detector of other classes (a random COCO YOLO here) is not the synth detector.
    coco = tmp_path / "coco"
    result = runner.invoke(
        app, [*args[:3], "--out", str(coco), "--weights", "yolov8n.yaml", "--imgsz", "64", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert _warnings(coco) == []


def test_stray_images_and_inputs_without_videos(tmp_path: Path, runner: CliRunner) -> None:
    videos = tmp_path / "videos"
    (videos / "sub").mkdir(parents=True)
    make_mp4(videos / "sub" / "clip.mp4", 4)
    from PIL import Image

    Image.new("RGB", (32, 32)).save(videos / "poster.png")
    detections = tmp_path / "none.jsonl"
    detections.write_text("")
    out = tmp_path / "sgs"
    common = ["--detector", "file", "--detections", str(detections), "--json"]
    result = runner.invoke(app, ["build-dsg", str(videos), "--out", str(out), *common])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 1
    assert (out / "clip.json").is_file() and not (out / "videos.json").exists()
    assert "1 image file(s) left out (poster.png)" in _flat(result.output)
    [warning] = _warnings(out)
    assert warning["code"] == "inputs" and warning["message"].startswith(f"{videos}: 1 image")

    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["build-dsg", str(empty), "--out", str(tmp_path / "o"), *common])
    assert result.exit_code == 2, result.output
    assert f"no videos found in {empty}" in _flat(result.output)
    assert not (tmp_path / "o").exists()


def test_frame_folders_are_read_at_the_given_frame_rate(tmp_path: Path, runner: CliRunner) -> None:
    from PIL import Image

    dump = tmp_path / "frames" / "video7020"
    dump.mkdir(parents=True)
    for i in range(5):
        Image.new("RGB", (48, 32), (40 * i, 90, 30)).save(dump / f"{i:04d}.jpg")
    detections = tmp_path / "none.jsonl"
    detections.write_text("")
    out = tmp_path / "sgs"
    args = ["build-dsg", str(dump), "--out", str(out), "--detector", "file"]
    args += ["--detections", str(detections), "--json", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    record = DSG.model_validate_json((out / "video7020.json").read_text())
    assert record.frames[1].time == pytest.approx(1 / 12, abs=1e-5)
    [warning] = _warnings(out)
    assert warning["code"] == "folder_fps_default"
    assert "(video7020) read at 12 frames a second, the default" in warning["message"]
    assert "--folder-fps" in _flat(result.output)

    result = runner.invoke(app, [*args, "--folder-fps", "1"])
    assert result.exit_code == 0, result.output
    record = DSG.model_validate_json((out / "video7020.json").read_text())
    assert [f.time for f in record.frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert record.fps == 1.0
    assert _warnings(out) == []


def test_official_weights_are_fetched_only_when_allowed(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsta_cli.offline import ALLOW_DOWNLOAD_ENV, download_dir
    from finsta_cli.video.weights import load_yolo
    from tests.pickles import Touch

    monkeypatch.delenv(ALLOW_DOWNLOAD_ENV, raising=False)
    video = make_mp4(tmp_path / "a.mp4", 3)
    out = tmp_path / "sgs"
    args = ["build-dsg", str(video), "--out", str(out), "--weights", "yolov8n.pt"]
    args += ["--imgsz", "64", "--frames", "2", "--device", "cpu", "--json", "-q"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 4, refused.output
    text = _flat(refused.output)
    assert "yolov8n.pt: no such file here; it names an official ultralytics checkpoint" in text
    assert f"--allow-download (or set {ALLOW_DOWNLOAD_ENV}=1)" in text

    # Allowed: ultralytics' own download, stood in for by a random YOLO written where it writes.
    fetched: list[Path] = []

    def download(target: Path) -> None:
        fetched.append(target)
        load_yolo("yolov8n.yaml").save(str(target))

    monkeypatch.setattr("finsta_cli.video.weights._download_asset", download)
    result = runner.invoke(app, [*args, "--allow-download"])
    assert result.exit_code == 0, result.output
    target = download_dir("ultralytics") / "yolov8n.pt"
    assert fetched == [target] and target.is_file()
    # The environment variable allows it too; a copy in the cache is not fetched again.
    monkeypatch.setenv(ALLOW_DOWNLOAD_ENV, "1")
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert fetched == [target]

    # What the download wrote is checked as a local file is: a pickle that runs code is refused.
    marker = tmp_path / "ran"
    torch.save({"model": Touch(marker)}, download_dir("ultralytics") / "yolo11n.pt")
    args[args.index("yolov8n.pt")] = "yolo11n.pt"
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 1 and "refused" in _flat(result.output)
    assert not marker.exists()
