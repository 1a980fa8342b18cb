"""The build-dsg stage: videos -> ``<video_id>.json`` (DSG record) + ``<video_id>.pt`` (tensors).

Decoding runs on background threads (:class:`~finsta_cli.video.decode.PrefetchingReader`);
the main thread gathers decoded frames, from one video or several, into detector batches of
``batch`` frames, so short videos share a batch. When all frames of a video are detected, its
graph is assembled and written (``.pt`` first, then ``.json``, each atomically) beside
detection, on a writer thread or in a worker process (``--assemble``), and the run's
ledger records it, so a run that is killed resumes with the videos it had not finished. A video
that cannot be decoded, or fails later, is recorded in failures.jsonl; the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from finsta_cli.config import StageConfig
from finsta_cli.errors import storage_full_error
from finsta_cli.io.hashing import hash_file, hash_json
from finsta_cli.io.jsonl import BadInput
from finsta_cli.io.paths import output_path
from finsta_cli.io.progress import get_logger
from finsta_cli.io.shard import Shard
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary, describe_error
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.decode import (
    DecodeFailure,
    DecodeOptions,
    FrameChunk,
    PrefetchingReader,
    VideoInfo,
    VideoSource,
    auto_decode_workers,
    discover_videos,
    lower_thread_priority,
    video_items,
)
from finsta_cli.video.detect import DetectorKind
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.track import TrackerKind, TrackerOptions

log = get_logger("build-dsg")

Assembly = Literal["auto", "thread", "process"]


class BuildDSGConfig(StageConfig):
    """Options of ``finsta build-dsg`` (section ``build_dsg:`` of a config file)."""

    SECTION: ClassVar[str] = "build_dsg"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"batch", "device", "threads", "prefetch", "decode_workers", "assemble", "allow_download"}
    )

    frames: int = Field(16, ge=1, description="uniform keyframes per video")
    fps: float | None = Field(None, gt=0, description="sample F frames a second instead")
    detector: DetectorKind = "yolo"
    weights: str | None = Field(
        None,
        description="yolo: ultralytics checkpoint (.pt), or a model .yaml for a random one; "
        "nanodet: a file of tools/convert_nanodet.py (default: the shipped one)",
    )
    allow_download: bool = Field(
        False,
        description="let ultralytics fetch an official checkpoint named by weights "
        "(also FINSTA_ALLOW_DOWNLOAD=1)",
    )
    detections: str | None = Field(None, description="detections file for --detector file")
    conf: float = Field(0.25, ge=0.0, le=1.0)
    iou: float = Field(0.7, ge=0.0, le=1.0, description="NMS IoU threshold")
    max_objects: int = Field(20, ge=1, description="detections kept per frame")
    imgsz: int = Field(256, ge=32, description="detector input size (nanodet: 416)")
    decode_size: int = Field(
        0, ge=0, description="longest side of decoded frames; 0: imgsz (never enlarged)"
    )
    folder_fps: float = Field(
        12.0, gt=0, description="frame rate of frame-image folders (warned about when not set)"
    )
    region_features: bool = True
    tracker: TrackerKind = "hungarian"
    tracking: TrackerOptions = Field(default_factory=TrackerOptions)
    relations: RelationOptions = Field(default_factory=RelationOptions)
    attributes: AttributeOptions = Field(default_factory=AttributeOptions)
    batch: int = Field(16, ge=1, description="frames per detector batch")
    prefetch: int = Field(4, ge=1, description="decoded chunks kept ahead of the detector")
    decode_workers: int = Field(
        0,
        ge=0,
        description="videos decoded at once; 0: auto (1 on up to 4 cores, else cores/4, <= 4)",
    )
    assemble: Assembly = Field(
        "auto",
        description="where tracking, assembly and writing run beside detection; "
        "auto: a worker process when the detector is on a GPU, else a thread",
    )
    device: str = "auto"
    threads: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _detector_defaults(cls, data: Any) -> Any:
        """Options a detector sets its own default for, unless the config or command line did."""
        from finsta_cli.video.detect import DETECTOR_DEFAULTS

        if isinstance(data, dict):
            own = DETECTOR_DEFAULTS.get(str(data.get("detector", "yolo")), {})
            data = {**own, **data}
        return data

    @model_validator(mode="after")
    def _check_detector(self) -> BuildDSGConfig:
        if self.detector == "file" and not self.detections:
            from finsta_cli.errors import ConfigError

            raise ConfigError("--detector file needs --detections FILE")
        return self

    def decode_options(self) -> DecodeOptions:
        return DecodeOptions(
            frames=self.frames,
            fps=self.fps,
            longest=self.decode_size or self.imgsz,
            chunk=self.batch,
            folder_fps=self.folder_fps,
        )


def assembly_mode(assemble: str, device: str) -> Literal["thread", "process"]:
    """``--assemble auto``: a worker process beside a GPU detector, whose batches are mostly
    Python work that a writer thread would hold up (the GIL); a thread beside a CPU detector,
    which keeps every core busy anyway and would only pay the process's start-up."""
    if assemble == "process" or (assemble == "auto" and not device.startswith("cpu")):
        return "process"
    return "thread"


