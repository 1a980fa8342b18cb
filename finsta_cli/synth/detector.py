"""Train and evaluate finsta's default detector: a YOLO nano from its YAML, on synth frames.

The frames come from the rendered mp4 files (decoded, so the detector sees the same compression
as build-dsg will), a few evenly spaced frames per video; their labels are the YOLO files that
``finsta synth`` wrote. finsta writes the ultralytics dataset (images/, labels/, data.yaml) in a
work folder, trains on the CPU (or the device asked for) with no pretrained weights, copies the
best checkpoint to ``OUT/finsta-synth-yolov8n.pt`` and writes beside it a JSON card with the
mAP50 and mAP50-95 on the evaluation splits, the training time and the per-epoch results.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from finsta_cli.assets import DEFAULT_DETECTOR_NAME
from finsta_cli.config import StageConfig
from finsta_cli.errors import InputError
from finsta_cli.io.atomic import atomic_write_json, atomic_write_text
from finsta_cli.io.jsonl import iter_jsonl
from finsta_cli.io.progress import get_logger

log = get_logger("detector")


class DetectorConfig(StageConfig):
    """Options of ``finsta train-detector`` (the ``train_detector:`` section of a config file)."""

    SECTION: ClassVar[str] = "train_detector"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"device", "threads"})

    model: str = Field(default="yolov8n.yaml", description="ultralytics model YAML (no weights)")
    epochs: int = Field(default=8, ge=1)
    imgsz: int = Field(default=256, ge=32)
    batch: int = Field(default=16, ge=1)
    nbs: int = Field(default=16, ge=1, description="nominal batch size (loss/decay scaling)")
    warmup_epochs: float = Field(default=1.0, ge=0)
    close_mosaic: int = Field(default=2, ge=0, description="last epochs without mosaic")
    frames_per_video: int = Field(default=4, ge=1, description="training frames per video")
    eval_frames_per_video: int = Field(default=4, ge=1, description="eval frames per video")
    train_split: str = "train"
    val_split: str = "val"
    eval_splits: list[str] = Field(default_factory=lambda: ["val", "test_unseen"])
    cache: bool = Field(default=True, description="keep decoded training images in RAM")
    seed: int = Field(default=0, ge=0)
    device: str = "cpu"
    threads: int | None = Field(default=None, ge=1)
    name: str = Field(default=DEFAULT_DETECTOR_NAME, description="file name of the weights")


@dataclass
class ExportedSplit:
    split: str
    images: int
    videos: int
    boxes: int


def _frame_indices(num_frames: int, count: int) -> list[int]:
    if count >= num_frames:
        return list(range(num_frames))
    return sorted({round(x) for x in np.linspace(0, num_frames - 1, count)})


def _decode(path: Path) -> list[np.ndarray]:
    import av

    try:
        with av.open(str(path)) as container:
            return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (OSError, av.error.FFmpegError) as exc:
        raise InputError(f"{path}: cannot decode video ({exc})") from None


def export_split(data: Path, work: Path, split: str, frames_per_video: int) -> ExportedSplit:
    """Decode frames of ``data/<split>.jsonl`` videos into ``work/images/<split>`` with labels."""
    from PIL import Image

    index = data / f"{split}.jsonl"
    if not index.is_file():
        raise InputError(
            f"{index}: missing; is {data} a `finsta synth` folder with a {split} split?"
        )
    images_dir = work / "images" / split
    labels_dir = work / "labels" / split
    for folder in (images_dir, labels_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    result = ExportedSplit(split, 0, 0, 0)
    for _, record in iter_jsonl(index):
        vid = str(record["video_id"])
        frames = _decode(data / str(record["video"]))
        label_folder = data / str(record["labels"])
        for t in _frame_indices(len(frames), frames_per_video):
            stem = f"{vid}_{t:04d}"
            Image.fromarray(frames[t]).save(images_dir / f"{stem}.png", compress_level=1)
            label = label_folder / f"{t:04d}.txt"
            if not label.is_file():
                raise InputError(f"{label}: missing YOLO label file")
            text = label.read_text(encoding="utf-8")
            (labels_dir / f"{stem}.txt").write_text(text, encoding="utf-8")
            result.images += 1
            result.boxes += sum(1 for line in text.splitlines() if line.strip())
        result.videos += 1
    if result.images == 0:
        raise InputError(f"{index}: no videos in split {split}")
    return result


def write_data_yaml(work: Path, classes: list[str], train: str, val: str, test: str | None) -> Path:
    import yaml

    payload: dict[str, Any] = {
        "path": str(work.resolve()),
        "train": f"images/{train}",
        "val": f"images/{val}",
        "names": dict(enumerate(classes)),
    }
    if test:
        payload["test"] = f"images/{test}"
    path = work / f"data-{val}.yaml" if test is None else work / f"data-{val}-{test}.yaml"
    atomic_write_text(path, yaml.safe_dump(payload, sort_keys=False))
    return path


def _classes(data: Path) -> list[str]:
    info = data / "dataset.json"
    try:
        return list(json.loads(info.read_text(encoding="utf-8"))["classes"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{info}: cannot read the class names ({exc})") from None


def evaluate_detector(
    weights: Path,
    data: Path,
    work: Path,
    split: str,
    *,
    frames_per_video: int = 4,
    imgsz: int = 256,
    batch: int = 16,
    device: str = "cpu",
    exported: bool = False,
) -> dict[str, float]:
    """mAP50 and mAP50-95 of ``weights`` on frames of a synth split."""
    from finsta_cli.video.weights import load_yolo

    model = load_yolo(weights)
    classes = _classes(data)
    info = None
    if not exported:
        info = export_split(data, work, split, frames_per_video)
    yaml_path = write_data_yaml(work, classes, split, split, None)
    with contextlib.redirect_stdout(sys.stderr):
        metrics = model.val(
            data=str(yaml_path),
            split="val",
            imgsz=imgsz,
            batch=batch,
            device=device,
            plots=False,
            workers=0,
            project=str(work / "val"),
            name=split,
            exist_ok=True,
            verbose=False,
        )
    result = {"map50": float(metrics.box.map50), "map50_95": float(metrics.box.map)}
    if info is not None:
        result.update({"images": info.images, "boxes": info.boxes, "videos": info.videos})
    return result


def train_detector(
    config: DetectorConfig, data: Path, out: Path, work: Path | None = None
) -> dict[str, Any]:
    """Export frames, train, copy the weights to ``out/<name>``, evaluate; return the card."""
    from finsta_cli import __version__
    from finsta_cli.io.torchfile import only_allowed_globals
    from finsta_cli.runtime import configure_threads, package_versions, resolve_device
    from finsta_cli.video.weights import load_yolo

    device = resolve_device(config.device)
    threads = configure_threads(config.threads)
    model = load_yolo(config.model)  # a YAML (random weights), or a checked checkpoint
    classes = _classes(data)
    work = work or out / "work"
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train_info = export_split(data, work, config.train_split, config.frames_per_video)
    val_info = export_split(data, work, config.val_split, config.eval_frames_per_video)
    export_seconds = time.perf_counter() - started
    log.info(
        "exported %d train frames (%d boxes), %d val frames in %.0fs",
        train_info.images,
        train_info.boxes,
        val_info.images,
        export_seconds,
    )
    yaml_path = write_data_yaml(work, classes, config.train_split, config.val_split, None)
    run_dir = work / "runs"
    train_start = time.perf_counter()
    # ultralytics' restricted loader (its final validation reloads best.pt) widens torch's
    # allow-list for the whole process; the block puts it back when training ends.
    with contextlib.redirect_stdout(sys.stderr), only_allowed_globals():
        model.train(
            data=str(yaml_path),
            epochs=config.epochs,
            imgsz=config.imgsz,
            batch=config.batch,
            nbs=config.nbs,
            warmup_epochs=config.warmup_epochs,
            close_mosaic=config.close_mosaic,
            cache="ram" if config.cache else False,
            device=device if device != "cuda:0" else 0,
            workers=0,
            pretrained=False,
            amp=False,
            plots=False,
            seed=config.seed,
            deterministic=True,
            project=str(run_dir),
            name="train",
            exist_ok=True,
            verbose=True,
        )
    train_seconds = time.perf_counter() - train_start
    trainer = model.trainer
    best = Path(trainer.best) if trainer is not None and Path(trainer.best).is_file() else None
    if best is None:
        best = run_dir / "train" / "weights" / "best.pt"
    weights = out / config.name
    tmp = weights.with_name(f".{weights.name}.tmp")
    shutil.copyfile(best, tmp)
    tmp.replace(weights)
    configure_threads(threads)
    evaluation: dict[str, Any] = {}
    for split in config.eval_splits:
        if not (data / f"{split}.jsonl").is_file():
            log.warning("no %s split in %s: not evaluated", split, data)
            continue
        evaluation[split] = evaluate_detector(
            weights,
            data,
            work,
            split,
            frames_per_video=config.eval_frames_per_video,
            imgsz=config.imgsz,
            batch=config.batch,
            device=device if device != "cuda:0" else "0",
            exported=split == config.val_split,
        )
        if split == config.val_split:
            evaluation[split].update(
                {"images": val_info.images, "boxes": val_info.boxes, "videos": val_info.videos}
            )
    epochs = _read_results(run_dir / "train" / "results.csv")
    card = {
        "weights": weights.name,
        "bytes": weights.stat().st_size,
        "classes": classes,
        "model": config.model,
        "data": str(data),
        "train": {
            "images": train_info.images,
            "boxes": train_info.boxes,
            "videos": train_info.videos,
        },
        "evaluation": evaluation,
        "train_seconds": round(train_seconds, 1),
        "export_seconds": round(export_seconds, 1),
        "epochs": epochs,
        "config": config.model_dump(mode="json"),
        "device": device,
        "threads": threads,
        "finsta": __version__,
        "packages": package_versions(),
        "command": sys.argv,
    }
    atomic_write_json(weights.with_suffix(".json"), card)
    return card


def _finite_or_none(value: float, digits: int) -> float | None:
    """A rounded number for the card, or None (JSON null) for NaN and infinities: a column
    absent from an older ultralytics' results.csv, or a loss it logged as nan."""
    return round(value, digits) if math.isfinite(value) else None


