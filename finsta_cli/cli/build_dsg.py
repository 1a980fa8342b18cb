"""``finsta build-dsg``: videos -> dynamic scene graphs (DSG JSON + tensors .pt per video)."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    CpusPerWorkerOpt,
    ExecutorOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    NumGpusOpt,
    QuietOpt,
    RayAddressOpt,
    SetOpt,
    ShardOpt,
    VerboseOpt,
    WorkersOpt,
    command,
    device_option,
    executor_overrides,
    finish_stage,
    given_options,
    shard_option,
    with_default,
)
from finsta_cli.offline import ALLOW_DOWNLOAD_ENV
from finsta_cli.video.detect import DETECTOR_DEFAULTS, DetectorKind
from finsta_cli.video.footage import COCO_DETECTOR
from finsta_cli.video.stage import Assembly
from finsta_cli.video.stage import BuildDSGConfig as Config
from finsta_cli.video.track import TrackerKind


@command
def build_dsg(
    ctx: typer.Context,
    videos: Annotated[
        list[str],
        typer.Argument(
            help="Video files, folders (searched recursively; a folder of images is one video) "
            "or JSONL manifests of {id, path}.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", file_okay=False)],
    frames: Annotated[
        int | None,
        typer.Option(
            "--frames", min=1, help=with_default("Uniform keyframes per video.", Config, "frames")
        ),
    ] = None,
    fps: Annotated[
        float | None,
        typer.Option("--fps", min=0.001, help="Sample F frames a second instead of --frames."),
    ] = None,
    detector: Annotated[
        DetectorKind | None,
        typer.Option(
            "--detector",
            help=with_default(
                "yolo: an ultralytics YOLO (--weights); by default the shipped synth detector, "
                "which knows only finsta synth's six shapes (ball cube cylinder cone ring star) "
                "and is warned about on other footage. "
                f"{COCO_DETECTOR}: the shipped COCO-80 NanoDet-g for real footage (people, "
                "vehicles, animals, household objects; offline, no download). file: boxes from "
                "--detections.",
                Config,
                "detector",
            ),
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="yolo: a local .pt, a model .yaml (random), or an official name (yolov8n.pt, "
            "yolo11n.pt: COCO, fetched with --allow-download); default the synth detector "
            "assets/detector/finsta-synth-yolov8n.pt. nanodet: a file of "
            "tools/convert_nanodet.py; default assets/detector/nanodet-g-coco.pt.",
        ),
    ] = None,
    allow_download: Annotated[
        bool,
        typer.Option(
            "--allow-download",
            help="Let ultralytics fetch an official checkpoint named by --weights (or set "
            f"{ALLOW_DOWNLOAD_ENV}=1); without it nothing is downloaded.",
        ),
    ] = False,
    detections: Annotated[
        Path | None,
        typer.Option(
            "--detections",
            help="Precomputed boxes: generic JSONL or Something-Else annotations.json.",
            dir_okay=False,
        ),
    ] = None,
    conf: Annotated[
        float | None,
        typer.Option(
            "--conf", min=0.0, max=1.0, help=with_default("Score threshold.", Config, "conf")
        ),
    ] = None,
    max_objects: Annotated[
        int | None,
        typer.Option(
            "--max-objects",
            min=1,
            help=with_default("Objects kept per frame.", Config, "max_objects"),
        ),
    ] = None,
    imgsz: Annotated[
        int | None,
        typer.Option(
            "--imgsz",
            min=32,
            help=with_default(
                f"Detector input (nanodet: {DETECTOR_DEFAULTS['nanodet']['imgsz']}).",
                Config,
                "imgsz",
            ),
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", min=1, help=with_default("Frames per detector batch.", Config, "batch")
        ),
    ] = None,
    decode_workers: Annotated[
        int | None,
        typer.Option(
            "--decode-workers",
            min=0,
            help=with_default(
                "Videos decoded at once; 0: auto (1 on up to 4 cores, else cores/4, at most 4).",
                Config,
                "decode_workers",
            ),
        ),
    ] = None,
    assemble: Annotated[
        Assembly | None,
        typer.Option(
            "--assemble",
            help=with_default(
                "Where tracking, assembly and writing run beside detection; auto: a worker "
                "process when the detector is on a GPU, else a thread.",
                Config,
                "assemble",
            ),
        ),
    ] = None,
    folder_fps: Annotated[
        float | None,
        typer.Option(
            "--folder-fps",
            min=0.001,
            help=with_default(
                "Frame rate of folders of frame images, which carry none (MSR-VTT dumps: "
                "often 1); warned about when not set.",
                Config,
                "folder_fps",
            ),
        ),
    ] = None,
    tracker: Annotated[
        TrackerKind | None,
        typer.Option(
            "--tracker",
            help=with_default("How objects are followed over frames.", Config, "tracker"),
        ),
    ] = None,
    device: Annotated[str | None, device_option(Config)] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
    executor_kind: ExecutorOpt = None,
    workers: WorkersOpt = None,
    num_gpus: NumGpusOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = None,
    ray_address: RayAddressOpt = None,
) -> None:
    """Build a dynamic scene graph per video: OUT/<video_id>.json (DSG) and OUT/<video_id>.pt.

    Exit 0 when every video was built, 3 when some failed (failures.jsonl lists them with the
    reason; the others are written), 4 when the detector weights are missing.
    """
    from finsta_cli.config import load_config
    from finsta_cli.video.stage import run_build_dsg

    detections_file = str(detections) if detections is not None else None
    executor = executor_overrides(executor_kind, workers, num_gpus, cpus_per_worker, ray_address)
    overrides = given_options(ctx, Config, detections=detections_file, **executor)
    resolved = load_config(Config, config, overrides, set_ or ())
    summary = run_build_dsg(
        videos,
        out,
        resolved,
        shard=shard_option(shard),
        force=force,
        limit=limit,
        quiet=quiet,
    )
    finish_stage(summary, json_out=json_out, extra={"out": str(out)})
