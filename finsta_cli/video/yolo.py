"""The ``--detector yolo`` backend of build-dsg: an ultralytics YOLO model run on batches of RGB
frames, with RoI-aligned region features from the inputs of its Detect layer
(:mod:`finsta_cli.video.features`).

:func:`finsta_cli.video.detect.make_detector` makes it from build-dsg's
:class:`~finsta_cli.video.detect.DetectorOptions`; the weights are read by
:func:`finsta_cli.video.weights.load_yolo`, which never runs code from the file.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from finsta_cli.errors import UsageError
from finsta_cli.video.detections import FrameDetections, FrameKey

if TYPE_CHECKING:
    from finsta_cli.video.features import DetectInputHook


class YoloDetector:
    """An ultralytics YOLO model run on batches of RGB frames, with RoI-aligned region features."""

    def __init__(
        self,
        weights: str,
        *,
        conf: float,
        iou: float,
        max_objects: int,
        imgsz: int,
        device: str,
        threads: int | None = None,
        region_features: bool = True,
        warmup_batch: int = 1,
    ) -> None:
        from finsta_cli.runtime import configure_threads
        from finsta_cli.video.weights import load_yolo

        self.conf, self.iou, self.max_objects, self.imgsz = conf, iou, max_objects, imgsz
        self.device = device
        self.threads = threads
        self.model = load_yolo(weights)  # never runs code from the file
        if getattr(self.model, "task", "detect") != "detect":
            raise UsageError(f"{weights}: a {self.model.task} model, not a detector")
        self.names = {int(k): str(v) for k, v in dict(self.model.names).items()}
        self.region_features = region_features
        self.hook: DetectInputHook | None = None
        self._hooked: Any = None
        # The first predict builds ultralytics' predictor, which runs its own (fused) copy of the
        # network: the hook goes on that copy's Detect layer.
        self._predict([np.zeros((imgsz, imgsz, 3), np.uint8)])
        configure_threads(threads)  # ultralytics leaves torch at one thread after its set-up
        # A first batch of the working size pays torch's one-off set-up for that shape here,
        # with the loading, rather than in the first video's time.
        self._predict([np.zeros((imgsz, imgsz, 3), np.uint8)] * max(1, warmup_batch))
        self.feature_dim = 0
        if self.hook is not None:
            self.feature_dim = sum(int(m.shape[1]) for m in self.hook.take())

    def _attach_hook(self) -> None:
        from finsta_cli.video.features import DetectInputHook, find_detect_layer

        predictor = getattr(self.model, "predictor", None)
        backend = getattr(predictor, "model", None)
        layer = find_detect_layer(getattr(backend, "model", None))
        if layer is self._hooked:
            return
        if self.hook is not None:
            self.hook.remove()
        self.hook = DetectInputHook(layer) if layer is not None else None
        self._hooked = layer

    def _predict(self, bgr: list[np.ndarray]) -> list[Any]:
        import torch

        with contextlib.redirect_stdout(sys.stderr), torch.inference_mode():
            results = self.model.predict(
                bgr,
                imgsz=self.imgsz,
                conf=self.conf,
                iou=self.iou,
                max_det=self.max_objects,
                device=self.device,
                verbose=False,
                batch=len(bgr),
            )
        if self.region_features:
            before = self._hooked
            self._attach_hook()
            if self._hooked is not before and self.hook is not None:
                # Hooked only now: run again so this batch's maps are kept.
                return self._predict(bgr)
        return list(results)

    def detect(
        self, frames: Sequence[np.ndarray], keys: Sequence[FrameKey]
    ) -> list[FrameDetections]:
        import torch

        from finsta_cli.video.features import ROI_OUTPUT_SIZE, input_boxes, pool_region_features

        if not frames:
            return []
        # ultralytics reads numpy images as BGR (OpenCV's order); decoded frames are RGB.
        bgr = [np.ascontiguousarray(frame[..., ::-1]) for frame in frames]
        results = self._predict(bgr)
        out = []
        for result in results:
            boxes = result.boxes
            out.append(
                FrameDetections(
                    boxes=boxes.xyxy.cpu().numpy().astype(np.float32),
                    scores=boxes.conf.cpu().numpy().astype(np.float32),
                    classes=boxes.cls.cpu().numpy().astype(np.int64),
                    features=np.zeros((len(boxes), self.feature_dim), np.float32),
                    given_ids=np.full(len(boxes), -1, np.int64),
                )
            )
        if self.hook is not None:
            maps = self.hook.take()
            input_hw = (
                int(maps[0].shape[2] * self.hook.strides[0]),
                int(maps[0].shape[3] * self.hook.strides[0]),
            )
            rois = [
                torch.from_numpy(input_boxes(d.boxes, frame.shape[:2], input_hw))
                for d, frame in zip(out, frames, strict=True)
            ]
            with torch.inference_mode():
                pooled = pool_region_features(maps, self.hook.strides, rois, ROI_OUTPUT_SIZE)
            for detections, feats in zip(out, pooled, strict=True):
                detections.features = feats.numpy().astype(np.float32)
        return out
