"""``finsta demo`` runs the existing stages end to end on generated input, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from finsta_cli.cli.app import app


def test_demo_end_to_end_and_resume(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--videos", "4", "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    stages = {s["stage"]: s for s in summary["stages"]}
    assert list(stages) == ["synth", "parse-text", "build-dsg", "build-hsg"]
    assert stages["synth"]["done"] == 4 and stages["build-dsg"]["done"] == 4
    captions = len((out / "captions.jsonl").read_text().splitlines())
    assert stages["parse-text"]["done"] == captions == stages["build-hsg"]["done"] >= 8
    assert len(list((out / "dsg").glob("*.pt"))) == 4
    assert summary["metrics"]["dsg"]["recall"] > 0.8
    assert summary["metrics"]["hsg"]["object_edges"]["precision"] > 0.8
    assert json.loads((out / "demo.json").read_text()) == summary
    again = json.loads(
        runner.invoke(app, ["demo", "--out", str(out), "--videos", "4", "--json", "-q"]).stdout
    )
    assert [s["done"] for s in again["stages"]] == [0, 0, 0, 0]
    assert again["metrics"] == summary["metrics"]
