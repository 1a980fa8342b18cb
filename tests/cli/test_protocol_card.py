"""The protocol card of ``finsta eval`` and ``finsta zeroshot`` (metrics.json and ``--json``),
and ``--allow-partial`` for a checkpoint whose host weights fit only in part."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from typer.testing import CliRunner

from finsta_cli import __version__
from finsta_cli.cli.app import app
from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import ExitCode
from finsta_cli.hosts.factory import load_checkpoint
from finsta_cli.io.hashing import hash_file
from finsta_cli.schema.protocol import ProtocolCard
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.helpers import REPO


def _run(runner: CliRunner, command: str, task: str, align_set: AlignSet, checkpoint: Path,
         out: Path, *extra: str) -> Any:  # fmt: skip
    args = [command, "--task", task, "--checkpoint", str(checkpoint), "--data",
            str(align_set.data), "--cache", str(align_set.cache), "--threads", "1", "--device",
            "cpu", "--out", str(out), "--json", *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_the_retrieval_card_says_what_was_scored_and_how(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    out = tmp_path / "retrieval"
    result = _run(runner, "eval", "retrieval", align_set, align_set.checkpoint, out,
                  "--split", "val", "--seed", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    card = payload["protocol"]
    assert card == json.loads((out / "metrics.json").read_text())["protocol"]
    ProtocolCard.model_validate(card)  # the schema `finsta schema protocol` prints
    assert (card["record"], card["schema_version"]) == ("protocol", "1.0")
    assert (card["command"], card["mode"], card["task"]) == ("eval", "eval", "retrieval")
    assert card["dataset"] == {
        "path": str(align_set.data), "file": str(align_set.data / "val.jsonl"),
        "format": "synth", "format_detected": True, "split": "val",
    }  # fmt: skip
    dataset = load_task_dataset(align_set.data, split="val")
    per_video = Counter(c.video_id for c in dataset.captions)
    assert card["items"] == {"videos": len(per_video), "failed_videos": 0,
                             "captions": len(dataset.captions),
                             "hard_negatives": len(dataset.negatives)}  # fmt: skip
    assert card["captions_per_video"]["max"] == max(per_video.values())
    assert payload["num_captions"] == card["items"]["captions"]
    videos = card["items"]["videos"]
    assert f"against the split's {videos} video(s)" in card["scoring"]["text_to_video"]
    assert "best-scoring own caption" in card["scoring"]["video_to_text"]
    assert "tie counts against" in card["scoring"]["ranks"]
    # the tiny host of the session's config: 4 frames of 32 px
    frames = card["frames"]
    assert (frames["per_video"], frames["size"], frames["cache"]) == (4, 32, str(align_set.cache))
    assert frames["from_cache"] + frames["decoded"] == videos
    assert frames["sampling"].startswith("4 uniform keyframes")
    assert card["checkpoint"] == {
        "path": str(align_set.checkpoint), "sha256": hash_file(align_set.checkpoint),
        "bytes": align_set.checkpoint.stat().st_size,
        "load": {"complete": True, "missing": 0, "unexpected": 0, "mismatched": 0,
                 "missing_keys": [], "unexpected_keys": [], "mismatched_shapes": []},
    }  # fmt: skip
    payload_config = json.loads(load_checkpoint(align_set.checkpoint)["host_config"])
    assert card["host"]["name"] == "tiny"
    assert card["host"]["config"]["vocab"]["items"] == len(payload_config["vocab"])
    assert card["host"]["config"]["num_frames"] == payload_config["num_frames"]
    assert card["graphs"] == {"used": False}
    assert card["seed"] == 3 and "epochs" not in card
    assert card["runtime"] == {"device": "cpu", "threads": 1}
    software = card["software"]
    assert software["finsta"] == __version__ and software["torch"] == torch.__version__
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if head.returncode == 0:  # tests run from a checkout: the card names its commit
        assert software["git_commit"] == head.stdout.strip()
        assert isinstance(software["git_dirty"], bool)


def test_the_hash_follows_the_checkpoint_and_zeroshot_cards_name_their_task(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint.pt"
    shutil.copy(align_set.checkpoint, checkpoint)
    first = _run(runner, "zeroshot", "action", align_set, checkpoint, tmp_path / "a")
    assert first.exit_code == 0, first.output
    card = json.loads(first.stdout)["protocol"]
    assert (card["command"], card["mode"], card["dataset"]["split"]) == (
        "zeroshot", "zeroshot", "test_unseen",
    )  # fmt: skip
    assert card["items"]["actions"] == json.loads(first.stdout)["count"]
    assert card["items"]["classes"] >= 1 and "a video of LABEL" in card["scoring"]["action"]
    assert "captions_per_video" not in card
    payload = load_checkpoint(checkpoint)
    weights = payload["host"]
    name = sorted(weights)[0]
    weights[name] = weights[name] + 1.0
    torch.save(payload, checkpoint)
    second = _run(runner, "zeroshot", "videoqa", align_set, checkpoint, tmp_path / "b")
    assert second.exit_code == 0, second.output
    changed = json.loads(second.stdout)["protocol"]
    assert changed["checkpoint"]["sha256"] == hash_file(checkpoint) != card["checkpoint"]["sha256"]
    assert changed["task"] == "videoqa"
    # the same split's videos again: read from the frame cache the first run filled
    assert changed["frames"]["from_cache"] == changed["items"]["videos"] >= 1
    assert changed["frames"]["decoded"] == 0
    metrics = json.loads(second.stdout)
    assert changed["items"]["questions_mc"] == metrics["mc_count"]
    assert changed["items"]["questions_open"] == metrics["open_count"]
    assert "'QUESTION OPTION'" in changed["scoring"]["multiple_choice"]


def test_a_finetuned_card_names_the_head_split_and_epochs(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    result = _run(runner, "eval", "action", align_set, align_set.checkpoint, tmp_path / "f",
                  "--finetune", "--train-split", "val", "--split", "test",
                  "--set", "seed=5")  # fmt: skip
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)["protocol"]
    assert card["mode"] == "finetune" and card["dataset"]["train_split"] == "val"
    assert card["epochs"] == 300 and card["seed"] == 5
    assert "trained on split 'val' (300 full-batch epochs" in card["scoring"]["action"]


def _partial_checkpoint(align_set: AlignSet, path: Path) -> tuple[str, str, list[int]]:
    """The session's checkpoint with one host tensor removed, one added and one reshaped; the
    removed and reshaped keys and the reshaped tensor's model shape."""
    payload = load_checkpoint(align_set.checkpoint)
    weights = dict(payload["host"])
    keys = sorted(k for k, v in weights.items() if v.dim() == 2)
    removed, reshaped = keys[0], keys[1]
    shape = list(weights[reshaped].shape)
    del weights[removed]
    weights["head.extra"] = torch.zeros(3)
    weights[reshaped] = torch.zeros(shape[0] + 2, shape[1])
    torch.save({**payload, "host": weights}, path)
    return removed, reshaped, shape


