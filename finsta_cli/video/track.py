"""Tracking objects across a video's sampled frames: the same object keeps one track id.

Two trackers, a fixed choice (``--tracker``):

- ``hungarian`` (default): frame-to-frame assignment with scipy's Hungarian solver on a cost
  that adds (1 - IoU) with the track's box moved by its velocity, the centre distance in units
  of the box size, and an appearance distance (mean colour of the box centre, and the cosine
  distance of region features when the detector gives them). Pairs of other classes, or
  farther apart than ``max_distance`` box sizes, or of too different colour, are never matched.
  A track that is not seen is kept for ``max_age`` sampled frames, so an object hidden behind
  another for a while keeps its id when it shows again.
- ``bytetrack``: ultralytics' ``BYTETracker`` (Kalman filter + IoU, two score stages), fed
  the same detections. It is built for consecutive frames of a video at its frame rate.

docs/build-dsg.md gives the measured track consistency (IDF1) of both on sparse keyframes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

TrackerKind = Literal["hungarian", "bytetrack"]
_NEVER = 1e6


class TrackerOptions(BaseModel):
    """Thresholds of the Hungarian tracker (distances in box sizes, colours in [0, 1])."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_distance: float = 2.5
    max_colour: float = 0.25
    max_age: int = 8
    class_aware: bool = True
    weight_iou: float = 1.0
    weight_distance: float = 1.0
    weight_appearance: float = 2.0


