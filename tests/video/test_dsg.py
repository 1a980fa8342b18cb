"""Tests of finsta_cli/video/dsg.py: assembling records and tensors from per-frame detections."""

from __future__ import annotations

import numpy as np

from finsta_cli.schema.dsg import DSG
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.detections import FrameDetections
from finsta_cli.video.dsg import FrameResult, VideoMeta, build_dynamic_scene_graph
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.track import HungarianTracker

META = VideoMeta("clip", "clip.mp4", 8.0, 40, 200, 100)


def _result(index: int, boxes: list[list[float]], classes: list[int], dim: int = 3) -> FrameResult:
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


def _build(frames: list[FrameResult], dim: int = 3) -> tuple[DSG, dict]:
    return build_dynamic_scene_graph(
        META,
        frames,
        {0: "cube", 1: "ball"},
        HungarianTracker(),
        RelationOptions(),
        AttributeOptions(),
        dim,
    )


def test_graph_of_a_moving_and_a_still_object() -> None:
    frames = [
        _result(i * 4, [[20 + 8 * i, 40, 40 + 8 * i, 60], [150, 10, 170, 30]], [0, 1])
        for i in range(6)
    ]
    record, tensors = _build(frames)
    DSG.model_validate(record.model_dump())  # valid against the schema
    assert [f.index for f in record.frames] == [0, 4, 8, 12, 16, 20]
    assert [t.label for t in record.tracks] == ["cube", "ball"]
    cube, ball = record.tracks
    assert cube.attributes["motion"] == "right" and ball.attributes["motion"] == "still"
    assert cube.attributes["colour"] == "red" and ball.attributes["colour"] == "blue"
    assert len(record.coreference) == 10
    assert record.coreference[0].model_dump() == {
        "track_id": 0,
        "source_frame": 0,
        "target_frame": 1,
    }
    first = record.frames[0]
    assert first.objects[0].box == (0.1, 0.4, 0.2, 0.6)
    predicates = {(r.subject, r.predicate, r.object) for r in first.relations}
    assert (0, "left of", 1) in predicates and (0, "below", 1) in predicates
    assert tensors["boxes"].shape == (12, 4) and tensors["features"].shape == (12, 3)
    assert tensors["track_ids"].tolist() == [0, 1] * 6
    assert tensors["frame"].tolist() == [i // 2 for i in range(12)]
    assert tensors["frame_index"].tolist() == [0, 4, 8, 12, 16, 20]


def test_video_with_no_detections_gives_empty_frames() -> None:
    record, tensors = _build([_result(i, [], []) for i in range(3)], dim=448)
    assert len(record.frames) == 3 and all(not f.objects for f in record.frames)
    assert record.tracks == [] and record.coreference == []
    assert tensors["features"].shape == (0, 448) and tensors["boxes"].shape == (0, 4)