def test_a_partial_checkpoint_is_refused_then_scored_with_allow_partial(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "partial.pt"
    removed, reshaped, shape = _partial_checkpoint(align_set, checkpoint)
    refused = _run(runner, "zeroshot", "retrieval", align_set, checkpoint, tmp_path / "no")
    assert refused.exit_code == ExitCode.FATAL, refused.output
    message = " ".join(refused.output.split())
    assert "host weights do not fit the tiny architecture" in message
    assert f"{reshaped}: weights [{shape[0] + 2}, {shape[1]}], model {shape}" in message
    assert f"missing 1 tensor: {removed}" in message
    assert "unexpected 1 tensor: head.extra" in message
    assert "--allow-partial" in message and "Traceback" not in refused.output
    assert not (tmp_path / "no").exists()

    out = tmp_path / "yes"
    accepted = _run(runner, "zeroshot", "retrieval", align_set, checkpoint, out, "--allow-partial")
    assert accepted.exit_code == 0, accepted.output
    assert "fit the tiny architecture only in part" in accepted.stderr
    load = json.loads((out / "metrics.json").read_text())["protocol"]["checkpoint"]["load"]
    assert load["complete"] is False
    assert (load["missing"], load["unexpected"], load["mismatched"]) == (1, 1, 1)
    assert load["missing_keys"] == [removed] and load["unexpected_keys"] == ["head.extra"]
    assert load["mismatched_shapes"] == [
        {"key": reshaped, "weights": [shape[0] + 2, shape[1]], "model": shape}
    ]


def test_allow_partial_is_refused_where_it_does_not_apply(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    gold, pred = tmp_path / "gold.csv", tmp_path / "pred.txt"
    gold.write_text("caption,scene_graph\na man,( man )\n")
    pred.write_text("( man )\n")
    tsg = runner.invoke(app, ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred),
                              "--allow-partial"])  # fmt: skip
    assert tsg.exit_code == ExitCode.USAGE and "--allow-partial" in tsg.output
    graphs = _run(runner, "eval", "retrieval", align_set, align_set.checkpoint, tmp_path / "g",
                  "--with-graphs", "--allow-partial")  # fmt: skip
    assert graphs.exit_code == ExitCode.USAGE
    assert "not with --with-graphs" in " ".join(graphs.output.split())