@dataclass
class _VideoState:
    item: StageItem[VideoSource]
    info: VideoInfo | None = None
    results: dict[int, Any] = field(default_factory=dict)
    expected: int | None = None
    failed: bool = False


def _detector_hash(config: BuildDSGConfig) -> str:
    """What the detector's outputs depend on beyond the config: the weights or the file."""
    from finsta_cli.video.detect import detector_weights

    target = detector_weights(config)
    try:
        return hash_file(target) if target.is_file() else str(target)
    except OSError:
        return str(target)


def run_build_dsg(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    config: BuildDSGConfig,
    *,
    shard: Shard | None = None,
    force: bool = False,
    limit: int | None = None,
    quiet: bool = False,
) -> StageSummary:
    """Build the DSG of every video in ``inputs`` into ``out`` (see the module docstring)."""
    from finsta_cli.runtime import resolve_device

    device = resolve_device(config.device)
    whole = shard or Shard()
    # A manifest line that names no video, or a second video of one id, fails alone.
    bad: list[BadInput] = []
    notes: list[str] = []  # stray images, inputs without videos: warned about once the run starts
    # Hashing reads every video: only this shard's are hashed (select() checks again).
    sources = [
        source
        for source in discover_videos(inputs, bad.append, notes.append)
        if whole.contains(source.id)
    ]
    detector_key = _detector_hash(config)
    items = [
        StageItem(item.id, hash_json([item.input_hash, detector_key]), item.payload, item.source)
        for item in video_items(sources, bad.append)
    ]
    out_dir = Path(out)
    run: StageRun[VideoSource]
    with StageRun[VideoSource](
        "build-dsg",
        StagePaths.for_dir(out_dir, shard),
        config,
        force=force,
        limit=limit,
        quiet=quiet,
        device=device,
        threads=config.threads,
        total=len(items) if limit is None else min(limit, len(items)),
    ) as run:
        for source in inputs:
            run.add_input(source, None, None)
        for note in notes:
            run.warn("inputs", note)
        _warn_default_folder_fps(sources, config, run)
        for failure in bad:
            if whole.contains(failure.id):
                run.fail(failure.id, failure.reason, source=failure.source)
        todo = list(run.select(items))
        if todo:
            _process(todo, out_dir, config, device, run)
    assert run.summary is not None
    return run.summary


def _warn_default_folder_fps(
    sources: Sequence[VideoSource], config: BuildDSGConfig, run: StageRun[VideoSource]
) -> None:
    """A frame folder carries no frame rate: say so when it is read at the default one."""
    folders = [source.id for source in sources if source.kind == "frames"]
    if not folders or "folder_fps" in config.model_fields_set:
        return
    shown = ", ".join(folders[:3]) + (f" and {len(folders) - 3} more" if folders[3:] else "")
    run.warn(
        "folder_fps_default",
        f"{len(folders)} frame folder(s) ({shown}) read at {config.folder_fps:g} frames a "
        "second, the default: their timestamps and motions assume it. Give the rate the frames "
        "were dumped at with --folder-fps (MSR-VTT frame dumps are often 1 fps)",
    )


class _FootageCheck:
    """Watches the first frames of each video for footage that is not finsta synth, when the
    detector knows only synth's shapes (:mod:`finsta_cli.video.footage`)."""

    def __init__(self, run: StageRun[VideoSource], weights: str) -> None:
        self.run, self.weights = run, weights
        self.checked = 0
        self.real: list[str] = []
        self.warning: Any = None

    def see(self, video_id: str, frames: np.ndarray) -> None:
        from finsta_cli.video.footage import looks_like_synth, real_footage_message

        self.checked += 1
        if looks_like_synth(frames):
            return
        self.real.append(video_id)
        if self.warning is None:  # at once, so that a long run can be stopped
            self.run.warn(
                "synth_detector_on_real_footage",
                real_footage_message(self.real, None, self.weights),
            )
            self.warning = self.run.warnings[-1]

    def finish(self) -> None:
        """The count over the whole run, in the manifest (and on stderr when it grew)."""
        from finsta_cli.video.footage import real_footage_message

        if self.warning is None:
            return
        self.warning.message = real_footage_message(self.real, self.checked, self.weights)
        log.warning("%s", self.warning.message)


