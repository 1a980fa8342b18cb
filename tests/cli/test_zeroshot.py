"""``finsta zeroshot`` and ``finsta eval --task retrieval|videoqa|action`` on a checkpoint: the
files they write, the default split and folder, and the refusals (exit codes 1, 2, 4)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.tasks.eval_config import ZeroShotConfig
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


def _args(align_set: AlignSet, *extra: str, checkpoint: Path | None = None) -> list[str]:
    return ["--checkpoint", str(checkpoint or align_set.checkpoint), "--data",
            str(align_set.data), "--cache", str(align_set.cache), "--threads", "1",
            "--device", "cpu", *extra]  # fmt: skip


def test_eval_retrieval_writes_metrics_and_predictions(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    out = tmp_path / "retrieval"
    command = [
        "eval",
        "--task",
        "retrieval",
        *_args(align_set, "--split", "val", "--out", str(out)),
    ]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "eval retrieval on val: t2v_r1" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "retrieval" and metrics["split"] == "val"
    assert metrics["protocol"]["mode"] == "eval"
    for key in ("t2v_r1", "t2v_r5", "t2v_r10", "v2t_r1", "v2t_r5", "v2t_r10", "hard_negatives"):
        assert key in metrics, key
    predictions = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert sum("t2v_rank" in p for p in predictions) == metrics["num_captions"] == 3
    assert not (out / "failures.jsonl").exists()


def test_zeroshot_defaults_to_test_unseen_beside_the_checkpoint(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    checkpoint.parent.mkdir()
    shutil.copy(align_set.checkpoint, checkpoint)
    command = [
        "zeroshot",
        "--task",
        "retrieval",
        "--json",
        *_args(align_set, checkpoint=checkpoint),
    ]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["split"] == "test_unseen" and payload["protocol"]["mode"] == "zeroshot"
    out = tmp_path / "run" / "zeroshot-retrieval-test_unseen"
    assert payload["out"] == str(out)
    assert json.loads((out / "metrics.json").read_text())["split"] == "test_unseen"
    assert (out / "predictions.jsonl").is_file()
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config == {**ZeroShotConfig().model_dump(mode="json"), "cache": str(align_set.cache),
                      "threads": 1, "device": "cpu"}  # fmt: skip


def test_zeroshot_videoqa_and_action(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    for task, keys in (("videoqa", ("mc_accuracy", "open_accuracy")), ("action", ("top1",))):
        out = tmp_path / task
        command = ["zeroshot", "--task", task, "--json", *_args(align_set, "--out", str(out))]
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["finetuned"] is False and payload["split"] == "test_unseen"
        assert all(key in payload for key in keys)
        assert (out / "metrics.json").is_file() and (out / "predictions.jsonl").is_file()


def test_eval_finetune_action(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    # (videoqa's fine-tuned head is tested in tests/tasks/test_host_eval.py)
    out = tmp_path / "action"
    config = tmp_path / "eval.yaml"
    config.write_text("eval:\n  finetune: true\n  train_split: val\n")
    extra = ("--split", "test", "--set", "train_split=train", "--out", str(out))
    command = ["eval", "--task", "action", "--json", "--config", str(config)]
    result = runner.invoke(app, [*command, *_args(align_set, *extra)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["finetuned"] is True and payload["protocol"]["mode"] == "finetune"
    assert json.loads((out / "metrics.json").read_text())["finetuned"] is True
    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["finetune"] is True and written["train_split"] == "train"


def test_finetune_retrieval_is_a_usage_error(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    extra = ("--finetune", "--out", str(tmp_path / "o"))
    result = runner.invoke(app, ["eval", "--task", "retrieval", *_args(align_set, *extra)])
    assert result.exit_code == 2, result.output
    assert "retrieval has no task head to fine-tune" in result.output
    assert not (tmp_path / "o").exists()


def test_annotation_only_dataset_is_exit_1(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    annotations = tmp_path / "test.jsonl"
    annotations.write_text(
        json.dumps({"video_id": "clip0", "caption": "a red cube moves left"}) + "\n"
        + json.dumps({"video_id": "clip1", "caption": "a blue ball rolls"}) + "\n"
    )  # fmt: skip
    command = ["zeroshot", "--task", "retrieval", "--checkpoint", str(align_set.checkpoint),
               "--data", str(annotations), "--out", str(tmp_path / "o")]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "none of the 2 videos of split 'test' was found" in output
    assert "(first: clip0: not found (no video file is named for it))" in output
    assert "hint: pass --video-root DIR, the folder of the dataset's video files" in output
    assert "could not be decoded" not in output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_absent_videos_name_the_path_looked_for(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    videos = align_set.data / "videos"
    present = sorted(videos.glob("*.mp4"))[0].stem
    annotations = tmp_path / "test.jsonl"
    annotations.write_text(
        json.dumps({"video_id": present, "caption": "a red cube moves left"}) + "\n"
        + json.dumps({"video_id": "clip9", "caption": "a blue ball rolls"}) + "\n"
    )  # fmt: skip
    command = ["zeroshot", "--task", "retrieval", "--checkpoint", str(align_set.checkpoint),
               "--data", str(annotations), "--out", str(tmp_path / "o"), "--video-root",
               str(videos)]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 3, result.output  # one video scored, one left out
    output = " ".join(result.output.split())
    assert f"1 of 2 video(s) not found, left out (first: not found: {videos}/clip9.mp4)" in output
    assert "pass --video-root" not in output and "could not be decoded" not in output
    failures = (tmp_path / "o" / "failures.jsonl").read_text()
    assert json.loads(failures) == {"id": "clip9", "error": f"not found: {videos}/clip9.mp4"}

    # --video-root given, and none of the videos in it: the hint says what it should hold.
    empty = tmp_path / "empty"
    empty.mkdir()
    command[-1] = str(empty)
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert f"was found (first: not found: {empty}/{present}.mp4)" in output
    assert f"hint: --video-root {empty} should hold <video_id>.mp4" in output
    assert "pass --video-root" not in output


@dataclass
class Extra:
    note: str


def test_checkpoint_refusals(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    missing = tmp_path / "absent.pt"
    result = runner.invoke(
        app, ["zeroshot", "--task", "action", *_args(align_set, checkpoint=missing)]
    )
    assert result.exit_code == 4, result.output
    assert "absent.pt: checkpoint not found" in result.output
    pickled = tmp_path / "pickled.pt"
    torch.save({"kind": "finsta-checkpoint", "extra": Extra("x")}, pickled)
    result = runner.invoke(app, ["eval", "--task", "action", *_args(align_set, checkpoint=pickled)])
    assert result.exit_code == 1, result.output
    assert "refused: the file carries pickled objects" in result.output
    assert "internal error" not in result.output
    result = runner.invoke(app, ["eval", "--task", "videoqa", "--data", str(align_set.data)])
    assert result.exit_code == 2, result.output
    assert "needs --checkpoint and --data" in result.output


def test_eval_refuses_a_nan_checkpoint_and_nan_embeddings(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    """A diverged checkpoint never gives figures: NaN weights are refused when loaded, weights
    whose embeddings overflow to NaN when embedded (ties would rank every caption first)."""
    payload = torch.load(align_set.checkpoint, weights_only=True)
    nan = tmp_path / "nan.pt"
    host = dict(payload["host"])
    host["video_projection.weight"] = host["video_projection.weight"].clone().fill_(float("nan"))
    torch.save({**payload, "host": host}, nan)
    out = tmp_path / "nan-eval"
    options = _args(align_set, "--split", "val", "--out", str(out), "--json", checkpoint=nan)
    command = ["eval", "--task", "retrieval", *options]
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"{nan}: refused: the weights are not finite: tensor 'host.video_projection.weight'" in (
        text
    )
    assert not out.exists() and "{" not in result.stdout
    huge = tmp_path / "huge.pt"  # finite weights, but the embeddings overflow to inf/NaN
    host["video_projection.weight"] = host["video_projection.weight"].clone().fill_(3e38)
    torch.save({**payload, "host": host}, huge)
    out = tmp_path / "huge-eval"
    options = _args(align_set, "--split", "val", "--out", str(out), checkpoint=huge)
    command = ["eval", "--task", "retrieval", *options]
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"{huge}: the model gives NaN or infinite video embeddings for 1 of 1 videos" in text
    assert "no metrics are computed from them" in text
    assert not (out / "metrics.json").exists()


def test_video_chunk_option(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    # 9 train videos, 4 at a time: the same metrics as all at once
    written = {}
    for chunk in ("4", "32"):
        out = tmp_path / chunk
        extra = ("--split", "train", "--video-chunk", chunk, "--out", str(out))
        result = runner.invoke(app, ["eval", "--task", "retrieval", *_args(align_set, *extra)])
        assert result.exit_code == 0, result.output
        written[chunk] = json.loads((out / "metrics.json").read_text())
    assert written["4"] == written["32"] and written["4"]["num_videos"] == 9
    zero = runner.invoke(
        app, ["zeroshot", "--task", "action", *_args(align_set, "--video-chunk", "0")]
    )
    assert zero.exit_code == 2 and "--video-chunk" in zero.output
    tsg = runner.invoke(app, ["eval", "--task", "tsg", "--video-chunk", "4"])
    assert tsg.exit_code == 2 and "--video-chunk apply to retrieval" in tsg.output
