"""Tests of finsta_cli/video/attributes.py: colour names, sizes and motion runs."""

from __future__ import annotations

import numpy as np
import pytest

from finsta_cli.synth.render import COLOURS
from finsta_cli.video.attributes import (
    AttributeOptions,
    box_colours,
    colour_name,
    frame_motions,
    motion_runs,
    size_name,
)


@pytest.mark.parametrize("name", sorted(COLOURS))
def test_synth_colours_are_named(name: str) -> None:
    rgb = np.array(COLOURS[name]) / 255.0
    assert colour_name(rgb) == name
    assert colour_name(rgb * 0.7) == name  # in shade


def test_achromatic_colours() -> None:
    assert colour_name([0.05, 0.05, 0.05]) == "black"
    assert colour_name([0.5, 0.5, 0.52]) == "gray"
    assert colour_name([0.95, 0.95, 0.95]) == "white"


def test_box_colour_prefers_saturated_pixels() -> None:
    frame = np.full((40, 40, 3), 120, np.uint8)
    frame[10:20, 10:20] = (30, 40, 220)  # a blue square in a box mostly grey
    [rgb] = box_colours(frame, np.array([[5.0, 5.0, 25.0, 25.0]]))
    assert colour_name(rgb) == "blue"


def test_sizes() -> None:
    options = AttributeOptions()
    assert size_name([0, 0, 0.1, 0.1], options) == "small"
    assert size_name([0, 0, 0.2, 0.2], options) == "medium"
    assert size_name([0, 0, 0.5, 0.4], options) == "large"


def _line(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(points, float), np.arange(len(points), dtype=float) * 0.25


def test_motion_runs_directions_and_still() -> None:
    options = AttributeOptions()
    centres, times = _line([(0.5, 0.5)] * 3 + [(0.5 + 0.03 * k, 0.5) for k in range(1, 5)])
    runs = motion_runs(centres, times, [{}] * len(centres), options)
    assert [r.label for r in runs] == ["right"]
    assert frame_motions(centres, times, options)[0] == "still"
    assert frame_motions(centres, times, options)[-1] == "right"
    still, t = _line([(0.5, 0.5), (0.5005, 0.5), (0.5, 0.501)])
    assert motion_runs(still, t, [{}] * 3, options) == []
    turn, t = _line([(0.2, 0.2), (0.3, 0.2), (0.4, 0.2), (0.4, 0.1), (0.4, 0.0)])
    assert [r.label for r in motion_runs(turn, t, [{}] * 5, options)] == ["right", "up"]


def test_approaching_and_leaving_another_object() -> None:
    options = AttributeOptions()
    centres, times = _line([(0.1 + 0.1 * k, 0.1 + 0.07 * k) for k in range(5)])
    target = np.array([0.8, 0.52])
    others = [{7: target} for _ in range(5)]
    [run] = motion_runs(centres, times, others, options)
    assert (run.label, run.other) == ("approaching", 7)
    [back] = motion_runs(centres[::-1].copy(), times, others, options)
    assert (back.label, back.other) == ("leaving", 7)
    # along an axis, the direction is the label even when it closes on another object
    axis, t = _line([(0.1 + 0.1 * k, 0.5) for k in range(5)])
    [run] = motion_runs(axis, t, [{7: np.array([0.9, 0.5])}] * 5, options)
    assert run.label == "right"
