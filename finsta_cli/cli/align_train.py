"""``finsta align-train``: post-train a host with Finsta's structural alignment (or the host loss
alone, the control)."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.align.config import AlignMode, Objective
from finsta_cli.align.config import AlignTrainConfig as Config
from finsta_cli.cli.options import (
    ConfigOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    VerboseOpt,
    command,
    device_option,
    given_options,
    print_json,
    seed_option,
    with_default,
)
from finsta_cli.datasets.formats import CaptionFormat
from finsta_cli.hosts.base import HostName, TemporalMode


@command
def align_train(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option("--data", help="Training dataset (a synth folder, MSR-VTT, JSONL).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoint.pt etc.).")],
    tsg: Annotated[
        Path | None, typer.Option("--tsg", help="parse-text output (TSG JSONL).")
    ] = None,
    dsg: Annotated[Path | None, typer.Option("--dsg", help="build-dsg output folder.")] = None,
    hsg: Annotated[Path | None, typer.Option("--hsg", help="build-hsg output folder.")] = None,
    host: Annotated[
        HostName | None,
        typer.Option(
            "--host",
            help=with_default("Host family.", Config, "host"),
        ),
    ] = None,
    temporal: Annotated[
        TemporalMode | None,
        typer.Option(
            "--temporal",
            help=with_default("Host temporal module.", Config, "temporal"),
        ),
    ] = None,
    host_weights: Annotated[
        Path | None,
        typer.Option(
            "--host-weights",
            help="clip4clip: local CLIP/CLIP4Clip weights file (its architecture, QuickGELU "
            "included, is read from it unless host_options sets arch).",
        ),
    ] = None,
    host_pretrained: Annotated[
        str | None,
        typer.Option(
            "--host-pretrained",
            help="clip4clip: an open_clip pretrained tag (openai, laion2b_s34b_b79k, ...), "
            "fetched by open_clip with --allow-download.",
        ),
    ] = None,
    allow_download: Annotated[
        bool,
        typer.Option(
            "--allow-download",
            help="Let open_clip download --host-pretrained's weights (or set "
            "FINSTA_ALLOW_DOWNLOAD=1); without it nothing is downloaded.",
        ),
    ] = False,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            help="Start from this checkpoint's host, or from a plain state dict of the --host "
            "family (the host built as without --init, then its weights loaded).",
        ),
    ] = None,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="--init weights that fit only in part: load the tensors that fit; missing, "
            "unexpected and reshaped ones are reported (warning, manifest.json).",
        ),
    ] = False,
    objective: Annotated[
        Objective | None,
        typer.Option(
            "--objective",
            help=with_default("finsta, or host-only (the control).", Config, "objective"),
        ),
    ] = None,
    mode: Annotated[
        AlignMode | None,
        typer.Option(
            "--mode",
            help=with_default(
                "distill: the host alone; fusion: host + graph encoders.", Config, "mode"
            ),
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help=with_default("Split to train on.", Config, "split")),
    ] = None,
    dataset_format: Annotated[
        CaptionFormat, typer.Option("--format", help="Dataset format.")
    ] = "auto",
    steps: Annotated[
        int | None, typer.Option("--steps", help=with_default("Optimizer steps.", Config, "steps"))
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", "-b", help=with_default("Global batch size.", Config, "batch_size")
        ),
    ] = None,
    lr: Annotated[
        float | None, typer.Option("--lr", help=with_default("Peak learning rate.", Config, "lr"))
    ] = None,
    host_lr: Annotated[
        float | None,
        typer.Option(
            "--host-lr", help=with_default("Host learning rate.", Config, "host_lr", none="--lr")
        ),
    ] = None,
    no_osc: Annotated[bool, typer.Option("--no-osc", help="Ablation: no OSC loss.")] = False,
    no_ptc: Annotated[bool, typer.Option("--no-ptc", help="Ablation: no PTC loss.")] = False,
    no_stgd: Annotated[bool, typer.Option("--no-stgd", help="Ablation: no STGD layers.")] = False,
    no_coref_edges: Annotated[
        bool, typer.Option("--no-coref-edges", help="Ablation: no temporal coreference edges.")
    ] = False,
    no_adverb_nodes: Annotated[
        bool, typer.Option("--no-adverb-nodes", help="Ablation: no adverb (pred_attr) nodes.")
    ] = False,
    no_cross_edges: Annotated[
        bool, typer.Option("--no-cross-edges", help="Ablation: no HSG cross-modal edges.")
    ] = False,
    text_negatives: Annotated[
        int | None,
        typer.Option(
            "--text-negatives",
            min=0,
            help=with_default(
                "Hard-negative captions per caption made from its TSG (events in the other "
                "order, directions swapped); needs --tsg, also with host-only; 0: off.",
                Config,
                "text_negatives",
            ),
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last state.")
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help=with_default("Frame cache folder.", Config, "cache", none="OUT/../.frame-cache"),
        ),
    ] = None,
    graph_cache: Annotated[
        Path | None,
        typer.Option(
            "--graph-cache",
            help=with_default(
                "Folder of the graphs read at set-up, kept for the next run with the same inputs.",
                Config,
                "graph_cache",
                none="OUT/../.graph-cache",
            ),
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", help=with_default("CPU threads.", Config, "threads", none="all CPUs")
        ),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    device: Annotated[str | None, device_option(Config)] = None,
    seed: Annotated[int | None, seed_option(Config)] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Post-train a host: its own video-text loss plus Finsta's OSC, PTC and distillation.

    Works the same under torchrun (--nproc-per-node N): negatives span the global batch.
    """
    from finsta_cli.align.trainer import run_align_train
    from finsta_cli.config import load_config

    resolved = load_config(Config, config, given_options(ctx, Config), set_ or ())
    result = run_align_train(
        data, out, resolved, tsg=tsg, dsg=dsg, hsg=hsg,
        dataset_format=dataset_format, resume=resume, quiet=quiet,
    )  # fmt: skip
    payload = result.to_json()
    if json_out:
        print_json(payload)
    elif not quiet:
        from finsta_cli.io.progress import stderr_console

        final = ", ".join(f"{k} {v:.3f}" for k, v in result.final.items() if "anchors" not in k)
        stderr_console().print(
            f"align-train: {result.steps} steps ({result.samples_per_second:.1f} samples/s), "
            f"{final}\ncheckpoint: {payload['checkpoint']}"
        )
    if result.failures:
        raise typer.Exit(3)
