"""Tests of finsta_cli/datasets/activitynet_qa.py: questions joined with their answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import InputError


@pytest.mark.shared
def test_activitynet_qa(shared_benchmarks: Path, tmp_path: Path) -> None:
    folder = shared_benchmarks / "activitynet_qa"
    (tmp_path / "v_1QIUV7WYKXg.mkv").write_bytes(b"")
    data = load_task_dataset(folder, "test", video_root=tmp_path)
    assert data.name == "activitynet-qa"
    assert len(data.qa_open) == 8000 and len(data.videos) == 800 and not data.qa_mc
    item = next(q for q in data.qa_open if q.qa_id == "v_1QIUV7WYKXg_3")
    assert item.video_id == "v_1QIUV7WYKXg"
    assert (item.question, item.answer, item.qtype) == (
        "is the athlete wearing trousers",
        "no",
        "yes_no",
    )
    assert data.videos["v_1QIUV7WYKXg"].path == tmp_path / "v_1QIUV7WYKXg.mkv"
    assert all(q.qa_id.startswith(q.video_id + "_") for q in data.qa_open)
    assert len({q.qtype for q in data.qa_open}) == 9
    again = load_task_dataset(folder / "test_a.json")  # the answers file finds its questions
    assert [q.qa_id for q in again.qa_open] == [q.qa_id for q in data.qa_open]


def test_activitynet_errors(tmp_path: Path) -> None:
    q = tmp_path / "test_q.json"
    q.write_text(json.dumps([{"video_name": "abc", "question": "is it", "question_id": "v_abc_1"}]))
    with pytest.raises(InputError, match=r"answers file test_a\.json is not beside it"):
        load_task_dataset(tmp_path)
    (tmp_path / "test_a.json").write_text(json.dumps([]))
    with pytest.raises(InputError, match="no answer for question 'v_abc_1'"):
        load_task_dataset(tmp_path)
