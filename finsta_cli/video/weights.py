"""Loading ultralytics YOLO detectors without running code from their files.

An ultralytics ``.pt`` checkpoint is a pickle of the model object, and ultralytics unpickles it
with ``weights_only=False`` (any code the file names runs) unless ``ULTRALYTICS_SAFE_LOAD`` is
on. finsta never hands it a file that way. :func:`load_yolo`, the one way finsta builds a YOLO:

1. reads the file's pickled globals and refuses, naming them, any that is not on finsta's
   allow-list (:func:`allowed_global`): ``ultralytics.nn.tasks.DetectionModel``, the ``nn.Module``
   layers defined in ``torch.nn.modules.*`` and ``ultralytics.nn.modules.*`` (but
   ``TorchVision``, whose constructor fetches torchvision weights), and the plain data some
   releases pickle beside the model (numpy scalars and dtypes, ultralytics' argument namespace,
   paths). No function is allowed: no ``builtins.getattr``, ``eval``, ``os.*``, ...;
2. loads it with ``torch.load(weights_only=True)`` allowing exactly those globals, so what a
   static read cannot see (objects built during unpickling) is refused too, and checks that it
   holds a ``DetectionModel``;
3. builds the YOLO with ultralytics' restricted loader forced on (``ULTRALYTICS_SAFE_LOAD``,
   which also keeps a model YAML's ``activation`` from going through ``eval``), with torch's
   allow-list held to the same globals: ultralytics adds its own (wider) entries only for names
   not already allowed, so for the file finsta checked it adds none.

What a weights_only load can still do with an allowed class: call it (REDUCE: its constructor,
with arguments from the file), create it (NEWOBJ: ``__new__``) and set its attributes (BUILD:
``__setstate__``, or the instance ``__dict__``). For the allowed layers that is library code
building a layer, never code the file chose; a callable the file stores (a hook, an attribute)
can only be one of the allowed classes or an instance of one.

An official checkpoint name (``yolov8n.pt``, ``yolo11n.pt``) that is not a local file is fetched
by ultralytics' own download into finsta's cache, only when the user allows downloads
(:func:`fetch_official_checkpoint`); the file it wrote goes through the same three steps.
"""

from __future__ import annotations

import contextlib
import importlib
import pathlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finsta_cli.errors import FinstaError, InputError, MissingResourceError

MODEL_YAML_SUFFIXES = (".yaml", ".yml")
DETECTION_MODEL = "ultralytics.nn.tasks.DetectionModel"
LAYER_PACKAGES = ("torch.nn.modules.", "ultralytics.nn.modules.")
# A layer whose constructor builds a torchvision model, fetching its weights.
REFUSED_LAYERS = frozenset({"ultralytics.nn.modules.block.TorchVision"})
REFUSAL = "the file references objects an ultralytics detection model does not hold"
REFUSAL_HINT = (
    "finsta loads ultralytics YOLO detection checkpoints (as `finsta train-detector` or "
    "ultralytics' model.save() write them) and never unpickles anything else"
)


def _numpy_scalar() -> Any:
    import numpy as np

    return np.float64(0).__reduce__()[0]  # numpy's scalar-from-bytes constructor


def _numpy_dtype() -> Any:
    import numpy as np

    return np.dtype


def _namespace() -> Any:
    from ultralytics.utils import IterableSimpleNamespace

    return IterableSimpleNamespace


def _local_path() -> Any:
    return type(pathlib.Path())


# Plain data that ultralytics releases pickle beside the model, by the name the file uses.
DATA_GLOBALS: dict[str, Callable[[], Any]] = {
    "numpy.dtype": _numpy_dtype,
    "numpy.core.multiarray.scalar": _numpy_scalar,
    "numpy._core.multiarray.scalar": _numpy_scalar,
    "ultralytics.utils.IterableSimpleNamespace": _namespace,
    **{f"pathlib.{c}": _local_path for c in ("PosixPath", "WindowsPath")},
    **{f"pathlib._local.{c}": _local_path for c in ("PosixPath", "WindowsPath")},
}


