"""Tests of finsta_cli/video/footage.py: telling finsta synth renderings from other footage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from finsta_cli.synth.render import SHAPES
from finsta_cli.video.decode import DecodeOptions, discover_videos, iter_chunks, video_items
from finsta_cli.video.footage import (
    COCO_DETECTOR,
    SYNTH_CLASSES,
    footage_stats,
    is_synth_detector,
    looks_like_synth,
    real_footage_message,
)
from tests.video.helpers import natural_frames


def test_synth_videos_look_like_synth(synth_dir: Path) -> None:
    items = list(video_items(discover_videos([synth_dir / "videos"])))
    assert len(items) == 6
    for item in items:
        chunk = next(iter_chunks(item, DecodeOptions(frames=16, longest=256, chunk=16)))
        assert looks_like_synth(chunk.frames), item.id


def test_footage_of_many_colours_or_not_square_does_not() -> None:
    wide = natural_frames(4, 144, 256)
    assert not looks_like_synth(wide)
    stats = footage_stats(wide[0])
    assert stats.chroma_share < 0.5 and stats.colour_bins > 64 and not stats.square
    # Square, but of many colours.
    assert not looks_like_synth(natural_frames(4, 256, 256, seed=1))
    # One muted hue like a synth background, but a wide frame (a plain desk filmed).
    plain = np.full((4, 144, 256, 3), (120, 118, 110), np.uint8)
    assert footage_stats(plain[0]).chroma_share > 0.99
    assert not looks_like_synth(plain)
    assert looks_like_synth(np.full((4, 256, 256, 3), (120, 118, 110), np.uint8))


def test_synth_detector_classes_and_the_warning() -> None:
    assert SYNTH_CLASSES == SHAPES
    assert is_synth_detector(dict(enumerate(SHAPES)))
    assert is_synth_detector({0: "cube"})
    assert not is_synth_detector({0: "person", 1: "cube"})
    assert not is_synth_detector({})
    first = real_footage_message(["clip"], None, "synth.pt")
    assert first.startswith("clip does not look like finsta synth footage, but the detector ")
    assert f"--detector {COCO_DETECTOR}" in first and "ball, cube" in first
    total = real_footage_message(["a", "b", "c", "d"], 9, "synth.pt")
    assert total.startswith("4 of 9 video(s) (a, b, c and 1 more) do not look like synth")
