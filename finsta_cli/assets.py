"""Where finsta's shipped files (lexicons, configs, default detector weights, the lite host's
starting point) are found."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DETECTOR_NAME = "finsta-synth-yolov8n.pt"
LITE_CHECKPOINT_NAME = "lite-synth-{temporal}.pt"
NANODET_NAME = "nanodet-g-coco.pt"


def assets_dir() -> Path:
    """The assets folder: ``$FINSTA_ASSETS``, the copy inside an installed wheel, or the repo's."""
    override = os.environ.get("FINSTA_ASSETS")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "assets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "assets"


def default_detector_weights() -> Path:
    """build-dsg's default ``--weights``: the YOLO detector trained on ``finsta synth`` frames."""
    override = os.environ.get("FINSTA_DETECTOR_WEIGHTS")
    if override:
        return Path(override)
    return assets_dir() / "detector" / DEFAULT_DETECTOR_NAME


def default_lite_checkpoint(temporal: str = "seqTransf") -> Path:
    """The lite host's shipped starting point with ``temporal``: its own layers aligned with its
    own loss on synth videos the demo never sees (the card is the ``.json`` beside it)."""
    return assets_dir() / "hosts" / LITE_CHECKPOINT_NAME.format(temporal=temporal)


def nanodet_weights() -> Path:
    """``--detector nanodet``'s default ``--weights``: NanoDet-g (COCO-80), converted from TF.js."""
    return assets_dir() / "detector" / NANODET_NAME
