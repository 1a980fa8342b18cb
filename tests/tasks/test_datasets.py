"""Tests of finsta_cli/tasks/datasets.py: each reader on real annotation files and fixtures."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.errors import InputError, SchemaVersionError, UsageError
from finsta_cli.synth.generate import SynthConfig, generate_dataset
from finsta_cli.synth.records import SPLITS
from finsta_cli.tasks.datasets import detect_format, load_task_dataset, question_word


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-eval")
    summary = generate_dataset(SynthConfig(videos=10, seed=5), out, quiet=True)
    assert summary.failed == 0
    return out


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# synth


@pytest.mark.parametrize("split", SPLITS)
def test_synth_split_matches_its_records(synth_folder: Path, split: str) -> None:
    records = _lines(synth_folder / f"{split}.jsonl")
    data = load_task_dataset(synth_folder, split)
    assert (data.name, data.split) == ("synth", split)
    assert list(data.videos) == [r["video_id"] for r in records]
    for ref in data.videos.values():
        assert ref.path is not None and ref.path.is_file()
        assert ref.path == synth_folder / "videos" / f"{ref.video_id}.mp4"
    expected_captions = [
        (f"{r['video_id']}.c{k}", r["video_id"], c["text"])
        for r in records
        for k, c in enumerate(r["captions"])
    ]
    assert [(c.text_id, c.video_id, c.text) for c in data.captions] == expected_captions
    texts = data.caption_texts()
    assert len(data.negatives) == sum(len(r["negatives"]) for r in records)
    for negative in data.negatives:
        assert negative.source_text_id in texts
        assert negative.text != texts[negative.source_text_id]
        assert negative.aspect in {"spatial", "temporal", "attribute", "object"}
    assert len(data.qa_mc) == sum(len(r["qa_mc"]) for r in records)
    for item in data.qa_mc:
        assert item.options is not None and len(item.options) == 5
        assert item.answer_index is not None and item.answer == item.options[item.answer_index]
        assert item.qtype
    assert len(data.qa_open) == sum(len(r["qa_open"]) for r in records)
    assert all(item.options is None and item.answer for item in data.qa_open)
    assert [(a.video_id, a.label) for a in data.actions] == [
        (r["video_id"], r["action"]) for r in records
    ]
    info = json.loads((synth_folder / "dataset.json").read_text())
    assert data.labels == info["actions"] and len(data.labels) == 12
    gallery, caption_video = data.retrieval_index()
    assert [gallery[i] for i in caption_video] == [c.video_id for c in data.captions]


def test_synth_question_ids_are_unique_across_splits(synth_folder: Path) -> None:
    ids = [q.qa_id for s in SPLITS for d in [load_task_dataset(synth_folder, s)] for q in d.qa_mc]
    assert len(ids) == len(set(ids)) > 0


def test_synth_file_is_detected_and_unknown_split_lists_the_others(synth_folder: Path) -> None:
    assert detect_format(synth_folder / "test.jsonl") == "synth"
    by_file = load_task_dataset(synth_folder / "test.jsonl", "test")
    assert by_file.name == "synth" and len(by_file.labels) == 12
    with pytest.raises(UsageError) as info:
        load_task_dataset(synth_folder, "dev")
    assert "no split 'dev'" in str(info.value)
    assert "test, test_unseen, train, val" in str(info.value)


def test_synth_bad_lines(tmp_path: Path, synth_folder: Path) -> None:
    record = _lines(synth_folder / "train.jsonl")[0]
    (tmp_path / "dataset.json").write_text("{}")
    (tmp_path / "test.jsonl").write_text(json.dumps(record) + "\n{not json\n")
    with pytest.raises(InputError, match=r"test.jsonl:2: invalid JSON"):
        load_task_dataset(tmp_path, "test")
    newer = {**record, "schema_version": "2.0"}
    _write_jsonl(tmp_path / "test.jsonl", [newer])
    with pytest.raises(SchemaVersionError, match=r"test.jsonl:1: .*newer"):
        load_task_dataset(tmp_path, "test")
    _write_jsonl(tmp_path / "test.jsonl", [{k: v for k, v in record.items() if k != "video_id"}])
    with pytest.raises(InputError, match=r"test.jsonl:1: not a synth video record: video_id"):
        load_task_dataset(tmp_path, "test", fmt="synth")
    bad_negative = {**record, "negatives": [{"text": "x", "aspect": "spatial", "source": 9}]}
    _write_jsonl(tmp_path / "test.jsonl", [bad_negative])
    with pytest.raises(InputError, match="source 9 is not a caption index"):
        load_task_dataset(tmp_path, "test")


# --------------------------------------------------------------------------------------------
# real annotation files in ../shared/benchmarks


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


@pytest.mark.shared
def test_mmaction_video_text_list(shared_benchmarks: Path) -> None:
    path = shared_benchmarks / "mmaction2_video_text" / "video_text_test_list.json"
    data = load_task_dataset(path)
    assert data.name == "msrvtt"
    assert data.videos["test"].path == path.parent / "test.mp4"
    assert [c.text_id for c in data.captions] == ["test.c0", "test.c1"]


# --------------------------------------------------------------------------------------------
# fixtures written here, from the documented formats


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


def test_msvd_qa_json(tmp_path: Path) -> None:
    path = tmp_path / "test_qa.json"
    path.write_text(
        json.dumps(
            [
                {"answer": "man", "id": 0, "question": "who is slicing an onion?", "video_id": 1},
                {"answer": "slice", "id": 1, "question": "what does a man do?", "video_id": 1},
                {"answer": "dog", "id": 2, "question": "Is it a dog", "video": "video7010"},
            ]
        )
    )
    (tmp_path / "youtube_mapping.txt").write_text("-4wsuPCjDBc_5_15 vid1\n")
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "-4wsuPCjDBc_5_15.avi").write_bytes(b"")
    data = load_task_dataset(tmp_path, "test", video_root=videos)
    assert data.name == "msvd-qa" and not data.qa_mc
    assert [(q.qa_id, q.video_id, q.answer, q.qtype) for q in data.qa_open] == [
        ("0", "1", "man", "who"),
        ("1", "1", "slice", "what"),
        ("2", "video7010", "dog", "other"),
    ]
    assert data.videos["1"].path == videos / "-4wsuPCjDBc_5_15.avi"
    assert data.videos["video7010"].path is None
    assert question_word("How many people?") == "how"


def test_nextqa_open_ended_csv(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text(
        "video,frame_count,width,height,question,answer,qid,type,additional_ref_answer\n"
        "123,10,640,480,what is the man holding,guitar,3,DO,\n"
    )
    data = load_task_dataset(path, "val", fmt="nextqa")
    assert not data.qa_mc
    assert [(q.qa_id, q.answer, q.qtype) for q in data.qa_open] == [("123_3", "guitar", "DO")]


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
    path = _write_jsonl(tmp_path / "test.jsonl", records)
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
    data = load_task_dataset(_write_jsonl(tmp_path / "test.jsonl", records))
    assert data.labels == ["abseiling", "arm wrestling", "cleaning pool", "zumba"]
    assert [(a.video_id, a.label) for a in data.actions] == [
        ("a", "arm wrestling"),
        ("b", "cleaning pool"),
    ]
    assert list(data.videos) == ["a", "b"] and data.counts()["labels"] == 4


# --------------------------------------------------------------------------------------------
# bad input


def test_missing_source_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_task_dataset(tmp_path / "nope")
    with pytest.raises(UsageError, match="unknown dataset format"):
        load_task_dataset(tmp_path, fmt="kinetics")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not a folder"):
        load_task_dataset(tmp_path, video_root=tmp_path / "missing")
    with pytest.raises(InputError, match="no annotation files"):
        load_task_dataset(tmp_path)


def test_csv_errors_name_the_file_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text("video,question,answer,type,a0,a1\n1,q,0,CW,x,y\n")
    with pytest.raises(InputError, match=r"val.csv: missing column\(s\) qid"):
        load_task_dataset(path, fmt="nextqa")
    path.write_text("video,question,answer,qid,a0,a1\n1,q,0,1,x,y\n2,q,5,1,x,y\n")
    with pytest.raises(InputError, match=r"val.csv:3: answer '5' is not an index in 0..1"):
        load_task_dataset(path)
    path.write_text("video,question,answer,qid,a0,a1\n1,q,0,1,x\n")
    with pytest.raises(InputError, match=r"val.csv:2: 5 fields where the header has 6"):
        load_task_dataset(path)
    path.write_text("clip,text\n1,hello\n")
    with pytest.raises(InputError, match="unrecognised CSV header clip,text"):
        load_task_dataset(path)


def test_csv_quote_never_closed_names_the_file_and_line(tmp_path: Path) -> None:
    # The csv module alone reads the rows after the quote as the rest of that one caption.
    path = tmp_path / "test.csv"
    path.write_text(
        'video_id,sentence\nvideo1,a cat\nvideo2,"a dog runs\nvideo3,a bird\nvideo4,a cow\n'
    )
    with pytest.raises(InputError, match=r"test.csv:3: a quote opened on this line is never"):
        load_task_dataset(path, "test", fmt="msrvtt")
    path.write_text('video,question,answer,qid\n1,"what is it,car,1\n2,who,man,2\n')
    with pytest.raises(InputError, match=r"test.csv:2: a quote opened on this line is never"):
        load_task_dataset(path, "test")


def test_json_errors(tmp_path: Path) -> None:
    path = tmp_path / "test_qa.json"
    path.write_text('[{"answer": "x",\n "question": }]')
    with pytest.raises(InputError, match=r"test_qa.json: invalid JSON at line 2"):
        load_task_dataset(path, fmt="msvd-qa")
    path.write_text(json.dumps([{"answer": "x", "video_id": 3}]))
    with pytest.raises(InputError, match=r"test_qa.json: item 0: missing 'question'"):
        load_task_dataset(path, fmt="msvd-qa")
    path.write_text(json.dumps({"weird": 3}))
    with pytest.raises(InputError, match="cannot tell which dataset format"):
        load_task_dataset(path)


def test_activitynet_errors(tmp_path: Path) -> None:
    q = tmp_path / "test_q.json"
    q.write_text(json.dumps([{"video_name": "abc", "question": "is it", "question_id": "v_abc_1"}]))
    with pytest.raises(InputError, match=r"answers file test_a\.json is not beside it"):
        load_task_dataset(tmp_path)
    (tmp_path / "test_a.json").write_text(json.dumps([]))
    with pytest.raises(InputError, match="no answer for question 'v_abc_1'"):
        load_task_dataset(tmp_path)


def test_jsonl_errors(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    _write_jsonl(path, [{"video_id": "a"}, {"caption": "no video id"}])
    with pytest.raises(InputError, match=r"data.jsonl:2: missing 'video_id'"):
        load_task_dataset(path)
    _write_jsonl(path, [{"video_id": "a", "question": "q", "options": ["x", "y"], "answer": "z"}])
    with pytest.raises(InputError, match=r"data.jsonl:1: answer 'z' is not one of the options"):
        load_task_dataset(path)
    _write_jsonl(path, [{"video_id": "a", "label": "x"}, {"video_id": "a", "label": "y"}])
    with pytest.raises(InputError, match=r"data.jsonl:2: video 'a' has two action labels"):
        load_task_dataset(path)
    _write_jsonl(path, [{"video_id": "a", "question": "q", "answer": "x", "qa_id": "1"}] * 2)
    with pytest.raises(InputError, match=r"data.jsonl:2: question id '1' appears twice"):
        load_task_dataset(path)
    label_set = {"labels": ["x", "y"]}
    _write_jsonl(path, [label_set, {"video_id": "a"}, {"video_id": "b", "label": "z"}])
    with pytest.raises(InputError, match=r"data.jsonl:3: label 'z' of video 'b' is not in"):
        load_task_dataset(path)
    _write_jsonl(path, [label_set, label_set])
    with pytest.raises(InputError, match=r"data.jsonl:2: a second 'labels' line"):
        load_task_dataset(path)
    bad_sets = (
        ([], "'labels' must be a non-empty list"),
        (["x", 3], r"labels\[1\] must be a non-empty string"),
        (["x", "y", "x"], "'labels' repeats 'x'"),
    )
    for bad, reason in bad_sets:
        _write_jsonl(path, [{"video_id": "a", "label": "x"}, {"labels": bad}])
        with pytest.raises(InputError, match=rf"data.jsonl:2: {reason}"):
            load_task_dataset(path)


def test_ambiguous_split_in_a_folder(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "msrvtt_test_a.jsonl", [{"video_id": "a", "caption": "x"}])
    _write_jsonl(tmp_path / "msrvtt_test_b.jsonl", [{"video_id": "b", "caption": "y"}])
    with pytest.raises(UsageError, match="several files match split 'test'"):
        load_task_dataset(tmp_path, "test")
    data = load_task_dataset(tmp_path, "msrvtt_test_b")
    assert list(data.videos) == ["b"]


def test_frame_folders_count_as_videos(tmp_path: Path) -> None:
    # A frame dump (a folder of images) is a video, as in build-dsg; an empty folder is not.
    frames = tmp_path / "videos" / "a"
    frames.mkdir(parents=True)
    (frames / "000000.jpg").write_bytes(b"")
    (tmp_path / "videos" / "b").mkdir()
    _write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"video_id": "a", "video": "videos/a", "caption": "a cube"},
            {"video_id": "b", "video": "videos/b", "caption": "a ball"},
            {"video_id": "c", "caption": "a cone"},
        ],
    )
    data = load_task_dataset(tmp_path, "test")
    assert data.videos["a"].path == frames
    assert data.videos["b"].path is None
    assert data.videos["c"].path is None
    (tmp_path / "videos" / "c").mkdir()
    (tmp_path / "videos" / "c" / "1.png").write_bytes(b"")
    data = load_task_dataset(tmp_path, "test", video_root=tmp_path / "videos")
    assert data.videos["c"].path == tmp_path / "videos" / "c"


def test_absent_videos_keep_the_path_looked_for(tmp_path: Path) -> None:
    # "not found: PATH" needs the path: the named file, else the first one looked for.
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "here.mp4").write_bytes(b"")
    _write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"video_id": "named", "video": "clips/named.mp4", "caption": "a cube"},
            {"video_id": "here", "caption": "a ball"},
            {"video_id": "gone", "caption": "a cone"},
        ],
    )
    data = load_task_dataset(tmp_path, "test", video_root=tmp_path / "videos")
    assert data.video_root == tmp_path / "videos"
    named, here, gone = (data.videos[v] for v in ("named", "here", "gone"))
    assert (named.path, named.location) == (None, tmp_path / "videos" / "clips" / "named.mp4")
    assert (here.path, here.expected) == (tmp_path / "videos" / "here.mp4", None)
    assert (gone.path, gone.location) == (None, tmp_path / "videos" / "gone.mp4")
    # Without a video root, a video named by id alone was looked for nowhere.
    bare = load_task_dataset(tmp_path, "test")
    assert bare.video_root is None and bare.videos["gone"].location is None
    assert bare.videos["named"].location == tmp_path / "clips" / "named.mp4"
