"""``finsta eval``: the tsg task through the CLI, metrics file, --errors, and unknown tasks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from finsta_cli.cli.app import app

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
