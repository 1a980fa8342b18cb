"""Tests of finsta_cli/video/track.py: identities through motion, crossings and gaps."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from finsta_cli.video.track import (
    ByteTrackTracker,
    HungarianTracker,
    TrackerOptions,
    TrackInput,
    box_iou,
)

RED, BLUE = (0.9, 0.1, 0.1), (0.1, 0.2, 0.9)


def _frame(objects: list[tuple[float, float, int, tuple[float, ...]]], t: float) -> TrackInput:
    """Objects as (centre x, centre y, class, colour), boxes 0.1 wide."""
    boxes = np.array([[x - 0.05, y - 0.05, x + 0.05, y + 0.05] for x, y, _, _ in objects]).reshape(
        -1, 4
    )
    return TrackInput(
        boxes=boxes,
        classes=np.array([c for _, _, c, _ in objects], np.int64),
        scores=np.ones(len(objects)),
        colours=np.array([col for _, _, _, col in objects]).reshape(-1, 3),
        features=np.zeros((len(objects), 0)),
        time=t,
    )


def test_box_iou_by_hand() -> None:
    a = np.array([[0.0, 0.0, 2.0, 2.0]])
    b = np.array([[1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 6.0]])
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 0.0]])


def test_ids_survive_motion_and_detection_order() -> None:
    frames = [
        _frame(
            [(0.2 + 0.06 * t, 0.5, 0, RED), (0.8, 0.3 + 0.05 * t, 1, BLUE)][:: 1 - 2 * (t % 2)], t
        )
        for t in range(6)
    ]
    ids = HungarianTracker().assign(frames)
    for t, frame_ids in enumerate(ids):
        red = 0 if t % 2 == 0 else 1
        assert frame_ids[red] == 0 and frame_ids[1 - red] == 1


def test_crossing_objects_of_one_class_keep_ids_by_colour_and_velocity() -> None:
    frames = [
        _frame([(0.2 + 0.1 * t, 0.5, 0, RED), (0.8 - 0.1 * t, 0.5, 0, BLUE)], 0.5 * t)
        for t in range(7)
    ]
    ids = HungarianTracker().assign(frames)
    assert all(list(frame_ids) == [0, 1] for frame_ids in ids)


def test_hidden_object_keeps_its_id_and_new_objects_get_new_ones() -> None:
    frames = [
        _frame([(0.3, 0.3, 0, RED)], 0.0),
        _frame([], 0.5),
        _frame([], 1.0),
        _frame([(0.32, 0.3, 0, RED), (0.7, 0.7, 2, BLUE)], 1.5),
    ]
    ids = HungarianTracker().assign(frames)
    assert [list(i) for i in ids] == [[0], [], [], [0, 1]]
    gone = HungarianTracker(TrackerOptions(max_age=1)).assign(frames)
    assert list(gone[3]) == [1, 2]  # lost for longer than max_age: a new track


def test_another_class_never_continues_a_track() -> None:
    frames = [_frame([(0.5, 0.5, 0, RED)], 0.0), _frame([(0.5, 0.5, 1, RED)], 0.5)]
    assert [list(i) for i in HungarianTracker().assign(frames)] == [[0], [1]]
    agnostic = HungarianTracker(TrackerOptions(class_aware=False)).assign(frames)
    assert [list(i) for i in agnostic] == [[0], [0]]


@pytest.mark.skipif(importlib.util.find_spec("lap") is None, reason="bytetrack needs lap")
def test_bytetrack_gives_every_detection_an_id() -> None:
    frames = [_frame([(0.2 + 0.01 * t, 0.5, 0, RED), (0.8, 0.5, 0, BLUE)], t) for t in range(4)]
    ids = ByteTrackTracker().assign(frames)
    assert all(len(i) == 2 and len(set(i.tolist())) == 2 for i in ids)
    assert [list(i) for i in ids][1:] == [list(ids[1])] * 3
