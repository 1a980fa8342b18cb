"""Evaluating a host checkpoint: retrieval, video QA and action recognition, zero-shot and with a
fine-tuned head, on the session's synth set; metrics agree with the predictions they come from."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import InputError, UsageError
from finsta_cli.hosts.factory import load_checkpoint, load_host
from finsta_cli.tasks.host_eval import (
    HostEvalResult,
    evaluate_action,
    evaluate_retrieval,
    evaluate_videoqa,
    run_host_eval,
    summary_line,
    write_host_eval,
)
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.hosts.frame_count import live_decoded_videos


def _eval(align_set: AlignSet, task: str, split: str, **options: Any) -> HostEvalResult:
    return run_host_eval(
        align_set.checkpoint, align_set.data, task,  # type: ignore[arg-type]
        split=split, cache=align_set.cache, device="cpu", threads=1, quiet=True, **options,
    )  # fmt: skip


def _share(rows: list[dict[str, Any]]) -> float:
    return 100.0 * sum(bool(r["correct"]) for r in rows) / len(rows)


def test_retrieval_metrics_follow_the_ranks(align_set: AlignSet) -> None:
    result = _eval(align_set, "retrieval", "train")
    metrics = result.metrics
    assert metrics["task"] == "retrieval" and metrics["split"] == "train"
    assert metrics["num_captions"] == 22 and metrics["num_videos"] == 9
    for key in ("t2v_r1", "t2v_r5", "t2v_r10", "t2v_medr", "v2t_r1", "v2t_r5", "v2t_r10"):
        assert key in metrics, key
    ranks = [p["t2v_rank"] for p in result.predictions if "t2v_rank" in p]
    assert len(ranks) == 22 and all(1 <= r <= 9 for r in ranks)
    for k in (1, 5):
        assert metrics[f"t2v_r{k}"] == pytest.approx(100 * sum(r <= k for r in ranks) / 22)
    assert metrics["t2v_r10"] == 100.0  # 9 videos: every caption's video is in the top 10
    hard = metrics["hard_negatives"]
    negatives = [p for p in result.predictions if "negative" in p]
    assert hard["count"] == len(negatives) > 0
    assert hard["accuracy"] == pytest.approx(_share(negatives))
    assert all(p["correct"] == (p["true_score"] > p["negative_score"]) for p in negatives)
    assert "ranks_t2v" not in metrics and metrics["failed_videos"] == 0


def test_videoqa_zero_shot(align_set: AlignSet) -> None:
    result = _eval(align_set, "videoqa", "val")
    metrics = result.metrics
    assert metrics["finetuned"] is False
    mc = [p for p in result.predictions if p["kind"] == "mc"]
    opened = [p for p in result.predictions if p["kind"] == "open"]
    assert metrics["mc_count"] == len(mc) > 0 and metrics["open_count"] == len(opened) > 0
    assert metrics["mc_accuracy"] == pytest.approx(_share(mc))
    assert metrics["open_accuracy"] == pytest.approx(_share(opened))
    assert sum(g["count"] for g in metrics["mc_by_type"].values()) == len(mc)
    assert metrics["mc_tied"] == sum(p["tied"] for p in mc)
    assert metrics["open_tied"] == sum(p["tied"] for p in opened)
    assert not any(p["correct"] for p in [*mc, *opened] if p["tied"])
    # The host's vocabulary holds the training split's QA words: count questions are scored.
    counts = [p for p in mc if p["qtype"] == "count"]
    assert counts and not any(p["tied"] for p in counts)


def test_videoqa_can_leave_the_open_ended_questions_out(align_set: AlignSet) -> None:
    every = _eval(align_set, "videoqa", "val")
    mc_only = _eval(align_set, "videoqa", "val", open_ended=False)
    assert "open_accuracy" not in mc_only.metrics
    assert {p["kind"] for p in mc_only.predictions} == {"mc"}
    assert mc_only.metrics["mc_accuracy"] == every.metrics["mc_accuracy"]
    assert mc_only.metrics["mc_count"] == every.metrics["mc_count"]


def test_videoqa_ties_count_against(align_set: AlignSet, tmp_path: Path) -> None:
    # A host without the number words in its vocabulary (as hosts built before the task words
    # were added): "How many objects ...? two" and "... three" are the same text to it, so
    # every count question ties, and is wrong whatever the position of its answer.
    payload = load_checkpoint(align_set.checkpoint)
    config = json.loads(payload["host_config"])
    numbers = {"one", "two", "three", "four", "five"}
    config["vocab"] = [f"#{w}" if w in numbers else w for w in config["vocab"]]
    payload["host_config"] = json.dumps(config)
    checkpoint = tmp_path / "no-numbers.pt"
    torch.save(payload, checkpoint)
    result = run_host_eval(
        checkpoint, align_set.data, "videoqa", split="val", cache=align_set.cache,
        device="cpu", threads=1, quiet=True,
    )  # fmt: skip
    mc = [p for p in result.predictions if p["kind"] == "mc"]
    counts = [p for p in mc if p["qtype"] == "count"]
    assert counts and all(p["tied"] and not p["correct"] for p in counts)
    assert result.metrics["mc_by_type"]["count"]["accuracy"] == 0.0
    assert result.metrics["mc_tied"] == sum(p["tied"] for p in mc) >= len(counts)


def test_videoqa_finetuned_head_fits_its_training_split(align_set: AlignSet) -> None:
    tuned = _eval(align_set, "videoqa", "train", finetune=True, train_split="train")
    metrics = tuned.metrics
    assert metrics["finetuned"] is True and metrics["mc_count"] == 49
    assert metrics["mc_accuracy"] == pytest.approx(
        _share([p for p in tuned.predictions if p["kind"] == "mc"])
    )
    # Evaluated on the split it was trained on, the head must have learnt something: chance is
    # 1 in 4 or 5 options (multiple choice) and 1 in dozens of answers (open-ended).
    assert metrics["mc_accuracy"] >= 60 and metrics["open_accuracy"] >= 60


def test_action_zero_shot_and_finetuned(align_set: AlignSet) -> None:
    zero = _eval(align_set, "action", "test")
    assert zero.metrics["finetuned"] is False and zero.metrics["classes"] == 12
    assert zero.metrics["count"] == len(zero.predictions) == 1
    assert zero.metrics["top1"] == pytest.approx(_share(zero.predictions))
    assert set(zero.metrics) >= {"top1", "top5"}
    tuned = _eval(align_set, "action", "train", finetune=True)
    assert tuned.metrics["finetuned"] is True and tuned.metrics["count"] == 9
    assert tuned.metrics["top1"] == pytest.approx(_share(tuned.predictions))
    assert tuned.metrics["top1"] >= 60  # trained and evaluated on the same 9 videos


def test_action_zero_shot_over_a_declared_label_set(align_set: AlignSet, tmp_path: Path) -> None:
    # A generic JSONL's {"labels": [...]} line is the class set the prompts are drawn from, as
    # Kinetics' 400 classes for 2 real clips (benchmarks/lite_real_footage.py).
    record = align_set.records()[0]
    video = align_set.data / record["video"]
    extra = [f"extra class {i}" for i in range(30)]
    rows = [
        {"labels": [record["action"], *extra]},
        {"video_id": record["video_id"], "video": str(video), "label": record["action"]},
    ]
    annotations = tmp_path / "test.jsonl"
    annotations.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_host_eval(
        align_set.checkpoint, annotations, "action", split="test", cache=align_set.cache,
        device="cpu", threads=1, quiet=True,
    )  # fmt: skip
    assert result.metrics["classes"] == 31 and result.metrics["count"] == 1
    (row,) = result.predictions
    assert row["label"] == record["action"] and row["predicted"] in [record["action"], *extra]
    # The gold class's rank among the 31 and the five best labels, best first.
    assert 1 <= row["rank"] <= 31 and row["top5"][0] == row["predicted"]
    assert len(set(row["top5"])) == 5 and set(row["top5"]) <= {record["action"], *extra}
    assert result.metrics["top1"] == 100.0 * (row["rank"] == 1)
    assert result.metrics["top5"] == 100.0 * (row["rank"] <= 5)
    assert (record["action"] in row["top5"]) == (row["rank"] <= 5)


def test_retrieval_cannot_be_finetuned(align_set: AlignSet) -> None:
    with pytest.raises(UsageError, match="retrieval has no task head"):
        _eval(align_set, "retrieval", "test", finetune=True)


def test_annotation_only_dataset_is_a_clear_error(align_set: AlignSet, tmp_path: Path) -> None:
    annotations = tmp_path / "test.jsonl"
    rows = [{"video_id": f"clip{i}", "caption": f"a red cube moves {d}"}
            for i, d in enumerate(("left", "right"))]  # fmt: skip
    annotations.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match="none of the 2 videos of split 'test' was found") as info:
        run_host_eval(align_set.checkpoint, annotations, "retrieval", split="test", quiet=True)
    assert info.value.hint == "pass --video-root DIR, the folder of the dataset's video files"


def test_write_host_eval(align_set: AlignSet, tmp_path: Path) -> None:
    result = _eval(align_set, "action", "val")
    result.failures = {"gone": "video file not found"}
    write_host_eval(result, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == result.metrics
    lines = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == result.predictions
    failures = (tmp_path / "out" / "failures.jsonl").read_text().splitlines()
    assert json.loads(failures[0]) == {"id": "gone", "error": "video file not found"}
    assert summary_line(result.metrics).startswith("top1 ")


def test_evaluation_holds_one_chunk_of_frames(
    align_set: AlignSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whenever the host encodes, count the decoded videos alive in the process: the eval loop
    # may hold one chunk, whatever the split's size (the train split: 9 videos).
    host = load_host(align_set.checkpoint, "cpu")
    train = load_task_dataset(align_set.data, split="train")
    test = load_task_dataset(align_set.data, split="test")
    alive: list[int] = []
    encode = host.encode_video

    def counting(frames: torch.Tensor) -> Any:
        alive.append(live_decoded_videos(host.num_frames, host.frame_size))
        return encode(frames)

    monkeypatch.setattr(host, "encode_video", counting)
    whole = evaluate_retrieval(host, train, align_set.cache, quiet=True, video_chunk=9)
    assert alive == [9]  # one chunk of the whole split: the count sees every video held
    alive.clear()
    chunked = evaluate_retrieval(host, train, align_set.cache, quiet=True, video_chunk=2)
    assert len(alive) == 5 and max(alive) <= 2, alive
    assert chunked.metrics == whole.metrics
    # the fine-tuned heads embed the train split the same way
    for evaluate in (evaluate_videoqa, evaluate_action):
        alive.clear()
        evaluate(host, test, train, cache=align_set.cache, quiet=True, epochs=5, video_chunk=2)
        assert len(alive) >= 6 and max(alive) <= 2, (evaluate.__name__, alive)


def test_video_chunk_must_hold_a_video(align_set: AlignSet) -> None:
    with pytest.raises(UsageError, match="--video-chunk must be at least 1"):
        _eval(align_set, "retrieval", "val", video_chunk=0)