def _read_results(path: Path) -> list[dict[str, float | None]]:
    """Per-epoch metrics from ultralytics' results.csv (epoch, mAP50, mAP50-95, losses); a value
    that is missing or not finite is None."""
    if not path.is_file():
        return []
    rows: list[dict[str, float | None]] = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            clean = {key.strip(): value.strip() for key, value in row.items() if key}
            try:
                rows.append(
                    {
                        "epoch": int(float(clean["epoch"])),
                        "map50": _finite_or_none(float(clean["metrics/mAP50(B)"]), 4),
                        "map50_95": _finite_or_none(float(clean["metrics/mAP50-95(B)"]), 4),
                        "box_loss": _finite_or_none(float(clean["train/box_loss"]), 4),
                        "cls_loss": _finite_or_none(float(clean["train/cls_loss"]), 4),
                        "seconds": _finite_or_none(float(clean.get("time", "nan")), 1),
                    }
                )
            except (KeyError, ValueError):
                continue
    return rows


def detector_recall(
    weights: Path,
    data: Path,
    records: list[dict[str, Any]],
    *,
    iou: float = 0.5,
    conf: float = 0.25,
    imgsz: int = 256,
    device: str = "cpu",
) -> dict[str, float]:
    """Share of labelled objects of every frame that a detection of the same class finds
    at IoU >= ``iou`` (greedy one-to-one matching), over the videos of ``records``."""
    from finsta_cli.video.track import box_iou
    from finsta_cli.video.weights import load_yolo

    model = load_yolo(weights)
    found = total = detections = 0
    for record in records:
        # ultralytics reads numpy frames as BGR (OpenCV's order); PyAV decodes RGB.
        frames = [np.ascontiguousarray(f[:, :, ::-1]) for f in _decode(data / str(record["video"]))]
        with contextlib.redirect_stdout(sys.stderr):
            results = model.predict(
                frames, imgsz=imgsz, conf=conf, device=device, verbose=False, batch=16
            )
        classes = {o["track_id"]: o["class_id"] for o in record["objects"]}
        width, height = float(record["width"]), float(record["height"])
        scale = np.array([width, height, width, height])
        for frame, result in zip(record["frames"], results, strict=True):
            truth = [
                (classes[o["track_id"]], np.array(o["box"]) * scale)
                for o in frame["objects"]
                if o["labelled"]
            ]
            boxes = result.boxes.xyxy.cpu().numpy()
            labels = result.boxes.cls.cpu().numpy().astype(int)
            detections += len(boxes)
            used: set[int] = set()
            for cls, box in truth:
                total += 1
                if not len(boxes):
                    continue
                overlaps = box_iou(box[None, :], boxes)[0]
                order = np.argsort(-overlaps)
                for k in order:
                    if overlaps[k] < iou:
                        break
                    if int(k) not in used and labels[k] == cls:
                        used.add(int(k))
                        found += 1
                        break
    return {
        "recall": found / total if total else 0.0,
        "objects": float(total),
        "found": float(found),
        "detections": float(detections),
    }
