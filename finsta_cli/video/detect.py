"""Object detectors for build-dsg: an ultralytics YOLO model, the shipped COCO NanoDet, or
precomputed boxes from a file.

The backend is a fixed choice, ``--detector {yolo,nanodet,file}``, made by :func:`make_detector`
from :class:`DetectorOptions` (which build-dsg's config gives) with a small dict of factory
functions that import their heavy packages inside. Each returns,
per frame, :class:`FrameDetections` in the pixels of the decoded frame. What each knows:

- ``yolo``: the classes of its checkpoint; the default one (``finsta-synth-yolov8n.pt``) knows
  only the six shapes of ``finsta synth`` (ball, cube, cylinder, cone, ring, star)
  (:mod:`finsta_cli.video.yolo`);
- ``nanodet``: the 80 COCO classes (people, vehicles, animals, household objects), on real
  footage, offline (:mod:`finsta_cli.video.nanodet`, ``assets/detector/nanodet-g-coco.pt``);
- ``file``: whatever labels the file gives.

Detection files (``--detector file --detections FILE``) come in two formats:

- generic JSONL, one line per annotated frame::

      {"video_id": "clip1", "frame": 12,
       "objects": [{"box": [x1, y1, x2, y2], "label": "cup", "score": 0.9, "track_id": 3}]}

  ``frame`` is the 0-based frame index in the video (for a frame folder: the position of the
  image in name order); ``box`` is xyxy normalised by the frame size, as in DSG records;
  ``score`` (default 1) and ``track_id`` are optional. Frames not listed have no objects.
- Something-Else JSON (``annotations.json`` of Materzynska et al., CVPR 2020): an object
  ``{video_id: [{"name": "<video_id>/0001.jpg", "labels": [{"box2d": {"x1", "y1", "x2", "y2"},
  "category": ..., "standard_category": "0000" | "hand"}]}]}`` with boxes in pixels of the
  original frames; image ``NNNN.jpg`` is frame ``NNNN - 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from finsta_cli.errors import InputError, MissingResourceError, UsageError
from finsta_cli.video.detections import Detector, FrameDetections, FrameKey

DetectorKind = Literal["yolo", "nanodet", "file"]
# Options whose default depends on the detector (a config file or the command line wins):
# NanoDet runs at the size it was trained at.
DETECTOR_DEFAULTS: dict[str, dict[str, Any]] = {"nanodet": {"imgsz": 416}}


@dataclass(frozen=True)
class DetectorOptions:
    """What a detector is made from (``BuildDSGConfig.detector_options`` gives them; the
    defaults and the meaning of each are the config's)."""

    kind: DetectorKind
    weights: str | None  # yolo, nanodet: None for the shipped file
    detections: str | None  # file: the detections file
    allow_download: bool  # yolo: an official checkpoint may be fetched
    conf: float
    iou: float
    max_objects: int
    imgsz: int
    threads: int | None
    region_features: bool
    warmup_batch: int  # frames of the batch the network is warmed up on

    def weights_file(self) -> Path:
        """The weights file (or, for ``file``, the detections file) the detector reads."""
        from finsta_cli.assets import default_detector_weights, nanodet_weights

        if self.kind == "file":
            return Path(str(self.detections))
        if self.weights is not None:
            return Path(self.weights)
        return nanodet_weights() if self.kind == "nanodet" else default_detector_weights()

    def network_options(self, device: str) -> dict[str, Any]:
        """The keyword options of a network detector (:class:`YoloDetector`,
        :class:`~finsta_cli.video.nanodet.NanoDetDetector`), besides its weights."""
        return {
            "conf": self.conf,
            "iou": self.iou,
            "max_objects": self.max_objects,
            "imgsz": self.imgsz,
            "device": device,
            "threads": self.threads,
            "region_features": self.region_features,
            "warmup_batch": self.warmup_batch,
        }


# --- detections file -------------------------------------------------------------------------
@dataclass
class _FileObject:
    box: tuple[float, float, float, float]  # normalised, or pixels of the original frame
    label: str
    score: float
    track_id: int
    pixels: bool


class FileDetector:
    """Precomputed boxes: the generic JSONL format or Something-Else's annotations.json."""

    feature_dim = 0

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise UsageError(f"detections file {path} not found")
        self.path = path
        self.frames: dict[tuple[str, int], list[_FileObject]] = {}
        if path.suffix.lower() == ".json":
            self._read_something_else(path)
        else:
            self._read_generic(path)
        labels = sorted({o.label for objs in self.frames.values() for o in objs})
        self.names = dict(enumerate(labels))
        self._class_ids = {label: i for i, label in self.names.items()}

    def _read_generic(self, path: Path) -> None:
        from finsta_cli.io.jsonl import iter_jsonl

        for line_no, record in iter_jsonl(path):
            where = f"{path}:{line_no}"
            try:
                key = (str(record["video_id"]), int(record["frame"]))
                objects = [
                    _FileObject(
                        box=_box4(obj["box"], where),
                        label=str(obj.get("label") or "object"),
                        score=float(obj.get("score", 1.0)),
                        track_id=int(obj["track_id"]) if obj.get("track_id") is not None else -1,
                        pixels=False,
                    )
                    for obj in record.get("objects", [])
                ]
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(
                    f"{where}: expected video_id, frame and objects [{{box, label}}] ({exc})"
                ) from None
            self.frames.setdefault(key, []).extend(objects)

    def _read_something_else(self, path: Path) -> None:
        import json

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected Something-Else annotations (video id -> frames)")
        for video_id, frames in data.items():
            for frame in frames or []:
                try:
                    stem = Path(str(frame["name"])).stem
                    index = int(stem) - 1
                    objects = []
                    for label in frame.get("labels", []):
                        b = label["box2d"]
                        standard = str(label.get("standard_category", ""))
                        objects.append(
                            _FileObject(
                                box=(
                                    float(b["x1"]),
                                    float(b["y1"]),
                                    float(b["x2"]),
                                    float(b["y2"]),
                                ),
                                label=str(label.get("category") or standard or "object"),
                                score=1.0,
                                track_id=int(standard) if standard.isdigit() else -1,
                                pixels=True,
                            )
                        )
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(
                        f"{path}: video {video_id}: frame record not in Something-Else format "
                        f"({exc})"
                    ) from None
                self.frames.setdefault((str(video_id), index), []).extend(objects)

    def detect(
        self, frames: Sequence[np.ndarray], keys: Sequence[FrameKey]
    ) -> list[FrameDetections]:
        out = []
        for frame, key in zip(frames, keys, strict=True):
            objects = self.frames.get((key.video_id, key.index), [])
            if not objects:
                out.append(FrameDetections.empty(0))
                continue
            h, w = frame.shape[:2]
            boxes = []
            for obj in objects:
                x1, y1, x2, y2 = obj.box
                if obj.pixels:
                    x1, x2 = x1 / key.width, x2 / key.width
                    y1, y2 = y1 / key.height, y2 / key.height
                x1, x2 = sorted((min(max(x1, 0.0), 1.0), min(max(x2, 0.0), 1.0)))
                y1, y2 = sorted((min(max(y1, 0.0), 1.0), min(max(y2, 0.0), 1.0)))
                boxes.append((x1 * w, y1 * h, x2 * w, y2 * h))
            out.append(
                FrameDetections(
                    boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                    scores=np.asarray([min(max(o.score, 0.0), 1.0) for o in objects], np.float32),
                    classes=np.asarray([self._class_ids[o.label] for o in objects], np.int64),
                    features=np.zeros((len(objects), 0), np.float32),
                    given_ids=np.asarray([o.track_id for o in objects], np.int64),
                )
            )
        return out


def _box4(value: Any, where: str) -> tuple[float, float, float, float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise InputError(f"{where}: a box must be [x1, y1, x2, y2], got {value!r}")
    x1, y1, x2, y2 = (float(v) for v in value)
    return x1, y1, x2, y2


def detection_lines(record: Any, *, track_ids: bool = False) -> list[dict[str, Any]]:
    """A DSG record's objects as lines of the generic detections format (one per frame).

    Turns gold graphs (``finsta_cli.synth.records.ground_truth_dsg``) or another run's
    output into ``--detector file`` input; ``track_ids`` keeps the records' track ids.
    """
    lines = []
    for frame in record.frames:
        objects = []
        for obj in frame.objects:
            entry: dict[str, Any] = {"box": list(obj.box), "label": obj.label, "score": obj.score}
            if track_ids:
                entry["track_id"] = obj.track_id
            objects.append(entry)
        lines.append({"video_id": record.video_id, "frame": frame.index, "objects": objects})
    return lines


# --- the factory -----------------------------------------------------------------------------
def _make_yolo(options: DetectorOptions, device: str) -> Detector:
    from finsta_cli.assets import default_detector_weights
    from finsta_cli.video.weights import fetch_official_checkpoint, is_official_checkpoint
    from finsta_cli.video.yolo import YoloDetector

    weights = options.weights or str(default_detector_weights())
    is_yaml = weights.endswith((".yaml", ".yml"))
    if not is_yaml and not Path(weights).is_file() and is_official_checkpoint(weights):
        weights = str(fetch_official_checkpoint(weights, options.allow_download))
    if not is_yaml and not Path(weights).is_file():
        default = options.weights is None
        raise MissingResourceError(
            f"detector weights {weights} not found",
            hint="train the default detector with `finsta train-detector` (docs/synth.md)"
            if default
            else "give --weights a local ultralytics .pt checkpoint",
        )
    return YoloDetector(weights, **options.network_options(device))


def _make_nanodet(options: DetectorOptions, device: str) -> Detector:
    from finsta_cli.video.nanodet import NanoDetDetector

    weights = options.weights_file()
    if not weights.is_file():
        raise MissingResourceError(
            f"detector weights {weights} not found",
            hint="the NanoDet file ships in finsta's assets (assets/detector/nanodet-g-coco.pt); "
            "reinstall finsta, or give --weights a file written by tools/convert_nanodet.py"
            if options.weights is None
            else "give --weights a file written by tools/convert_nanodet.py",
        )
    return NanoDetDetector(weights, **options.network_options(device))


def _make_file(options: DetectorOptions, device: str) -> Detector:
    if options.detections is None:
        raise UsageError("--detector file needs --detections FILE")
    return FileDetector(Path(options.detections))


DETECTORS: dict[DetectorKind, Callable[[DetectorOptions, str], Detector]] = {
    "yolo": _make_yolo,
    "nanodet": _make_nanodet,
    "file": _make_file,
}


def make_detector(options: DetectorOptions, device: str = "cpu") -> Detector:
    """The detector chosen by ``options.kind``."""
    return DETECTORS[options.kind](options, device)
