"""The weight files of an align-train run: ``train_state.pt`` (what --resume reads) and the
result ``checkpoint.pt``, plus the keyframe count of the training DSGs that the result records.

Both are plain dicts of tensors, numbers and strings, so they load with ``weights_only``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli import __version__
from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.torchfile import save_torch_file

if TYPE_CHECKING:
    import torch

    from finsta_cli.align.config import AlignTrainConfig
    from finsta_cli.align.data import AlignData
    from finsta_cli.align.model import FinstaModel

TRAIN_STATE_KIND = "finsta-train-state"


def save_train_state(
    path: Path,
    model: FinstaModel,
    optimizer: torch.optim.Optimizer,
    step: int,
    config: AlignTrainConfig,
    data: AlignData,
) -> None:
    """Everything --resume needs, as plain tensors, numbers and strings (weights_only loads)."""
    import torch

    payload = {
        "kind": TRAIN_STATE_KIND,
        "version": 1,
        "step": step,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "rng": torch.get_rng_state(),
        "config_hash": config.output_hash(),
        "node_vocab": json.dumps(data.node_vocab.to_list()),
        "edge_vocab": json.dumps(data.edge_vocab.to_list()),
        "host_config": json.dumps(model.host.host_config(), sort_keys=True),
    }
    save_torch_file(path, payload)


def restore_train_state(
    path: Path, model: FinstaModel, optimizer: torch.optim.Optimizer, config: AlignTrainConfig
) -> int:
    """Load a train state into ``model``, ``optimizer`` and torch's random state; its step.

    Refused when it was written with other options (its config hash)."""
    import torch

    from finsta_cli.hosts.factory import load_checkpoint

    state = load_checkpoint(path)
    if state.get("kind") != TRAIN_STATE_KIND:
        raise InputError(f"{path}: not an align-train state file")
    if state.get("config_hash") not in config.matching_output_hashes():
        raise UsageError(
            f"{path} was written with other settings: --resume needs the same options",
            hint="start over without --resume, or use another --out",
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"])
    return int(state["step"])


def built_dsg_frames(dsg: Path | None) -> int | None:
    """The keyframe count a build-dsg folder was built with (its manifest), else None."""
    if dsg is None:
        return None
    try:
        manifest = json.loads((dsg / "manifest.json").read_text(encoding="utf-8"))
        built = manifest["config"] if manifest.get("stage") == "build-dsg" else {}
        frames = built.get("frames") if built.get("fps") is None else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return frames if isinstance(frames, int) and frames > 0 else None


def save_result(
    path: Path,
    model: FinstaModel,
    config: AlignTrainConfig,
    data: AlignData,
    dsg_frames: int | None = None,
) -> None:
    """checkpoint.pt: the host; in fusion mode also the scene-graph encoders (and the keyframe
    count of the training DSGs, so ``eval --with-graphs`` builds test DSGs alike)."""
    from finsta_cli.hosts.factory import save_host

    info: dict[str, Any] = {
        "objective": config.objective,
        "mode": config.mode,
        "steps": config.steps,
        "seed": config.seed,
        "version": __version__,
    }
    if config.mode == "fusion" and dsg_frames is not None:
        info["dsg_frames"] = dsg_frames
    extra: dict[str, Any] = {"finsta": json.dumps(info)}
    if config.mode == "fusion" and model.graphs:
        host_keys = {f"host.{k}" for k in model.host.state_dict()}
        extra["sg"] = {
            k: v.detach().cpu() for k, v in model.state_dict().items() if k not in host_keys
        }
        extra["sg_config"] = json.dumps(model.sg_config)
        extra["node_vocab"] = json.dumps(data.node_vocab.to_list())
        extra["edge_vocab"] = json.dumps(data.edge_vocab.to_list())
        extra["graph_options"] = json.dumps(
            {"adverb_nodes": config.adverb_nodes, "temporal_coref": config.coref_edges,
             "cross_edges": config.cross_edges}
        )  # fmt: skip
    save_host(path, model.host, extra)
