"""Tests of finsta_cli/datasets/how2qa.py (and the long-form helpers of datasets/longform.py):
the release CSV (no header, quoted commas, bad rows rejected with file:line and reason), VALUE's
JSONL, options in an order fixed by the question id, segments, subtitles clipped to them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.datasets import detect_format, load_task_dataset
from finsta_cli.datasets.builder import collecting_rejections
from finsta_cli.datasets.longform import parse_segment, shuffle_options
from finsta_cli.errors import InputError
from tests.datasets.helpers import write_jsonl

RELEASE_ROWS = (
    "NOuQuofjk44,[7.2:18.0],10,12,16,how many knife is there?,1\n"
    'NOuQuofjk44,[30:41.5],"a knife, a fork",a spoon,a plate,"what does he hold, first?",a cup\n'
    "xYz_-12AbCd,[0.0:12.25],red,blue,green,what colour is the bowl?,white\n"
)


def _release(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "how2QA_val_release.csv"
    path.write_text(RELEASE_ROWS + extra, encoding="utf-8")
    return path


def test_release_csv_rows_and_segments(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "NOuQuofjk44.mp4").write_bytes(b"")
    path = _release(tmp_path)
    assert detect_format(path) == "how2qa"
    data = load_task_dataset(path, "val", video_root=tmp_path / "videos")
    assert data.name == "how2qa" and len(data.qa_mc) == 3 and not data.qa_open
    first, second, third = data.qa_mc
    assert (first.qa_id, first.video_id, first.question) == (
        "how2QA_val_release-1", "NOuQuofjk44", "how many knife is there?",
    )  # fmt: skip
    assert first.segment == (7.2, 18.0) and first.clip_id == "NOuQuofjk44@7.2-18"
    assert sorted(first.options or ()) == ["1", "10", "12", "16"]
    # quoted commas stay inside their field
    assert second.question == "what does he hold, first?" and second.answer == "a cup"
    assert "a knife, a fork" in (second.options or ())
    assert third.segment == (0.0, 12.25) and third.clip_id == "xYz_-12AbCd@0-12.25"
    for item in data.qa_mc:
        assert item.options is not None and item.answer == item.options[item.answer_index or 0]
    # two videos; the one on disk is found, the other is expected at <id>.mp4
    assert list(data.videos) == ["NOuQuofjk44", "xYz_-12AbCd"]
    assert data.videos["NOuQuofjk44"].path == tmp_path / "videos" / "NOuQuofjk44.mp4"
    assert data.videos["xYz_-12AbCd"].expected == tmp_path / "videos" / "xYz_-12AbCd.mp4"
    assert set(data.segments()) == {q.clip_id for q in data.qa_mc}
    # the same file read again gives the same option order
    again = load_task_dataset(path, "val", fmt="how2qa")
    assert [q.options for q in again.qa_mc] == [q.options for q in data.qa_mc]


def test_the_answer_is_not_always_at_one_place() -> None:
    places = {shuffle_options(["a", "b", "c", "d"], 3, f"q{k}")[1] for k in range(40)}
    assert places == {0, 1, 2, 3}
    options, index = shuffle_options(["w1", "w2", "w3", "right"], 3, "q7")
    assert options[index] == "right" and sorted(options) == ["right", "w1", "w2", "w3"]
    assert shuffle_options(["w1", "w2", "w3", "right"], 3, "q7") == (options, index)


BAD_ROWS = (
    "vid1,[7.2-18.0],a,b,c,what?,d\n"  # line 4: not [s:e]
    "vid1,[18.0:7.2],a,b,c,what?,d\n"  # line 5: start after end
    "vid1,[5:5],a,b,c,what?,d\n"  # line 6: empty segment
    "vid1,[1:2],a,b,c,what?\n"  # line 7: a column missing
    "vid1,[1:2],a,,c,what?,d\n"  # line 8: an empty wrong answer
)


def test_bad_rows_are_rejected_with_file_line_and_reason(tmp_path: Path) -> None:
    path = _release(tmp_path, BAD_ROWS)
    with collecting_rejections():
        data = load_task_dataset(path, "val", fmt="how2qa")
    assert len(data.qa_mc) == 3
    where = [r.where for r in data.rejected]
    assert where == [f"{path}:{line}" for line in (4, 5, 6, 7, 8)]
    reasons = [r.reason for r in data.rejected]
    assert "is not [START:END]" in reasons[0]
    assert "does not end after it starts" in reasons[1] and "does not end" in reasons[2]
    assert "6 fields where How2QA has 7" in reasons[3]
    assert "'wrong2' is empty" in reasons[4]
    # without collecting, the first bad row is the error
    with pytest.raises(InputError, match=rf"{path}:4: segment '\[7.2-18.0\]'"):
        load_task_dataset(path, "val", fmt="how2qa")


def test_value_jsonl(tmp_path: Path) -> None:
    rows = [
        {"a0": "knife", "a1": "fork", "a2": "spoon", "a3": "cup", "answer_idx": 2,
         "q": "what does he pick up?", "qid": "how2qa_val_0", "ts": "19.2-25.66",
         "vid_name": "-0-0FP-E9Ig_0_60"},
        {"a0": "one", "a1": "two", "a2": "three", "a3": "four", "answer_idx": "0",
         "q": "how many?", "qid": "how2qa_val_1", "ts": "7-9", "vid_name": "abc_60_120"},
        {"a0": "one", "a1": "two", "a2": "three", "a3": "four", "answer_idx": 4,
         "q": "how many?", "qid": "how2qa_val_2", "ts": "7-9", "vid_name": "abc_60_120"},
        {"a0": "one", "a1": "two", "answer_idx": 1, "q": "which?", "qid": "how2qa_val_3",
         "ts": "9-7", "vid_name": "abc_60_120"},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "how2qa_val.jsonl", rows)
    assert detect_format(path) == "how2qa"
    with collecting_rejections():
        data = load_task_dataset(path, "val")
    first, second = data.qa_mc
    assert (first.qa_id, first.answer, first.segment) == ("how2qa_val_0", "spoon", (19.2, 25.66))
    assert first.options is not None and first.options[first.answer_index or 0] == "spoon"
    assert (second.answer, second.segment) == ("one", (7.0, 9.0))
    assert [r.where for r in data.rejected] == [f"{path}:3", f"{path}:4"]
    assert "answer_idx 4 is not an index in 0..3" in data.rejected[0].reason
    assert "does not end after it starts" in data.rejected[1].reason


@pytest.mark.parametrize(
    ("text", "segment"),
    [("[7.2:18.0]", (7.2, 18.0)), (" [ 0 : 3 ] ", (0.0, 3.0)), ("19.2-25.66", (19.2, 25.66))],
)
def test_parse_segment(text: str, segment: tuple[float, float]) -> None:
    assert parse_segment(text, "here") == segment


@pytest.mark.parametrize("text", ["[1:]", "1:2", "[a:b]", "[-1:2]", "[nan:2]", "3-1", ""])
def test_parse_segment_refuses(text: str) -> None:
    with pytest.raises(InputError, match=r"^here: segment"):
        parse_segment(text, "here")


def test_subtitles_are_clipped_to_the_segment(tmp_path: Path) -> None:
    path = _release(tmp_path)
    subtitles = tmp_path / "subs.json"
    subtitles.write_text(json.dumps({"NOuQuofjk44": [
        {"text": "later words", "start": 35.0, "end": 38.0},
        {"text": "before the segment", "start": 1.0, "end": 7.0},
        {"text": "take the knife", "start": 6.5, "end": 8.0},
        {"text": "and cut", "start": 9.0, "end": 12.0},
    ]}), encoding="utf-8")  # fmt: skip
    data = load_task_dataset(path, "val", subtitles=subtitles)
    first, second, third = data.qa_mc
    assert first.subtitles == "take the knife and cut"
    assert second.subtitles == "later words"
    assert third.subtitles is None  # no subtitles for its video
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"NOuQuofjk44": [{"text": "x", "start": 3}]}), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.json: NOuQuofjk44: subtitle 0: 'end' must be"):
        load_task_dataset(path, "val", subtitles=bad)
    with pytest.raises(InputError, match="has no subtitles of its own"):
        load_task_dataset(path, "val", subtitles="dataset")
