"""Tests of finsta_cli/video/dsg.py: assembling records and tensors from per-frame detections."""

from __future__ import annotations

from finsta_cli.schema.dsg import DSG
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.dsg import FrameResult, VideoMeta, build_dynamic_scene_graph
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.track import HungarianTracker
from tests.video.helpers import frame_result

META = VideoMeta("clip", "clip.mp4", 8.0, 40, 200, 100)


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
        frame_result(i * 4, [[20 + 8 * i, 40, 40 + 8 * i, 60], [150, 10, 170, 30]], [0, 1])
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
    record, tensors = _build([frame_result(i, [], []) for i in range(3)], dim=448)
    assert len(record.frames) == 3 and all(not f.objects for f in record.frames)
    assert record.tracks == [] and record.coreference == []
    assert tensors["features"].shape == (0, 448) and tensors["boxes"].shape == (0, 4)
