"""``finsta build-dsg``: videos -> dynamic scene graphs (DSG JSON + tensors .pt per video)."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    QuietOpt,
    ShardOpt,
    VerboseOpt,
    command,
    finish_stage,
    shard_option,
)
from finsta_cli.offline import ALLOW_DOWNLOAD_ENV
from finsta_cli.video.footage import COCO_DETECTOR


class Detector(str, enum.Enum):
    yolo = "yolo"
    nanodet = "nanodet"
    file = "file"


class Tracker(str, enum.Enum):
    hungarian = "hungarian"
    bytetrack = "bytetrack"


class Assembly(str, enum.Enum):
    auto = "auto"
    thread = "thread"
    process = "process"


@command
def build_dsg(
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
        int | None, typer.Option("--frames", min=1, help="Uniform keyframes per video [16].")
    ] = None,
    fps: Annotated[
        float | None,
        typer.Option("--fps", min=0.001, help="Sample F frames a second instead of --frames."),
    ] = None,
    detector: Annotated[
        Detector | None,
        typer.Option(
            "--detector",
            help="yolo: an ultralytics YOLO (--weights); by default the shipped synth detector, "
            "which knows only finsta synth's six shapes (ball cube cylinder cone ring star) and "
            "is warned about on other footage. "
            f"{COCO_DETECTOR}: the shipped COCO-80 NanoDet-g for real footage (people, vehicles, "
            "animals, household objects; offline, no download). file: boxes from --detections. "
            "[default: yolo]",
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
        float | None, typer.Option("--conf", min=0.0, max=1.0, help="Score threshold [0.25].")
    ] = None,
    max_objects: Annotated[
        int | None, typer.Option("--max-objects", min=1, help="Objects kept per frame [20].")
    ] = None,
    imgsz: Annotated[
        int | None,
        typer.Option("--imgsz", min=32, help="Detector input [256; nanodet: 416]."),
    ] = None,
    batch: Annotated[
        int | None, typer.Option("--batch", min=1, help="Frames per detector batch [16].")
    ] = None,
    decode_workers: Annotated[
        int | None,
        typer.Option(
            "--decode-workers",
            min=0,
            help="Videos decoded at once; 0: auto (1 on up to 4 cores, else cores/4, at most 4).",
        ),
    ] = None,
    assemble: Annotated[
        Assembly | None,
        typer.Option(
            "--assemble",
            help="Where tracking, assembly and writing run beside detection; auto: a worker "
            "process when the detector is on a GPU, else a thread.",
        ),
    ] = None,
    folder_fps: Annotated[
        float | None,
        typer.Option(
            "--folder-fps",
            min=0.001,
            help="Frame rate of folders of frame images, which carry none (MSR-VTT dumps: "
            "often 1) [12, warned about].",
        ),
    ] = None,
    tracker: Annotated[
        Tracker | None,
        typer.Option("--tracker", help="How objects are followed over frames (default hungarian)."),
    ] = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
) -> None:
    """Build a dynamic scene graph per video: OUT/<video_id>.json (DSG) and OUT/<video_id>.pt.

    Exit 0 when every video was built, 3 when some failed (failures.jsonl lists them with the
    reason; the others are written), 4 when the detector weights are missing.
    """
    from finsta_cli.config import load_config
    from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

    resolved = load_config(
        BuildDSGConfig,
        config,
        {
            "frames": frames,
            "fps": fps,
            "detector": detector.value if detector is not None else None,
            "weights": weights,
            "allow_download": allow_download or None,
            "detections": str(detections) if detections is not None else None,
            "conf": conf,
            "max_objects": max_objects,
            "imgsz": imgsz,
            "batch": batch,
            "decode_workers": decode_workers,
            "folder_fps": folder_fps,
            "assemble": assemble.value if assemble is not None else None,
            "tracker": tracker.value if tracker is not None else None,
            "device": device,
        },
    )
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
