"""``finsta config STAGE``: every stage's defaults as YAML that ``--config`` reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.cli.stage_config import STAGE_CONFIGS
from finsta_cli.config import load_config


@pytest.mark.parametrize("stage", sorted(STAGE_CONFIGS))
def test_defaults_round_trip_through_config(runner: CliRunner, tmp_path: Path, stage: str) -> None:
    result = runner.invoke(app, ["config", stage])
    assert result.exit_code == 0, result.output
    model = STAGE_CONFIGS[stage]
    assert yaml.safe_load(result.stdout) == model().model_dump(mode="json")
    path = tmp_path / "defaults.yaml"
    path.write_text(result.stdout, encoding="utf-8")
    assert load_config(model, path) == model()


def test_every_command_with_a_config_is_listed() -> None:
    from typer.main import get_command

    group = get_command(app)
    takes_config = {
        name
        for name, command in group.commands.items()  # type: ignore[attr-defined]
        if any(param.name == "config" for param in command.params)
    }
    assert takes_config == set(STAGE_CONFIGS)


def test_an_unknown_stage_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "build-hgs"])
    assert result.exit_code == 2
    assert "did you mean 'build-hsg'" in result.output
