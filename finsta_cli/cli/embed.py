"""``finsta embed``: a checkpoint's video and text embeddings of your videos and texts, to files."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.host_task import (
    CacheOpt,
    DataOpt,
    DeviceOpt,
    DsgFramesOpt,
    DsgOpt,
    FormatOpt,
    ThreadsOpt,
    TsgOpt,
    VideoChunkOpt,
    VideoRootOpt,
    WithGraphsOpt,
)
from finsta_cli.cli.options import (
    ConfigOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    QuietOpt,
    SetOpt,
    ShardOpt,
    VerboseOpt,
    command,
    given_options,
    print_json,
    with_default,
)
from finsta_cli.errors import UsageError
from finsta_cli.tasks.embed import EmbedConfig as Config


@command
def embed(
    ctx: typer.Context,
    checkpoint: Annotated[
        Path,
        typer.Option("--checkpoint", help="align-train's checkpoint.pt (its host embeds)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the embeddings.")],
    videos: Annotated[
        list[Path] | None,
        typer.Option(
            "--videos",
            metavar="PATH",
            help="Video files, folders of them (searched recursively; a folder of images is "
            "one video) or JSONL manifests of {id, path}; the paths after it count too "
            "(--videos clips/*.mp4).",
        ),
    ] = None,
    more_videos: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATH]...", help="More video paths (after --videos).", show_default=False
        ),
    ] = None,
    texts: Annotated[
        Path | None,
        typer.Option(
            "--texts", help="Texts: a file of one text a line, or JSONL of {id, text} lines."
        ),
    ] = None,
    data: DataOpt = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help=with_default(
                "--data: the split whose videos and captions embed.", Config, "split"
            ),
        ),
    ] = None,
    dataset_format: FormatOpt = "auto",
    video_root: VideoRootOpt = None,
    with_graphs: WithGraphsOpt = False,
    tsg: TsgOpt = None,
    dsg: DsgOpt = None,
    dsg_frames: DsgFramesOpt = None,
    npy: Annotated[
        bool, typer.Option("--npy", help="Also write each tensor as a .npy file (numpy).")
    ] = False,
    video_chunk: VideoChunkOpt = None,
    cache: CacheOpt = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write the embeddings that eval scores (graph-free, or --with-graphs for a fusion
    checkpoint) of videos (--videos, or a dataset's with --data) and texts (--texts, or the
    dataset's captions): OUT/video_embeddings.pt, a (N, E) float tensor, with
    OUT/video_ids.jsonl naming row i ({id, path}); text_embeddings.pt and text_ids.jsonl
    ({id, text}) alike. A stopped run resumes; --shard I/N splits the work (a run without it
    then writes the files); a video that cannot be decoded is listed in
    video_embeddings.failures.jsonl (exit 3)."""
    from finsta_cli.config import load_config
    from finsta_cli.io import parse_shard
    from finsta_cli.tasks.embed import (
        EmbedInputs,
        dataset_inputs,
        read_texts,
        run_embed,
        videos_from_paths,
    )

    resolved = load_config(Config, config, given_options(ctx, Config), set_ or ())
    paths = [*(videos or []), *(more_videos or [])]
    if more_videos and not videos:
        raise UsageError("video paths go after --videos (finsta embed --videos a.mp4 b.mp4 ...)")
    if data is not None and (paths or texts is not None):
        raise UsageError(
            "--data embeds the dataset's videos and captions: not with --videos/--texts"
        )
    if data is None and not paths and texts is None:
        raise UsageError("give --videos, --texts or --data")
    if not resolved.with_graphs and (tsg, dsg, dsg_frames) != (None, None, None):
        raise UsageError("--tsg, --dsg and --dsg-frames only apply with --with-graphs")
    if data is not None:
        inputs = dataset_inputs(data, dataset_format, resolved.split, video_root)
    else:
        inputs = videos_from_paths(paths) if paths else EmbedInputs()
        if texts is not None:
            inputs.texts = read_texts(texts)
    graphs = None
    if resolved.with_graphs:
        from finsta_cli.tasks.graph_eval import GraphSources

        graphs = GraphSources(out / "graphs", tsg=tsg, dsg=dsg, dsg_frames=resolved.dsg_frames)
    result = run_embed(
        checkpoint, inputs, out, resolved, graphs=graphs, shard=parse_shard(shard), force=force,
        limit=limit, quiet=quiet,
    )  # fmt: skip
    summaries = {k: s for k, s in (("videos", result.videos), ("texts", result.texts)) if s}
    failed = sum(s.failed for s in summaries.values())
    payload = {
        "out": str(out),
        **{kind: summary.to_json() for kind, summary in summaries.items()},
        "rows": result.rows,
        "files": result.files,
        "exit_code": 3 if failed else 0,
    }
    if json_out:
        print_json(payload)
    elif not quiet:
        for kind, summary in summaries.items():
            typer.echo(
                f"embed {kind}: {summary.done} done, {summary.skipped} already done, "
                f"{summary.failed} failed in {summary.seconds:.1f}s"
                + (f" (failures: {summary.failures})" if summary.failures else ""),
                err=True,
            )
        for name, path in result.files.items():
            typer.echo(f"{name}: {path}", err=True)
        if not result.files:
            typer.echo(
                "sharded run: parts written; a run without --shard writes the files", err=True
            )
    if failed:
        raise typer.Exit(3)
