"""Tests of finsta_cli/tasks/dsg_eval.py: metrics computed by hand on small gold/pred graphs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.errors import InputError
from finsta_cli.tasks.dsg_eval import evaluate_dsg, synth_motion_labels


def _obj(tid: int, x: float, label: str = "cube") -> dict[str, Any]:
    return {"track_id": tid, "label": label, "score": 1.0, "box": [x, 0.4, x + 0.1, 0.5]}


def _dsg(video_id: str, frames: list[list[dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "record": "dsg",
        "schema_version": "1.0",
        "video_id": video_id,
        "frames": [{"index": i, "time": i / 8, "objects": objs} for i, objs in enumerate(frames)],
    }
    record.update(extra)
    return record


def _write(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        (folder / f"{record['video_id']}.json").write_text(json.dumps(record))
    return folder


def test_perfect_prediction_scores_one(tmp_path: Path) -> None:
    frames = [[_obj(0, 0.1 * t), _obj(1, 0.8, "ball")] for t in range(4)]
    tracks = [
        {"track_id": 0, "label": "cube", "frames": [0, 1, 2, 3], "attributes": {"motion": "right"}}
    ]
    gold = _write(tmp_path / "gold", [_dsg("v", frames, tracks=tracks)])
    pred = _write(tmp_path / "pred", [_dsg("v", frames, tracks=tracks)])
    metrics, _ = evaluate_dsg(gold, pred)
    assert (metrics.recall, metrics.precision, metrics.idf1) == (1.0, 1.0, 1.0)
    assert metrics.motion_accuracy == 1.0 and metrics.tracks == 1


def test_identity_switch_and_misses_by_hand(tmp_path: Path) -> None:
    gold_frames = [[_obj(0, 0.1), _obj(1, 0.6)] for _ in range(4)]
    # frames 0-1 right; frames 2-3 the two predicted ids swap; frame 3 also loses object 1
    pred_frames = [
        [_obj(5, 0.1), _obj(6, 0.6)],
        [_obj(5, 0.1), _obj(6, 0.6)],
        [_obj(6, 0.1), _obj(5, 0.6)],
        [_obj(6, 0.1), _obj(9, 0.3)],
    ]
    gold = _write(tmp_path / "gold", [_dsg("v", gold_frames)])
    pred = _write(tmp_path / "pred", [_dsg("v", pred_frames)])
    metrics, [score] = evaluate_dsg(gold, pred)
    assert metrics.gold_objects == 8 and metrics.pred_objects == 8
    assert metrics.recall == 7 / 8 and metrics.precision == 7 / 8
    # identity map 0->5, 1->6 keeps 2+2 = 4 matches (0->6, 1->5 keeps 2+1 = 3)
    assert score.idtp == 4 and metrics.idf1 == pytest.approx(2 * 4 / 16)


def test_relations_are_compared_in_either_direction(tmp_path: Path) -> None:
    frame = [_obj(0, 0.1), _obj(1, 0.6)]
    gold_rel = [{"subject": 0, "predicate": "left of", "object": 1}]
    pred_rel = [
        {"subject": 4, "predicate": "right of", "object": 3},
        {"subject": 3, "predicate": "touching", "object": 4},
    ]
    gold = _dsg("v", [frame])
    gold["frames"][0]["relations"] = gold_rel
    pred = _dsg("v", [[{**frame[0], "track_id": 3}, {**frame[1], "track_id": 4}]])
    pred["frames"][0]["relations"] = pred_rel
    metrics, _ = evaluate_dsg(_write(tmp_path / "g", [gold]), _write(tmp_path / "p", [pred]))
    assert metrics.relation_accuracy == 1.0
    assert metrics.relation_precision == 1.0  # "touching" is not in gold's vocabulary here


def test_missing_prediction_counts_as_missed(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold", [_dsg("a", [[_obj(0, 0.1)]]), _dsg("b", [[_obj(0, 0.1)]])])
    pred = _write(tmp_path / "pred", [_dsg("a", [[_obj(0, 0.1)]])])
    metrics, _ = evaluate_dsg(gold, pred)
    assert metrics.missing == 1 and metrics.recall == 0.5
    with pytest.raises(InputError):
        evaluate_dsg(tmp_path / "absent", pred)


def test_synth_motion_labels() -> None:
    record = {
        "objects": [{"track_id": i} for i in range(5)],
        "events": [
            {"kind": "enter", "subject": 0, "direction": "left"},
            {"kind": "collide", "subject": 1, "direction": "up"},
            {"kind": "move", "subject": 0, "direction": "down"},
            {"kind": "retreat", "subject": 2, "object": 1},
            {"kind": "pass", "subject": 3, "direction": "right", "relation": "front"},
        ],
    }
    assert synth_motion_labels(record) == {
        0: {"right"},
        1: {"up", "approaching"},
        2: {"leaving"},
        3: {"right"},
        4: {"still"},
    }


def test_ignore_labels_matches_boxes_whatever_their_labels(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold", [_dsg("v", [[_obj(0, 0.1, "cube"), _obj(1, 0.6, "ball")]])])
    # The right boxes with the wrong classes: a COCO detector's "cup" on a gold "mug".
    pred = _write(tmp_path / "pred", [_dsg("v", [[_obj(3, 0.1, "ring"), _obj(4, 0.6, "ball")]])])
    labelled, _ = evaluate_dsg(gold, pred)
    assert labelled.recall == 0.5 and labelled.to_json()["labels"] == "matched"
    agnostic, _ = evaluate_dsg(gold, pred, ignore_labels=True)
    assert (agnostic.recall, agnostic.precision) == (1.0, 1.0)
    assert agnostic.to_json()["labels"] == "ignored"


def _something_else(folder: Path, *, frames: bool) -> Path:
    """A Something-Else annotations.json of one clip (200 x 100 px): a bottle and a hand in two
    frames, and the clip's frame images beside it when ``frames``."""
    from PIL import Image

    def label(x1: float, category: str, standard: str) -> dict[str, Any]:
        box = {"x1": x1, "y1": 20.0, "x2": x1 + 40.0, "y2": 60.0}
        return {"box2d": box, "category": category, "standard_category": standard}

    records = [
        {"name": f"77/{k:04d}.jpg", "labels": [label(20.0, "bottle", "0000"),
                                                label(120.0, "hand", "hand")]}
        for k in (1, 2)
    ]  # fmt: skip
    folder.mkdir(parents=True)
    path = folder / "annotations.json"
    path.write_text(json.dumps({"77": records}), encoding="utf-8")
    if frames:
        (folder / "videos" / "77").mkdir(parents=True)
        for k in (1, 2):
            Image.new("RGB", (200, 100)).save(folder / "videos" / "77" / f"{k:04d}.jpg")
    return path


