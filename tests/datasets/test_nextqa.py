"""Tests of finsta_cli/datasets/nextqa.py: NExT-QA multiple choice and NExT-OE csv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import UsageError


@pytest.mark.shared
@pytest.mark.parametrize(("split", "count", "videos"), [("val", 4996, 570), ("test", 8564, 1000)])
def test_nextqa_csv(shared_benchmarks: Path, split: str, count: int, videos: int) -> None:
    data = load_task_dataset(shared_benchmarks / "nextqa", split)
    assert data.name == "nextqa" and len(data.qa_mc) == count and not data.qa_open
    assert len(data.videos) == videos
    assert len({q.qa_id for q in data.qa_mc}) == count
    types = {q.qtype for q in data.qa_mc}
    assert types <= {"CW", "CH", "TN", "TC", "TP", "DC", "DL", "DO"} and len(types) == 8
    for item in data.qa_mc:
        assert item.options is not None and len(item.options) == 5
        assert item.answer_index is not None and item.answer == item.options[item.answer_index]
        assert item.question == item.question.strip() and all(o == o.strip() for o in item.options)


@pytest.mark.shared
def test_nextqa_first_row_and_video_mapping(shared_benchmarks: Path, tmp_path: Path) -> None:
    folder = shared_benchmarks / "nextqa"
    mapping = json.loads((folder / "map_vid_vidorID.json").read_text())
    target = tmp_path / f"{mapping['4010069381']}.mp4"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    data = load_task_dataset(folder / "val.csv", "val", video_root=tmp_path)
    first = data.qa_mc[0]
    assert first.qa_id == "4010069381_6"
    assert first.question == "how do the two man play the instrument"
    assert first.options == (
        "roll the handle",
        "tap their feet",
        "strum the string",
        "hit with sticks",
        "pat with hand",
    )
    assert (first.answer_index, first.answer, first.qtype) == (0, "roll the handle", "CH")
    assert data.videos["4010069381"].path == target
    with pytest.raises(UsageError, match="no split 'train'") as info:
        load_task_dataset(folder, "train")
    assert "test, val" in str(info.value)


def test_nextqa_open_ended_csv(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text(
        "video,frame_count,width,height,question,answer,qid,type,additional_ref_answer\n"
        "123,10,640,480,what is the man holding,guitar,3,DO,\n"
    )
    data = load_task_dataset(path, "val", fmt="nextqa")
    assert not data.qa_mc
    assert [(q.qa_id, q.answer, q.qtype) for q in data.qa_open] == [("123_3", "guitar", "DO")]
