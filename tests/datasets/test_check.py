"""Tests of finsta_cli/datasets/check.py: every reader collects its bad rows and goes on, and the
report's counts, videos and rejected rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.datasets.builder import collecting_rejections
from finsta_cli.datasets.check import check_dataset
from finsta_cli.errors import ExitCode, InputError
from tests.datasets.helpers import write_jsonl


def _synth(folder: Path) -> tuple[Path, str]:
    (folder / "dataset.json").write_text(json.dumps({"actions": ["run", "jump"]}))
    record = {"record": "synth_video", "schema_version": "1.0"}
    lines = [
        {**record, "video_id": "v0", "captions": [{"text": "a ball rolls"}], "action": "run"},
        # a negative made from caption 3 of a video with one: refused after its caption
        {**record, "video_id": "v1", "captions": [{"text": "a cube"}],
         "negatives": [{"text": "a cone", "aspect": "object", "source": 3}]},
        {**record, "video_id": "v2", "captions": [{"text": "a ring spins"}], "action": "jump"},
    ]  # fmt: skip
    return write_jsonl(folder / "test.jsonl", lines), "test.jsonl:2"


def _jsonl(folder: Path) -> tuple[Path, str]:
    path = folder / "mine.jsonl"
    path.write_text(
        '{"video_id": "v0", "caption": "a dog runs"}\n'
        '{"video_id": "v1", "question": "what?", "options": ["a", "b"], "answer": "c"}\n'
        '{"video_id": "v2", "caption": "a cat sleeps"}\n'
    )
    return path, "mine.jsonl:2"


def _msrvtt_csv(folder: Path) -> tuple[Path, str]:
    path = folder / "test.csv"
    path.write_text("key,vid_key,video_id,sentence\nk0,x,v0,a dog\nk1,x,v1,\nk2,x,v2,a cat\n")
    return path, "test.csv:3"


def _msrvtt_json(folder: Path) -> tuple[Path, str]:
    path = folder / "msrvtt_test_1k.json"
    rows = [{"video_id": "v0", "caption": "a dog"}, {"video_id": "v1"},
            {"video_id": "v2", "caption": "a cat"}]  # fmt: skip
    path.write_text(json.dumps(rows))
    return path, "msrvtt_test_1k.json: item 1"


def _nextqa(folder: Path) -> tuple[Path, str]:
    path = folder / "val.csv"
    path.write_text(
        "video,question,answer,qid,type,a0,a1\n"
        "1,what is it,0,1,CW,a dog,a cat\n"
        "2,what is it,7,1,CW,a dog,a cat\n"
        "3,what is it,1,1,CW,a dog,a cat\n"
    )
    return path, "val.csv:3"


def _activitynet(folder: Path) -> tuple[Path, str]:
    questions = [{"question_id": f"q{i}", "video_name": f"y{i}", "question": "is it red" * (i != 1)}
                 for i in range(3)]  # fmt: skip
    answers = [{"question_id": f"q{i}", "answer": "yes", "type": 3} for i in range(3)]
    (folder / "test_a.json").write_text(json.dumps(answers))
    path = folder / "test_q.json"
    path.write_text(json.dumps(questions))
    return path, "test_q.json: item 1"


def _msvd_qa(folder: Path) -> tuple[Path, str]:
    path = folder / "test_qa.json"
    rows = [{"video_id": 1, "question": "what runs", "answer": "dog", "id": 0},
            {"video_id": 2, "question": "", "answer": "cat", "id": 1},
            {"video_id": 3, "question": "who sings", "answer": "man", "id": 2}]  # fmt: skip
    path.write_text(json.dumps(rows))
    return path, "test_qa.json: item 1"


READERS: dict[str, Callable[[Path], tuple[Path, str]]] = {
    "synth": _synth,
    "jsonl": _jsonl,
    "msrvtt": _msrvtt_csv,
    "msrvtt-json": _msrvtt_json,
    "nextqa": _nextqa,
    "activitynet-qa": _activitynet,
    "msvd-qa": _msvd_qa,
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_each_reader_rejects_a_bad_row_and_reads_the_others(tmp_path: Path, reader: str) -> None:
    path, where = READERS[reader](tmp_path)
    with pytest.raises(InputError) as raised:  # loading as eval does: the first bad row stops it
        load_task_dataset(path, "test")
    assert str(tmp_path / where) in raised.value.message
    with collecting_rejections():
        data = load_task_dataset(path, "test")
    assert [r.where for r in data.rejected] == [str(tmp_path / where)]
    assert raised.value.message.endswith(data.rejected[0].reason)
    # the rows before and after the bad one are read; the bad row leaves nothing behind
    assert len(data.videos) == 2
    assert len(data.captions) + len(data.qa_mc) + len(data.qa_open) == 2
    assert not data.negatives


def test_a_rejected_row_takes_back_what_it_added(tmp_path: Path) -> None:
    path, _ = _synth(tmp_path)
    with collecting_rejections():
        data = load_task_dataset(path, "test")
    assert list(data.videos) == ["v0", "v2"]
    assert [c.text_id for c in data.captions] == ["v0.c0", "v2.c0"]
    assert [a.video_id for a in data.actions] == ["v0", "v2"]


def test_bad_lines_and_short_rows_are_rejected_rows(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"video_id": "a", "caption": "x"}\n{"video_id":\n[1]\n')
    report = check_dataset(path)
    assert [(r.where, r.reason) for r in report.splits[0].rejected] == [
        (f"{path}:2", "invalid JSON (Expecting value at column 13)"),
        (f"{path}:3", "expected a JSON object, found list"),
    ]
    csv = tmp_path / "test.csv"
    csv.write_text("video_id,sentence\nv0,a dog\nv1\n")
    split = check_dataset(csv).splits[0]
    assert [(r.where, r.reason) for r in split.rejected] == [
        (f"{csv}:3", "1 fields where the header has 2")
    ]
    assert split.counts["captions"] == 1


def test_a_folder_reports_every_split_and_its_videos(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "v0.mp4").write_bytes(b"")
    for split in ("train", "val"):
        rows = [
            {"video_id": "v0", "video": "videos/v0.mp4", "caption": "a dog", "label": "run"},
            {"video_id": "v1", "video": "videos/v1.mp4", "caption": "a cat", "label": "sit"},
        ]
        write_jsonl(tmp_path / f"{split}.jsonl", rows)
    report = check_dataset(tmp_path)
    assert [s.split for s in report.splits] == ["train", "val"]
    assert report.exit_code == ExitCode.OK
    split = report.splits[0]
    assert split.format == "jsonl"
    assert split.counts == {"videos": 2, "captions": 2, "negatives": 0, "questions": 0, "qa_mc": 0,
                            "qa_open": 0, "options": 0, "actions": 2, "labels": 2}  # fmt: skip
    assert split.videos_found == 1 and split.videos_missing == [tmp_path / "videos" / "v1.mp4"]
    # videos named by id only: looked for under --video-root, else not checked
    path = write_jsonl(tmp_path / "ids.jsonl", [{"video_id": "v0", "caption": "a"},
                                                {"video_id": "v9", "caption": "b"}])  # fmt: skip
    unchecked = check_dataset(path).splits[0]
    assert unchecked.videos_unchecked == ["v0", "v9"] and not unchecked.videos_missing
    rooted = check_dataset(path, video_root=tmp_path / "videos").splits[0]
    assert rooted.videos_found == 1 and rooted.videos_missing == [tmp_path / "videos" / "v9.mp4"]
    assert check_dataset(tmp_path, split="val").splits[0].file == tmp_path / "val.jsonl"


def test_a_whole_file_error_is_the_splits_error(tmp_path: Path) -> None:
    (tmp_path / "test.json").write_text("{not json")
    report = check_dataset(tmp_path / "test.json", fmt="msrvtt")
    assert report.splits[0].error is not None and "invalid JSON" in report.splits[0].error
    assert report.exit_code == ExitCode.PARTIAL and report.file_errors == 1


@pytest.mark.shared
@pytest.mark.parametrize(
    ("folder", "splits", "videos"),
    [
        ("msrvtt_1ka", {"test": 1000}, 0),
        ("nextqa", {"test": 1000, "val": 570}, 0),
        ("activitynet_qa", {"test": 800}, 0),
        ("mmaction2_video_text", {"test": 1}, 1),
    ],
)
def test_the_shared_benchmarks_are_read_in_full(
    shared_benchmarks: Path, folder: str, splits: dict[str, int], videos: int
) -> None:
    report = check_dataset(shared_benchmarks / folder)
    assert report.exit_code == ExitCode.OK and report.rejected == 0
    assert {s.split: s.counts["videos"] for s in report.splits} == splits
    for split in report.splits:
        assert split.videos_found == videos and not split.videos_missing
        assert len(split.videos_unchecked) == split.counts["videos"] - videos


def _list_with_a_number(folder: Path, reader: str) -> tuple[Path, str]:
    """A JSON-list file of ``reader``'s format whose second item is a number, not an object."""
    if reader == "msrvtt-json":
        path = folder / "msrvtt_test_1k.json"
        path.write_text(json.dumps([{"video_id": "v0", "caption": "a dog"}, 7,
                                    {"video_id": "v2", "caption": "a cat"}]))  # fmt: skip
        return path, "item 1"
    if reader == "msrvtt-full":
        path = folder / "MSRVTT_data.json"
        videos = [{"video_id": "v0", "split": "test"}, {"video_id": "v2", "split": "test"}]
        sentences = [{"video_id": "v0", "caption": "a dog"}, "a cow",
                     {"video_id": "v2", "caption": "a cat"}]  # fmt: skip
        path.write_text(json.dumps({"videos": videos, "sentences": sentences}))
        return path, "sentences[1]"
    if reader == "msvd-qa":
        path = folder / "test_qa.json"
        rows = [{"video_id": 1, "question": "what runs", "answer": "dog"}, None,
                {"video_id": 3, "question": "who sings", "answer": "man"}]  # fmt: skip
        path.write_text(json.dumps(rows))
        return path, "item 1"
    questions = [{"question_id": f"q{i}", "video_name": f"y{i}", "question": "is it red"}
                 for i in (0, 2)]  # fmt: skip
    answers = [{"question_id": f"q{i}", "answer": "yes", "type": 3} for i in (0, 2)]
    (folder / "test_a.json").write_text(json.dumps(answers))
    path = folder / "test_q.json"
    path.write_text(json.dumps([questions[0], [1, 2], questions[1]]))
    return path, "item 1"


@pytest.mark.parametrize("reader", ["msrvtt-json", "msrvtt-full", "msvd-qa", "activitynet-qa"])
def test_an_item_of_a_json_list_that_is_not_an_object_is_one_rejected_row(
    tmp_path: Path, reader: str
) -> None:
    """`finsta data check` reports the item and reads the others; loading as eval does stops at
    it with the same reason."""
    path, item = _list_with_a_number(tmp_path, reader)
    with pytest.raises(InputError) as raised:
        load_task_dataset(path, "test")
    assert raised.value.message.startswith(f"{path}: {item}: expected an object, found ")
    split = check_dataset(path, split="test").splits[0]
    assert split.error is None
    assert [r.where for r in split.rejected] == [f"{path}: {item}"]
    assert split.rejected[0].reason.startswith("expected an object, found ")
    assert split.counts["videos"] == 2
    assert split.counts["captions"] + split.counts["questions"] == 2
