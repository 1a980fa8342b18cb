"""Tests of finsta_cli/video/detect.py: detection files, the detector factory and its options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.video.detect import FileDetector, make_detector
from finsta_cli.video.detections import FrameKey
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


def test_detector_options_are_read_from_the_build_dsg_config() -> None:
    options = BuildDSGConfig(detector="nanodet", batch=5, conf=0.4, threads=2).detector_options()
    assert (options.kind, options.imgsz, options.conf, options.threads) == ("nanodet", 416, 0.4, 2)
    assert options.warmup_batch == 5 and options.weights_file().name == "nanodet-g-coco.pt"
    named = BuildDSGConfig(detector="file", detections="boxes.jsonl").detector_options()
    assert named.weights_file() == Path("boxes.jsonl")
