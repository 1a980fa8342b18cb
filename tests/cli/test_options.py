"""The shared command plumbing: errors to exit codes without tracebacks; stage summaries; each
option's help shows its config field's default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.cli.options import (
    JsonOpt,
    QuietOpt,
    VerboseOpt,
    command,
    finish_stage,
    given_options,
    print_json,
)
from finsta_cli.cli.stage_config import STAGE_CONFIGS
from finsta_cli.config import StageConfig, load_config
from finsta_cli.errors import InputError, MissingResourceError, UsageError
from finsta_cli.io.stage import StageSummary

ERRORS = {
    "input": InputError("videos/a.mp4: not a video (moov atom not found)"),
    "missing": MissingResourceError("weights.pt does not exist", hint="pass --weights"),
    "usage": UsageError("--frames must be positive"),
    "bug": ZeroDivisionError("division by zero"),
}


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @command
    def fail(kind: str, verbose: VerboseOpt = False) -> None:
        raise ERRORS[kind]

    @app.command()
    @command
    def stage(failed: int = 0, json_out: JsonOpt = False, quiet: QuietOpt = False) -> None:
        summary = StageSummary(
            "demo", 4, 4 - failed, 0, failed, 1.5, "m.json", "f.jsonl" if failed else None
        )
        finish_stage(summary, json_out=json_out, extra={"out": "x"})

    return app


@pytest.mark.parametrize(
    "kind, code, text",
    [
        ("input", 1, "error: videos/a.mp4: not a video"),
        ("missing", 4, "hint: pass --weights"),
        ("usage", 2, "--frames must be positive"),
        ("bug", 1, "internal error: ZeroDivisionError: division by zero"),
    ],
)
def test_errors_map_to_exit_codes_without_traceback(kind: str, code: int, text: str) -> None:
    result = CliRunner().invoke(make_app(), ["fail", kind])
    assert result.exit_code == code
    assert text in result.output
    assert "Traceback" not in result.output


def test_verbose_shows_the_traceback_of_an_internal_error() -> None:
    result = CliRunner().invoke(make_app(), ["fail", "bug", "--verbose"])
    assert result.exit_code == 1 and "Traceback" in result.output


def test_finish_stage_summary_and_exit_code() -> None:
    ok = CliRunner().invoke(make_app(), ["stage", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout) == {
        "stage": "demo", "selected": 4, "done": 4, "skipped": 0, "failed": 0, "seconds": 1.5,
        "manifest": "m.json", "failures": None, "exit_code": 0, "out": "x",
    }  # fmt: skip
    partial = CliRunner().invoke(make_app(), ["stage", "--failed", "1"])
    assert partial.exit_code == 3
    assert "3 done, 0 already done, 1 failed" in partial.output and "f.jsonl" in partial.output
    quiet = CliRunner().invoke(make_app(), ["stage", "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""
    quiet_failed = CliRunner().invoke(make_app(), ["stage", "--failed", "2", "-q"])
    assert quiet_failed.exit_code == 3 and "2 failed" in quiet_failed.output


def test_json_output_never_carries_nan() -> None:
    app = typer.Typer()

    @app.command()
    @command
    def report(value: float) -> None:
        print_json({"task": "retrieval", "metrics": {"t2v_r1": value}})

    fine = CliRunner().invoke(app, ["12.5"])
    assert fine.exit_code == 0 and json.loads(fine.stdout)["metrics"]["t2v_r1"] == 12.5
    result = CliRunner().invoke(app, ["nan"])
    assert result.exit_code == 1
    assert "error: --json output: metrics.t2v_r1 is nan" in result.output
    assert "{" not in result.stdout and "internal error" not in result.output


# Options whose name is not their config field's.
RENAMED = {"size": "width", "output_format": "format"}
NEGATED = "no_"


def _field(name: str, model: type[Any]) -> str | None:
    name = RENAMED.get(name, name)
    if name.startswith(NEGATED) and name[len(NEGATED) :] in model.model_fields:
        return name[len(NEGATED) :]
    return name if name in model.model_fields else None


@pytest.mark.parametrize("name", sorted(STAGE_CONFIGS))
def test_each_option_shows_its_config_fields_default(name: str) -> None:
    model = STAGE_CONFIGS[name]
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    checked = 0
    for param in command.params:
        text = getattr(param, "help", None) or ""
        # A default is written only as "[default: X]"; "[2]" or "(default x)" drift unseen.
        assert not re.search(r"\[(?!default: )[^\]]*\]|\(default", text), (param.name, text)
        field = _field(str(param.name), model)
        if field is None or getattr(param, "is_flag", False):
            continue
        default = model.model_fields[field].get_default(call_default_factory=True)
        if default is None:  # not set: the help says what happens then, if anything
            continue
        shown = re.findall(r"\[default: ([^\]]*)\]", text)
        assert shown == [str(default)], (param.name, text, default)
        checked += 1
    assert checked >= 3


class Flags(StageConfig):
    steps: int = 300
    osc: bool = True
    allow_download: bool = False


def test_only_the_options_given_override_the_config(tmp_path: Path) -> None:
    app = typer.Typer()
    seen: list[Flags] = []

    @app.command()
    def train(
        ctx: typer.Context,
        steps: Annotated[int | None, typer.Option("--steps")] = None,
        no_osc: Annotated[bool, typer.Option("--no-osc")] = False,
        allow_download: Annotated[bool, typer.Option("--allow-download")] = False,
        config: Annotated[Path | None, typer.Option("--config")] = None,
    ) -> None:
        seen.append(load_config(Flags, config, given_options(ctx, Flags)))

    path = tmp_path / "c.yaml"
    path.write_text("steps: 5\nosc: false\nallow_download: true\n")
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(path)]).exit_code == 0
    assert seen[-1] == Flags(steps=5, osc=False, allow_download=True)
    assert runner.invoke(app, ["--steps", "300"]).exit_code == 0
    assert seen[-1] == Flags()
    assert runner.invoke(app, ["--no-osc", "--allow-download"]).exit_code == 0
    assert seen[-1] == Flags(osc=False, allow_download=True)
