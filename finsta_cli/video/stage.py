"""The build-dsg stage: videos -> ``<video_id>.json`` (DSG record) + ``<video_id>.pt`` (tensors).

:func:`run_build_dsg` finds the videos, skips those an earlier run finished (the run's ledger),
and sets up the :class:`~finsta_cli.video.pipeline.DetectionPipeline` from the config: decoding
on background threads (:class:`~finsta_cli.video.decode.PrefetchingReader`), detector batches of
``batch`` frames on the main thread, and each video's tracking, assembly and writing (``.pt``
first, then ``.json``, each atomically) beside detection, on a writer thread or in a worker
process (``--assemble``, :mod:`finsta_cli.video.assemble`). So a run that is killed resumes with
the videos it had not finished. A video that cannot be decoded, or fails later, is recorded in
failures.jsonl; the others go on. With ``--executor ray``, each Ray actor runs that pipeline on
the videos it is handed (:mod:`finsta_cli.video.remote`) and this process records them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from finsta_cli.config import StageConfig
from finsta_cli.io.executor import ExecutorConfig
from finsta_cli.io.hashing import hash_file, hash_json
from finsta_cli.io.jsonl import BadInput
from finsta_cli.io.shard import Shard
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary
from finsta_cli.video.attributes import AttributeOptions
from finsta_cli.video.decode import (
    DecodeOptions,
    PrefetchingReader,
    VideoSource,
    auto_decode_workers,
    discover_videos,
    video_items,
)
from finsta_cli.video.detect import DETECTOR_DEFAULTS, DetectorKind, DetectorOptions
from finsta_cli.video.relations import RelationOptions
from finsta_cli.video.track import TrackerKind, TrackerOptions

if TYPE_CHECKING:
    from finsta_cli.video.footage import FootageCheck

Assembly = Literal["auto", "thread", "process"]


class BuildDSGConfig(StageConfig):
    """Options of ``finsta build-dsg`` (section ``build_dsg:`` of a config file)."""

    SECTION: ClassVar[str] = "build_dsg"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "batch",
            "device",
            "threads",
            "prefetch",
            "decode_workers",
            "assemble",
            "allow_download",
            "executor",
        }
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
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @model_validator(mode="before")
    @classmethod
    def _detector_defaults(cls, data: Any) -> Any:
        """Options a detector sets its own default for, unless the config or command line did."""
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

    def detector_options(self) -> DetectorOptions:
        return DetectorOptions(
            kind=self.detector,
            weights=self.weights,
            detections=self.detections,
            allow_download=self.allow_download,
            conf=self.conf,
            iou=self.iou,
            max_objects=self.max_objects,
            imgsz=self.imgsz,
            threads=self.threads,
            region_features=self.region_features,
            warmup_batch=self.batch,
        )


def _detector_hash(config: BuildDSGConfig) -> str:
    """What the detector's outputs depend on beyond the config: the weights or the file."""
    target = config.detector_options().weights_file()
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

    on_ray = config.executor.kind == "ray"
    device = config.device if on_ray else resolve_device(config.device)  # ray: each actor's
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
        if on_ray:
            _build_graphs_on_ray(items, out_dir, config, run)
        elif todo := list(run.select(items)):
            _build_graphs(todo, out_dir, config, device, run)
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


def _footage_check(
    config: BuildDSGConfig, names: dict[int, str], run: StageRun[VideoSource]
) -> FootageCheck | None:
    """The check of the footage against the synth detector, when that is the detector."""
    from finsta_cli.assets import default_detector_weights
    from finsta_cli.video.footage import FootageCheck, is_synth_detector

    if config.detector != "yolo" or not is_synth_detector(names):
        return None
    return FootageCheck(run, config.weights or str(default_detector_weights()))


def _build_graphs_on_ray(
    items: list[StageItem[VideoSource]],
    out_dir: Path,
    config: BuildDSGConfig,
    run: StageRun[VideoSource],
) -> None:
    """The videos on a pool of Ray actors, each with its own detection pipeline (loaded once).

    Not there: the check of the footage against the synth detector, which looks at the
    decoded frames of the local path.
    """
    from finsta_cli.video.remote import VideoGraphBuilder
    from finsta_cli.video.track import make_tracker

    builder = VideoGraphBuilder(
        out_dir,
        device=config.device,
        detector=config.detector_options(),
        decode=config.decode_options(),
        batch=config.batch,
        prefetch=config.prefetch,
        tracker=make_tracker(config.tracker, config.tracking),
        relations=config.relations,
        attributes=config.attributes,
    )
    run.run(items, builder, config.executor)


def _build_graphs(
    todo: list[StageItem[VideoSource]],
    out_dir: Path,
    config: BuildDSGConfig,
    device: str,
    run: StageRun[VideoSource],
) -> None:
    """The detection pipeline of ``config`` run over the videos of ``todo``."""
    from finsta_cli.video.assemble import AssemblySettings, GraphWriter, assembly_mode
    from finsta_cli.video.detect import make_detector
    from finsta_cli.video.pipeline import DetectionPipeline
    from finsta_cli.video.track import make_tracker

    # A worker process starts (and imports) while the detector loads.
    writer = GraphWriter(assembly_mode(config.assemble, device))
    try:
        with run.timed("load_detector"):
            detector = make_detector(config.detector_options(), device)
    except BaseException:
        writer.shutdown(wait=False, cancel_futures=True)
        raise
    settings = AssemblySettings.for_detector(
        detector,
        out_dir,
        make_tracker(config.tracker, config.tracking),
        config.relations,
        config.attributes,
    )
    footage = _footage_check(config, settings.names, run)
    pipeline = DetectionPipeline(
        detector, writer, settings, run, batch=config.batch, footage=footage
    )
    try:
        workers = config.decode_workers or auto_decode_workers()
        pipeline.process(
            PrefetchingReader(todo, config.decode_options(), depth=config.prefetch, workers=workers)
        )
    finally:
        writer.shutdown(wait=True)
        if footage is not None:
            footage.finish()
