"""``finsta env``: report versions, models, weights, device and offline settings."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from finsta_cli.cli.options import (
    JsonOpt,
    QuietOpt,
    SpacyModelOpt,
    VerboseOpt,
    command,
    print_json,
)
from finsta_cli.environment import EnvReport
from finsta_cli.errors import ExitCode


@command
def env(
    spacy_model: SpacyModelOpt = None,
    weights: Annotated[
        Path | None,
        typer.Option("--weights", help="Detector weights to check [default: the shipped ones]."),
    ] = None,
    device: Annotated[
        str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")
    ] = "auto",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show what finsta runs on; exit 0 when ready, 4 listing what is missing."""
    from finsta_cli.environment import collect_environment

    report = collect_environment(spacy_model=spacy_model, detector_weights=weights, device=device)
    if json_out:
        print_json(report.model_dump(mode="json"))
    else:
        _print_table(report)
    raise typer.Exit(int(ExitCode.OK if report.ready else ExitCode.MISSING_RESOURCE))


def _print_table(report: EnvReport) -> None:
    out = Console()
    table = Table(title="finsta environment", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("python", f"{report.python} ({report.executable})")
    for name, version in report.packages.items():
        table.add_row(name, version or "[red]not installed[/]")
    spacy = report.spacy_model
    table.add_row(
        "spaCy model",
        f"{spacy.name} {spacy.version or ''} ({spacy.path})" if spacy.name else "[red]none[/]",
    )
    weights_state = "present" if report.detector.exists else "[red]missing[/]"
    if report.detector.exists and any(m.what == "detector weights" for m in report.missing):
        weights_state = "[red]refused[/]"
    table.add_row("detector weights", f"{report.detector.weights} ({weights_state})")
    coco = report.coco_detector
    table.add_row(
        "COCO detector (nanodet)",
        f"{coco.weights} ({'present' if coco.exists else '[red]missing[/]'})",
    )
    for tower in report.towers:
        if tower.found:
            size = f"{(tower.size_bytes or 0) / 2**20:.1f} MiB"
            table.add_row(f"{tower.name} (lite host)", f"{tower.path} ({size})")
        else:
            table.add_row(f"{tower.name} (lite host)", "[red]missing[/]")
    table.add_row(
        "device",
        f"{report.device.resolved or '?'} (asked {report.device.requested}; "
        f"CUDA GPUs {report.device.cuda_devices}; threads {report.device.threads})",
    )
    if report.device.openmp_wait:
        table.add_row("OpenMP waiting", report.device.openmp_wait)
    for name, value in report.offline.items():
        table.add_row(name, value or "")
    table.add_row("ultralytics fonts", "present" if report.fonts_present else "missing")
    out.print(table)
    if report.missing:
        out.print("[bold red]missing:[/]")
        for item in report.missing:
            out.print(f"  - {item.what}: {item.reason}\n    install: {item.hint}", markup=False)
    else:
        out.print("[bold green]ready[/]")
