"""Options and the runner shared by ``finsta eval`` and ``finsta zeroshot`` for the tasks that
evaluate a host checkpoint (retrieval, videoqa, action)."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import print_json, with_default
from finsta_cli.datasets.formats import DatasetFormat
from finsta_cli.errors import UsageError
from finsta_cli.tasks.eval_config import HostTaskConfig as Config

HOST_TASKS = ("retrieval", "videoqa", "action")


CheckpointOpt = Annotated[
    Path | None,
    typer.Option("--checkpoint", help="align-train's checkpoint.pt (its host is evaluated)."),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Dataset: a synth folder, or an annotation file / folder."),
]
FormatOpt = Annotated[
    DatasetFormat, typer.Option("--format", help="Dataset format (see docs/datasets.md).")
]
VideoRootOpt = Annotated[
    Path | None, typer.Option("--video-root", help="Folder holding the dataset's video files.")
]
SubtitlesOpt = Annotated[
    Path | None,
    typer.Option(
        "--subtitles",
        help="videoqa: subtitles given to the text side, clipped to each question's segment: "
        'a JSON object of video id -> list of {"text", "start", "end"}, or "dataset" for the '
        "dataset's own (VIOLIN). See docs/datasets.md.",
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help=with_default("Frame cache folder.", Config, "cache", none="none: decode each time"),
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads", help=with_default("CPU threads.", Config, "threads", none="all CPUs")
    ),
]
VideoChunkOpt = Annotated[
    int | None,
    typer.Option(
        "--video-chunk",
        min=1,
        help=with_default(
            "Videos decoded and embedded at a time; memory grows with it, not with the split.",
            Config,
            "video_chunk",
        ),
    ),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device", help=with_default("auto, cpu, cuda, cuda:N or mps.", Config, "device")
    ),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help=with_default("Random seed.", Config, "seed"))
]
AllowPartialOpt = Annotated[
    bool,
    typer.Option(
        "--allow-partial",
        help="Load a checkpoint whose host weights fit only in part: the tensors that fit are "
        "loaded, missing, unexpected and reshaped ones reported (warning, metrics.json).",
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
    typer.Option(
        "--tsg", help="--with-graphs: parse-text TSG JSONL of the captions  [default: parse them]"
    ),
]
DsgOpt = Annotated[
    Path | None,
    typer.Option(
        "--dsg", help="--with-graphs: build-dsg output folder  [default: build into OUT/graphs]"
    ),
]
DsgFramesOpt = Annotated[
    int | None,
    typer.Option(
        "--dsg-frames",
        min=1,
        help=with_default(
            "--with-graphs without --dsg: keyframes per video for build-dsg.",
            Config,
            "dsg_frames",
            none="the training DSGs' count when the run records it, else build-dsg's default",
        ),
    ),
]


def run_host_task(
    task: str,
    resolved: Config,
    *,
    checkpoint: Path | None,
    data: Path | None,
    split: str,
    dataset_format: DatasetFormat,
    video_root: Path | None,
    out: Path | None,
    json_out: bool,
    quiet: bool,
    command_name: str,
    finetune: bool = False,
    train_split: str = "train",
    tsg: Path | None = None,
    dsg: Path | None = None,
    subtitles: Path | None = None,
) -> None:
    """Evaluate, write ``OUT/metrics.json`` + ``OUT/predictions.jsonl`` and the resolved config
    ``OUT/config.yaml``, print the summary.

    ``resolved.with_graphs``: a fusion checkpoint's fused embeddings, graphs from ``tsg`` /
    ``dsg`` or built on the fly in ``OUT/graphs`` (default ``OUT``:
    ``CHECKPOINT_DIR/CMD-TASK-SPLIT-graphs``). ``subtitles``: videoqa's subtitles file (or
    ``dataset``: the dataset's own).
    """
    from finsta_cli.io.atomic import atomic_write_text
    from finsta_cli.tasks.host_eval import run_host_eval, summary_line, write_host_eval

    with_graphs, dsg_frames = resolved.with_graphs, resolved.dsg_frames
    if checkpoint is None or data is None:
        raise UsageError(f"{command_name} --task {task} needs --checkpoint and --data")
    if subtitles is not None and task != "videoqa":
        raise UsageError(f"--subtitles applies to --task videoqa, not to --task {task}")
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
        subtitles=subtitles,
        split=split, fmt=dataset_format, video_root=video_root, finetune=finetune,
        train_split=train_split, cache=resolved.cache, device=resolved.device,
        threads=resolved.threads, seed=resolved.seed, quiet=quiet, graphs=graphs,
        video_chunk=resolved.video_chunk, allow_partial=resolved.allow_partial,
        command=command_name,
    )  # fmt: skip
    write_host_eval(result, target)
    atomic_write_text(target / "config.yaml", resolved.to_yaml())
    payload = {**result.metrics, "out": str(target)}
    if json_out:
        print_json(payload)
    elif not quiet:
        how = " with graphs" if with_graphs else ""
        typer.echo(f"{command_name} {task} on {split}{how}: {summary_line(result.metrics)}")
        typer.echo(f"metrics: {target / 'metrics.json'}")
    if result.failures:
        raise typer.Exit(3)
