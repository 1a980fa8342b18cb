"""The ground-truth checker: hand-made tracks, and every record of a rendered dataset."""

from __future__ import annotations

from typing import Any

from finsta_cli.synth.check import GroundTruth, check_record

RED = {"colour": "red", "shape": "cube"}
BLUE = {"colour": "blue", "shape": "ball"}


def _frame(index: int, objects: list[tuple[int, float, float]]) -> dict[str, Any]:
    """A frame of 20x20-pixel objects centred at (x, y) pixels in a 256-pixel frame."""
    items = []
    for track_id, x, y in objects:
        box = [(x - 10) / 256, (y - 10) / 256, (x + 10) / 256, (y + 10) / 256]
        inside = max(0.0, min(1.0, (min(x + 10, 256) - max(x - 10, 0)) / 20))
        items.append(
            {
                "track_id": track_id,
                "center": [x / 256, y / 256],
                "full_box": box,
                "in_frame": inside,
            }
        )
    return {"index": index, "objects": items}


def _truth(frames: list[dict[str, Any]]) -> GroundTruth:
    objects = [
        {"track_id": 0, "shape": "cube", "colour": "red", "size": "small", "depth": 1.0},
        {"track_id": 1, "shape": "ball", "colour": "blue", "size": "large", "depth": 0.0},
    ]
    return GroundTruth(objects, frames, 256, 256)


def fact(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "subject": RED, "object": None, **fields}


def test_move_then_approach_and_their_order() -> None:
    # Red moves left over frames 0-5, pauses, then moves toward blue (right) over 7-12.
    frames = []
    for t in range(14):
        x = 150 - 10 * min(t, 5) if t <= 6 else 100 + 8 * (min(t, 12) - 6)
        frames.append(_frame(t, [(0, x, 100), (1, 220, 100)]))
    truth = _truth(frames)
    left = fact("move", direction="left")
    toward = fact("approach", object=BLUE)
    assert truth.holds(left)
    assert not truth.holds(fact("move", direction="up"))
    away = fact("retreat", object=BLUE)  # moving left takes red away from blue
    assert truth.holds(toward) and truth.holds(away)
    assert truth.caption_holds([away, toward], [[0, 1]])
    assert not truth.caption_holds([toward, away], [[0, 1]])
    assert not truth.holds(fact("still"))
    assert truth.holds({"kind": "still", "subject": BLUE, "object": None})
    assert truth.caption_holds([left, toward], [[0, 1]])
    assert not truth.caption_holds([toward, left], [[0, 1]])
    # A description that matches no object is false.
    assert not truth.holds({**left, "subject": {"colour": "green", "shape": "cube"}})
    assert truth.holds(
        {"kind": "relation", "subject": RED, "object": BLUE, "relation": "left of", "when": "start"}
    )
    assert not truth.holds(
        {"kind": "relation", "subject": RED, "object": BLUE, "relation": "above", "when": "start"}
    )


def test_enter_leave_collide_and_pass() -> None:
    # Red enters from the left and stops touching blue; blue is behind (smaller depth).
    frames = []
    for t in range(15):
        x = min(-15 + 20 * t, 190)  # from out of view to touching blue at x=210 (gap 0)
        objects = [(1, 210, 60)]
        if x + 10 > 0:
            objects.insert(0, (0, x, 60))
        frames.append(_frame(t, objects))
    truth = _truth(frames)
    assert truth.holds(fact("enter", direction="left"))
    assert not truth.holds(fact("enter", direction="right"))
    assert not truth.holds(fact("leave", direction="left"))
    assert truth.holds(fact("collide", object=BLUE))
    assert not truth.holds({"kind": "collide", "subject": BLUE, "object": RED})
    # Red passes over blue, in front of it.
    frames = [_frame(t, [(0, 150 + 8 * t, 60), (1, 190, 62)]) for t in range(11)]
    truth = _truth(frames)
    assert truth.holds(fact("pass", object=BLUE, relation="front"))
    assert not truth.holds(fact("pass", object=BLUE, relation="behind"))


def test_every_rendered_record_is_sound(synth_records: list[dict[str, Any]]) -> None:
    problems = [(r["video_id"], p) for r in synth_records for p in check_record(r)]
    assert problems == []
