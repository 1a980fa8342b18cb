"""``finsta train-detector``: train the default YOLO detector on ``finsta synth`` frames."""

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
from finsta_cli.io.progress import stderr_console


@command
def train_detector(
    data: Annotated[
        Path, typer.Option("--data", help="A `finsta synth` folder.", exists=True, file_okay=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the weights [assets/detector].")
    ] = Path("assets/detector"),
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs [8].")] = None,
    imgsz: Annotated[int | None, typer.Option("--imgsz", help="Image size [256].")] = None,
    batch: Annotated[int | None, typer.Option("--batch", min=1, help="Batch size [16].")] = None,
    frames_per_video: Annotated[
        int | None,
        typer.Option("--frames-per-video", min=1, help="Training frames per video [4]."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="ultralytics model YAML [yolov8n.yaml].")
    ] = None,
    work: Annotated[
        Path | None,
        typer.Option("--work", help="Folder for exported frames and runs [OUT/work]."),
    ] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train a YOLO nano from its YAML (no pretrained weights) on synth frames; write
    OUT/finsta-synth-yolov8n.pt and a JSON card with mAP50 / mAP50-95 on val and test_unseen."""
    from finsta_cli.config import load_config
    from finsta_cli.synth.detector import DetectorConfig
    from finsta_cli.synth.detector import train_detector as train

    resolved = load_config(
        DetectorConfig,
        config,
        {
            "epochs": epochs,
            "imgsz": imgsz,
            "batch": batch,
            "frames_per_video": frames_per_video,
            "model": model,
            "seed": seed,
            "device": device,
        },
    )
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
