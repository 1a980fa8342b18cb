"""Object attributes: colour from the box's pixels, size from the box, motion from the track.

- **colour**: the mean RGB of the most saturated third of the box's pixels (so a muted
  background around the object counts little), named by hue, or black / gray / white when it is
  not saturated. The same mean RGB is the tracker's appearance cue.
- **size**: ``sqrt(box area)`` as a fraction of the frame: ``small`` below ``size_small``,
  ``large`` from ``size_large``, else ``medium`` (per frame; a track takes its median).
- **motion**: centres are normalised by the frame size and steps by time (frame sizes per
  second), so thresholds hold for any resolution and sampling rate. A step moves when the
  centre goes at least ``still_speed`` frame sizes a second; consecutive moving steps in about
  the same direction form a *run*; runs shorter than ``min_displacement`` are ignored. A run is
  ``left``/``right``/``up``/``down`` by its displacement, or ``approaching``/``leaving`` when it
  is not along an axis and closes / opens the distance to another object of the frame by at
  least ``approach_ratio`` of its length. A track's ``motion`` is its first run (``still`` when
  there is none), ``motions`` lists every run in order.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

# (upper hue bound in degrees, name), for saturated colours.
HUE_NAMES: tuple[tuple[float, str], ...] = (
    (15.0, "red"),
    (42.0, "orange"),
    (70.0, "yellow"),
    (165.0, "green"),
    (200.0, "cyan"),
    (255.0, "blue"),
    (295.0, "purple"),
    (345.0, "pink"),
    (360.0, "red"),
)
MOTIONS = ("left", "right", "up", "down", "still", "approaching", "leaving")


class AttributeOptions(BaseModel):
    """Thresholds of the attributes (fractions of the frame; speeds in frame sizes a second)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_small: float = 0.15
    size_large: float = 0.3
    min_saturation: float = 0.2
    still_speed: float = 0.03
    min_displacement: float = 0.03
    axis_ratio: float = 0.15
    approach_ratio: float = 0.75
    turn_degrees: float = 60.0


def box_colours(frame: np.ndarray, boxes: np.ndarray, samples: int = 12) -> np.ndarray:
    """(n, 3) mean RGB in [0, 1] of the most saturated third of each box's pixels.

    Each box is read on a ``samples`` x ``samples`` grid of pixel centres (all boxes of the
    frame in one gather): enough for a mean colour, at a fixed cost whatever the box size.
    """
    n = boxes.shape[0]
    if n == 0:
        return np.zeros((0, 3), np.float32)
    h, w = frame.shape[:2]
    steps = (np.arange(samples) + 0.5) / samples  # (s,)
    xs = boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * steps  # (n, s)
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * steps
    cols = np.clip(xs.astype(np.int64), 0, w - 1)
    rows = np.clip(ys.astype(np.int64), 0, h - 1)
    pixels = frame[rows[:, :, None], cols[:, None, :]].reshape(n, samples * samples, 3)
    pixels = pixels.astype(np.float32)
    high, low = pixels.max(axis=2), pixels.min(axis=2)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0.0)
    keep = max(1, pixels.shape[1] // 3)
    chosen = np.argpartition(-saturation, keep - 1, axis=1)[:, :keep]
    picked = np.take_along_axis(pixels, chosen[..., None], axis=1)
    return np.asarray(picked.mean(axis=1) / 255.0, dtype=np.float32)


def colour_name(rgb: Sequence[float], min_saturation: float = 0.2) -> str:
    """The name of an RGB colour in [0, 1]."""
    hue, saturation, value = colorsys.rgb_to_hsv(float(rgb[0]), float(rgb[1]), float(rgb[2]))
    if value < 0.2:
        return "black"
    if saturation < min_saturation:
        return "white" if value > 0.8 else "gray"
    degrees = hue * 360.0
    for bound, name in HUE_NAMES:
        if degrees < bound:
            return name
    return "red"


def size_name(box: Sequence[float] | np.ndarray, options: AttributeOptions) -> str:
    """small / medium / large from a normalised xyxy box."""
    side = float(np.sqrt(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)))
    if side < options.size_small:
        return "small"
    return "large" if side >= options.size_large else "medium"


def _direction(vector: np.ndarray) -> str:
    dx, dy = float(vector[0]), float(vector[1])
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


@dataclass
class MotionRun:
    """Consecutive moving steps of one track: occurrence positions ``start``..``end``."""

    start: int
    end: int
    label: str
    other: int | None = None


def motion_runs(
    centres: np.ndarray,
    times: np.ndarray,
    others: Sequence[dict[int, np.ndarray]],
    options: AttributeOptions,
) -> list[MotionRun]:
    """The runs of a track from its centres (k, 2) at times (k,) (see the module docstring).

    ``others[i]`` maps the other track ids of occurrence i's frame to their centres.
    """
    k = centres.shape[0]
    if k < 2:
        return []
    steps = np.diff(centres, axis=0)
    dt = np.maximum(np.diff(times), 1e-6)
    moving = np.linalg.norm(steps, axis=1) / dt >= options.still_speed
    cos_turn = np.cos(np.radians(options.turn_degrees))
    runs: list[tuple[int, int]] = []
    i = 0
    while i < k - 1:
        if not moving[i]:
            i += 1
            continue
        start, total = i, steps[i].copy()
        i += 1
        while i < k - 1 and moving[i]:
            unit = total / max(np.linalg.norm(total), 1e-9)
            step_unit = steps[i] / max(np.linalg.norm(steps[i]), 1e-9)
            if float(unit @ step_unit) < cos_turn:
                break
            total += steps[i]
            i += 1
        runs.append((start, i))  # occurrences start..i
    out = []
    for start, end in runs:
        displacement = centres[end] - centres[start]
        length = float(np.linalg.norm(displacement))
        if length < options.min_displacement:
            continue
        major, minor = sorted(np.abs(displacement), reverse=True)
        label, other = _direction(displacement), None
        if minor > options.axis_ratio * major:
            best = 0.0
            for tid, before in others[start].items():
                after = others[end].get(tid)
                if after is None:
                    continue
                change = float(np.linalg.norm(centres[end] - after)) - float(
                    np.linalg.norm(centres[start] - before)
                )
                if abs(change) >= options.approach_ratio * length and abs(change) > best:
                    best = abs(change)
                    label, other = ("approaching" if change < 0 else "leaving"), tid
        out.append(MotionRun(start, end, label, other))
    return out


def frame_motions(centres: np.ndarray, times: np.ndarray, options: AttributeOptions) -> list[str]:
    """Each occurrence's motion: the direction of the centred step around it, or ``still``."""
    k = centres.shape[0]
    labels = []
    for i in range(k):
        a, b = max(0, i - 1), min(k - 1, i + 1)
        if a == b:
            labels.append("still")
            continue
        delta = centres[b] - centres[a]
        speed = float(np.linalg.norm(delta)) / max(float(times[b] - times[a]), 1e-6)
        labels.append(_direction(delta) if speed >= options.still_speed else "still")
    return labels
