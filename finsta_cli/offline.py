"""Offline by construction: settings that keep ultralytics from reaching the network.

ultralytics checks for updates, downloads a font for its plots and may pip-install missing
packages at run time. :func:`ensure_offline_env` runs before ultralytics is ever imported (the CLI
calls it first thing, and :func:`import_ultralytics` is the one way finsta imports it): it sets
``YOLO_OFFLINE=1`` and ``YOLO_AUTOINSTALL=0`` and points ``YOLO_CONFIG_DIR`` at a folder that
already holds the font, each only where the user has not set it. It also sets
``ULTRALYTICS_SAFE_LOAD=1`` whatever the user set: ultralytics then never unpickles a model file
with ``weights_only=False`` (see :mod:`finsta_cli.video.weights`).

Downloads happen only where the user allows them (:func:`download_allowed`: a command's
``--allow-download`` flag, or ``FINSTA_ALLOW_DOWNLOAD=1``), and then only through the library's
own download of its official files (ultralytics' release checkpoints, open_clip's pretrained
tags), into finsta's cache (:func:`download_dir`); a downloaded file is checked as a local one is.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

from finsta_cli.errors import MissingResourceError

OFFLINE_VARIABLES = ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR")
# Set to 1 (or true, yes, on) to let finsta fetch official weights, as --allow-download does.
ALLOW_DOWNLOAD_ENV = "FINSTA_ALLOW_DOWNLOAD"
ALLOW_DOWNLOAD_HINT = f"pass --allow-download (or set {ALLOW_DOWNLOAD_ENV}=1)"
# ultralytics looks for these in $YOLO_CONFIG_DIR/Ultralytics and downloads them when absent.
FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def cache_dir() -> Path:
    """finsta's cache folder: ``$FINSTA_CACHE_DIR``, else ``$XDG_CACHE_HOME/finsta``."""
    override = os.environ.get("FINSTA_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "finsta"


def download_allowed(flag: bool = False) -> bool:
    """Whether official weights may be downloaded: ``flag`` (``--allow-download``) or
    ``$FINSTA_ALLOW_DOWNLOAD`` set to 1, true, yes or on."""
    value = os.environ.get(ALLOW_DOWNLOAD_ENV, "").strip().lower()
    return flag or value in ("1", "true", "yes", "on")


def download_dir(library: str) -> Path:
    """Where a library's downloaded weights are kept: ``<cache>/downloads/<library>``."""
    return cache_dir() / "downloads" / library


def _matplotlib_font() -> Path | None:
    # Located without importing matplotlib (slow); ultralytics depends on matplotlib.
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    font = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return font if font.is_file() else None


def provision_fonts(config_dir: Path) -> bool:
    """Copy a font into ``config_dir/Ultralytics`` under the names ultralytics wants.

    Returns whether every font is present afterwards.
    """
    target = config_dir / "Ultralytics"
    missing = [name for name in FONT_NAMES if not (target / name).is_file()]
    if not missing:
        return True
    source = _matplotlib_font()
    if source is None:
        return False
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in missing:
            tmp = target / f".{name}.tmp{os.getpid()}"
            shutil.copyfile(source, tmp)
            os.replace(tmp, target / name)
    except OSError:
        return False
    return True


def ensure_offline_env() -> dict[str, str]:
    """Set the offline variables that the user has not set (and ULTRALYTICS_SAFE_LOAD=1 always);
    return the offline values in force."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"  # not the user's choice: no code from model files
    if "YOLO_CONFIG_DIR" not in os.environ:
        config_dir = cache_dir() / "ultralytics"
        provision_fonts(config_dir)
        os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    return {name: os.environ[name] for name in OFFLINE_VARIABLES}


def fonts_present() -> bool:
    """Whether the fonts ultralytics wants are in the config dir in force."""
    config_dir = os.environ.get("YOLO_CONFIG_DIR")
    if not config_dir:
        return False
    target = Path(config_dir).expanduser() / "Ultralytics"
    return all((target / name).is_file() for name in FONT_NAMES)


def import_ultralytics() -> ModuleType:
    """Import ultralytics after :func:`ensure_offline_env`; a clear error when not installed."""
    ensure_offline_env()
    try:
        # ultralytics binds its log handler to sys.stdout at import and prints a settings notice
        # there on first use; stdout belongs to machine-readable output, so both go to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            import ultralytics
    except ImportError as exc:
        raise MissingResourceError(
            f"ultralytics cannot be imported ({exc})",
            hint='pip install "ultralytics-opencv-headless>=8.3"',
        ) from None
    return ultralytics