@dataclass
class TrackInput:
    """One frame's detections for the tracker: boxes xyxy normalised, classes, scores,
    colours (n, 3) in [0, 1], region features (n, D) and the frame's time in seconds."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    colours: np.ndarray
    features: np.ndarray
    time: float


class Tracker(Protocol):
    """What build-dsg needs of a tracker: track ids for the detections of every frame."""

    def assign(self, frames: Sequence[TrackInput]) -> list[np.ndarray]: ...


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    time: float
    cls: int
    colour: np.ndarray
    feature: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    misses: int = 0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) of xyxy boxes a (N, 4) and b (M, 4)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0))


def _centres(boxes: np.ndarray) -> np.ndarray:
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


def _sizes(boxes: np.ndarray) -> np.ndarray:
    w = np.clip(boxes[:, 2] - boxes[:, 0], 1e-6, None)
    h = np.clip(boxes[:, 3] - boxes[:, 1], 1e-6, None)
    return np.sqrt(w * h)


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    an = a / np.clip(np.linalg.norm(a, axis=1, keepdims=True), 1e-9, None)
    bn = b / np.clip(np.linalg.norm(b, axis=1, keepdims=True), 1e-9, None)
    return np.asarray(np.clip(1.0 - an @ bn.T, 0.0, 2.0) / 2.0)


class HungarianTracker:
    """Frame-to-frame matching on IoU, distance, class and appearance (see the module)."""

    def __init__(self, options: TrackerOptions | None = None) -> None:
        self.options = options or TrackerOptions()

    def assign(self, frames: Sequence[TrackInput]) -> list[np.ndarray]:
        from scipy.optimize import linear_sum_assignment

        opts = self.options
        tracks: list[_Track] = []
        next_id = 0
        assigned: list[np.ndarray] = []
        for frame in frames:
            n = frame.boxes.shape[0]
            ids = np.full(n, -1, np.int64)
            live = [t for t in tracks if t.misses <= opts.max_age]
            if live and n:
                cost = self._cost(live, frame)
                rows, cols = linear_sum_assignment(cost)
                for r, c in zip(rows, cols, strict=True):
                    if cost[r, c] >= _NEVER:
                        continue
                    track = live[r]
                    ids[c] = track.track_id
                    self._update(track, frame, int(c))
            matched = {int(i) for i in ids if i >= 0}
            for track in tracks:
                if track.track_id not in matched:
                    track.misses += 1
            for c in np.flatnonzero(ids < 0):
                tracks.append(
                    _Track(
                        next_id,
                        frame.boxes[c].astype(np.float64),
                        frame.time,
                        int(frame.classes[c]),
                        frame.colours[c].astype(np.float64),
                        frame.features[c].astype(np.float64),
                    )
                )
                ids[c] = next_id
                next_id += 1
            assigned.append(ids)
        return assigned

    def _cost(self, live: list[_Track], frame: TrackInput) -> np.ndarray:
        opts = self.options
        predicted = np.stack([t.box + np.tile(t.velocity * (frame.time - t.time), 2) for t in live])
        iou = box_iou(predicted, frame.boxes)
        size = np.maximum(_sizes(predicted)[:, None], _sizes(frame.boxes)[None, :])
        distance = (
            np.linalg.norm(_centres(predicted)[:, None, :] - _centres(frame.boxes)[None], axis=2)
            / size
        )
        colour = np.linalg.norm(
            np.stack([t.colour for t in live])[:, None, :] - frame.colours[None], axis=2
        ) / np.sqrt(3.0)
        appearance = colour
        if frame.features.shape[1] > 0:
            feats = np.stack([t.feature for t in live])
            appearance = (colour + _cosine_distance(feats, frame.features.astype(np.float64))) / 2
        cost = (
            opts.weight_iou * (1.0 - iou)
            + opts.weight_distance * distance
            + opts.weight_appearance * appearance
        )
        # Old misses cost a little more, so a fresh track wins a tie.
        cost += np.array([0.05 * t.misses for t in live])[:, None]
        gate = (
            distance > opts.max_distance + np.array([0.5 * t.misses for t in live])[:, None]
        ) | (colour > opts.max_colour)
        if opts.class_aware:
            gate |= np.array([t.cls for t in live])[:, None] != frame.classes[None, :]
        return np.asarray(np.where(gate, _NEVER, cost))

    @staticmethod
    def _update(track: _Track, frame: TrackInput, index: int) -> None:
        box = frame.boxes[index].astype(np.float64)
        dt = frame.time - track.time
        if dt > 0:
            step = (_centres(box[None])[0] - _centres(track.box[None])[0]) / dt
            track.velocity = step if track.misses == 0 else 0.5 * (track.velocity + step)
        track.box = box
        track.time = frame.time
        track.colour = 0.7 * track.colour + 0.3 * frame.colours[index]
        if frame.features.shape[1] > 0:
            track.feature = 0.7 * track.feature + 0.3 * frame.features[index]
        track.misses = 0


class ByteTrackTracker:
    """ultralytics' BYTETracker on normalised boxes scaled to a 1000-pixel square frame."""

    SCALE = 1000.0

    def __init__(self, track_buffer: int = 8) -> None:
        self.track_buffer = track_buffer

    def assign(self, frames: Sequence[TrackInput]) -> list[np.ndarray]:
        import importlib.util
        from types import SimpleNamespace

        from finsta_cli.errors import MissingResourceError
        from finsta_cli.offline import import_ultralytics

        if importlib.util.find_spec("lap") is None:
            raise MissingResourceError(
                "--tracker bytetrack needs the 'lap' package (ultralytics' matcher)",
                hint='pip install "lap>=0.5.12", or use --tracker hungarian',
            )
        import_ultralytics()
        from ultralytics.engine.results import Boxes
        from ultralytics.trackers.byte_tracker import BYTETracker

        args = SimpleNamespace(
            track_high_thresh=0.25,
            track_low_thresh=0.1,
            new_track_thresh=0.25,
            track_buffer=self.track_buffer,
            match_thresh=0.8,
            fuse_score=True,
        )
        tracker: Any = BYTETracker(args)
        assigned: list[np.ndarray] = []
        next_free = 1_000_000  # ids for detections the tracker leaves unconfirmed
        mapping: dict[int, int] = {}
        for frame in frames:
            n = frame.boxes.shape[0]
            data = np.zeros((n, 6), np.float32)
            data[:, :4] = frame.boxes * self.SCALE
            data[:, 4] = frame.scores
            data[:, 5] = frame.classes
            boxes = Boxes(data, (int(self.SCALE), int(self.SCALE)))
            output = tracker.update(boxes.cpu().numpy() if hasattr(boxes, "cpu") else boxes)
            ids = np.full(n, -1, np.int64)
            for row in np.asarray(output).reshape(-1, 8):
                ids[int(row[7])] = int(row[4])
            for c in np.flatnonzero(ids < 0):
                ids[c] = next_free
                next_free += 1
            assigned.append(ids)
        # Compact ids to 0, 1, 2... in order of first appearance.
        out = []
        for ids in assigned:
            out.append(np.array([mapping.setdefault(int(i), len(mapping)) for i in ids], np.int64))
        return out


def make_tracker(kind: TrackerKind, options: TrackerOptions | None = None) -> Tracker:
    """The tracker chosen by ``--tracker``."""
    factories: dict[TrackerKind, Callable[[], Tracker]] = {
        "hungarian": lambda: HungarianTracker(options),
        "bytetrack": lambda: ByteTrackTracker((options or TrackerOptions()).max_age),
    }
    return factories[kind]()
