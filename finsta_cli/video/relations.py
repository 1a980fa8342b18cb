"""Geometric relations between the objects of one frame, from their boxes.

For each pair of objects, once, with the lower track id as subject (boxes normalised by the
frame size, so thresholds are fractions of the frame):

- ``left of`` / ``right of`` and ``above`` / ``below`` when the centres differ along that axis by
  more than ``margin``;
- ``in front of`` / ``behind`` when the boxes overlap by more than ``touch_gap``: the object
  whose box has shrunk most against its track's median area is the hidden one (occlusion
  order); with no such evidence, the one whose box reaches lower in the frame is in front
  (objects standing on a ground plane);
- ``touching`` when the gap between the boxes is at most ``touch_gap`` either way;
- ``near`` when the gap is under ``near_gap`` (and they do not touch or overlap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

PREDICATES = ("left of", "right of", "above", "below", "in front of", "behind", "touching", "near")
INVERSE = {
    "left of": "right of",
    "right of": "left of",
    "above": "below",
    "below": "above",
    "in front of": "behind",
    "behind": "in front of",
    "touching": "touching",
    "near": "near",
}


class RelationOptions(BaseModel):
    """Thresholds of the geometric relations, as fractions of the frame size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin: float = 0.02
    touch_gap: float = 0.01
    near_gap: float = 0.1
    occlusion_evidence: float = 0.1


def box_gap(a: Sequence[float], b: Sequence[float]) -> float:
    """The largest per-axis gap between two xyxy boxes: negative when they overlap."""
    return float(max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]))


def frame_relations(
    track_ids: Sequence[int],
    boxes: np.ndarray,
    shown: np.ndarray,
    options: RelationOptions,
) -> list[tuple[int, str, int]]:
    """Relations ``(subject, predicate, object)`` of one frame.

    ``boxes`` (n, 4) are normalised xyxy; ``shown[i]`` is object i's box area over its track's
    median area (below 1 when it is partly hidden).
    """
    order = np.argsort(np.asarray(track_ids), kind="stable")
    out: list[tuple[int, str, int]] = []
    for pos, i in enumerate(order):
        for j in order[pos + 1 :]:
            a, b = boxes[i], boxes[j]
            s, o = int(track_ids[i]), int(track_ids[j])
            dx = (a[0] + a[2]) / 2 - (b[0] + b[2]) / 2
            dy = (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2
            if abs(dx) > options.margin:
                out.append((s, "left of" if dx < 0 else "right of", o))
            if abs(dy) > options.margin:
                out.append((s, "above" if dy < 0 else "below", o))
            gap = box_gap(a, b)
            if gap < -options.touch_gap:
                if abs(float(shown[i]) - float(shown[j])) >= options.occlusion_evidence:
                    front = shown[i] > shown[j]
                else:
                    front = a[3] > b[3]
                out.append((s, "in front of" if front else "behind", o))
            elif gap <= options.touch_gap:
                out.append((s, "touching", o))
            elif gap < options.near_gap:
                out.append((s, "near", o))
    return out


def canonical(subject: int, predicate: str, obj: int) -> tuple[int, str, int]:
    """The same relation stated with the lower id as subject (for comparing relation sets)."""
    if subject <= obj:
        return subject, predicate, obj
    return obj, INVERSE.get(predicate, predicate), subject
