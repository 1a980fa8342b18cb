"""``finsta synth``: render the synthetic spatio-temporal video benchmark."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    CpusPerWorkerOpt,
    ExecutorOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    NumGpusOpt,
    QuietOpt,
    RayAddressOpt,
    SetOpt,
    ShardOpt,
    VerboseOpt,
    WorkersOpt,
    command,
    executor_overrides,
    given_options,
    print_json,
    seed_option,
    shard_option,
    with_default,
)
from finsta_cli.io.progress import stderr_console
from finsta_cli.synth.generate import SynthConfig as Config


@command
def synth(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder of the dataset.", file_okay=False)
    ],
    videos: Annotated[
        int | None,
        typer.Option(
            "--videos", "-n", min=1, help=with_default("Videos over all splits.", Config, "videos")
        ),
    ] = None,
    seed: Annotated[int | None, seed_option(Config)] = None,
    size: Annotated[
        int | None,
        typer.Option(
            "--size",
            min=64,
            max=1024,
            help=with_default("Frame side in pixels (width and height).", Config, "width"),
        ),
    ] = None,
    fps: Annotated[
        int | None,
        typer.Option("--fps", min=1, help=with_default("Frames per second.", Config, "fps")),
    ] = None,
    min_frames: Annotated[
        int | None,
        typer.Option(
            "--min-frames", help=with_default("Fewest frames per video.", Config, "min_frames")
        ),
    ] = None,
    max_frames: Annotated[
        int | None,
        typer.Option(
            "--max-frames", help=with_default("Most frames per video.", Config, "max_frames")
        ),
    ] = None,
    workers: WorkersOpt = None,
    executor_kind: ExecutorOpt = None,
    num_gpus: NumGpusOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = None,
    ray_address: RayAddressOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Render N videos with captions, hard negatives, QA, action labels, per-frame boxes,
    relations and YOLO labels, split into train / val / test / test_unseen.

    The same --seed gives the same dataset. A stopped run resumes; --shard I/N splits the work.
    """
    from finsta_cli.config import load_config
    from finsta_cli.synth.generate import generate_dataset

    # --workers is synth's own field (rendering processes), also the Ray actors' number unless
    # executor.workers says otherwise.
    executor = executor_overrides(executor_kind, None, num_gpus, cpus_per_worker, ray_address)
    overrides = given_options(ctx, Config, width=size, height=size, **executor)
    resolved = load_config(Config, config, overrides, set_ or ())
    summary = generate_dataset(
        resolved, out, force=force, shard=shard_option(shard), limit=limit, quiet=quiet
    )
    if json_out:
        print_json(summary.to_json())
    elif not quiet:
        stderr_console().print(
            f"synth: {summary.done} rendered, {summary.skipped} up to date, "
            f"{summary.failed} failed in {summary.seconds:.1f}s -> {out}",
            highlight=False,
        )
    raise typer.Exit(int(summary.exit_code))
