"""``finsta demo``: run the pipeline's existing stages end to end on generated input."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from finsta_cli.cli.options import JsonOpt, QuietOpt, SeedOpt, VerboseOpt, command, print_json
from finsta_cli.errors import ExitCode


@command
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "demo_out"
    ),
    videos: Annotated[int, typer.Option("--videos", min=4, help="Synth videos to render.")] = 12,
    seed: SeedOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Render a small synth set and run parse-text, build-dsg and build-hsg on it, with scores."""
    from finsta_cli.demo import run_demo

    result = run_demo(out, videos=videos, seed=seed or 0, quiet=quiet)
    if json_out:
        print_json(result.to_json())
    else:
        _print(result)
    raise typer.Exit(int(ExitCode.PARTIAL if result.failed else ExitCode.OK))


def _print(result) -> None:  # type: ignore[no-untyped-def]
    console = Console()
    stages = Table(title=f"finsta demo -> {result.out}")
    for column in ("stage", "items done", "skipped", "failed", "seconds"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for stage in result.stages:
        s = stage.summary
        stages.add_row(
            stage.name, str(s.done), str(s.skipped), str(s.failed), f"{stage.seconds:.1f}"
        )
    console.print(stages)
    dsg, hsg = result.metrics["dsg"], result.metrics["hsg"]
    scores = Table(title="quality against the synth ground truth")
    scores.add_column("measure")
    scores.add_column("value", justify="right")
    for key in (
        "recall",
        "precision",
        "idf1",
        "relation_accuracy",
        "motion_accuracy",
        "colour_accuracy",
    ):
        scores.add_row(f"build-dsg {key.replace('_', ' ')}", f"{dsg[key]:.3f}")
    for kind in ("object_edges", "predicate_edges"):
        for key in ("precision", "recall"):
            scores.add_row(f"build-hsg {kind.replace('_', ' ')} {key}", f"{hsg[kind][key]:.3f}")
    console.print(scores)
    console.print("still to come: " + ", ".join(result.pending))
