"""Tests of finsta_cli/datasets/jsonl.py: the generic JSONL and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.datasets import detect_format, load_task_dataset
from finsta_cli.errors import InputError
from tests.datasets.helpers import write_jsonl


def test_generic_jsonl(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"")
    records = [
        {
            "video_id": "a",
            "video": "clips/a.mp4",
            "captions": ["a cube moves left", "the cube slides left"],
            "label": "move_left",
            "negatives": [{"text": "a cube moves right", "aspect": "spatial", "source": 1}],
        },
        {"video_id": "a", "caption": "a red cube moves", "question": "colour?", "answer": "red"},
        {
            "video_id": "b",
            "question": "what moves?",
            "options": ["cube", "ball", "cone"],
            "answer": "ball",
            "qtype": "subject",
        },
        {
            "video_id": "b",
            "question": "where?",
            "options": ["left", "right"],
            "answer_index": 1,
            "label": "move_right",
        },
    ]
    path = write_jsonl(tmp_path / "test.jsonl", records)
    data = load_task_dataset(tmp_path, "test")
    assert data.name == "jsonl"
    assert data.videos["a"].path == tmp_path / "clips" / "a.mp4"
    assert data.videos["b"].path is None
    assert [c.text_id for c in data.captions] == ["a.c0", "a.c1", "a.c2"]
    assert [(n.source_text_id, n.aspect) for n in data.negatives] == [("a.c1", "spatial")]
    assert [(q.qa_id, q.answer) for q in data.qa_open] == [("a.q0", "red")]
    assert [(q.qa_id, q.answer, q.answer_index, q.qtype) for q in data.qa_mc] == [
        ("b.q0", "ball", 1, "subject"),
        ("b.q1", "right", 1, None),
    ]
    assert [(a.video_id, a.label) for a in data.actions] == [
        ("a", "move_left"),
        ("b", "move_right"),
    ]
    assert data.labels == ["move_left", "move_right"]
    assert detect_format(path) == "jsonl"


def test_generic_jsonl_label_set_line(tmp_path: Path) -> None:
    # A line {"labels": [...]} (no video_id) is the action label set, e.g. Kinetics' 400
    # classes for 2 labelled clips; without it the set is only the labels the videos carry.
    records = [
        {"video_id": "a", "label": "arm wrestling"},
        {"labels": ["abseiling", "arm wrestling", "cleaning pool", "zumba"]},
        {"video_id": "b", "caption": "a pool", "label": "cleaning pool"},
    ]
    data = load_task_dataset(write_jsonl(tmp_path / "test.jsonl", records))
    assert data.labels == ["abseiling", "arm wrestling", "cleaning pool", "zumba"]
    assert [(a.video_id, a.label) for a in data.actions] == [
        ("a", "arm wrestling"),
        ("b", "cleaning pool"),
    ]
    assert list(data.videos) == ["a", "b"] and data.counts()["labels"] == 4


def test_jsonl_errors(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    write_jsonl(path, [{"video_id": "a"}, {"caption": "no video id"}])
    with pytest.raises(InputError, match=r"data.jsonl:2: missing 'video_id'"):
        load_task_dataset(path)
    write_jsonl(path, [{"video_id": "a", "question": "q", "options": ["x", "y"], "answer": "z"}])
    with pytest.raises(InputError, match=r"data.jsonl:1: answer 'z' is not one of the options"):
        load_task_dataset(path)
    write_jsonl(path, [{"video_id": "a", "label": "x"}, {"video_id": "a", "label": "y"}])
    with pytest.raises(InputError, match=r"data.jsonl:2: video 'a' has two action labels"):
        load_task_dataset(path)
    write_jsonl(path, [{"video_id": "a", "question": "q", "answer": "x", "qa_id": "1"}] * 2)
    with pytest.raises(InputError, match=r"data.jsonl:2: question id '1' appears twice"):
        load_task_dataset(path)
    label_set = {"labels": ["x", "y"]}
    write_jsonl(path, [label_set, {"video_id": "a"}, {"video_id": "b", "label": "z"}])
    with pytest.raises(InputError, match=r"data.jsonl:3: label 'z' of video 'b' is not in"):
        load_task_dataset(path)
    write_jsonl(path, [label_set, label_set])
    with pytest.raises(InputError, match=r"data.jsonl:2: a second 'labels' line"):
        load_task_dataset(path)
    bad_sets = (
        ([], "'labels' must be a non-empty list"),
        (["x", 3], r"labels\[1\] must be a non-empty string"),
        (["x", "y", "x"], "'labels' repeats 'x'"),
    )
    for bad, reason in bad_sets:
        write_jsonl(path, [{"video_id": "a", "label": "x"}, {"labels": bad}])
        with pytest.raises(InputError, match=rf"data.jsonl:2: {reason}"):
            load_task_dataset(path)
