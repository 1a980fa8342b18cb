"""``finsta env``: what finsta runs on here, and what is missing, each with how to install it."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import warnings
from pathlib import Path

from pydantic import BaseModel, Field

from finsta_cli import WAIT_POLICY
from finsta_cli.assets import default_detector_weights, nanodet_weights
from finsta_cli.errors import FinstaError, MissingResourceError
from finsta_cli.offline import (
    OFFLINE_VARIABLES,
    ensure_offline_env,
    fonts_present,
    import_ultralytics,
)
from finsta_cli.runtime import configure_threads, package_versions, resolve_device
from finsta_cli.text.spacy_model import SPACY_INSTALL_HINT, candidate_models, resolve_spacy_model

# Packages that must import for finsta to work: (report name, module, install hint).
REQUIRED_MODULES: tuple[tuple[str, str, str], ...] = (
    ("torch", "torch", 'pip install "torch==2.14.1" "torchvision==0.29.1"'),
    ("torchvision", "torchvision", 'pip install "torch==2.14.1" "torchvision==0.29.1"'),
    ("torch-geometric", "torch_geometric", "pip install torch-geometric"),
    ("spacy", "spacy", 'pip install "spacy>=3.7,<4"'),
    ("ultralytics", "ultralytics", 'pip install "ultralytics-opencv-headless>=8.3"'),
    ("decord", "decord", "pip install decord"),
    ("av", "av", "pip install av"),
    ("tokenizers", "tokenizers", 'pip install "tokenizers>=0.19"'),
    ("safetensors", "safetensors", 'pip install "safetensors>=0.4"'),
)


class Missing(BaseModel):
    what: str
    reason: str
    hint: str


class SpacyReport(BaseModel):
    candidates: list[str]
    name: str | None = None
    path: str | None = None
    version: str | None = None


class DetectorReport(BaseModel):
    weights: str
    exists: bool


class TowerReport(BaseModel):
    """A pretrained tower of the ``lite`` host: its files, found in an installed package."""

    name: str
    found: bool
    path: str | None = None
    size_bytes: int | None = None


class DeviceReport(BaseModel):
    requested: str
    resolved: str | None = None
    cuda_available: bool | None = None
    cuda_devices: int = 0
    threads: int | None = None
    #: How OpenMP's threads wait in this process, and why (finsta_cli.WAIT_POLICY).
    openmp_wait: str | None = None


class EnvReport(BaseModel):
    """Everything ``finsta env --json`` prints."""

    ready: bool
    python: str
    executable: str
    platform: str
    packages: dict[str, str | None]
    spacy_model: SpacyReport
    detector: DetectorReport
    coco_detector: DetectorReport  # --detector nanodet's shipped weights
    towers: list[TowerReport]
    device: DeviceReport
    offline: dict[str, str | None]
    fonts_present: bool
    missing: list[Missing] = Field(default_factory=list)


def _import_error(module: str) -> str | None:
    try:
        if module == "ultralytics":
            import_ultralytics()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch-geometric's jit notices
                importlib.import_module(module)
    except Exception as exc:  # a broken install raises more than ImportError
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def collect_environment(
    *,
    spacy_model: str | None = None,
    detector_weights: Path | None = None,
    device: str = "auto",
) -> EnvReport:
    """Import every backend, resolve the spaCy model, weights and device; list what is missing."""
    ensure_offline_env()
    missing: list[Missing] = []
    for name, module, hint in REQUIRED_MODULES:
        error = _import_error(module)
        if error is not None:
            missing.append(Missing(what=name, reason=error, hint=hint))

    spacy_report = SpacyReport(candidates=list(candidate_models(spacy_model)))
    try:
        info = resolve_spacy_model(spacy_model)
        spacy_report.name, spacy_report.path = info.name, str(info.path)
        spacy_report.version = info.version
    except FinstaError as exc:
        missing.append(Missing(what="spaCy model", reason=exc.message, hint=SPACY_INSTALL_HINT))

    weights = detector_weights or default_detector_weights()
    detector = DetectorReport(weights=str(weights), exists=weights.is_file())
    if not detector.exists:
        missing.append(
            Missing(
                what="detector weights",
                reason=f"{weights} does not exist",
                hint="train them with `finsta train-detector --data SYNTH_DIR --out "
                "assets/detector/`, or pass --weights PATH",
            )
        )
    elif weights.suffix == ".pt" and not any(m.what in ("torch", "ultralytics") for m in missing):
        from finsta_cli.video.weights import check_detector_file

        try:
            check_detector_file(weights)  # read as build-dsg reads it: nothing in it runs
        except FinstaError as exc:
            missing.append(
                Missing(
                    what="detector weights",
                    reason=exc.message,
                    hint="pass --weights an ultralytics detection checkpoint, e.g. one "
                    "`finsta train-detector` wrote",
                )
            )

    coco = nanodet_weights()
    coco_detector = DetectorReport(weights=str(coco), exists=coco.is_file())
    if not coco_detector.exists:
        missing.append(
            Missing(
                what="COCO detector weights (--detector nanodet)",
                reason=f"{coco} does not exist",
                hint="reinstall finsta from its repository (assets/detector/), or set "
                "$FINSTA_ASSETS to a folder holding detector/nanodet-g-coco.pt",
            )
        )

    from finsta_cli.hosts.pretrained import tower_reports

    towers = []
    for tower in tower_reports():
        towers.append(
            TowerReport(
                name=tower.name, found=tower.found, path=tower.path, size_bytes=tower.size_bytes
            )
        )
        if not tower.found:
            what = f"{tower.name} weights (lite host)"
            missing.append(Missing(what=what, reason=tower.reason or "", hint=tower.hint or ""))

    device_report = DeviceReport(requested=device)
    if not any(m.what == "torch" for m in missing):
        import torch

        device_report.cuda_available = torch.cuda.is_available()
        device_report.cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
        device_report.threads = configure_threads()
        device_report.openmp_wait = WAIT_POLICY
        try:
            device_report.resolved = resolve_device(device)
        except MissingResourceError as exc:
            missing.append(Missing(what="device", reason=exc.message, hint=exc.hint or ""))

    return EnvReport(
        ready=not missing,
        python=platform.python_version(),
        executable=sys.executable,
        platform=platform.platform(),
        packages=package_versions(),
        spacy_model=spacy_report,
        detector=detector,
        coco_detector=coco_detector,
        towers=towers,
        device=device_report,
        offline={name: os.environ.get(name) for name in OFFLINE_VARIABLES},
        fonts_present=fonts_present(),
        missing=missing,
    )