def test_something_else_annotations_are_gold(tmp_path: Path) -> None:
    gold = _something_else(tmp_path / "se", frames=True)
    # build-dsg's frames 0 and 1 are images 0001 and 0002; the bottle found, the hand not.
    bottle = {"track_id": 0, "label": "bottle", "score": 0.9, "box": [0.1, 0.2, 0.3, 0.6]}
    pred = _write(tmp_path / "pred", [_dsg("77", [[bottle], [bottle]], width=200, height=100)])
    for given in (gold, gold.parent):  # the file, or the folder holding it
        metrics, _ = evaluate_dsg(given, pred)
        assert (metrics.gold_objects, metrics.pred_objects) == (4, 2)
        assert metrics.recall == 0.5 and metrics.precision == 1.0
        assert metrics.to_json()["by_group"] == {
            "hand": {"gold_objects": 2, "matched": 0, "recall": 0.0},
            "object": {"gold_objects": 2, "matched": 2, "recall": 1.0},
        }
    # Without the frames, the prediction's frame size normalises the pixel boxes.
    bare = _something_else(tmp_path / "bare", frames=False)
    assert evaluate_dsg(bare, pred)[0].recall == 0.5
    unsized = _write(tmp_path / "unsized", [_dsg("77", [[bottle], [bottle]])])
    with pytest.raises(InputError, match="video 77: the gold boxes are in pixels"):
        evaluate_dsg(bare, unsized)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"77": [{"name": "77/0001.jpg", "labels": [{"box": 1}]}]}))
    with pytest.raises(InputError, match="video 77: not in Something-Else format"):
        evaluate_dsg(broken, pred)
