"""``finsta eval --task captioning --finetune``: a caption head trained on the tiny host of the
session's synth set, its predictions, metrics (with the nearest-caption baseline), weights and
config written; the refusals (exit 2); ``zeroshot`` has no captioning."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from finsta_cli.captioning.head import load_caption_head
from finsta_cli.cli.app import app
from finsta_cli.errors import ExitCode
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)

SMALL_HEAD = ["--set", "caption_head.width=32", "--set", "caption_head.heads=2",
              "--set", "caption_head.ff_width=64", "--threads", "1", "--device", "cpu",
              "--caption-metrics", "python"]  # fmt: skip


def _args(align_set: AlignSet, out: Path, *extra: str) -> list[str]:
    return ["eval", "--task", "captioning", "--finetune", "--checkpoint",
            str(align_set.checkpoint), "--data", str(align_set.data), "--split", "val",
            "--cache", str(align_set.cache), "--out", str(out), *SMALL_HEAD, *extra]  # fmt: skip


def test_finetune_writes_predictions_metrics_head_and_config(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    out = tmp_path / "cap"
    args = _args(align_set, out, "--epochs", "2", "--decode", "beam", "--beam", "2", "--json")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["task"] == "captioning" and payload["split"] == "val"
    assert payload["backend"] == "python" and payload["baseline"]["backend"] == "python"
    assert payload["out"] == str(out) and payload["videos"] == 1
    assert payload["decode"]["method"] == "beam" and payload["decode"]["beam"] == 2
    assert len(payload["train"]["losses"]) == 2 and payload["train"]["train_host"] is False
    for block in (payload, payload["baseline"]):
        assert {"bleu_1", "bleu_4", "meteor", "rouge_l", "cider", "tokenizer"} <= set(block)
    (row,) = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    val = [json.loads(x) for x in (align_set.data / "val.jsonl").read_text().splitlines()]
    assert set(row) == {"video_id", "caption"} and row["video_id"] == val[0]["video_id"]
    (base,) = [json.loads(x) for x in (out / "baseline_predictions.jsonl").read_text().splitlines()]
    train = [json.loads(x) for x in (align_set.data / "train.jsonl").read_text().splitlines()]
    assert base["caption"] in {r["captions"][0]["text"] for r in train}  # a training caption
    written = json.loads((out / "metrics.json").read_text())
    assert written["cider"] == payload["cider"] and written["head_file"] == "caption_head.pt"
    head, vocab = load_caption_head(out / "caption_head.pt")
    assert head.config.width == 32 and len(vocab) == payload["train"]["vocabulary"]
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["epochs"] == 2 and config["caption_head"]["width"] == 32
    # the protocol card: what was trained on what, decoded how, scored how, from which weights
    card = written["protocol"]
    assert card == payload["protocol"] and card["mode"] == "finetune"
    assert card["task"] == "captioning" and card["dataset"]["train_split"] == "train"
    assert card["items"]["videos"] == 1 and card["items"]["references"] == len(val[0]["captions"])
    assert card["epochs"] == 2 and "beam 2" in card["scoring"]["decoding"]
    assert card["scoring"]["backend"] == "python" and "frozen" in card["scoring"]["head"]
    assert len(card["checkpoint"]["sha256"]) == 64
    frames = card["frames"]
    assert frames["from_cache"] + frames["decoded"] == len(val[:1]) + len(train)


def test_captioning_refusals(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    no_data = runner.invoke(app, ["eval", "--task", "captioning", "--finetune",
                                  "--checkpoint", str(align_set.checkpoint)])  # fmt: skip
    assert no_data.exit_code == ExitCode.USAGE and "--checkpoint and --data" in no_data.output
    same = runner.invoke(app, [*_args(align_set, tmp_path / "o"), "--split", "train"])
    assert same.exit_code == ExitCode.USAGE and "another --split" in same.output
    beam = runner.invoke(app, ["eval", "--task", "videoqa", "--beam", "2"])
    assert beam.exit_code == ExitCode.USAGE and "--beam apply to eval --task captioning" in (
        beam.output
    )
    graphs = runner.invoke(app, [*_args(align_set, tmp_path / "o"), "--with-graphs"])
    assert graphs.exit_code == ExitCode.USAGE and "do not apply to captioning" in graphs.output
    bad = runner.invoke(app, [*_args(align_set, tmp_path / "o"), "--set", "caption_head.widht=8"])
    assert bad.exit_code == ExitCode.USAGE and "width" in bad.output
    assert not (tmp_path / "o").exists()


def test_zeroshot_has_no_captioning(runner: CliRunner) -> None:
    result = runner.invoke(app, ["zeroshot", "--task", "captioning"])
    assert result.exit_code == ExitCode.USAGE
    helped = runner.invoke(app, ["zeroshot", "--help"], terminal_width=200)
    assert "Captioning does not apply" in " ".join(helped.stdout.split())
