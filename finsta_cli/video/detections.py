"""What a detector is asked and answers, per frame: :class:`FrameKey`, :class:`FrameDetections`,
and the :class:`Detector` protocol that the backends of :mod:`finsta_cli.video.detect` and
:mod:`finsta_cli.video.nanodet` follow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FrameKey:
    """Which frame a detection request is about: video id, frame index, sizes."""

    video_id: str
    index: int
    width: int  # original frame size
    height: int


@dataclass
class FrameDetections:
    """Objects found in one frame: boxes xyxy in decoded-frame pixels, scores, class ids,
    region features (n, D) and, from a detections file, given track ids (-1 when absent)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    features: np.ndarray
    given_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def empty(cls, feature_dim: int) -> FrameDetections:
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros((0, feature_dim), np.float32),
            np.zeros(0, np.int64),
        )

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


class Detector(Protocol):
    """What build-dsg needs of a detector."""

    names: dict[int, str]
    feature_dim: int

    def detect(
        self, frames: Sequence[np.ndarray], keys: Sequence[FrameKey]
    ) -> list[FrameDetections]: ...
