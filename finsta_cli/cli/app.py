"""The ``finsta`` Typer application: registers every command; heavy imports stay inside them."""

from typing import Annotated

import typer

from finsta_cli import __version__
from finsta_cli.cli.align_train import align_train
from finsta_cli.cli.build_dsg import build_dsg
from finsta_cli.cli.build_hsg import build_hsg
from finsta_cli.cli.data import data_app
from finsta_cli.cli.demo import demo
from finsta_cli.cli.embed import embed
from finsta_cli.cli.env import env
from finsta_cli.cli.eval import eval_command
from finsta_cli.cli.parse_text import parse_text
from finsta_cli.cli.schema import schema
from finsta_cli.cli.stage_config import config_command
from finsta_cli.cli.synth import synth
from finsta_cli.cli.train_detector import train_detector
from finsta_cli.cli.train_parser import train_parser
from finsta_cli.cli.zeroshot import zeroshot
from finsta_cli.offline import ensure_offline_env

app = typer.Typer(
    name="finsta",
    help="Structural spatio-temporal alignment (Finsta) for video-language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: "[default: auto]" must not be read as rich markup.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"finsta {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Structural spatio-temporal alignment (Finsta) for video-language models.

    Stages read and write files (JSONL, JSON, .pt); results go to stdout only with --json, logs
    and progress to stderr. Exit codes: 0 done, 1 fatal, 2 usage, 3 some items failed,
    4 missing resource.
    """


app.command("env")(env)
app.command("schema")(schema)
app.command("config")(config_command)
app.command("demo")(demo)
app.command("parse-text")(parse_text)
app.command("eval")(eval_command)
app.command("synth")(synth)
app.command("train-detector")(train_detector)
app.command("train-parser")(train_parser)
app.command("build-dsg")(build_dsg)
app.command("build-hsg")(build_hsg)
app.command("align-train")(align_train)
app.command("zeroshot")(zeroshot)
app.command("embed")(embed)
app.add_typer(data_app)


def main() -> None:
    """Console-script entry point."""
    import warnings

    # torch_geometric's import triggers torch's deprecation notice for torch.jit.script; it is
    # not ours to act on and would clutter every stage's stderr.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    ensure_offline_env()
    app()
