"""``finsta synth`` on the command line: JSON summary, resume, option errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from finsta_cli.cli.app import app


def test_cli_renders_and_reports(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "ds"
    result = runner.invoke(
        app, ["synth", "--out", str(out), "--videos", "3", "--seed", "9", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["done"] == 3 and summary["exit_code"] == 0
    assert len(list((out / "videos").glob("*.mp4"))) == 3
    again = runner.invoke(
        app, ["synth", "--out", str(out), "--videos", "3", "--seed", "9", "--json"]
    )
    assert json.loads(again.stdout)["skipped"] == 3


def test_cli_rejects_bad_options(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["synth", "--out", str(tmp_path), "--min-frames", "30", "--max-frames", "20"]
    )
    assert result.exit_code == 2
    assert "min_frames" in result.output
