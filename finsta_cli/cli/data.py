"""``finsta data``: commands about datasets; ``finsta data check`` reads one and reports it."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from finsta_cli.cli.host_task import FormatOpt, VideoRootOpt
from finsta_cli.cli.options import JsonOpt, QuietOpt, VerboseOpt, command, print_json

if TYPE_CHECKING:
    from finsta_cli.datasets.check import CheckReport, SplitCheck

data_app = typer.Typer(
    name="data",
    help='Datasets: check that finsta reads yours (docs/datasets.md, "Your own data").',
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Missing video paths shown per split without --verbose (rejected rows: all of them).
SHOWN = 10


@data_app.command("check")
@command
def data_check(
    path: Annotated[
        Path,
        typer.Argument(
            help="A dataset folder (every split file in it, or --split's) or one annotation file.",
            show_default=False,
        ),
    ],
    dataset_format: FormatOpt = "auto",
    split: Annotated[
        str | None,
        typer.Option("--split", help="Check this split only  [default: every split found]"),
    ] = None,
    video_root: VideoRootOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Read a dataset as eval and align-train would and report, per split, its counts
    (videos, captions, questions, options, actions), which videos are on disk, missing or not
    checked (no --video-root for a format that needs one), and every rejected row with its
    file, line and reason. Exit 3 when a row or a whole file was rejected."""
    from finsta_cli.datasets.check import check_dataset

    report = check_dataset(path, dataset_format, split, video_root)
    if json_out:
        print_json(report.to_json())
    elif not quiet:
        _print_report(report, show=None if verbose else SHOWN)
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))


def _print_report(report: "CheckReport", show: int | None) -> None:
    for split in report.splits:
        _print_split(split, report, show)
    verdict = "every row accepted"
    if report.rejected or report.file_errors:
        verdict = f"{report.rejected} row(s) rejected, {report.file_errors} file(s) unreadable"
    typer.echo(f"{report.source}: {len(report.splits)} split(s), {verdict}")


def _print_split(split: "SplitCheck", report: "CheckReport", show: int | None) -> None:
    typer.echo(f"split {split.split}: {split.file} ({split.format or 'format unknown'})")
    if split.error is not None:
        typer.echo(f"  error: {split.error}")
        return
    counts = split.counts
    parts = [f"{counts['videos']} videos"]
    if counts["captions"]:
        parts.append(f"{counts['captions']} captions")
    if counts["negatives"]:
        parts.append(f"{counts['negatives']} hard negatives")
    if counts["qa_mc"]:
        parts.append(f"{counts['qa_mc']} multiple-choice questions ({counts['options']} options)")
    if counts["qa_open"]:
        parts.append(f"{counts['qa_open']} open questions")
    if counts["actions"]:
        parts.append(f"{counts['actions']} actions ({counts['labels']} labels)")
    typer.echo("  " + ", ".join(parts))
    missing, unchecked = split.videos_missing, split.videos_unchecked
    line = f"  videos: {split.videos_found} found, {len(missing) + len(unchecked)} missing"
    if unchecked:
        why = "no --video-root" if report.video_root is None else "no file name to look for"
        line += f" ({len(unchecked)} not looked for: {why})"
    typer.echo(line)
    for path in missing[:show]:
        typer.echo(f"    missing: {path}")
    if show is not None and len(missing) > show:
        typer.echo(f"    ... {len(missing) - show} more (--verbose or --json lists them all)")
    typer.echo(f"  rejected rows: {len(split.rejected)}")
    for row in split.rejected:
        typer.echo(f"    {row.where}: {row.reason}")
