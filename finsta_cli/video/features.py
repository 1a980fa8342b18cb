"""Region features of detected objects, RoI-aligned from the YOLO detector's own feature maps.

A forward pre-hook on the model's ``Detect`` layer keeps the multi-scale maps it receives
(for YOLOv8n at any input size: 64, 128 and 256 channels at strides 8, 16, 32). Each box is
pooled from every level with :func:`torchvision.ops.roi_align` (``output_size`` x
``output_size`` bins, averaged), and the levels are concatenated, so the feature dimension is
the sum of the level channels: 448 for YOLOv8n. ``MultiScaleRoIAlign`` does not apply: it
needs the same channel count on every level.

Shapes:
    maps: list of (B, C_l, H/s_l, W/s_l) tensors, one per level l with stride s_l
    boxes: list of B tensors (n_b, 4), xyxy in the network's input pixels
    output: list of B tensors (n_b, sum_l C_l)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ROI_OUTPUT_SIZE = 2


class DetectInputHook:
    """Keeps the inputs of a YOLO ``Detect`` layer from its latest forward call."""

    def __init__(self, detect_layer: Any) -> None:
        self.maps: list[Any] | None = None
        self.strides = [float(s) for s in detect_layer.stride.tolist()]
        self._handle = detect_layer.register_forward_pre_hook(self._keep)

    def _keep(self, module: Any, args: tuple[Any, ...]) -> None:
        # Detect.forward replaces the entries of its input list in place: keep our own list.
        self.maps = list(args[0])

    def take(self) -> list[Any]:
        if self.maps is None:
            raise RuntimeError("the detector ran without reaching its Detect layer")
        maps, self.maps = self.maps, None
        return maps

    def remove(self) -> None:
        self._handle.remove()


def find_detect_layer(model: Any) -> Any | None:
    """The last module of an ultralytics detection model when it has per-level ``stride``s."""
    layers = getattr(model, "model", None)
    if layers is None or not len(layers):
        return None
    last = layers[-1]
    stride = getattr(last, "stride", None)
    if stride is None or not hasattr(last, "register_forward_pre_hook"):
        return None
    return last if len(stride) > 0 else None


@dataclass(frozen=True)
class Letterbox:
    """Where an image lands in a letterboxed network input: scaled by ``gain_x``/``gain_y``
    (one ratio, rounded to whole pixels: ``new_w`` x ``new_h``), shifted by ``pad_x``/``pad_y``."""

    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int
    new_w: int
    new_h: int


def letterbox(original_hw: tuple[int, int], input_hw: tuple[int, int]) -> Letterbox:
    """ultralytics' letterbox: the smaller of the two side ratios, centred padding."""
    gain = min(input_hw[0] / original_hw[0], input_hw[1] / original_hw[1])
    new_h = max(round(original_hw[0] * gain), 1)
    new_w = max(round(original_hw[1] * gain), 1)
    return Letterbox(
        gain_x=new_w / original_hw[1],
        gain_y=new_h / original_hw[0],
        pad_x=round((input_hw[1] - new_w) / 2 - 0.1),
        pad_y=round((input_hw[0] - new_h) / 2 - 0.1),
        new_w=new_w,
        new_h=new_h,
    )


def input_boxes(
    boxes: np.ndarray, original_hw: tuple[int, int], input_hw: tuple[int, int]
) -> np.ndarray:
    """Map xyxy boxes from an original image to the letterboxed network input.

    The inverse of ultralytics' ``scale_boxes``: the same gain (the smaller of the two side
    ratios) and the same centred padding (:func:`letterbox`).
    """
    box = letterbox(original_hw, input_hw)
    out = boxes.astype(np.float32, copy=True)
    out[:, [0, 2]] = out[:, [0, 2]] * box.gain_x + box.pad_x
    out[:, [1, 3]] = out[:, [1, 3]] * box.gain_y + box.pad_y
    return out


def pool_region_features(
    maps: Sequence[Any], strides: Sequence[float], boxes: Sequence[Any], output_size: int = 2
) -> list[Any]:
    """RoI-align every box on every level and concatenate the averaged levels (see module)."""
    import torch
    from torchvision.ops import roi_align

    counts = [int(b.shape[0]) for b in boxes]
    total_dim = sum(int(m.shape[1]) for m in maps)
    if sum(counts) == 0:
        return [torch.zeros((0, total_dim), dtype=torch.float32) for _ in counts]
    levels = []
    for feature_map, stride in zip(maps, strides, strict=True):
        rois = [b.to(device=feature_map.device, dtype=feature_map.dtype) for b in boxes]
        pooled = roi_align(
            feature_map,
            rois,
            output_size=output_size,
            spatial_scale=1.0 / stride,
            sampling_ratio=2,
            aligned=True,
        )
        levels.append(pooled.mean(dim=(2, 3)).float().cpu())
    joined = torch.cat(levels, dim=1)
    return list(torch.split(joined, counts))
