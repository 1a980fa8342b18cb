"""Where finsta's shipped files (lexicons, configs, default detector weights) are found."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DETECTOR_NAME = "finsta-synth-yolov8n.pt"
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


def nanodet_weights() -> Path:
    """``--detector nanodet``'s default ``--weights``: NanoDet-g (COCO-80), converted from TF.js."""
    return assets_dir() / "detector" / NANODET_NAME
