"""CLIP / CLIP4Clip weights files for the clip4clip host: read safely, key names normalised.

A weights file (:func:`read_weights_file`) is a state dict written by ``torch.save`` (read with
:func:`finsta_cli.io.torchfile.load_torch_file`: plain tensors only) or a ``.safetensors`` file,
with OpenAI-CLIP / open_clip key names (``visual.conv1.weight``, ``token_embedding.weight``, ...),
possibly nested under ``state_dict`` / ``model`` / ``module`` / ``host`` and prefixed with
``module.`` and/or ``clip.``. CLIP4Clip checkpoints map as follows (:func:`split_state_dict`):

- ``clip.<key>`` -> ``clip.<key>`` (the open_clip model; the host's own state dict uses the same
  prefix)
- ``frame_position_embeddings.weight`` -> ``temporal.position_embeddings.weight``
- ``transformerClip.resblocks.<i>.<...>`` -> ``temporal.transformer.resblocks.<i>.<...>``
- ``cross.*``, ``similarity_dense.*``, ``lstm_visual.*`` (CLIP4Clip heads finsta does not use)
  are skipped with a log line.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.io.finite import require_finite
from finsta_cli.io.torchfile import load_torch_file

# CLIP4Clip's own checkpoints carry these heads; finsta's host has no use for them.
IGNORED_PREFIXES = ("cross.", "similarity_dense.", "lstm_visual.", "loss_fct.")
# OpenAI's state dicts carry these scalars next to the weights.
OPENAI_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")
NESTING_KEYS = ("state_dict", "model", "module", "host")
STRIPPED_PREFIXES = ("module.", "clip.")
CLIP4CLIP_RENAMES = (
    ("frame_position_embeddings.", "temporal.position_embeddings."),
    ("transformerClip.", "temporal.transformer."),
)


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:
        raise MissingResourceError(
            f"{path}: reading .safetensors weights needs the safetensors package",
            hint="pip install safetensors",
        ) from None
    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({str(exc)[:200]})") from None


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(name.endswith("/constants.pkl") for name in names) and any(
        "/code/" in name for name in names
    )


def _unwrap_state_dict(payload: Any, path: Path) -> dict[str, Tensor]:
    for _ in range(len(NESTING_KEYS) + 1):
        if not isinstance(payload, Mapping):
            raise InputError(
                f"{path}: not a state dict of tensors (found a {type(payload).__name__})"
            )
        if any(isinstance(value, Tensor) for value in payload.values()):
            return {str(k): v for k, v in payload.items() if isinstance(v, Tensor)}
        nested = next(
            (payload[k] for k in NESTING_KEYS if isinstance(payload.get(k), Mapping)), None
        )
        if nested is None:
            break
        payload = nested
    keys = ", ".join(map(str, list(payload)[:5])) if isinstance(payload, Mapping) else ""
    raise InputError(
        f"{path}: no tensors found (top-level keys: {keys or 'none'})",
        hint="expected a CLIP / CLIP4Clip state dict, possibly under 'state_dict' or 'model'",
    )


def read_weights_file(path: Path) -> dict[str, Tensor]:
    """The tensors of a local weights file (torch.save state dict or safetensors), on the CPU.

    Never executes code from the file: ``torch.load(weights_only=True)``; a file that needs
    arbitrary unpickling (a pickled model object, argparse.Namespace, ...) or a TorchScript
    archive is refused with an InputError that says how to re-save plain tensors. Weights
    with a NaN or infinite value are refused too, naming the tensor.
    """
    state = _read_weights(path)
    require_finite(state, str(path), what="refused: the weights are not finite: tensor")
    return state


def _read_weights(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise MissingResourceError(
            f"{path}: clip4clip weights file not found",
            hint="give a local CLIP or CLIP4Clip checkpoint (nothing is downloaded), or leave "
            "the weights out for a randomly initialised host",
        )
    with path.open("rb") as handle:
        head = handle.read(16)
    if path.suffix == ".safetensors" or (head[:2] != b"PK" and head[8:9] == b"{"):
        return _read_safetensors(path)
    if head[:2] == b"PK" and _is_torchscript(path):
        raise InputError(
            f"{path}: refused: a TorchScript archive (as OpenAI's CLIP .pt files are); "
            "finsta reads plain state dicts only",
            hint='if you trust the file, convert it once: python -c "import torch; '
            f"torch.save(torch.jit.load('{path}', map_location='cpu').state_dict(), "
            f"'{path.with_suffix('.state.pt')}')\"",
        )
    payload = load_torch_file(path, unreadable="not a readable weights file")
    return _unwrap_state_dict(payload, path)


def split_state_dict(
    state: Mapping[str, Tensor],
) -> tuple[dict[str, Tensor], dict[str, Tensor], list[str]]:
    """Normalise checkpoint keys: (CLIP keys, temporal-module keys, skipped keys).

    CLIP keys lose any ``module.`` / ``clip.`` prefixes (``visual.conv1.weight``, ...); temporal
    keys are relative to the temporal module (``position_embeddings.weight``,
    ``transformer.resblocks.0...``) whether they were written by finsta (``temporal.*``) or by
    CLIP4Clip (``frame_position_embeddings.*``, ``transformerClip.*``). OpenAI's scalar entries
    are dropped; CLIP4Clip heads finsta does not use are returned as skipped.
    """
    clip: dict[str, Tensor] = {}
    temporal: dict[str, Tensor] = {}
    skipped: list[str] = []
    for key, value in state.items():
        name = key
        while name.startswith(STRIPPED_PREFIXES):
            name = name.split(".", 1)[1]
        if name in OPENAI_EXTRA_KEYS:
            continue
        for old, new in CLIP4CLIP_RENAMES:
            if name.startswith(old):
                name = new + name[len(old) :]
        if name.startswith("temporal."):
            temporal[name[len("temporal.") :]] = value
        elif name.startswith(IGNORED_PREFIXES):
            skipped.append(key)
        else:
            clip[name] = value
    return clip, temporal, skipped


def check_fit(
    given: Mapping[str, Tensor], expected: Mapping[str, Tensor], source: str, what: str
) -> None:
    """InputError naming the first unexpected, missing or wrongly shaped keys."""
    unexpected = [k for k in given if k not in expected]
    missing = [k for k in expected if k not in given]
    wrong = [k for k in given if k in expected and given[k].shape != expected[k].shape]
    hint = "the file may hold another architecture: set the host's 'arch' to match it"
    if wrong:
        detail = ", ".join(
            f"{k} {tuple(given[k].shape)} vs {tuple(expected[k].shape)}" for k in wrong[:3]
        )
        raise InputError(
            f"{source}: {len(wrong)} tensor(s) do not fit {what} (file vs model): {detail}",
            hint=hint,
        )
    if unexpected:
        raise InputError(
            f"{source}: {len(unexpected)} tensor(s) that {what} does not have: "
            + ", ".join(unexpected[:3]),
            hint=hint,
        )
    if missing:
        raise InputError(
            f"{source}: {len(missing)} tensor(s) of {what} missing from the file: "
            + ", ".join(missing[:3]),
            hint=hint,
        )
