"""Tests of finsta_cli/video/detect.py and features.py: detection files, YOLO, RoI pooling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from finsta_cli.assets import default_detector_weights
from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.video.detect import FileDetector, YoloDetector, make_detector
from finsta_cli.video.detections import FrameKey
from finsta_cli.video.features import input_boxes, pool_region_features
from finsta_cli.video.stage import BuildDSGConfig


def _frames(n: int, h: int = 50, w: int = 100) -> list[np.ndarray]:
    return [np.zeros((h, w, 3), np.uint8) for _ in range(n)]


def test_generic_detections_file(tmp_path: Path) -> None:
    path = tmp_path / "dets.jsonl"
    lines = [
        {"video_id": "v", "frame": 2, "objects": [{"box": [0.1, 0.2, 0.5, 0.6], "label": "cup"}]},
        {
            "video_id": "v",
            "frame": 3,
            "objects": [
                {"box": [0.0, 0.0, 1.2, 0.5], "label": "hand", "score": 0.5, "track_id": 7}
            ],
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    detector = FileDetector(path)
    assert detector.names == {0: "cup", 1: "hand"}
    keys = [FrameKey("v", i, 200, 100) for i in (1, 2, 3)]
    empty, cup, hand = detector.detect(_frames(3), keys)
    assert len(empty) == 0
    np.testing.assert_allclose(cup.boxes, [[10, 10, 50, 30]])  # normalised x decoded 100x50
    assert cup.scores.tolist() == [1.0] and cup.classes.tolist() == [0]
    np.testing.assert_allclose(hand.boxes, [[0, 0, 100, 25]])  # clipped to the frame
    assert hand.given_ids.tolist() == [7] and hand.features.shape == (1, 0)


def test_something_else_format(tmp_path: Path) -> None:
    annotations = {
        "77": [
            {
                "name": "77/0002.jpg",
                "labels": [
                    {
                        "box2d": {"x1": 20.0, "y1": 10.0, "x2": 60.0, "y2": 30.0},
                        "category": "comb",
                        "standard_category": "0001",
                    },
                    {
                        "box2d": {"x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 10.0},
                        "category": "hand",
                        "standard_category": "hand",
                    },
                ],
            }
        ]
    }
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(annotations))
    detector = FileDetector(path)
    [found] = detector.detect(_frames(1), [FrameKey("77", 1, 200, 100)])  # 0002.jpg is frame 1
    np.testing.assert_allclose(found.boxes, [[10, 5, 30, 15], [0, 0, 5, 5]])
    assert [detector.names[c] for c in found.classes] == ["comb", "hand"]
    assert found.given_ids.tolist() == [1, -1]


def test_bad_detection_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"video_id": "v", "frame": 0, "objects": [{"box": [1, 2]}]}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:1"):
        FileDetector(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2")
    with pytest.raises(InputError, match="not JSON"):
        FileDetector(broken)


def test_missing_default_weights_is_a_missing_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSTA_DETECTOR_WEIGHTS", str(tmp_path / "none.pt"))
    with pytest.raises(MissingResourceError, match="train-detector"):
        make_detector(BuildDSGConfig().detector_options())


def test_input_boxes_invert_ultralytics_scale_boxes() -> None:
    from finsta_cli.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.utils.ops import scale_boxes

    boxes = np.array([[10.0, 20.0, 300.0, 200.0], [0.0, 0.0, 640.0, 360.0]], np.float32)
    letterboxed = input_boxes(boxes, (360, 640), (160, 256))
    back = scale_boxes((160, 256), letterboxed.copy(), (360, 640))
    np.testing.assert_allclose(back, boxes, atol=1.0)


def test_roi_features_pool_each_level() -> None:
    import torch

    maps = [
        torch.arange(4.0).repeat_interleave(8 * 8).reshape(1, 4, 8, 8),
        torch.full((1, 6, 4, 4), 5.0),
    ]
    boxes = [torch.tensor([[0.0, 0.0, 16.0, 16.0], [8.0, 8.0, 32.0, 32.0]])]
    [features] = pool_region_features(maps, [4.0, 8.0], boxes)
    assert features.shape == (2, 10)
    np.testing.assert_allclose(features[0, :4].numpy(), [0, 1, 2, 3], atol=1e-5)
    np.testing.assert_allclose(features[:, 4:].numpy(), 5.0, atol=1e-5)
    [none] = pool_region_features(maps, [4.0, 8.0], [torch.zeros((0, 4))])
    assert none.shape == (0, 10)


@pytest.fixture(scope="module")
def random_yolo() -> Iterator[YoloDetector]:
    # A randomly initialised YOLOv8n: conf 0 keeps its (meaningless) boxes, to test the plumbing.
    yield YoloDetector(
        "yolov8n.yaml", conf=0.0, iou=0.7, max_objects=4, imgsz=128, device="cpu", threads=2
    )


def test_yolo_batches_boxes_and_region_features(random_yolo: YoloDetector) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (72, 128, 3), dtype=np.uint8) for _ in range(3)]
    keys = [FrameKey("v", i, 256, 144) for i in range(3)]
    found = random_yolo.detect(frames, keys)
    assert random_yolo.feature_dim == 64 + 128 + 256
    assert len(found) == 3
    for detections in found:
        n = len(detections)
        assert 0 < n <= 4
        assert detections.features.shape == (n, 448)
        assert np.isfinite(detections.features).all()
        assert (detections.boxes[:, [0, 2]] <= 128 + 1e-3).all()
        assert (detections.boxes[:, [1, 3]] <= 72 + 1e-3).all()
    # the same frame gives the same detections and features, alone or in a batch
    [alone] = random_yolo.detect(frames[1:2], keys[1:2])
    np.testing.assert_allclose(alone.boxes, found[1].boxes, atol=1e-3)
    np.testing.assert_allclose(alone.features, found[1].features, atol=1e-4)


@pytest.mark.slow
def test_shipped_detector_finds_synth_objects(synth_dir: Path) -> None:
    weights = default_detector_weights()
    if not weights.is_file():
        pytest.skip(f"shipped weights {weights} absent (train them: docs/synth.md)")
    from finsta_cli.video.decode import DecodeOptions, discover_videos, iter_chunks, video_items

    record = json.loads(next(iter((synth_dir / "annotations").glob("*.json"))).read_text())
    detector = YoloDetector(
        str(weights), conf=0.25, iou=0.7, max_objects=20, imgsz=256, device="cpu"
    )
    [item] = list(video_items(discover_videos([synth_dir / str(record["video"])])))
    [chunk] = list(iter_chunks(item, DecodeOptions(frames=4)))
    found = detector.detect(
        list(chunk.frames), [FrameKey(item.id, i, 256, 256) for i in chunk.indices]
    )
    labelled = sum(
        1
        for f in record["frames"]
        if f["index"] in chunk.indices
        for o in f["objects"]
        if o["labelled"]
    )
    assert sum(len(d) for d in found) >= 0.8 * labelled


def test_detector_options_are_read_from_the_build_dsg_config() -> None:
    options = BuildDSGConfig(detector="nanodet", batch=5, conf=0.4, threads=2).detector_options()
    assert (options.kind, options.imgsz, options.conf, options.threads) == ("nanodet", 416, 0.4, 2)
    assert options.warmup_batch == 5 and options.weights_file().name == "nanodet-g-coco.pt"
    named = BuildDSGConfig(detector="file", detections="boxes.jsonl").detector_options()
    assert named.weights_file() == Path("boxes.jsonl")
