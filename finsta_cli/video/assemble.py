"""Tracking, assembly and writing of a detected video's graph, beside detection: on a writer
thread or in a worker process (build-dsg's ``--assemble``).

:func:`write_graph` turns one :class:`AssemblyJob` (a video's detected frames) into its two
files, ``.pt`` first, then ``.json``, each atomically; :class:`GraphWriter` runs it on a thread
or in a process, and goes on with a thread when the process dies.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from finsta_cli.errors import storage_full_error
from finsta_cli.io.paths import output_path
from finsta_cli.io.progress import get_logger
from finsta_cli.io.stage import StageItem, describe_error
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.decode import VideoInfo, VideoSource, lower_thread_priority
from finsta_cli.video.detections import Detector
from finsta_cli.video.dsg import FrameResult
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.track import Tracker

log = get_logger("build-dsg")

AssemblyMode = Literal["thread", "process"]


def assembly_mode(assemble: str, device: str) -> AssemblyMode:
    """``--assemble auto``: a worker process beside a GPU detector, whose batches are mostly
    Python work that a writer thread would hold up (the GIL); a thread beside a CPU detector,
    which keeps every core busy anyway and would only pay the process's start-up."""
    if assemble == "process" or (assemble == "auto" and not device.startswith("cpu")):
        return "process"
    return "thread"


@dataclass
class AssemblyJob:
    """What the writer needs of one detected video (sent to a worker process as it is)."""

    item: StageItem[VideoSource]
    info: VideoInfo
    frames: list[FrameResult]  # in frame order


@dataclass
class AssemblySettings:
    """What every video's assembly needs besides its frames: where the files go, the
    detector's class names and feature size, the tracker and the graph's options."""

    out_dir: Path
    names: dict[int, str]
    feature_dim: int
    tracker: Tracker
    relations: RelationOptions
    attributes: AttributeOptions

    @classmethod
    def for_detector(
        cls,
        detector: Detector,
        out_dir: Path,
        tracker: Tracker,
        relations: RelationOptions,
        attributes: AttributeOptions,
    ) -> AssemblySettings:
        """The settings of graphs built from ``detector``'s detections (its names, feature size)."""
        return cls(
            out_dir=out_dir,
            names=dict(detector.names),
            feature_dim=int(detector.feature_dim),
            tracker=tracker,
            relations=relations,
            attributes=attributes,
        )


# The writer's answer: the two files and the seconds it took, or why it failed.
Outcome = tuple[list[Path], float] | str


def write_graph(job: AssemblyJob, settings: AssemblySettings) -> Outcome:
    """Assemble and write one video's graph: its two files and the seconds it took, or the
    reason it failed (a string, which crosses a process boundary whatever the error was)."""
    import torch

    from finsta_cli.io.atomic import atomic_write_text
    from finsta_cli.io.finite import require_finite
    from finsta_cli.io.torchfile import save_torch_file
    from finsta_cli.video.dsg import VideoMeta, build_dynamic_scene_graph

    start = time.perf_counter()
    info, item = job.info, job.item
    try:
        meta = VideoMeta(
            video_id=item.id,
            source=str(item.payload.path),
            fps=info.fps if info.fps > 0 else None,
            num_frames=info.num_frames,
            width=info.width,
            height=info.height,
        )
        pt_path = output_path(settings.out_dir, item.id, ".pt")
        json_path = output_path(settings.out_dir, item.id, ".json")
        # NaN detections (a broken detector, weights, frame or detections file) would break
        # tracking with a bare scipy error, or poison every run that reads the features: the
        # video fails here, naming the frame, and neither file is written.
        detected = {
            f"{name} of frame {frame.index}": torch.as_tensor(getattr(frame.detections, name))
            for frame in job.frames
            for name in ("boxes", "scores", "features")
        }
        require_finite(detected, str(pt_path), what="not written: detector output")
        record, tensors = build_dynamic_scene_graph(
            meta,
            job.frames,
            settings.names,
            settings.tracker,
            settings.relations,
            settings.attributes,
            settings.feature_dim,
        )
        require_finite(tensors, str(pt_path), what="not written: tensor")
        save_torch_file(pt_path, tensors)
        atomic_write_text(json_path, record.model_dump_json(indent=None) + "\n")
    except Exception as exc:
        if (full := storage_full_error(exc)) is not None:
            raise full from None  # stops the run: every later video would fail alike
        log.debug("assembling %s failed", item.id, exc_info=True)
        return describe_error(exc)
    return [json_path, pt_path], time.perf_counter() - start


def _start_assembly_worker() -> None:
    """Set up the worker process: one torch thread, and the imports done before the first job."""
    import torch

    import finsta_cli.video.dsg  # noqa: F401

    torch.set_num_threads(1)


class GraphWriter:
    """Runs :func:`write_graph` on a thread or in a worker process; when the process dies
    (killed, out of memory), the rest of the run goes on with a thread."""

    def __init__(self, mode: AssemblyMode) -> None:
        self.mode = mode
        self.pool = self._open(mode)

    @staticmethod
    def _open(mode: AssemblyMode) -> Executor:
        if mode == "process":
            # spawn: the parent holds torch's thread pools, which do not survive a fork.
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_assembly_worker,
            )
            pool.submit(int)  # start the process now rather than at the first video
            return pool
        return ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="finsta-write", initializer=lower_thread_priority
        )

    def submit(self, job: AssemblyJob, settings: AssemblySettings) -> Future[Outcome]:
        try:
            return self.pool.submit(write_graph, job, settings)
        except BrokenProcessPool:
            self.fall_back()
            return self.pool.submit(write_graph, job, settings)

    def outcome(
        self, future: Future[Outcome], job: AssemblyJob, settings: AssemblySettings
    ) -> Outcome:
        """The job's outcome; if the worker process died first, the job again on a thread."""
        try:
            return future.result()
        except BrokenProcessPool:
            self.fall_back()
            return self.submit(job, settings).result()

    def fall_back(self) -> None:
        if self.mode == "thread":
            return
        log.warning("the assembly process stopped: assembling on a thread from here on")
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.mode, self.pool = "thread", self._open("thread")

    def shutdown(self, *, wait: bool = True, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)
