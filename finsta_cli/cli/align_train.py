"""``finsta align-train``: post-train a host with Finsta's structural alignment (or the host loss
alone, the control)."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    DeviceOpt,
    JsonOpt,
    QuietOpt,
    SeedOpt,
    VerboseOpt,
    command,
    print_json,
)
from finsta_cli.datasets.formats import CaptionFormat


class HostChoice(str, enum.Enum):
    tiny = "tiny"
    clip4clip = "clip4clip"
    lite = "lite"


class TemporalChoice(str, enum.Enum):
    meanP = "meanP"
    seqTransf = "seqTransf"


class ObjectiveChoice(str, enum.Enum):
    finsta = "finsta"
    host_only = "host-only"


class ModeChoice(str, enum.Enum):
    distill = "distill"
    fusion = "fusion"


def _off(flag: bool) -> bool | None:
    """A --no-X flag given -> the option is False; not given -> leave it to the config."""
    return False if flag else None


@command
def align_train(
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
        HostChoice | None, typer.Option("--host", help="Host family [default: tiny].")
    ] = None,
    temporal: Annotated[
        TemporalChoice | None,
        typer.Option("--temporal", help="Host temporal module [default: meanP]."),
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
        Path | None, typer.Option("--init", help="Start from this checkpoint's host.")
    ] = None,
    objective: Annotated[
        ObjectiveChoice | None,
        typer.Option("--objective", help="finsta, or host-only (the control) [default: finsta]."),
    ] = None,
    mode: Annotated[
        ModeChoice | None,
        typer.Option(
            "--mode", help="distill: the host alone; fusion: host + graph encoders [distill]."
        ),
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="Split to train on [train].")] = None,
    dataset_format: Annotated[
        CaptionFormat, typer.Option("--format", help="Dataset format.")
    ] = "auto",
    steps: Annotated[int | None, typer.Option("--steps", help="Optimizer steps [300].")] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", "-b", help="Global batch size [32].")
    ] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate [1e-3].")] = None,
    host_lr: Annotated[
        float | None, typer.Option("--host-lr", help="Host learning rate [--lr].")
    ] = None,
    no_osc: Annotated[bool, typer.Option("--no-osc", help="Ablation: no OSC loss.")] = False,
    no_ptc: Annotated[bool, typer.Option("--no-ptc", help="Ablation: no PTC loss.")] = False,
    no_stgd: Annotated[bool, typer.Option("--no-stgd", help="Ablation: no STGD layers.")] = False,
    no_coref: Annotated[
        bool, typer.Option("--no-coref-edges", help="Ablation: no temporal coreference edges.")
    ] = False,
    no_adverbs: Annotated[
        bool, typer.Option("--no-adverb-nodes", help="Ablation: no adverb (pred_attr) nodes.")
    ] = False,
    no_cross: Annotated[
        bool, typer.Option("--no-cross-edges", help="Ablation: no HSG cross-modal edges.")
    ] = False,
    text_negatives: Annotated[
        int | None,
        typer.Option(
            "--text-negatives",
            min=0,
            help="Hard-negative captions per caption made from its TSG (events in the other "
            "order, directions swapped); needs --tsg, also with host-only [0: off].",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last state.")
    ] = False,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Frame cache folder [OUT/../.frame-cache].")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads [2].")] = None,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
    seed: SeedOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Post-train a host: its own video-text loss plus Finsta's OSC, PTC and distillation.

    Works the same under torchrun (--nproc-per-node N): negatives span the global batch.
    """
    from finsta_cli.align.trainer import AlignTrainConfig, run_align_train
    from finsta_cli.config import load_config

    resolved = load_config(
        AlignTrainConfig,
        config,
        {
            "host": host.value if host else None,
            "temporal": temporal.value if temporal else None,
            "host_weights": host_weights,
            "host_pretrained": host_pretrained,
            "allow_download": allow_download or None,
            "init": init,
            "objective": objective.value if objective else None,
            "mode": mode.value if mode else None,
            "split": split,
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "host_lr": host_lr,
            "osc": _off(no_osc),
            "ptc": _off(no_ptc),
            "stgd": _off(no_stgd),
            "coref_edges": _off(no_coref),
            "adverb_nodes": _off(no_adverbs),
            "cross_edges": _off(no_cross),
            "text_negatives": text_negatives,
            "cache": cache,
            "threads": threads,
            "device": device,
            "seed": seed,
        },
    )
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
