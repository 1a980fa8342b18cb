"""``finsta build-hsg``: join TSGs and DSGs into holistic scene graphs."""

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
    device_option,
    executor_overrides,
    finish_stage,
    given_options,
    with_default,
)
from finsta_cli.hsg.build import BuildHSGConfig as Config
from finsta_cli.hsg.build import MatcherKind


@command
def build_hsg(
    ctx: typer.Context,
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
        MatcherKind | None,
        typer.Option(
            "--matcher",
            help=with_default(
                "rules (lexicon), embed (a host's text encoder, open vocabulary) or hybrid "
                "(rules, and embeddings for words the lexicon does not know).",
                Config,
                "matcher",
            ),
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
        int | None,
        typer.Option(
            "--top-k", help=with_default("Tracks a text object may link to.", Config, "top_k")
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help=with_default("Lowest linking score of the rules.", Config, "threshold"),
        ),
    ] = None,
    embed_threshold: Annotated[
        float | None,
        typer.Option(
            "--embed-threshold",
            help=with_default(
                "Lowest cosine that links a text object to a track (embed, hybrid).",
                Config,
                "embed_threshold",
            ),
        ),
    ] = None,
    embed_predicate_threshold: Annotated[
        float | None,
        typer.Option(
            "--embed-predicate-threshold",
            help=with_default(
                "Lowest cosine that links a text predicate (embed, hybrid).",
                Config,
                "embed_predicate_threshold",
            ),
        ),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option("--lexicon", help="Extra lexicon YAML merged with the shipped one."),
    ] = None,
    device: Annotated[str | None, device_option(Config)] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
    executor_kind: ExecutorOpt = None,
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
    from finsta_cli.hsg.build import run_build_hsg
    from finsta_cli.io import parse_shard

    executor = executor_overrides(executor_kind, workers, num_gpus, cpus_per_worker, ray_address)
    resolved = load_config(Config, config, given_options(ctx, Config, **executor), set_ or ())
    summary = run_build_hsg(
        tsg, dsg, out, resolved, pairs_file=pairs, force=force, shard=parse_shard(shard),
        limit=limit,
        quiet=quiet,
    )  # fmt: skip
    finish_stage(summary, json_out=json_out, extra={"out": str(out)})
