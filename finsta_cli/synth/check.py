"""A checker that decides caption facts from a synth record's per-frame ground truth alone.

It reads only what a ``SynthVideo`` record stores per frame (centres, whole-object boxes,
in-frame fractions, depths), never the script that produced the video, so it checks the
generator: every true caption must hold, every hard negative must fail. The generator uses it
too, to keep only distractors of multiple-choice questions that are false.

Facts are decided as follows (pixels scaled to a 256-pixel frame):
- motion segments of an object are maximal runs of frames in view where it moves (more than
  0.3 px a frame) without turning; a segment is an interval ``(start, end)`` of frames;
- ``move d``: a segment whose displacement along ``d`` is at least 8 px and at least 1.5 times
  the displacement across it;
- ``still``: the object never moves;
- ``approach`` / ``retreat`` ``b``: a segment over which the distance to ``b`` shrinks / grows
  by at least 15 px;
- ``enter s``: the object is out of view in the first frame, first shows across edge ``s``, and
  is later wholly in view; ``leave s``: the reverse, at the end;
- ``collide b``: the boxes of the two meet (gap within 0.5 px, no overlap) at the end of a
  segment of the subject that brought it closer;
- ``pass front/behind b``: during a segment the boxes overlap, the subject ends on the other
  side of ``b`` and is nearer (front) or farther (behind) than ``b``;
- ``relation p b`` at the start or end: in that frame both are wholly in view and the centres
  differ along the predicate's axis by more than 2% of the frame;
- ``order [i, j]``: some interval of fact ``i`` ends no later than some interval of fact ``j``
  starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Interval = tuple[int, int]
UNIT = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}


@dataclass
class _Track:
    track_id: int
    shape: str
    colour: str
    size: str
    depth: float
    centers: dict[int, np.ndarray]  # frame -> centre (px)
    boxes: dict[int, np.ndarray]  # frame -> whole box xyxy (px)
    in_frame: dict[int, float]


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


class GroundTruth:
    """Per-frame ground truth of one video, indexed for the fact checks."""

    def __init__(
        self,
        objects: Sequence[Any],
        frames: Sequence[Any],
        width: int,
        height: int,
    ) -> None:
        self.width = width
        self.height = height
        self.num_frames = len(frames)
        self.scale = min(width, height) / 256.0
        self.tracks: dict[int, _Track] = {}
        for obj in objects:
            tid = int(_get(obj, "track_id"))
            self.tracks[tid] = _Track(
                tid,
                str(_get(obj, "shape")),
                str(_get(obj, "colour")),
                str(_get(obj, "size")),
                float(_get(obj, "depth")),
                {},
                {},
                {},
            )
        size = np.array([width, height, width, height], dtype=float)
        for frame in frames:
            t = int(_get(frame, "index"))
            for item in _get(frame, "objects"):
                track = self.tracks[int(_get(item, "track_id"))]
                cx, cy = _get(item, "center")
                track.centers[t] = np.array([cx * width, cy * height])
                track.boxes[t] = np.array(_get(item, "full_box"), dtype=float) * size
                track.in_frame[t] = float(_get(item, "in_frame"))
        self._segments: dict[int, list[Interval]] = {}

    @classmethod
    def from_record(cls, record: Any) -> GroundTruth:
        return cls(
            _get(record, "objects"),
            _get(record, "frames"),
            _get(record, "width"),
            _get(record, "height"),
        )

    # -- referents -------------------------------------------------------------------------
    def resolve(self, ref: Mapping[str, str] | None) -> list[int]:
        """Track ids matching a description (colour, shape and, when given, size)."""
        if ref is None:
            return []
        return [
            t.track_id
            for t in self.tracks.values()
            if t.colour == ref.get("colour")
            and t.shape == ref.get("shape")
            and ("size" not in ref or t.size == ref["size"])
        ]

    # -- motion ----------------------------------------------------------------------------
    def segments(self, tid: int) -> list[Interval]:
        """Maximal runs of frames over which the object moves without turning."""
        if tid in self._segments:
            return self._segments[tid]
        track = self.tracks[tid]
        eps = 0.3 * self.scale
        found: list[Interval] = []
        start: int | None = None
        previous: np.ndarray | None = None
        for t in range(self.num_frames - 1):
            a, b = track.centers.get(t), track.centers.get(t + 1)
            step = None if a is None or b is None else b - a
            moving = step is not None and float(np.linalg.norm(step)) > eps
            turned = False
            if moving and previous is not None and step is not None:
                cos = float(step @ previous) / (np.linalg.norm(step) * np.linalg.norm(previous))
                turned = bool(cos < 0.9)
            if start is not None and (not moving or turned):
                found.append((start, t))
                start = None
            if moving and start is None:
                start = t
            previous = step if moving else None
        if start is not None:
            found.append((start, self.num_frames - 1))
        self._segments[tid] = found
        return found

    def _distance(self, a: int, b: int, t: int) -> float | None:
        ca, cb = self.tracks[a].centers.get(t), self.tracks[b].centers.get(t)
        if ca is None or cb is None:
            return None
        return float(np.linalg.norm(ca - cb))

    def _gap(self, a: int, b: int, t: int) -> float | None:
        ba, bb = self.tracks[a].boxes.get(t), self.tracks[b].boxes.get(t)
        if ba is None or bb is None:
            return None
        return float(max(bb[0] - ba[2], ba[0] - bb[2], bb[1] - ba[3], ba[1] - bb[3]))

    def _edge(self, box: np.ndarray) -> str | None:
        if box[0] < 0:
            return "left"
        if box[2] > self.width:
            return "right"
        if box[1] < 0:
            return "up"
        if box[3] > self.height:
            return "down"
        return None

    # -- facts -----------------------------------------------------------------------------
    def intervals(self, fact: Mapping[str, Any]) -> list[Interval]:
        """The frame intervals over which a fact holds; empty when it is false."""
        kind = fact["kind"]
        subjects = self.resolve(fact.get("subject"))
        objects = self.resolve(fact.get("object")) if fact.get("object") else [None]
        found: list[Interval] = []
        for a in subjects:
            for b in objects:
                if b == a:
                    continue
                found.extend(self._intervals(kind, a, b, fact))
        return found

    def holds(self, fact: Mapping[str, Any]) -> bool:
        return bool(self.intervals(fact))

    def _intervals(
        self, kind: str, a: int, b: int | None, fact: Mapping[str, Any]
    ) -> list[Interval]:
        track = self.tracks[a]
        segments = self.segments(a)
        direction = fact.get("direction")
        relation = fact.get("relation")
        s8, s15 = 8.0 * self.scale, 15.0 * self.scale
        out: list[Interval] = []
        if kind == "still":
            return [(0, self.num_frames - 1)] if not segments else []
        if kind == "move":
            ux, uy = UNIT[str(direction)]
            for s, e in segments:
                d = track.centers[e] - track.centers[s]
                along = d[0] * ux + d[1] * uy
                across = abs(d[0] * uy - d[1] * ux)
                if along >= s8 and along >= 1.5 * across:
                    out.append((s, e))
            return out
        if kind in ("approach", "retreat") and b is not None:
            for s, e in segments:
                d0, d1 = self._distance(a, b, s), self._distance(a, b, e)
                if d0 is None or d1 is None:
                    continue
                if (kind == "approach" and d0 - d1 >= s15) or (
                    kind == "retreat" and d1 - d0 >= s15
                ):
                    out.append((s, e))
            return out
        if kind == "enter":
            present = sorted(track.centers)
            if not present or present[0] == 0:
                return []
            first = present[0]
            full = [t for t in present if track.in_frame[t] >= 0.999]
            if not full or self._edge(track.boxes[first]) != direction:
                return []
            return [(first - 1, full[0])]
        if kind == "leave":
            present = sorted(track.centers)
            if not present or present[-1] == self.num_frames - 1:
                return []
            last = present[-1]
            full = [t for t in present if track.in_frame[t] >= 0.999]
            if not full or self._edge(track.boxes[last]) != direction:
                return []
            return [(full[-1], last + 1)]
        if kind == "collide" and b is not None:
            for s, e in segments:
                gap = self._gap(a, b, e)
                d0, d1 = self._distance(a, b, s), self._distance(a, b, e)
                if gap is None or d0 is None or d1 is None:
                    continue
                if -0.5 <= gap <= 0.5 and d1 < d0:
                    out.append((s, e))
            return out
        if kind == "pass" and b is not None:
            other = self.tracks[b]
            nearer = track.depth > other.depth
            if (relation == "front") != nearer:
                return []
            for s, e in segments:
                overlap = any(
                    (g := self._gap(a, b, t)) is not None and g < -0.5 for t in range(s, e + 1)
                )
                c0, c1 = track.centers[s], track.centers[e]
                o0, o1 = other.centers.get(s), other.centers.get(e)
                if not overlap or o0 is None or o1 is None:
                    continue
                if np.sign(c0[0] - o0[0]) != np.sign(c1[0] - o1[0]):
                    out.append((s, e))
            return out
        if kind == "relation" and b is not None:
            t = 0 if fact.get("when") == "start" else self.num_frames - 1
            ca, cb = track.centers.get(t), self.tracks[b].centers.get(t)
            if ca is None or cb is None:
                return []
            if track.in_frame.get(t, 0) < 0.999 or self.tracks[b].in_frame.get(t, 0) < 0.999:
                return []
            tol = 0.02 * min(self.width, self.height)
            dx, dy = ca[0] - cb[0], ca[1] - cb[1]
            ok = {
                "left of": dx < -tol,
                "right of": dx > tol,
                "above": dy < -tol,
                "below": dy > tol,
            }.get(str(relation), False)
            return [(t, t)] if ok else []
        return []

    def caption_holds(
        self, facts: Sequence[Mapping[str, Any]], order: Sequence[Sequence[int]]
    ) -> bool:
        """Whether every fact holds and every ``[i, j]`` of ``order`` has i no later than j."""
        spans = [self.intervals(fact) for fact in facts]
        if not all(spans):
            return False
        return all(any(ei <= sj for _, ei in spans[i] for sj, _ in spans[j]) for i, j in order)


def check_record(record: Mapping[str, Any]) -> list[str]:
    """Problems found in one record: false captions, true negatives, bad boxes; empty when sound."""
    problems: list[str] = []
    truth = GroundTruth.from_record(record)
    for i, caption in enumerate(record.get("captions", [])):
        if not truth.caption_holds(caption["facts"], caption.get("order", [])):
            problems.append(f"caption {i} does not hold: {caption['text']!r}")
    for i, negative in enumerate(record.get("negatives", [])):
        if truth.caption_holds(negative["facts"], negative.get("order", [])):
            problems.append(f"negative {i} holds: {negative['text']!r}")
    for frame in record["frames"]:
        for obj in frame["objects"]:
            box = obj["box"]
            if box is not None and not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
                problems.append(f"frame {frame['index']}: box {box} outside the frame")
    return problems
