"""``finsta config STAGE``: print a stage's default options as YAML, a file ``--config`` reads."""

import difflib
from typing import Annotated

import typer

from finsta_cli.align.config import AlignTrainConfig
from finsta_cli.cli.options import command
from finsta_cli.config import StageConfig
from finsta_cli.errors import UsageError
from finsta_cli.hsg.build import BuildHSGConfig
from finsta_cli.synth.detector import DetectorConfig
from finsta_cli.synth.generate import SynthConfig
from finsta_cli.tasks.embed import EmbedConfig
from finsta_cli.tasks.eval_config import EvalConfig, ZeroShotConfig
from finsta_cli.text.parse_stage import ParseTextConfig
from finsta_cli.video.stage import BuildDSGConfig

# Every command that takes --config, by name, with its config model.
STAGE_CONFIGS: dict[str, type[StageConfig]] = {
    "synth": SynthConfig,
    "train-detector": DetectorConfig,
    "parse-text": ParseTextConfig,
    "build-dsg": BuildDSGConfig,
    "build-hsg": BuildHSGConfig,
    "align-train": AlignTrainConfig,
    "eval": EvalConfig,
    "zeroshot": ZeroShotConfig,
    "embed": EmbedConfig,
}


@command
def config_command(
    stage: Annotated[
        str,
        typer.Argument(help="The command: " + ", ".join(STAGE_CONFIGS) + ".", show_default=False),
    ],
) -> None:
    """Print STAGE's options at their defaults as YAML: save it, edit it, pass it to --config."""
    model = STAGE_CONFIGS.get(stage)
    if model is None:
        near = difflib.get_close_matches(stage, list(STAGE_CONFIGS), n=1)
        guess = f" (did you mean '{near[0]}'?)" if near else ""
        raise UsageError(
            f"no command {stage!r} takes --config{guess}",
            hint="choose one of " + ", ".join(STAGE_CONFIGS),
        )
    typer.echo(model().to_yaml(), nl=False)
