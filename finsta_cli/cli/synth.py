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
    SeedOpt,
    ShardOpt,
    VerboseOpt,
    WorkersOpt,
    command,
    executor_overrides,
    print_json,
    shard_option,
)
from finsta_cli.io.progress import stderr_console


@command
def synth(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder of the dataset.", file_okay=False)
    ],
    videos: Annotated[
        int | None, typer.Option("--videos", "-n", min=1, help="Videos over all splits [100].")
    ] = None,
    seed: SeedOpt = None,
    size: Annotated[
        int | None, typer.Option("--size", min=64, max=1024, help="Frame side in pixels [256].")
    ] = None,
    fps: Annotated[int | None, typer.Option("--fps", min=1, help="Frames per second [8].")] = None,
    min_frames: Annotated[
        int | None, typer.Option("--min-frames", help="Fewest frames per video [16].")
    ] = None,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", help="Most frames per video [32].")
    ] = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = None,
    num_gpus: NumGpusOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = None,
    ray_address: RayAddressOpt = None,
    config: ConfigOpt = None,
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
    from finsta_cli.synth.generate import SynthConfig, generate_dataset

    resolved = load_config(
        SynthConfig,
        config,
        {
            "videos": videos,
            "seed": seed,
            "width": size,
            "height": size,
            "fps": fps,
            "min_frames": min_frames,
            "max_frames": max_frames,
            "workers": workers,  # also the Ray actors' number, unless executor.workers says
            **executor_overrides(executor, None, num_gpus, cpus_per_worker, ray_address),
        },
    )
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
