"""Tests of finsta_cli/datasets/synth.py: a synth folder's splits read into the records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.datasets import detect_format, load_task_dataset
from finsta_cli.errors import InputError, SchemaVersionError, UsageError
from finsta_cli.synth.generate import SynthConfig, generate_dataset
from finsta_cli.synth.records import SPLITS
from tests.datasets.helpers import read_jsonl, write_jsonl


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-eval")
    summary = generate_dataset(SynthConfig(videos=10, seed=5), out, quiet=True)
    assert summary.failed == 0
    return out


@pytest.mark.parametrize("split", SPLITS)
def test_synth_split_matches_its_records(synth_folder: Path, split: str) -> None:
    records = read_jsonl(synth_folder / f"{split}.jsonl")
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


def test_synth_badread_jsonl(tmp_path: Path, synth_folder: Path) -> None:
    record = read_jsonl(synth_folder / "train.jsonl")[0]
    (tmp_path / "dataset.json").write_text("{}")
    (tmp_path / "test.jsonl").write_text(json.dumps(record) + "\n{not json\n")
    with pytest.raises(InputError, match=r"test.jsonl:2: invalid JSON"):
        load_task_dataset(tmp_path, "test")
    newer = {**record, "schema_version": "2.0"}
    write_jsonl(tmp_path / "test.jsonl", [newer])
    with pytest.raises(SchemaVersionError, match=r"test.jsonl:1: .*newer"):
        load_task_dataset(tmp_path, "test")
    write_jsonl(tmp_path / "test.jsonl", [{k: v for k, v in record.items() if k != "video_id"}])
    with pytest.raises(InputError, match=r"test.jsonl:1: not a synth video record: video_id"):
        load_task_dataset(tmp_path, "test", fmt="synth")
    bad_negative = {**record, "negatives": [{"text": "x", "aspect": "spatial", "source": 9}]}
    write_jsonl(tmp_path / "test.jsonl", [bad_negative])
    with pytest.raises(InputError, match="source 9 is not a caption index"):
        load_task_dataset(tmp_path, "test")
