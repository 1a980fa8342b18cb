"""``finsta eval --with-graphs``: a fusion checkpoint scored with graphs from files or built on
the fly, the fallback counts, and the refusals (exit codes 2 and 4)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from finsta_cli.cli.app import app
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


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
