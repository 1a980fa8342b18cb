"""The ``finsta`` Typer application: registers every command; heavy imports stay inside them."""

from typing import Annotated

import typer

from finsta_cli import __version__
from finsta_cli.cli.demo import demo
from finsta_cli.cli.env import env
from finsta_cli.cli.schema import schema
from finsta_cli.offline import ensure_offline_env

app = typer.Typer(
    name="finsta",
    help="Structural spatio-temporal alignment (Finsta) for video-language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
app.command("demo")(demo)


def main() -> None:
    """Console-script entry point."""
    ensure_offline_env()
    app()
