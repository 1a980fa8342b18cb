"""The host registry (name -> lazy factory), and saving/loading hosts as plain tensor dicts + a
JSON config, whole or (``allow_partial``) in part with a report of what did not fit."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finsta_cli.errors import InputError, MissingResourceError, UsageError
from finsta_cli.hosts.base import HOST_NAMES, HostVLM
from finsta_cli.io.finite import require_finite
from finsta_cli.io.progress import get_logger

log = get_logger("hosts")

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

    from finsta_cli.io.torchfile import save_torch_file

    payload = {
        "kind": CHECKPOINT_KIND,
        "version": CHECKPOINT_VERSION,
        "host_name": host.name,
        "host_config": json.dumps(host.host_config(), sort_keys=True),
        "host": {k: v.detach().cpu() for k, v in host.state_dict().items()},
        **(extra or {}),
    }
    save_torch_file(path, payload)


@dataclass(frozen=True)
class ShapeMismatch:
    """A tensor whose shape in the weights differs from the model's (it is never loaded)."""

    key: str
    weights: tuple[int, ...]
    model: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.key}: weights {list(self.weights)}, model {list(self.model)}"


@dataclass(frozen=True)
class WeightsReport:
    """How a state dict fit a model: the model's keys it lacks (``missing``: they keep the
    model's own values), its keys the model has no place for (``unexpected``: ignored) and its
    tensors of another shape (``mismatched``: skipped). Empty: every tensor was loaded."""

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[ShapeMismatch, ...] = ()

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, shown: int = 3) -> str:
        """One line: each kind of misfit counted, the first ``shown`` named (shapes given)."""

        def part(what: str, names: Sequence[str]) -> str:
            more = f", ... {len(names) - shown} more" if len(names) > shown else ""
            noun = "tensor" if len(names) == 1 else "tensors"
            return f"{what} {len(names)} {noun}: " + ", ".join(names[:shown]) + more

        parts = []
        if self.mismatched:
            parts.append(part("size mismatch of", [m.describe() for m in self.mismatched]))
        if self.missing:
            parts.append(part("missing", list(self.missing)))
        if self.unexpected:
            parts.append(part("unexpected", list(self.unexpected)))
        return "; ".join(parts) or "every tensor fits"

    def to_json(self, shown: int = 10) -> dict[str, Any]:
        """Counts, and the first ``shown`` names of each kind (metrics.json, the manifest)."""
        return {
            "complete": self.complete,
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "mismatched": len(self.mismatched),
            "missing_keys": list(self.missing[:shown]),
            "unexpected_keys": list(self.unexpected[:shown]),
            "mismatched_shapes": [
                {"key": m.key, "weights": list(m.weights), "model": list(m.model)}
                for m in self.mismatched[:shown]
            ],
        }


def compare_state_dict(model_state: Mapping[str, Any], weights: Mapping[str, Any]) -> WeightsReport:
    """What of ``weights`` fits ``model_state`` (both state dicts), key by key."""
    missing = tuple(k for k in model_state if k not in weights)
    unexpected = tuple(k for k in weights if k not in model_state)
    mismatched = tuple(
        ShapeMismatch(key, tuple(weights[key].shape), tuple(model_state[key].shape))
        for key in model_state
        if key in weights
        and hasattr(weights[key], "shape")
        and hasattr(model_state[key], "shape")
        and tuple(weights[key].shape) != tuple(model_state[key].shape)
    )
    return WeightsReport(missing, unexpected, mismatched)


def load_weights(
    module: Any,
    weights: Mapping[str, Any],
    source: Path,
    *,
    what: str,
    target: str,
    allow_partial: bool = False,
) -> WeightsReport:
    """Load ``weights`` into ``module`` (a torch module) and say what did not fit.

    Weights that fit only in part are refused (:class:`InputError` naming ``source``, the
    missing and unexpected keys and the tensors of another shape) unless ``allow_partial``:
    then the tensors that fit are loaded, the others skipped, and a warning gives the same
    report. ``what`` and ``target`` name the weights and the module in messages ("host
    weights do not fit the tiny architecture")."""
    report = compare_state_dict(module.state_dict(), weights)
    if not report.complete and not allow_partial:
        raise InputError(
            f"{source}: {what} do not fit {target} ({report.describe()})",
            hint="--allow-partial loads the tensors that fit, skips the rest and records "
            "them in the outputs; else use a checkpoint of this architecture",
        )
    if not report.complete:
        log.warning("%s: %s fit %s only in part: %s", source, what, target, report.describe())
    skipped = {m.key for m in report.mismatched}
    module.load_state_dict({k: v for k, v in weights.items() if k not in skipped}, strict=False)
    return report


def restore_host(
    payload: dict[str, Any], source: Path, *, allow_partial: bool = False
) -> tuple[HostVLM, WeightsReport]:
    """Rebuild the host stored in a checkpoint payload and load its weights (see
    :func:`load_weights` for ``allow_partial``); the host and how its weights fit."""
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
    name = str(payload["host_name"])
    host = build_host(name, config)
    report = load_weights(
        host, payload["host"], source, what="host weights", target=f"the {name} architecture",
        allow_partial=allow_partial,
    )  # fmt: skip
    return host, report


def host_from_payload(payload: dict[str, Any], source: Path) -> HostVLM:
    """Rebuild the host stored in a checkpoint payload and load its weights (all must fit)."""
    return restore_host(payload, source)[0]


def load_host_reporting(
    path: Path, device: str = "cpu", *, allow_partial: bool = False
) -> tuple[HostVLM, WeightsReport]:
    """:func:`load_host`, with ``allow_partial`` (:func:`load_weights`) and the report."""
    host, report = restore_host(load_checkpoint(path), path, allow_partial=allow_partial)
    host.to(device)
    host.eval()
    return host, report


def load_host(path: Path, device: str = "cpu") -> HostVLM:
    """The host of a finsta checkpoint (``align-train`` output), on ``device``, in eval mode."""
    return load_host_reporting(path, device)[0]
