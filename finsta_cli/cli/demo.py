"""``finsta demo``: run the pipeline's existing stages end to end on generated input."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from finsta_cli.cli.options import JsonOpt, QuietOpt, VerboseOpt, command, print_json


@command
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "demo_out"
    ),
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run the demo pipeline (the stages that exist) and summarise what it produced."""
    from finsta_cli.demo import run_demo

    result = run_demo(out)
    if json_out:
        print_json(
            {
                "out": str(result.out),
                "ready": result.ready,
                "missing": result.missing,
                "stages_run": result.stages_run,
                "stages_pending": result.stages_pending,
                "written": [str(p) for p in result.written],
            }
        )
        return
    console = Console()
    console.print(f"[bold]finsta demo[/] -> {result.out}")
    console.print("ran: " + ", ".join(result.stages_run))
    for path in result.written:
        console.print(f"  wrote {path}", highlight=False)
    if result.missing:
        console.print("[yellow]environment not complete:[/]")
        for line in result.missing:
            console.print(f"  - {line}", markup=False, highlight=False)
    console.print("pending stages (not built yet): " + ", ".join(result.stages_pending))
