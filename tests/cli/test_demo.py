"""``finsta demo`` runs the stages that exist and writes their outputs."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.schema import SCHEMAS


def test_demo_writes_environment_and_schemas(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["stages_run"][:2] == ["env", "schema"]
    env = json.loads((out / "env.json").read_text())
    assert env["packages"]["torch"]
    for kind, model in SCHEMAS.items():
        written = json.loads((out / "schemas" / f"{kind}.schema.json").read_text())
        assert written == model.model_json_schema()
