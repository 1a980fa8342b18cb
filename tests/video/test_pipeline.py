"""Tests of finsta_cli/video/pipeline.py: decoded chunks through detector batches to the writer."""

from __future__ import annotations

from pathlib import Path

from finsta_cli.errors import InputError
from finsta_cli.io.stage import StagePaths, StageRun, StageSummary
from finsta_cli.video.assemble import AssemblySettings, GraphWriter
from finsta_cli.video.decode import (
    DecodeFailure,
    DecodeOptions,
    FrameChunk,
    VideoSource,
    discover_videos,
    iter_chunks,
    video_items,
)
from finsta_cli.video.detect import FileDetector
from finsta_cli.video.pipeline import DetectionPipeline
from finsta_cli.video.stage import BuildDSGConfig
from finsta_cli.video.track import HungarianTracker


def _process(
    synth_dir: Path,
    detections: Path,
    out: Path,
    *,
    batch: int,
    chunk: int,
    broken: str | None = None,
) -> StageSummary:
    """The pipeline over the synth videos (8 frames each, ``chunk`` frames a chunk) with the
    ground truth as detections; ``broken``: a video whose decoding fails after its first
    chunk."""
    config = BuildDSGConfig(detector="file", detections=str(detections), batch=batch)
    items = list(video_items(discover_videos([synth_dir / "videos"])))
    options = DecodeOptions(frames=8, longest=128, chunk=chunk)
    chunks: list[FrameChunk | DecodeFailure] = []
    for item in items:
        decoded = list(iter_chunks(item, options))
        if item.id == broken:
            chunks += [decoded[0], DecodeFailure(item, InputError("a broken frame"))]
        else:
            chunks += decoded
    with StageRun[VideoSource](
        "build-dsg", StagePaths.for_dir(out, None), config, quiet=True, total=len(items)
    ) as run:
        detector = FileDetector(detections)
        settings = AssemblySettings(
            out, detector.names, 0, HungarianTracker(), config.relations, config.attributes
        )
        writer = GraphWriter("thread")
        try:
            todo = list(run.select(items))
            assert len(todo) == len(items)
            DetectionPipeline(detector, writer, settings, run, batch=batch).process(chunks)
        finally:
            writer.shutdown()
    assert run.summary is not None
    return run.summary


def _graphs(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.glob("synth-*.json"))} | {
        path.name: path.read_bytes() for path in sorted(out.glob("synth-*.pt"))
    }


def test_batches_across_videos_change_nothing(
    synth_dir: Path, gt_detections: Path, tmp_path: Path
) -> None:
    """Frames of several videos share a batch of 5 (chunks of 3 frames); every video's graph
    is the one it gets alone, a frame at a time."""
    alone = _process(synth_dir, gt_detections, tmp_path / "alone", batch=1, chunk=8)
    shared = _process(synth_dir, gt_detections, tmp_path / "shared", batch=5, chunk=3)
    assert alone.done == shared.done == 6 and alone.failed == shared.failed == 0
    graphs = _graphs(tmp_path / "alone")
    assert len(graphs) == 12 and graphs == _graphs(tmp_path / "shared")


def test_a_video_that_fails_to_decode_midway_fails_alone(
    synth_dir: Path, gt_detections: Path, tmp_path: Path
) -> None:
    broken = "synth-s11-00002"
    out = tmp_path / "sgs"
    summary = _process(synth_dir, gt_detections, out, batch=5, chunk=3, broken=broken)
    assert (summary.done, summary.failed) == (5, 1)
    assert not list(out.glob(f"{broken}.*"))
    assert len(list(out.glob("synth-*.json"))) == 5
    assert "a broken frame" in (out / "failures.jsonl").read_text(encoding="utf-8")
