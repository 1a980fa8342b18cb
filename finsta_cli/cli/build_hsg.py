"""``finsta build-hsg``: join TSGs and DSGs into holistic scene graphs."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    CpusPerWorkerOpt,
    DeviceOpt,
    ExecutorOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    NumGpusOpt,
    QuietOpt,
    RayAddressOpt,
    ShardOpt,
    VerboseOpt,
    WorkersOpt,
    command,
    executor_overrides,
    finish_stage,
)


@command
def build_hsg(
    tsg: Annotated[Path, typer.Option("--tsg", help="TSG JSONL written by parse-text.")],
    dsg: Annotated[Path, typer.Option("--dsg", help="Folder written by build-dsg.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the HSGs.")],
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            help="JSONL of {video_id, text_id} pairs [default: each caption whose id is its "
            "video's id plus a suffix, VIDEO.c0 or VIDEO#0, with that video].",
        ),
    ] = None,
    matcher: Annotated[
        str | None,
        typer.Option(
            "--matcher",
            help="rules (lexicon), embed (a host's text encoder, open vocabulary) or hybrid "
            "(rules, and embeddings for words the lexicon does not know) [rules].",
        ),
    ] = None,
    host_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--host-checkpoint",
            help="align-train checkpoint whose host embeds the labels (embed, hybrid).",
        ),
    ] = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Tracks a text object may link to [1].")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Lowest linking score of the rules [0.5].")
    ] = None,
    embed_threshold: Annotated[
        float | None,
        typer.Option(
            "--embed-threshold",
            help="Lowest cosine that links a text object to a track (embed, hybrid) [0.9].",
        ),
    ] = None,
    embed_predicate_threshold: Annotated[
        float | None,
        typer.Option(
            "--embed-predicate-threshold",
            help="Lowest cosine that links a text predicate (embed, hybrid) [0.6].",
        ),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option("--lexicon", help="Extra lexicon YAML merged with the shipped one."),
    ] = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
    executor: ExecutorOpt = None,
    workers: WorkersOpt = None,
    num_gpus: NumGpusOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = None,
    ray_address: RayAddressOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Join each (video, caption) pair's TSG and DSG by cross-modal coreference edges."""
    from finsta_cli.config import load_config
    from finsta_cli.hsg.build import BuildHSGConfig, run_build_hsg
    from finsta_cli.io import parse_shard

    resolved = load_config(
        BuildHSGConfig,
        config,
        {
            "matcher": matcher,
            "host_checkpoint": host_checkpoint,
            "top_k": top_k,
            "threshold": threshold,
            "embed_threshold": embed_threshold,
            "embed_predicate_threshold": embed_predicate_threshold,
            "lexicon": lexicon,
            "device": device,
            **executor_overrides(executor, workers, num_gpus, cpus_per_worker, ray_address),
        },
    )
    summary = run_build_hsg(
        tsg, dsg, out, resolved, pairs_file=pairs, force=force, shard=parse_shard(shard),
        limit=limit,
        quiet=quiet,
    )  # fmt: skip
    finish_stage(summary, json_out=json_out, extra={"out": str(out)})
