"""Tests of finsta_cli/video/relations.py: geometric predicates computed by hand."""

from __future__ import annotations

import numpy as np

from finsta_cli.video.relations import RelationOptions, box_gap, canonical, frame_relations


def test_box_gap() -> None:
    assert box_gap([0, 0, 1, 1], [1.5, 0, 2, 1]) == 0.5
    assert box_gap([0, 0, 1, 1], [0.5, 0.5, 2, 2]) == -0.5


def test_left_above_touching_near() -> None:
    boxes = np.array(
        [
            [0.1, 0.1, 0.2, 0.2],  # id 3
            [0.2, 0.1, 0.3, 0.2],  # id 1: touches 3 on its right, same height
            [0.1, 0.5, 0.2, 0.6],  # id 2: far below 3
            [0.35, 0.1, 0.45, 0.2],  # id 4: near 1, to its right
        ]
    )
    relations = set(frame_relations([3, 1, 2, 4], boxes, np.ones(4), RelationOptions()))
    assert (1, "right of", 3) in relations and (1, "touching", 3) in relations
    assert (2, "below", 3) in relations and (2, "above", 3) not in relations
    assert (1, "near", 4) in relations and (1, "left of", 4) in relations
    assert not any(s == 2 and o == 3 and p in ("touching", "near") for s, p, o in relations)
    assert all(s < o for s, _, o in relations)


def test_occlusion_order_from_shrunk_box_then_ground_plane() -> None:
    boxes = np.array([[0.2, 0.2, 0.5, 0.5], [0.4, 0.3, 0.6, 0.6]])
    hidden_first = frame_relations([0, 1], boxes, np.array([0.6, 1.0]), RelationOptions())
    assert (0, "behind", 1) in hidden_first
    no_evidence = frame_relations([0, 1], boxes, np.array([1.0, 1.0]), RelationOptions())
    assert (0, "behind", 1) in no_evidence  # box 1 reaches lower: nearer the camera


def test_canonical_inverts_predicates() -> None:
    assert canonical(5, "left of", 2) == (2, "right of", 5)
    assert canonical(2, "in front of", 5) == (2, "in front of", 5)
    assert canonical(5, "touching", 2) == (2, "touching", 5)
