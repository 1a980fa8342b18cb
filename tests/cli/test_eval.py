"""``finsta eval``: the tsg task through the CLI, metrics file, --errors, and unknown tasks; with
``--with-graphs``, a fusion checkpoint scored with graphs from files or built on the fly, the
fallback counts, and the refusals (exit codes 2 and 4)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)

GOLD = (
    "image_id,region_id,caption,scene_graph\n"
    '1,1,a red car,"( car , is , red )"\n'
    '2,2,a man on a horse,"( man , on , horse ) , ( man , is , tall )"\n'
)


def write_pair(tmp_path: Path) -> tuple[Path, Path]:
    gold = tmp_path / "gold.csv"
    gold.write_text(GOLD)
    pred = tmp_path / "pred.txt"
    pred.write_text("a red car\t( car , is , red )\na man on a horse\t( man , on , horse )\n")
    return gold, pred


def test_eval_tsg_json_and_metrics_file(runner: CliRunner, tmp_path: Path) -> None:
    gold, pred = write_pair(tmp_path)
    out = tmp_path / "m.json"
    args = ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred), "--out", str(out)]
    result = runner.invoke(app, [*args, "--json", "--errors", "5"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["set_match"] == 50.0 and payload["precision"] == 100.0
    assert payload["recall"] == 66.67 and payload["micro_f1"] == 80.0
    (error,) = payload["errors"]
    assert error["row"] == 2 and error["missing"] == "( man , is , tall )" and error["extra"] == ""
    written = json.loads(out.read_text())
    assert written["set_match"] == 50.0 and "metrics_file" not in written


def test_eval_default_metrics_path_and_human_output(runner: CliRunner, tmp_path: Path) -> None:
    gold, pred = write_pair(tmp_path)
    result = runner.invoke(
        app, ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred), "--errors", "1"]
    )
    assert result.exit_code == 0
    assert "set_match" in result.stdout and "a man on a horse" in result.stdout
    assert (tmp_path / "pred.metrics.json").is_file()


def test_eval_refuses_missing_options(runner: CliRunner, tmp_path: Path) -> None:
    gold, pred = write_pair(tmp_path)
    missing = runner.invoke(app, ["eval", "--task", "tsg", "--gold", str(gold)])
    assert missing.exit_code == 2 and "--pred" in missing.output
    other = runner.invoke(app, ["eval", "--task", "retrieval", "--pred", str(pred)])
    assert other.exit_code == 2 and "--checkpoint and --data" in other.output
    unknown = runner.invoke(app, ["eval", "--task", "poetry"])
    assert unknown.exit_code == 2


def test_eval_names_a_bad_gold_file(runner: CliRunner, tmp_path: Path) -> None:
    _, pred = write_pair(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["eval", "--task", "tsg", "--gold", str(bad), "--pred", str(pred)])
    assert (
        result.exit_code == 1
        and "bad.csv" in result.output
        and "not a FACTUAL CSV" in result.output
    )


def _something_else_clip(root: Path) -> Path:
    """A Something-Else folder: videos/77/0001-0004.jpg (200 x 100) and annotations.json with a
    bottle and a hand in every frame."""
    from PIL import Image

    (root / "videos" / "77").mkdir(parents=True)
    records = []
    for k in range(1, 5):
        Image.new("RGB", (200, 100), (90, 90, 90)).save(root / "videos" / "77" / f"{k:04d}.jpg")
        boxes = [(20.0 + 5 * k, "bottle", "0000"), (120.0, "hand", "hand")]
        labels = [
            {"box2d": {"x1": x, "y1": 20.0, "x2": x + 40.0, "y2": 60.0}, "category": category,
             "standard_category": standard}
            for x, category, standard in boxes
        ]  # fmt: skip
        records.append({"name": f"77/{k:04d}.jpg", "labels": labels})
    gold = root / "annotations.json"
    gold.write_text(json.dumps({"77": records}), encoding="utf-8")
    return gold


def test_eval_dsg_against_something_else_with_and_without_labels(
    runner: CliRunner, tmp_path: Path
) -> None:
    gold = _something_else_clip(tmp_path / "se")
    # Predictions: the gold boxes, the bottle called "cup" (as a COCO detector would say).
    detections = tmp_path / "cups.json"
    detections.write_text(gold.read_text().replace('"bottle"', '"cup"'), encoding="utf-8")
    out = tmp_path / "sgs"
    videos = str(tmp_path / "se" / "videos")
    built = runner.invoke(
        app, ["build-dsg", videos, "--out", str(out), "--detector", "file", "--detections",
              str(detections), "-q"],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    args = ["eval", "--task", "dsg", "--gold", str(gold), "--pred", str(out), "--json"]
    labelled = json.loads(runner.invoke(app, args).stdout)
    assert labelled["labels"] == "matched" and labelled["recall"] == 0.5
    assert labelled["by_group"]["object"]["recall"] == 0.0
    assert labelled["by_group"]["hand"]["recall"] == 1.0
    result = runner.invoke(app, [*args, "--ignore-labels"])
    assert result.exit_code == 0, result.output
    agnostic = json.loads(result.stdout)
    assert agnostic["labels"] == "ignored" and agnostic["gold_objects"] == 8
    assert agnostic["recall"] == 1.0 and agnostic["precision"] == 1.0
    assert agnostic["by_group"]["object"] == {"gold_objects": 4, "matched": 4, "recall": 1.0}
    human = runner.invoke(app, [*args[:-1], "--ignore-labels"])
    assert "recall (hand)" in human.output and "1.0 (4 of 4)" in human.output

    tsg_gold, tsg_pred = write_pair(tmp_path)
    refused = runner.invoke(
        app, ["eval", "--task", "tsg", "--gold", str(tsg_gold), "--pred", str(tsg_pred),
              "--ignore-labels"],
    )  # fmt: skip
    assert refused.exit_code == 2 and "--ignore-labels applies to eval --task dsg" in refused.output


def test_eval_resolves_a_config_and_writes_it_beside_the_metrics(
    runner: CliRunner, tmp_path: Path
) -> None:
    gold, pred = write_pair(tmp_path)
    config = tmp_path / "eval.yaml"
    config.write_text("eval:\n  errors: 3\n  train_split: val\n")
    args = ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred), "--json"]
    result = runner.invoke(app, [*args, "--config", str(config), "--set", "errors=0"])
    assert result.exit_code == 0, result.output
    assert "errors" not in json.loads(result.stdout)
    written = yaml.safe_load((tmp_path / "pred.metrics.config.yaml").read_text())
    assert written["errors"] == 0 and written["train_split"] == "val"
    result = runner.invoke(app, [*args, "--set", "errors=0", "--errors", "1"])
    assert len(json.loads(result.stdout)["errors"]) == 1
    unknown = runner.invoke(app, [*args, "--set", "eror=1"])
    assert unknown.exit_code == 2 and "did you mean 'errors'" in unknown.output


# --- --with-graphs ----------------------------------------------------------------------------
def _eval(runner: CliRunner, checkpoint: Path, align_set: AlignSet, out: Path, *extra: str) -> Any:
    command = ["eval", "--task", "retrieval", "--checkpoint", str(checkpoint), "--data",
               str(align_set.data), "--split", "val", "--cache", str(align_set.cache),
               "--threads", "1", "--device", "cpu", "--out", str(out), "-q", *extra]  # fmt: skip
    return runner.invoke(app, command)


def _read(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    metrics = json.loads((out / "metrics.json").read_text())
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    return metrics, rows


def _graphs(align_set: AlignSet) -> list[str]:
    return ["--with-graphs", "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg)]


def test_with_graphs_scores_the_fused_embeddings(
    runner: CliRunner, align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    fused = _eval(runner, fusion_checkpoint, align_set, tmp_path / "g", *_graphs(align_set))
    assert fused.exit_code == 0, fused.output
    alone = _eval(runner, fusion_checkpoint, align_set, tmp_path / "h")
    assert alone.exit_code == 0, alone.output
    metrics, rows = _read(tmp_path / "g")
    assert metrics["with_graphs"] is True and metrics["num_captions"] == 3
    assert metrics["graphs_videos"] == 1 and metrics["graphs_missing_video"] == 0
    assert metrics["graphs_missing_text"] == 0
    assert metrics["graphs_texts"] == 3 + metrics["hard_negatives"]["count"]
    assert metrics["graphs_tsg"] == str(align_set.tsg)
    assert metrics["graphs_dsg"] == str(align_set.dsg)
    host_metrics, host_rows = _read(tmp_path / "h")
    assert host_metrics["with_graphs"] is False and "graphs_texts" not in host_metrics
    # the same pairs, other scores
    pairs = [(r["negative"], r["true_score"]) for r in rows if "negative" in r]
    host_pairs = [(r["negative"], r["true_score"]) for r in host_rows if "negative" in r]
    assert [n for n, _ in pairs] == [n for n, _ in host_pairs]
    assert all(abs(a - b) > 1e-4 for (_, a), (_, b) in zip(pairs, host_pairs, strict=True))


def test_graphs_built_on_the_fly(
    runner: CliRunner, align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fly"
    result = _eval(runner, fusion_checkpoint, align_set, out, "--with-graphs", "--dsg-frames", "4")
    assert result.exit_code == 0, result.output
    metrics, _ = _read(out)
    assert metrics["with_graphs"] is True and metrics["graphs_tsg"] == "parsed"
    assert metrics["graphs_dsg"] == str(out / "graphs" / "dsg")
    assert metrics["graphs_dsg_frames"] == 4
    assert metrics["graphs_missing_text"] == 0 and metrics["graphs_missing_video"] == 0
    (video,) = json.loads((out / "graphs" / "dsg" / "manifest.json").read_text())["inputs"]
    assert video["path"].endswith("videos-val.jsonl")
    built = list((out / "graphs" / "dsg").glob("*.json"))
    dsgs = [p for p in built if p.name != "manifest.json"]
    assert len(dsgs) == 1 and len(json.loads(dsgs[0].read_text())["frames"]) == 4


def test_missing_graphs_are_counted_and_warned(
    runner: CliRunner, align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    val = [json.loads(line) for line in (align_set.data / "val.jsonl").read_text().splitlines()]
    video = val[0]["video_id"]
    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    (dsg / f"{video}.json").unlink()
    tsg = tmp_path / "tsg.jsonl"
    lines = align_set.tsg.read_text().splitlines()
    tsg.write_text("".join(line + "\n" for line in lines if f'"{video}.c0"' not in line))
    out = tmp_path / "partial"
    result = _eval(runner, fusion_checkpoint, align_set, out, "--with-graphs", "--tsg", str(tsg),
                   "--dsg", str(dsg))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "have no DSG" in result.output and "have no TSG" in result.output
    metrics, _ = _read(out)
    assert metrics["graphs_missing_video"] == 1 and metrics["graphs_missing_text"] == 1


def test_refusals(
    runner: CliRunner, align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    host_only = _eval(runner, align_set.checkpoint, align_set, tmp_path / "a", "--with-graphs")
    assert host_only.exit_code == 2, host_only.output
    assert str(align_set.checkpoint) in host_only.output
    assert "has no scene-graph encoders" in host_only.output and "--mode fusion" in host_only.output
    missing_tsg = _eval(runner, fusion_checkpoint, align_set, tmp_path / "b", "--with-graphs",
                        "--tsg", str(tmp_path / "absent.jsonl"))  # fmt: skip
    assert missing_tsg.exit_code == 4 and "absent.jsonl: TSG file not found" in missing_tsg.output
    missing_dsg = _eval(runner, fusion_checkpoint, align_set, tmp_path / "c", "--with-graphs",
                        "--dsg", str(tmp_path / "absent"))  # fmt: skip
    assert missing_dsg.exit_code == 4 and "DSG folder not found" in missing_dsg.output
    no_ckpt = _eval(runner, tmp_path / "none.pt", align_set, tmp_path / "d", "--with-graphs")
    assert no_ckpt.exit_code == 4 and "checkpoint not found" in no_ckpt.output
    stray = _eval(runner, fusion_checkpoint, align_set, tmp_path / "e", "--tsg", str(align_set.tsg))
    assert stray.exit_code == 2 and "only apply with --with-graphs" in stray.output
    both = _eval(runner, fusion_checkpoint, align_set, tmp_path / "f", *_graphs(align_set),
                 "--dsg-frames", "4")  # fmt: skip
    assert both.exit_code == 2 and "not with --dsg" in both.output
    for result in (host_only, missing_tsg, missing_dsg, no_ckpt, stray, both):
        assert "Traceback" not in result.output
