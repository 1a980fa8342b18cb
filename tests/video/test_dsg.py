"""Tests of finsta_cli/video/dsg.py: assembling records and tensors from per-frame detections."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from finsta_cli.io.stage import StageItem
from finsta_cli.schema.dsg import DSG
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.decode import VideoInfo, VideoSource
from finsta_cli.video.detections import FrameDetections
from finsta_cli.video.dsg import FrameResult, VideoMeta, build_dynamic_scene_graph
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.stage import (
    BuildDSGConfig,
    _AssemblyJob,
    _write_video,
    _Writer,
    assembly_mode,
)
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


def test_assembly_mode_follows_the_detector_device() -> None:
    assert assembly_mode("auto", "cpu") == "thread"
    assert assembly_mode("auto", "cuda:0") == "process"
    assert assembly_mode("process", "cpu") == "process"
    assert assembly_mode("thread", "cuda") == "thread"


def _job(tmp_path: Path) -> _AssemblyJob:
    """One detected three-frame video, ready for the writer."""
    item = StageItem("clip", "hash", VideoSource("clip", tmp_path / "clip.mp4", "video"))
    info = VideoInfo(num_frames=40, fps=8.0, width=200, height=100)
    return _AssemblyJob(item, info, [_result(i, [[20, 40, 40, 60]], [0]) for i in range(3)])


def test_writer_reports_a_failure_as_its_reason(tmp_path: Path) -> None:
    """The writer answers a string (it may come back from a worker process), not a raise."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the output folder should be\n")
    job = _job(tmp_path)
    config = BuildDSGConfig()
    names = {0: "cube", 1: "ball"}
    outcome = _write_video(job, blocked, config, names, 3, HungarianTracker())
    assert isinstance(outcome, str) and outcome
    written = _write_video(job, tmp_path / "sgs", config, names, 3, HungarianTracker())
    assert not isinstance(written, str)
    paths, _ = written
    assert sorted(p.name for p in paths) == ["clip.json", "clip.pt"]
    assert DSG.model_validate_json(paths[0].read_text()).video_id == "clip"


def test_a_dead_assembly_process_falls_back_to_a_thread(tmp_path: Path) -> None:
    job = _job(tmp_path)
    args = (tmp_path / "sgs", BuildDSGConfig(), {0: "cube"}, 3, HungarianTracker())
    writer = _Writer("process")
    try:
        done = writer.submit(job, *args).result(timeout=120)  # the process works
        assert not isinstance(done, str)
        for process in list(writer.pool._processes.values()):  # type: ignore[attr-defined]
            os.kill(process.pid, signal.SIGKILL)
            process.join(timeout=30)
        # The pool knows it is broken at the next submit (then the writer falls back at once),
        # or the job's future says so (then the writer falls back and runs it again).
        again = writer.outcome(writer.submit(job, *args), job, *args)
        assert writer.mode == "thread"
        assert not isinstance(again, str) and again[0][0].is_file()
    finally:
        writer.shutdown()


def test_writer_refuses_non_finite_region_features(tmp_path: Path) -> None:
    """NaN detector features fail their video, with the tensor named; nothing is written."""
    job = _job(tmp_path)
    job.frames[1].detections.features[0, 1] = np.nan
    out = tmp_path / "sgs"
    outcome = _write_video(job, out, BuildDSGConfig(), {0: "cube"}, 3, HungarianTracker())
    assert isinstance(outcome, str)
    assert outcome == (
        f"{out / 'clip.pt'}: not written: detector output 'features of frame 1' holds 1 NaN of "
        "3 values"
    )
    assert not (out / "clip.pt").exists() and not (out / "clip.json").exists()
    job = _job(tmp_path)
    job.frames[2].detections.scores[0] = np.inf  # a detections file can carry one too
    outcome = _write_video(job, out, BuildDSGConfig(), {0: "cube"}, 3, HungarianTracker())
    assert isinstance(outcome, str) and "'scores of frame 2' holds 1 infinite" in outcome
    assert not out.exists() or not any(out.iterdir())
