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
VideoChunkOpt = Annotated[
    int | None,
    typer.Option(
        "--video-chunk",
        min=1,
        help="Videos decoded and embedded at a time; memory grows with it, not with the "
        "split [32].",
    ),
]
WithGraphsOpt = Annotated[
    bool,
    typer.Option(
        "--with-graphs",
        help="Score a fusion-mode checkpoint's fused host + scene-graph embeddings; graphs come "
        "from --tsg / --dsg, or are built on the fly (parse-text rules, build-dsg).",
    ),
]
TsgOpt = Annotated[
    Path | None,
    typer.Option("--tsg", help="--with-graphs: parse-text TSG JSONL of the captions [parse]."),
]
DsgOpt = Annotated[
    Path | None,
    typer.Option("--dsg", help="--with-graphs: build-dsg output folder [build into OUT/graphs]."),
]
DsgFramesOpt = Annotated[
    int | None,
    typer.Option(
        "--dsg-frames",
        min=1,
        help="--with-graphs without --dsg: keyframes per video for build-dsg [the training "
        "DSGs' count when the run records it, else build-dsg's default].",
    ),
]


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
    with_graphs: bool = False,
    tsg: Path | None = None,
    dsg: Path | None = None,
    dsg_frames: int | None = None,
    video_chunk: int | None = None,
) -> None:
    """Evaluate, write ``OUT/metrics.json`` + ``OUT/predictions.jsonl``, print the summary.

    ``with_graphs``: a fusion checkpoint's fused embeddings, graphs from ``tsg`` / ``dsg`` or
    built on the fly in ``OUT/graphs`` (default ``OUT``: ``CHECKPOINT_DIR/CMD-TASK-SPLIT-graphs``).
    """
    from finsta_cli.tasks.embedder import VIDEO_CHUNK
    from finsta_cli.tasks.host_eval import run_host_eval, summary_line, write_host_eval

    if checkpoint is None or data is None:
        raise UsageError(f"{command_name} --task {task} needs --checkpoint and --data")
    if not with_graphs:
        options = (("--tsg", tsg), ("--dsg", dsg), ("--dsg-frames", dsg_frames))
        given = [name for name, value in options if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} only apply with --with-graphs")
    elif dsg is not None and dsg_frames is not None:
        raise UsageError("--dsg-frames applies to DSGs built on the fly: not with --dsg")
    suffix = "-graphs" if with_graphs else ""
    target = (
        out if out is not None else checkpoint.parent / f"{command_name}-{task}-{split}{suffix}"
    )
    graphs = None
    if with_graphs:
        from finsta_cli.tasks.graph_eval import GraphSources

        graphs = GraphSources(target / "graphs", tsg=tsg, dsg=dsg, dsg_frames=dsg_frames)
    result = run_host_eval(
        checkpoint, data, task,  # type: ignore[arg-type]
        split=split, fmt=dataset_format.value, video_root=video_root, finetune=finetune,
        train_split=train_split, cache=cache, device=device or "auto", threads=threads,
        seed=seed or 0, quiet=quiet, graphs=graphs, video_chunk=video_chunk or VIDEO_CHUNK,
    )  # fmt: skip
    result.metrics["protocol"] = command_name if not finetune else "finetune"
    write_host_eval(result, target)
    payload = {**result.metrics, "out": str(target)}
    if json_out:
        print_json(payload)
    elif not quiet:
        how = " with graphs" if with_graphs else ""
        typer.echo(f"{command_name} {task} on {split}{how}: {summary_line(result.metrics)}")
        typer.echo(f"metrics: {target / 'metrics.json'}")
    if result.failures:
        raise typer.Exit(3)
