"""Tests of finsta_cli/datasets/violin.py: violin_annotation.json (clips of one split, statement
pairs as 2-option items, its own subtitles) and VALUE's JSONL (statements joined into pairs);
bad clips and lines rejected with where and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.datasets import detect_format, load_task_dataset
from finsta_cli.datasets.builder import collecting_rejections
from finsta_cli.datasets.violin import VIOLIN_QTYPE
from finsta_cli.errors import UsageError
from tests.datasets.helpers import write_jsonl


def _clip(split: str, pairs: list[Any], file: str) -> dict[str, Any]:
    sub = [["Where is Ross?", 0.5, 2.0], ["In the kitchen.", 2.5, 4.0]]
    return {"file": file, "source": "friends", "split": split, "sub": sub, "statement": pairs}


ANNOTATION = {
    "friends_s01e01_seg01_clip_00": _clip(
        "test",
        [["Ross is in the kitchen.", "Ross is in the garden."],
         ["Rachel asks a question.", "Nobody speaks."]],
        "friends_s01e01_seg01_clip_00",
    ),
    "friends_s01e01_seg01_clip_01": _clip(
        "train", [["A man sits.", "A man runs."]], "friends_s01e01_seg01_clip_01"
    ),
    "movieclips_x": _clip("test", [["One statement only"]], "movieclips_x"),
}  # fmt: skip


def _annotation(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "violin_annotation.json"
    path.write_text(json.dumps(ANNOTATION), encoding="utf-8")
    return path


def test_annotation_pairs_of_one_split(tmp_path: Path) -> None:
    path = _annotation(tmp_path / "violin")
    assert detect_format(path) == "violin"
    with collecting_rejections():
        data = load_task_dataset(tmp_path / "violin", "test")  # the folder: its one file
    assert data.name == "violin" and data.source == path
    assert [q.qa_id for q in data.qa_mc] == [
        "friends_s01e01_seg01_clip_00-0", "friends_s01e01_seg01_clip_00-1",
    ]  # fmt: skip
    for item in data.qa_mc:
        assert item.qtype == VIOLIN_QTYPE and item.question == "" and item.segment is None
        assert item.options is not None and len(item.options) == 2
        assert item.options[item.answer_index or 0] == item.answer
    assert data.qa_mc[0].answer == "Ross is in the kitchen."
    assert [r.where for r in data.rejected] == [f"{path}: clip movieclips_x"]
    assert "statement 0 must be [positive, negative]" in data.rejected[0].reason
    # its own subtitles are kept, and given to the text side only when asked for
    assert data.qa_mc[0].subtitles is None
    own = load_task_dataset(path, "train", subtitles="dataset")
    assert [q.subtitles for q in own.qa_mc] == ["Where is Ross? In the kitchen."]
    with pytest.raises(UsageError, match="no clips of split 'dev'") as info:
        load_task_dataset(path, "dev")
    assert "test, train" in str(info.value)


def test_the_true_statement_is_not_always_first(tmp_path: Path) -> None:
    pairs = [[f"true {k}", f"false {k}"] for k in range(12)]
    path = tmp_path / "violin_annotation.json"
    path.write_text(json.dumps({"c": _clip("test", pairs, "c")}), encoding="utf-8")
    data = load_task_dataset(path, "test", fmt="violin")
    assert {q.answer_index for q in data.qa_mc} == {0, 1}


def test_value_jsonl_pairs(tmp_path: Path) -> None:
    rows = [
        {"paired_id": 0, "vid_name": "friends_clip_00", "statement": "Ross cooks.", "answer": 1},
        {"paired_id": 0, "vid_name": "friends_clip_00", "statement": "Ross sleeps.", "answer": 0},
        {"paired_id": 1, "vid_name": "friends_clip_00", "statement": "Two true.", "answer": 1},
        {"paired_id": 1, "vid_name": "friends_clip_00", "statement": "Both true.", "answer": 1},
        {"paired_id": 2, "vid_name": "friends_clip_00", "statement": "Maybe.", "answer": 2},
        {"paired_id": 3, "vid_name": "movie_1", "statement": "It rains.", "answer": 0,
         "ts": "3-9"},
        {"paired_id": 3, "vid_name": "movie_1", "statement": "It snows.", "answer": 1,
         "ts": "3-9"},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "violin_test.jsonl", rows)
    assert detect_format(path) == "violin"
    with collecting_rejections():
        data = load_task_dataset(path, "test")
    assert [(q.qa_id, q.answer, q.segment) for q in data.qa_mc] == [
        ("friends_clip_00-0", "Ross cooks.", None),
        ("movie_1-3", "It snows.", (3.0, 9.0)),
    ]
    assert [r.where for r in data.rejected] == [f"{path}:5", f"{path}:3"]
    assert "'answer' must be 1 (true) or 0 (false)" in data.rejected[0].reason
    assert "has 2 true and 0 false statement(s) (lines 3, 4)" in data.rejected[1].reason
