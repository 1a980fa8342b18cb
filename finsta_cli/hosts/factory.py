"""The host registry (name -> lazy factory), and saving/loading hosts as plain tensor dicts + a
JSON config."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from finsta_cli.errors import InputError, MissingResourceError, UsageError
from finsta_cli.hosts.base import HOST_NAMES, HostVLM
from finsta_cli.io.finite import require_finite

CHECKPOINT_KIND = "finsta-checkpoint"
CHECKPOINT_VERSION = 1


# A factory gets the host config, the training captions and whether it may download weights.
HostFactory = Callable[[dict[str, Any], Sequence[str] | None, bool], HostVLM]


def _tiny(config: dict[str, Any], texts: Sequence[str] | None, allow_download: bool) -> HostVLM:
    from finsta_cli.hosts.tiny import TinyHost

    return TinyHost.from_config(config, texts=texts)


def _clip4clip(
    config: dict[str, Any], texts: Sequence[str] | None, allow_download: bool
) -> HostVLM:
    from finsta_cli.hosts.clip4clip import build_clip4clip

    return build_clip4clip(config, allow_download=allow_download)


def _lite(config: dict[str, Any], texts: Sequence[str] | None, allow_download: bool) -> HostVLM:
    from finsta_cli.hosts.lite import build_lite

    return build_lite(config)


# Every host by name. Its keys are ``HostName``'s values (a test checks): the config field
# ``host`` has that type, and ``--host`` offers its values. Each factory imports its heavy
# packages inside.
HOSTS: dict[str, HostFactory] = {"tiny": _tiny, "clip4clip": _clip4clip, "lite": _lite}


def build_host(
    name: str,
    config: dict[str, Any] | None = None,
    *,
    texts: Sequence[str] | None = None,
    allow_download: bool = False,
) -> HostVLM:
    """A fresh host of the named family. ``texts`` (training captions) build the ``tiny`` host's
    vocabulary when ``config`` carries none; ``clip4clip`` reads ``config["weights"]``, or
    ``config["pretrained"]`` (downloaded when ``allow_download`` or ``FINSTA_ALLOW_DOWNLOAD=1``);
    ``lite`` finds its pretrained towers in their installed packages."""
    factory = HOSTS.get(name)
    if factory is None:
        raise UsageError(f"unknown host {name!r}", hint="choose one of " + ", ".join(HOST_NAMES))
    return factory(dict(config or {}), texts, allow_download)


def load_checkpoint(path: Path, map_location: str = "cpu") -> dict[str, Any]:
    """Read a finsta checkpoint (a plain dict of tensors, numbers and strings) safely.

    ``weights_only=True``: a file that needs arbitrary unpickling is refused, never executed.
    A file with a NaN or infinite value in any tensor (a run that diverged) is refused too,
    naming the tensor: its figures would be meaningless.
    """
    from finsta_cli.io.torchfile import load_torch_file

    if not path.is_file():
        raise MissingResourceError(f"{path}: checkpoint not found")
    payload = load_torch_file(
        path,
        unreadable="not a readable checkpoint",
        map_location=map_location,
        refusal_hint="finsta checkpoints are dicts of tensors; re-save the weights with "
        "torch.save(model.state_dict(), path)",
    )
    if not isinstance(payload, dict):
        raise InputError(f"{path}: not a finsta checkpoint (a {type(payload).__name__})")
    require_finite(
        payload, str(path), what="refused: the weights are not finite: tensor",
        hint="the run that wrote it diverged or read non-finite inputs; use an earlier "
        "checkpoint, or train again",
    )  # fmt: skip
    return payload


def save_host(path: Path, host: HostVLM, extra: dict[str, Any] | None = None) -> None:
    """Write ``host`` (state + JSON config) atomically, with ``extra`` entries beside it."""
    import torch

    from finsta_cli.io.atomic import atomic_open

    payload = {
        "kind": CHECKPOINT_KIND,
        "version": CHECKPOINT_VERSION,
        "host_name": host.name,
        "host_config": json.dumps(host.host_config(), sort_keys=True),
        "host": {k: v.detach().cpu() for k, v in host.state_dict().items()},
        **(extra or {}),
    }
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)


def host_from_payload(payload: dict[str, Any], source: Path) -> HostVLM:
    """Rebuild the host stored in a checkpoint payload and load its weights."""
    if payload.get("kind") != CHECKPOINT_KIND or "host" not in payload:
        raise InputError(f"{source}: not a finsta checkpoint (no host weights)")
    version = payload.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise InputError(
            f"{source}: checkpoint format {version!r} is newer than this finsta reads "
            f"({CHECKPOINT_VERSION})",
            hint="upgrade finsta",
        )
    config = json.loads(str(payload["host_config"]))
    # A checkpoint carries the full weights: never look for (or download) the original again.
    config.pop("weights", None)
    config.pop("pretrained", None)
    host = build_host(str(payload["host_name"]), config)
    try:
        missing, unexpected = host.load_state_dict(payload["host"], strict=False)
    except RuntimeError as exc:  # tensors of other shapes: another architecture
        lines = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
        raise InputError(
            f"{source}: host weights do not fit the {payload['host_name']} architecture "
            f"({(lines or [str(exc)])[0][:200]})",
            hint="the checkpoint was written by another finsta version or host configuration",
        ) from None
    if missing or unexpected:
        raise InputError(
            f"{source}: host weights do not fit the {payload['host_name']} architecture "
            f"(missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]})"
        )
    return host


def load_host(path: Path, device: str = "cpu") -> HostVLM:
    """The host of a finsta checkpoint (``align-train`` output), on ``device``, in eval mode."""
    host = host_from_payload(load_checkpoint(path), path)
    host.to(device)
    host.eval()
    return host