def allowed_global(name: str) -> Any | None:
    """The object a pickled global ``module.name`` stands for when finsta allows it, else None."""
    import numpy as np
    import torch

    if name in DATA_GLOBALS:
        return DATA_GLOBALS[name]()
    module_name, _, attr = name.rpartition(".")
    if module_name == "numpy.dtypes" and attr.endswith("DType"):
        found = getattr(np.dtypes, attr, None)
        return found if isinstance(found, type) and issubclass(found, np.dtype) else None
    if name in REFUSED_LAYERS or not (name == DETECTION_MODEL or name.startswith(LAYER_PACKAGES)):
        return None
    try:
        module = importlib.import_module(module_name)
    except (ImportError, ValueError):
        return None
    found = getattr(module, attr, None)
    if (
        isinstance(found, type)
        and issubclass(found, torch.nn.Module)
        and found.__module__ == module_name
        and found.__qualname__ == attr
    ):
        return found
    return None


def _require_restricted_loading() -> None:
    """Turn ultralytics' restricted loader on, or refuse when this ultralytics/torch lacks it."""
    import torch

    tasks = importlib.import_module("ultralytics.nn.tasks")  # where the loader reads the flag
    supported = hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint")
    if not supported or not hasattr(tasks, "SAFE_LOAD"):
        import ultralytics

        raise MissingResourceError(
            f"ultralytics {ultralytics.__version__} with torch {torch.__version__} cannot load a "
            "detector without unpickling arbitrary objects",
            hint="install the versions in constraints.txt (torch >= 2.6 and an ultralytics "
            "with ULTRALYTICS_SAFE_LOAD, e.g. 8.4.190)",
        )
    # ultralytics reads ULTRALYTICS_SAFE_LOAD once, at import; finsta sets it before importing
    # ultralytics (finsta_cli.offline), but a program using finsta may have imported it first.
    setattr(tasks, "SAFE_LOAD", True)  # noqa: B010 (the module is untyped here)


def _checkpoint_globals(path: Path) -> list[Any]:
    """The allowed objects for every global ``path`` pickles; refuses a file naming others."""
    import torch

    from finsta_cli.io.torchfile import RefusedFileError, only_allowed_globals, torch_error_reason

    try:
        with only_allowed_globals():  # so the scan lists every global beyond torch's defaults
            names = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception as exc:  # not a torch.save archive (or a TorchScript one), damaged
        raise InputError(
            f"{path}: not an ultralytics .pt checkpoint ({torch_error_reason(exc)})"
        ) from None
    entries: list[Any] = []
    refused: list[str] = []
    for name in names:
        found = allowed_global(name)
        if found is None:
            refused.append(name)
        else:
            entries.append((found, name))
    if refused:
        listed = ", ".join(refused[:3]) + (f" and {len(refused) - 3} more" if refused[3:] else "")
        raise RefusedFileError(
            f"{path}: refused: {REFUSAL} ({listed})", offending=refused[0], hint=REFUSAL_HINT
        )
    return entries


def check_detector_file(path: Path) -> list[Any]:
    """Refuse ``path`` unless it is an ultralytics detection checkpoint that pickles only allowed
    objects (:func:`allowed_global`); return the allow-list entries it needs. Nothing in the file
    runs: it is read with ``torch.load(weights_only=True)`` and those entries alone."""
    import torch

    from finsta_cli.io.torchfile import load_torch_file
    from finsta_cli.offline import import_ultralytics

    import_ultralytics()  # its offline settings come first; the allow-list names its classes
    if not path.is_file():
        raise MissingResourceError(
            f"{path}: detector weights not found",
            hint="train them with `finsta train-detector`, or pass --weights PATH",
        )
    entries = _checkpoint_globals(path)
    payload = load_torch_file(
        path,
        unreadable="not a readable ultralytics checkpoint",
        allowed=entries,
        refusal=REFUSAL,
        refusal_hint=REFUSAL_HINT,
    )
    model = None
    if isinstance(payload, dict):  # ultralytics builds from "ema" when a file has one
        model = payload.get("ema") if payload.get("ema") is not None else payload.get("model")
    model_class = allowed_global(DETECTION_MODEL)
    if not isinstance(model, torch.nn.Module) or model_class is None:
        raise InputError(f"{path}: not an ultralytics checkpoint (no model in it)")
    if not isinstance(model, model_class):
        raise InputError(f"{path}: a {type(model).__name__}, not an ultralytics detection model")
    return entries


