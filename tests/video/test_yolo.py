"""Tests of finsta_cli/video/yolo.py: a random-init YOLO's boxes and region features, the shipped
synth detector."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from finsta_cli.assets import default_detector_weights
from finsta_cli.video.detections import FrameKey
from finsta_cli.video.yolo import YoloDetector


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
