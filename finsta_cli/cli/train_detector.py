"""``finsta train-detector``: train the default YOLO detector on ``finsta synth`` frames."""

from pathlib import Path
from typing import Annotated

import typer

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
from finsta_cli.io.progress import stderr_console
from finsta_cli.synth.detector import DetectorConfig as Config


@command
def train_detector(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option("--data", help="A `finsta synth` folder.", exists=True, file_okay=False)
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the weights.")] = Path(
        "assets/detector"
    ),
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help=with_default("Epochs.", Config, "epochs"))
    ] = None,
    imgsz: Annotated[
        int | None, typer.Option("--imgsz", help=with_default("Image size.", Config, "imgsz"))
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option("--batch", min=1, help=with_default("Batch size.", Config, "batch")),
    ] = None,
    frames_per_video: Annotated[
        int | None,
        typer.Option(
            "--frames-per-video",
            min=1,
            help=with_default("Training frames per video.", Config, "frames_per_video"),
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help=with_default("ultralytics model YAML.", Config, "model")),
    ] = None,
    work: Annotated[
        Path | None,
        typer.Option("--work", help="Folder for exported frames and runs  [default: OUT/work]"),
    ] = None,
    seed: Annotated[int | None, seed_option(Config)] = None,
    device: Annotated[str | None, device_option(Config)] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train a YOLO nano from its YAML (no pretrained weights) on synth frames; write
    OUT/finsta-synth-yolov8n.pt and a JSON card with mAP50 / mAP50-95 on val and test_unseen."""
    from finsta_cli.config import load_config
    from finsta_cli.synth.detector import train_detector as train

    resolved = load_config(Config, config, given_options(ctx, Config), set_ or ())
    card = train(resolved, data, out, work)
    if json_out:
        print_json(card)
    elif not quiet:
        lines = [f"weights: {out / card['weights']} ({card['bytes'] / 1e6:.1f} MB)"]
        for split, metrics in card["evaluation"].items():
            lines.append(
                f"{split}: mAP50 {metrics['map50']:.3f}  mAP50-95 {metrics['map50_95']:.3f}"
            )
        lines.append(f"training: {card['train_seconds'] / 60:.1f} min")
        stderr_console().print("\n".join(lines), highlight=False)
