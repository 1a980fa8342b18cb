"""Options and the runner shared by ``finsta eval`` and ``finsta zeroshot`` for the tasks that
evaluate a host checkpoint (retrieval, videoqa, action)."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import print_json
from finsta_cli.errors import UsageError

HOST_TASKS = ("retrieval", "videoqa", "action")


class DatasetFormatChoice(str, enum.Enum):
    auto = "auto"
    synth = "synth"
    msrvtt = "msrvtt"
    nextqa = "nextqa"
    activitynet_qa = "activitynet-qa"
    msvd_qa = "msvd-qa"
    jsonl = "jsonl"


CheckpointOpt = Annotated[
    Path | None,
    typer.Option("--checkpoint", help="align-train's checkpoint.pt (its host is evaluated)."),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Dataset: a synth folder, or an annotation file / folder."),
]
SplitOpt = Annotated[str | None, typer.Option("--split", help="Split to evaluate.")]
FormatOpt = Annotated[
    DatasetFormatChoice, typer.Option("--format", help="Dataset format (see docs/datasets.md).")
]
VideoRootOpt = Annotated[
    Path | None, typer.Option("--video-root", help="Folder holding the dataset's video files.")
]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache", help="Frame cache folder [none: decode each time].")
]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="CPU threads [2].")]


def run_host_task(
    task: str,
    *,
    checkpoint: Path | None,
    data: Path | None,
    split: str,
    dataset_format: DatasetFormatChoice,
    video_root: Path | None,
    finetune: bool,
    train_split: str,
    out: Path | None,
    cache: Path | None,
    threads: int | None,
    device: str | None,
    seed: int | None,
    json_out: bool,
    quiet: bool,
    command_name: str,
) -> None:
    """Evaluate, write ``OUT/metrics.json`` + ``OUT/predictions.jsonl``, print the summary."""
    from finsta_cli.tasks.host_eval import run_host_eval, summary_line, write_host_eval

    if checkpoint is None or data is None:
        raise UsageError(f"{command_name} --task {task} needs --checkpoint and --data")
    result = run_host_eval(
        checkpoint, data, task,  # type: ignore[arg-type]
        split=split, fmt=dataset_format.value, video_root=video_root, finetune=finetune,
        train_split=train_split, cache=cache, device=device or "auto", threads=threads,
        seed=seed or 0, quiet=quiet,
    )  # fmt: skip
    result.metrics["protocol"] = command_name if not finetune else "finetune"
    target = out if out is not None else checkpoint.parent / f"{command_name}-{task}-{split}"
    write_host_eval(result, target)
    payload = {**result.metrics, "out": str(target)}
    if json_out:
        print_json(payload)
    elif not quiet:
        typer.echo(f"{command_name} {task} on {split}: {summary_line(result.metrics)}")
        typer.echo(f"metrics: {target / 'metrics.json'}")
    if result.failures:
        raise typer.Exit(3)