def test_tsg_and_dsg_cards_say_what_was_scored(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    gold, pred = tmp_path / "gold.csv", tmp_path / "pred.txt"
    gold.write_text('caption,scene_graph\na red car,"( car , is , red )"\n')
    pred.write_text("a red car\t( car , is , red )\n")
    tsg = runner.invoke(app, ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred),
                              "--out", str(tmp_path / "tsg.json"), "--json"])  # fmt: skip
    assert tsg.exit_code == 0, tsg.output
    card = json.loads(tsg.stdout)["protocol"]
    assert card == json.loads((tmp_path / "tsg.json").read_text())["protocol"]
    assert (card["task"], card["mode"], card["predictions"]) == ("tsg", "eval", str(pred))
    assert card["dataset"] == {"path": str(gold), "format": "factual", "format_detected": False}
    assert card["items"] == {"captions": 1} and "set_match" in card["scoring"]
    assert "checkpoint" not in card and "frames" not in card and "seed" not in card

    # the session's ground-truth DSGs scored against the synth folder they come from
    args = ["eval", "--task", "dsg", "--gold", str(align_set.data), "--pred", str(align_set.dsg),
            "--out", str(tmp_path / "dsg.json"), "--json", "--ignore-labels"]  # fmt: skip
    dsg = runner.invoke(app, args)
    assert dsg.exit_code == 0, dsg.output
    payload = json.loads(dsg.stdout)
    card = payload["protocol"]
    assert card["dataset"]["format"] == "synth" and card["task"] == "dsg"
    assert card["items"]["videos"] == payload["videos"] == len(align_set.records())
    assert card["items"]["missing_predictions"] == 0
    assert "of any labels (--ignore-labels)" in card["scoring"]["objects"]


def test_a_card_with_graphs_names_their_sources(
    runner: CliRunner, align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    extra = ("--split", "val", "--with-graphs", "--tsg", str(align_set.tsg), "--dsg",
             str(align_set.dsg))  # fmt: skip
    result = _run(runner, "eval", "retrieval", align_set, fusion_checkpoint, tmp_path / "g", *extra)
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)["protocol"]
    assert card["graphs"] == {"used": True, "tsg": str(align_set.tsg), "dsg": str(align_set.dsg),
                              "missing_text": 0, "missing_video": 0}  # fmt: skip
    assert card["checkpoint"]["sha256"] == hash_file(fusion_checkpoint)
    assert card["checkpoint"]["load"]["complete"] is True  # fusion weights fit whole or not at all
    assert card["host"]["name"] == "tiny" and card["frames"]["per_video"] == 4
