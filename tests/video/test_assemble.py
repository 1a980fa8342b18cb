"""Tests of finsta_cli/video/assemble.py: writing a detected video's graph on a thread or in a
worker process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from finsta_cli.io.stage import StageItem
from finsta_cli.schema.dsg import DSG
from finsta_cli.video.assemble import (
    AssemblyJob,
    AssemblySettings,
    GraphWriter,
    assembly_mode,
    write_graph,
)
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.decode import VideoInfo, VideoSource
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.track import HungarianTracker
from tests.video.helpers import frame_result


def _settings(out_dir: Path, names: dict[int, str]) -> AssemblySettings:
    return AssemblySettings(
        out_dir, names, 3, HungarianTracker(), RelationOptions(), AttributeOptions()
    )


def test_assembly_mode_follows_the_detector_device() -> None:
    assert assembly_mode("auto", "cpu") == "thread"
    assert assembly_mode("auto", "cuda:0") == "process"
    assert assembly_mode("process", "cpu") == "process"
    assert assembly_mode("thread", "cuda") == "thread"


def _job(tmp_path: Path) -> AssemblyJob:
    """One detected three-frame video, ready for the writer."""
    item = StageItem("clip", "hash", VideoSource("clip", tmp_path / "clip.mp4", "video"))
    info = VideoInfo(num_frames=40, fps=8.0, width=200, height=100)
    return AssemblyJob(item, info, [frame_result(i, [[20, 40, 40, 60]], [0]) for i in range(3)])


def test_writer_reports_a_failure_as_its_reason(tmp_path: Path) -> None:
    """The writer answers a string (it may come back from a worker process), not a raise."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the output folder should be\n")
    job = _job(tmp_path)
    names = {0: "cube", 1: "ball"}
    outcome = write_graph(job, _settings(blocked, names))
    assert isinstance(outcome, str) and outcome
    written = write_graph(job, _settings(tmp_path / "sgs", names))
    assert not isinstance(written, str)
    paths, _ = written
    assert sorted(p.name for p in paths) == ["clip.json", "clip.pt"]
    assert DSG.model_validate_json(paths[0].read_text()).video_id == "clip"


def test_a_dead_assembly_process_falls_back_to_a_thread(tmp_path: Path) -> None:
    job = _job(tmp_path)
    settings = _settings(tmp_path / "sgs", {0: "cube"})
    writer = GraphWriter("process")
    try:
        done = writer.submit(job, settings).result(timeout=120)  # the process works
        assert not isinstance(done, str)
        for process in list(writer.pool._processes.values()):  # type: ignore[attr-defined]
            os.kill(process.pid, signal.SIGKILL)
            process.join(timeout=30)
        # The pool knows it is broken at the next submit (then the writer falls back at once),
        # or the job's future says so (then the writer falls back and runs it again).
        again = writer.outcome(writer.submit(job, settings), job, settings)
        assert writer.mode == "thread"
        assert not isinstance(again, str) and again[0][0].is_file()
    finally:
        writer.shutdown()


def test_writer_refuses_non_finite_region_features(tmp_path: Path) -> None:
    """NaN detector features fail their video, with the tensor named; nothing is written."""
    job = _job(tmp_path)
    job.frames[1].detections.features[0, 1] = np.nan
    out = tmp_path / "sgs"
    outcome = write_graph(job, _settings(out, {0: "cube"}))
    assert isinstance(outcome, str)
    assert outcome == (
        f"{out / 'clip.pt'}: not written: detector output 'features of frame 1' holds 1 NaN of "
        "3 values"
    )
    assert not (out / "clip.pt").exists() and not (out / "clip.json").exists()
    job = _job(tmp_path)
    job.frames[2].detections.scores[0] = np.inf  # a detections file can carry one too
    outcome = write_graph(job, _settings(out, {0: "cube"}))
    assert isinstance(outcome, str) and "'scores of frame 2' holds 1 infinite" in outcome
    assert not out.exists() or not any(out.iterdir())
