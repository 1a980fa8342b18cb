"""build-dsg's detection pipeline: decoded chunks -> detector batches -> each video's frame
results -> the graph writer (:mod:`finsta_cli.video.assemble`), every video's outcome recorded
in the stage run."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from finsta_cli.io.stage import PhaseTimings, StageItem
from finsta_cli.video.assemble import AssemblyJob, AssemblySettings, GraphWriter, Outcome
from finsta_cli.video.attributes import box_colours
from finsta_cli.video.decode import DecodeFailure, FrameChunk, VideoInfo, VideoSource
from finsta_cli.video.detections import Detector, FrameKey
from finsta_cli.video.dsg import FrameResult
from finsta_cli.video.footage import FootageCheck


class VideoOutcomes(Protocol):
    """Where the pipeline records each video's outcome and its timings: the stage run, or
    on a Ray actor a stand-in for one video (:mod:`finsta_cli.video.remote`)."""

    timings: PhaseTimings

    def timed(self, phase: str) -> AbstractContextManager[None]: ...

    def done(
        self, item: StageItem[VideoSource], outputs: Sequence[str | os.PathLike[str]]
    ) -> None: ...

    def fail(
        self,
        item: StageItem[VideoSource] | str,
        error: BaseException | str,
        source: str | None = None,
    ) -> None: ...


@dataclass
class _Video:
    """A video on its way through the pipeline: its frames detected so far, by position."""

    item: StageItem[VideoSource]
    info: VideoInfo | None = None  # set with its first chunk
    results: dict[int, FrameResult] = field(default_factory=dict)
    expected: int | None = None  # its number of frames, once its last chunk came
    failed: bool = False


@dataclass
class _Frame:
    """A decoded frame waiting for a detector batch."""

    video: _Video
    position: int  # in the video's sampled frames
    index: int  # in the video
    time: float
    pixels: np.ndarray


class DetectionPipeline:
    """Gathers decoded frames, from one video or several, into detector batches of ``batch``
    frames, so short videos share a batch; when all frames of a video are detected, hands it
    to ``writer``, and records in ``run`` what the writer answers. A video that fails (in
    decoding, detection or assembly) is recorded as failed; the others go on. The first chunk
    of each video goes past ``footage`` (the synth detector's check)."""

    def __init__(
        self,
        detector: Detector,
        writer: GraphWriter,
        settings: AssemblySettings,
        run: VideoOutcomes,
        *,
        batch: int,
        footage: FootageCheck | None = None,
    ) -> None:
        self.detector, self.writer, self.settings, self.run = detector, writer, settings, run
        self.batch, self.footage = batch, footage
        self.videos: dict[str, _Video] = {}  # by id, until handed to the writer
        self.waiting: list[_Frame] = []  # the next detector batch
        self.writing: deque[tuple[AssemblyJob, Future[Outcome]]] = deque()

    def process(self, chunks: Iterable[FrameChunk | DecodeFailure]) -> None:
        """Detect, assemble and write every video of ``chunks``; the writer's last videos are
        waited for, and recorded, even when an error stops the run."""
        try:
            waited = time.perf_counter()
            for entry in chunks:
                self.run.timings["decode_wait"] = (
                    self.run.timings.get("decode_wait", 0.0) + time.perf_counter() - waited
                )
                if isinstance(entry, DecodeFailure):
                    self._decoding_failed(entry)
                else:
                    self._add_chunk(entry)
                self._record_written(wait=False)
                waited = time.perf_counter()
            self._detect_batch()
            self._hand_over_finished()
        finally:
            self._record_written(wait=True)

    def _decoding_failed(self, failure: DecodeFailure) -> None:
        video = self.videos.pop(failure.item.id, None)
        if video is not None:
            video.failed = True
        self.run.fail(failure.item, failure.error)

    def _add_chunk(self, chunk: FrameChunk) -> None:
        video = self.videos.setdefault(chunk.item.id, _Video(chunk.item))
        video.info = chunk.info
        if self.footage is not None and chunk.positions and chunk.positions[0] == 0:
            self.footage.see(chunk.item.id, chunk.frames)
        for k, position in enumerate(chunk.positions):
            self.waiting.append(
                _Frame(video, position, chunk.indices[k], chunk.times[k], chunk.frames[k])
            )
            if len(self.waiting) >= self.batch:
                self._detect_batch()
                self._hand_over_finished()
        if chunk.last:
            video.expected = chunk.positions[-1] + 1 if chunk.positions else 0
            self._hand_over_finished()

    def _detect_batch(self) -> None:
        """Detect the waiting frames of videos that have not failed; a detector error fails
        every video of the batch."""
        if not self.waiting:
            return
        pending = [frame for frame in self.waiting if not frame.video.failed]
        self.waiting.clear()
        if not pending:
            return
        keys = []
        for frame in pending:
            info = frame.video.info
            assert info is not None
            keys.append(FrameKey(frame.video.item.id, frame.index, info.width, info.height))
        try:
            with self.run.timed("detect"):
                found = self.detector.detect([frame.pixels for frame in pending], keys)
        except Exception as exc:
            for video in {id(f.video): f.video for f in pending}.values():
                if not video.failed:
                    video.failed = True
                    self.run.fail(video.item, exc)
            return
        with self.run.timed("colours"):
            for frame, detections in zip(pending, found, strict=True):
                h, w = frame.pixels.shape[:2]
                frame.video.results[frame.position] = FrameResult(
                    index=frame.index,
                    time=frame.time,
                    width=w,
                    height=h,
                    detections=detections,
                    colours=box_colours(frame.pixels, detections.boxes),
                )

    def _hand_over_finished(self) -> None:
        """Send every video whose frames are all detected to the writer (tracking, assembly
        and writing run there, beside detection); forget the failed ones."""
        for video_id in list(self.videos):
            video = self.videos[video_id]
            if video.failed:
                del self.videos[video_id]
                continue
            if video.expected is None or len(video.results) < video.expected:
                continue
            del self.videos[video_id]
            assert video.info is not None  # set with the video's first chunk
            job = AssemblyJob(
                video.item, video.info, [video.results[p] for p in sorted(video.results)]
            )
            self.writing.append((job, self.writer.submit(job, self.settings)))

    def _record_written(self, *, wait: bool) -> None:
        """Record the videos the writer has finished, in the order they were handed over
        (``wait``: all of them)."""
        while self.writing and (wait or self.writing[0][1].done()):
            job, future = self.writing.popleft()
            outcome = self.writer.outcome(future, job, self.settings)
            if isinstance(outcome, str):
                self.run.fail(job.item, outcome)
            else:
                outputs, seconds = outcome
                self.run.timings["assemble"] = self.run.timings.get("assemble", 0.0) + seconds
                self.run.done(job.item, outputs)