def _footage_check(
    config: BuildDSGConfig, names: dict[int, str], run: StageRun[VideoSource]
) -> _FootageCheck | None:
    from finsta_cli.assets import default_detector_weights
    from finsta_cli.video.footage import is_synth_detector

    if config.detector != "yolo" or not is_synth_detector(names):
        return None
    return _FootageCheck(run, config.weights or str(default_detector_weights()))


def _process(
    todo: list[StageItem[VideoSource]],
    out_dir: Path,
    config: BuildDSGConfig,
    device: str,
    run: StageRun[VideoSource],
) -> None:
    from finsta_cli.video.attributes import box_colours
    from finsta_cli.video.detect import FrameKey, make_detector
    from finsta_cli.video.dsg import FrameResult
    from finsta_cli.video.track import make_tracker

    # A worker process starts (and imports) while the detector loads.
    writer = _Writer(assembly_mode(config.assemble, device))
    try:
        with run.timed("load_detector"):
            detector = make_detector(config, device)
    except BaseException:
        writer.shutdown(wait=False, cancel_futures=True)
        raise
    tracker = make_tracker(config.tracker, config.tracking)
    states: dict[str, _VideoState] = {}
    batch: list[tuple[_VideoState, int, int, float, np.ndarray]] = []

    def flush() -> None:
        if not batch:
            return
        pending = [entry for entry in batch if not entry[0].failed]
        batch.clear()
        if not pending:
            return
        frames = [entry[4] for entry in pending]
        keys = []
        for state, _, index, _, _ in pending:
            info = state.info
            assert info is not None
            keys.append(FrameKey(state.item.id, index, info.width, info.height))
        try:
            with run.timed("detect"):
                found = detector.detect(frames, keys)
        except Exception as exc:
            for state in {id(e[0]): e[0] for e in pending}.values():
                if not state.failed:
                    state.failed = True
                    run.fail(state.item, exc)
            return
        with run.timed("colours"):
            for (state, position, index, moment, frame), detections in zip(
                pending, found, strict=True
            ):
                h, w = frame.shape[:2]
                state.results[position] = FrameResult(
                    index=index,
                    time=moment,
                    width=w,
                    height=h,
                    detections=detections,
                    colours=box_colours(frame, detections.boxes),
                )

    def finish_ready() -> None:
        for video_id in list(states):
            state = states[video_id]
            if state.failed:
                del states[video_id]
                continue
            if state.expected is None or len(state.results) < state.expected:
                continue
            del states[video_id]
            assert state.info is not None  # set with the video's first chunk
            # Tracking, assembly and writing run on the writer, beside detection.
            job = _AssemblyJob(
                state.item, state.info, [state.results[p] for p in sorted(state.results)]
            )
            writing.append((job, writer.submit(job, out_dir, config, names, feature_dim, tracker)))

    def collect(wait: bool) -> None:
        while writing and (wait or writing[0][1].done()):
            job, future = writing.popleft()
            outcome = writer.outcome(future, job, out_dir, config, names, feature_dim, tracker)
            if isinstance(outcome, str):
                run.fail(job.item, outcome)
            else:
                outputs, seconds = outcome
                run.timings["assemble"] = run.timings.get("assemble", 0.0) + seconds
                run.done(job.item, outputs)

    names, feature_dim = dict(detector.names), int(detector.feature_dim)
    footage = _footage_check(config, names, run)
    writing: deque[tuple[_AssemblyJob, Future[_Outcome]]] = deque()
    try:
        _feed(todo, config, run, states, batch, flush, finish_ready, collect, footage)
        flush()
        finish_ready()
    finally:
        collect(wait=True)
        writer.shutdown(wait=True)
        if footage is not None:
            footage.finish()


