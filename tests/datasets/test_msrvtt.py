"""Tests of finsta_cli/datasets/msrvtt.py: MSR-VTT's json and csv forms, MMAction2's list."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import UsageError


@pytest.mark.shared
def test_msrvtt_1ka_json(shared_benchmarks: Path, tmp_path: Path) -> None:
    folder = shared_benchmarks / "msrvtt_1ka"
    (tmp_path / "video7020.mp4").write_bytes(b"")
    data = load_task_dataset(folder, "test", video_root=tmp_path)
    assert data.name == "msrvtt"
    assert len(data.videos) == len(data.captions) == 1000
    first = data.captions[0]
    assert (first.text_id, first.video_id) == ("video7020.c0", "video7020")
    assert first.text == "a woman creating a fondant baby and flower"
    assert data.videos["video7020"].path == tmp_path / "video7020.mp4"
    assert sum(v.path is not None for v in data.videos.values()) == 1
    assert not data.qa_mc and not data.qa_open and not data.actions
    by_file = load_task_dataset(folder / "msrvtt_test_1k.json")
    assert [c.text for c in by_file.captions] == [c.text for c in data.captions]
    assert all(v.path is None for v in by_file.videos.values())


@pytest.mark.shared
def test_mmaction_video_text_list(shared_benchmarks: Path) -> None:
    path = shared_benchmarks / "mmaction2_video_text" / "video_text_test_list.json"
    data = load_task_dataset(path)
    assert data.name == "msrvtt"
    assert data.videos["test"].path == path.parent / "test.mp4"
    assert [c.text_id for c in data.captions] == ["test.c0", "test.c1"]


def test_msrvtt_csv_clip4clip_form(tmp_path: Path) -> None:
    path = tmp_path / "MSRVTT_JSFUSION_test.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "vid_key", "video_id", "sentence"])
        writer.writerow(["ret0", "msr7020", "video7020", "a woman creating a fondant baby"])
        writer.writerow(["ret1", "msr7021", "video7021", "baseball player hits ball, high"])
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "video7021.mp4").write_bytes(b"")
    data = load_task_dataset(tmp_path, "test", video_root=videos)
    assert data.name == "msrvtt"
    assert [(c.text_id, c.text) for c in data.captions] == [
        ("video7020.c0", "a woman creating a fondant baby"),
        ("video7021.c0", "baseball player hits ball, high"),
    ]
    assert data.videos["video7020"].path is None
    assert data.videos["video7021"].path == videos / "video7021.mp4"


def test_msrvtt_full_annotation_json_selects_the_split(tmp_path: Path) -> None:
    path = tmp_path / "MSRVTT_data.json"
    path.write_text(
        json.dumps(
            {
                "videos": [
                    {"video_id": "video0", "split": "train"},
                    {"video_id": "video1", "split": "validate"},
                    {"video_id": "video2", "split": "test"},
                ],
                "sentences": [
                    {"caption": "a man talks", "video_id": "video0", "sen_id": 0},
                    {"caption": "a dog runs", "video_id": "video2", "sen_id": 1},
                    {"caption": "a cat sleeps", "video_id": "video1", "sen_id": 2},
                    {"caption": "a dog is running", "video_id": "video2", "sen_id": 3},
                ],
            }
        )
    )
    test = load_task_dataset(path, "test")
    assert [(c.text_id, c.text) for c in test.captions] == [
        ("video2.c0", "a dog runs"),
        ("video2.c1", "a dog is running"),
    ]
    assert list(load_task_dataset(path, "val").videos) == ["video1"]
    with pytest.raises(UsageError, match="no video of split 'dev'") as info:
        load_task_dataset(path, "dev")
    assert "test, train, validate" in str(info.value)
