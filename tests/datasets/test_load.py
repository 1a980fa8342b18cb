"""Tests of finsta_cli/datasets/load.py and detect.py: sources, formats, splits in a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import InputError, UsageError
from tests.datasets.helpers import write_jsonl


def test_missing_source_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_task_dataset(tmp_path / "nope")
    with pytest.raises(UsageError, match="unknown dataset format"):
        load_task_dataset(tmp_path, fmt="kinetics")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not a folder"):
        load_task_dataset(tmp_path, video_root=tmp_path / "missing")
    with pytest.raises(InputError, match="no annotation files"):
        load_task_dataset(tmp_path)


def test_ambiguous_split_in_a_folder(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "msrvtt_test_a.jsonl", [{"video_id": "a", "caption": "x"}])
    write_jsonl(tmp_path / "msrvtt_test_b.jsonl", [{"video_id": "b", "caption": "y"}])
    with pytest.raises(UsageError, match="several files match split 'test'"):
        load_task_dataset(tmp_path, "test")
    data = load_task_dataset(tmp_path, "msrvtt_test_b")
    assert list(data.videos) == ["b"]