def _feed(
    todo: list[StageItem[VideoSource]],
    config: BuildDSGConfig,
    run: StageRun[VideoSource],
    states: dict[str, _VideoState],
    batch: list[tuple[_VideoState, int, int, float, np.ndarray]],
    flush: Callable[[], None],
    finish_ready: Callable[[], None],
    collect: Callable[[bool], None],
    footage: _FootageCheck | None = None,
) -> None:
    """Route decoded chunks into detector batches; finished videos go to the writer; the first
    chunk of each video goes past ``footage`` (the synth detector's check)."""
    workers = config.decode_workers or auto_decode_workers()
    reader = PrefetchingReader(
        todo, config.decode_options(), depth=config.prefetch, workers=workers
    )
    waited = time.perf_counter()
    for entry in reader:
        run.timings["decode_wait"] = (
            run.timings.get("decode_wait", 0.0) + time.perf_counter() - waited
        )
        if isinstance(entry, DecodeFailure):
            state = states.pop(entry.item.id, None)
            if state is not None:
                state.failed = True
            run.fail(entry.item, entry.error)
        else:
            assert isinstance(entry, FrameChunk)
            state = states.setdefault(entry.item.id, _VideoState(entry.item))
            state.info = entry.info
            if footage is not None and entry.positions and entry.positions[0] == 0:
                footage.see(entry.item.id, entry.frames)
            for k, position in enumerate(entry.positions):
                batch.append((state, position, entry.indices[k], entry.times[k], entry.frames[k]))
                if len(batch) >= config.batch:
                    flush()
                    finish_ready()
            if entry.last:
                state.expected = entry.positions[-1] + 1 if entry.positions else 0
                finish_ready()
        collect(False)
        waited = time.perf_counter()


@dataclass
class _AssemblyJob:
    """What the writer needs of one detected video (sent to a worker process as it is)."""

    item: StageItem[VideoSource]
    info: VideoInfo
    frames: list[Any]  # FrameResult, in frame order


# The writer's answer: the two files and the seconds it took, or why it failed.
_Outcome = tuple[list[Path], float] | str


def _start_assembly_worker() -> None:
    """Set up the worker process: one torch thread, and the imports done before the first job."""
    import torch

    import finsta_cli.video.dsg  # noqa: F401

    torch.set_num_threads(1)


class _Writer:
    """Runs :func:`_write_video` on a thread or in a worker process; when the process dies
    (killed, out of memory), the rest of the run goes on with a thread."""

    def __init__(self, mode: Literal["thread", "process"]) -> None:
        self.mode = mode
        self.pool = self._open(mode)

    @staticmethod
    def _open(mode: Literal["thread", "process"]) -> Executor:
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

    def submit(self, job: _AssemblyJob, *args: Any) -> Future[_Outcome]:
        try:
            return self.pool.submit(_write_video, job, *args)
        except BrokenProcessPool:
            self.fall_back()
            return self.pool.submit(_write_video, job, *args)

    def outcome(self, future: Future[_Outcome], job: _AssemblyJob, *args: Any) -> _Outcome:
        """The job's outcome; if the worker process died first, the job again on a thread."""
        try:
            return future.result()
        except BrokenProcessPool:
            self.fall_back()
            return self.submit(job, *args).result()

    def fall_back(self) -> None:
        if self.mode == "thread":
            return
        log.warning("the assembly process stopped: assembling on a thread from here on")
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.mode, self.pool = "thread", self._open("thread")

    def shutdown(self, *, wait: bool = True, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _write_video(
    job: _AssemblyJob,
    out_dir: Path,
    config: BuildDSGConfig,
    names: dict[int, str],
    feature_dim: int,
    tracker: Any,
) -> _Outcome:
    """Assemble and write one video's graph: its two files and the seconds it took, or the
    reason it failed (a string, which crosses a process boundary whatever the error was)."""
    import torch

    from finsta_cli.io.atomic import atomic_open, atomic_write_text
    from finsta_cli.io.finite import require_finite
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
        pt_path = output_path(out_dir, item.id, ".pt")
        json_path = output_path(out_dir, item.id, ".json")
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
            names,
            tracker,
            config.relations,
            config.attributes,
            feature_dim,
        )
        require_finite(tensors, str(pt_path), what="not written: tensor")
        with atomic_open(pt_path, "wb") as handle:
            torch.save(tensors, handle)
        atomic_write_text(json_path, record.model_dump_json(indent=None) + "\n")
    except Exception as exc:
        if (full := storage_full_error(exc)) is not None:
            raise full from None  # stops the run: every later video would fail alike
        log.debug("assembling %s failed", item.id, exc_info=True)
        return describe_error(exc)
    return [json_path, pt_path], time.perf_counter() - start