def is_official_checkpoint(name: str) -> bool:
    """Whether ``name`` is a bare file name of ultralytics' release checkpoints (``yolov8n.pt``,
    ``yolo11n.pt``, ...: the COCO detectors ultralytics downloads by name)."""
    if Path(name).name != name or not name.endswith(".pt"):
        return False
    from finsta_cli.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return name in GITHUB_ASSETS_NAMES


def _download_asset(target: Path) -> None:
    """ultralytics' own download of a release checkpoint to ``target`` (its file name)."""
    from ultralytics.utils.downloads import attempt_download_asset

    with contextlib.redirect_stdout(sys.stderr):
        attempt_download_asset(target)


def fetch_official_checkpoint(name: str, allow_download: bool = False) -> Path:
    """The local copy of ultralytics' release checkpoint ``name`` (:func:`is_official_checkpoint`):
    finsta's download cache, else downloaded there by ultralytics when the user allows it
    (:func:`finsta_cli.offline.download_allowed`). The file is then loaded like any other, through
    :func:`load_yolo`'s checks. MissingResourceError (exit 4) when not allowed or offline."""
    from finsta_cli.offline import ALLOW_DOWNLOAD_HINT, download_allowed, download_dir

    target = download_dir("ultralytics") / name
    if target.is_file():
        return target
    if not download_allowed(allow_download):
        raise MissingResourceError(
            f"{name}: no such file here; it names an official ultralytics checkpoint, which "
            "finsta downloads only when allowed",
            hint=f"{ALLOW_DOWNLOAD_HINT}: ultralytics then fetches it into {target.parent}; or "
            "give --weights the path of a copy you downloaded",
        )
    from finsta_cli.offline import import_ultralytics

    import_ultralytics()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _download_asset(target)
    except Exception as exc:
        reason = str(exc).replace("❌", "").strip().splitlines()
        raise MissingResourceError(
            f"{name}: could not download the official ultralytics checkpoint "
            f"({reason[0] if reason else type(exc).__name__})",
            hint="offline? download it where there is a network and give --weights its path",
        ) from None
    if not target.is_file():
        raise MissingResourceError(f"{name}: ultralytics downloaded nothing to {target}")
    return target


def load_yolo(weights: str | Path) -> Any:
    """An ``ultralytics.YOLO`` from a detection checkpoint (``.pt``, checked by
    :func:`check_detector_file`) or a model YAML (a random model, e.g. ``yolov8n.yaml``).

    Raises MissingResourceError (exit 4) for a missing file, InputError (exit 1) for a file that
    is refused or is not a detector; the message names the file and the reason.
    """
    from finsta_cli.io.torchfile import only_allowed_globals, torch_error_reason
    from finsta_cli.offline import import_ultralytics

    ultralytics = import_ultralytics()
    _require_restricted_loading()
    path = Path(weights).expanduser()
    entries: list[Any] = []
    if path.suffix.lower() == ".pt":
        entries = check_detector_file(path)
        source = str(path)
    elif path.suffix.lower() in MODEL_YAML_SUFFIXES:
        source = str(weights)  # a bare name is one of ultralytics' packaged model YAMLs
    else:
        raise InputError(
            f"{weights}: not an ultralytics .pt checkpoint or model .yaml",
            hint="export formats (onnx, torchscript, ...) are not read: give the .pt file",
        )
    try:
        with contextlib.redirect_stdout(sys.stderr), only_allowed_globals(entries):
            return ultralytics.YOLO(source)
    except FinstaError:
        raise
    except FileNotFoundError as exc:
        raise MissingResourceError(f"{weights}: not found ({exc})") from None
    except Exception as exc:
        reason = torch_error_reason(exc).replace("ERROR ❌️", "").strip()
        if "restricted" in reason:  # ultralytics refused something a YAML or checkpoint names
            raise InputError(f"{weights}: refused: {reason}") from None
        raise InputError(f"{weights}: not an ultralytics detection model ({reason})") from None
