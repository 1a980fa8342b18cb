"""Builders of video test inputs, shared with the hosts, CLI and fault tests: mp4 files written with
PyAV, frames with a photograph's colour variety, a synth folder's ground truth as detections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from finsta_cli.synth.records import ground_truth_dsg
from finsta_cli.synth.render import write_mp4
from finsta_cli.video.detect import detection_lines
from finsta_cli.video.detections import FrameDetections
from finsta_cli.video.dsg import FrameResult


def write_gt_detections(synth_dir: Path, target: Path) -> Path:
    """A synth folder's ground truth as a detections file for ``build-dsg --detector file``."""
    with target.open("w", encoding="utf-8") as handle:
        for path in sorted((synth_dir / "annotations").glob("*.json")):
            record = ground_truth_dsg(json.loads(path.read_text(encoding="utf-8")))
            for line in detection_lines(record):
                handle.write(json.dumps(line) + "\n")
    return target


def make_mp4(path: Path, frames: int, size: tuple[int, int] = (96, 64), fps: int = 8) -> Path:
    """An mp4 of a red square moving right on grey, ``frames`` frames of width x height."""
    width, height = size
    images = []
    for t in range(frames):
        image = np.full((height, width, 3), 128, np.uint8)
        x = 5 + 3 * t
        image[20:40, x : x + 20] = (220, 30, 30)
        images.append(image)
    write_mp4(path, images, fps)
    return path


def natural_frames(count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """(count, height, width, 3) frames with the colour variety of a photograph: each channel
    a smooth random field of its own, so hue and brightness change across the frame."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        channels = [
            np.asarray(
                Image.fromarray(rng.integers(0, 256, (6, 8), dtype=np.uint8)).resize(
                    (width, height), Image.Resampling.BICUBIC
                )
            )
            for _ in range(3)
        ]
        frames.append(np.stack(channels, axis=-1))
    return np.stack(frames)


def frame_result(
    index: int, boxes: list[list[float]], classes: list[int], dim: int = 3
) -> FrameResult:
    """One sampled frame's detections: boxes of classes 0 (red) and 1 (blue), 200 x 100, 8 fps."""
    n = len(boxes)
    detections = FrameDetections(
        boxes=np.array(boxes, np.float32).reshape(-1, 4),
        scores=np.full(n, 0.9, np.float32),
        classes=np.array(classes, np.int64),
        features=np.arange(n * dim, dtype=np.float32).reshape(n, dim),
        given_ids=np.full(n, -1, np.int64),
    )
    colours = np.array(
        [(0.9, 0.1, 0.1) if c == 0 else (0.1, 0.2, 0.9) for c in classes], np.float32
    ).reshape(-1, 3)
    return FrameResult(index, index / 8.0, 200, 100, detections, colours)
