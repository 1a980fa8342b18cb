"""The options of ``finsta align-train``: :class:`AlignTrainConfig` and its fixed choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from finsta_cli.config import StageConfig
from finsta_cli.hosts.base import HostName, TemporalMode

Objective = Literal["finsta", "host-only"]
AlignMode = Literal["distill", "fusion"]


class AlignTrainConfig(StageConfig):
    """Options of ``finsta align-train`` (see docs/align-train.md)."""

    SECTION = "align_train"
    RUNTIME_FIELDS = frozenset(
        {
            "device",
            "threads",
            "checkpoint_every",
            "log_every",
            "cache",
            "graph_cache",
            "allow_download",
        }
    )
    LATER_FIELDS = frozenset(
        {
            "text_negatives",
            "neg_weight",
            "host_pretrained",
            "allow_partial",
            "reverse_weight",
            "rank_kd_weight",
        }
    )

    host: HostName = "tiny"
    temporal: TemporalMode = "meanP"
    host_options: dict[str, Any] = Field(
        default_factory=dict, description="extra host settings, e.g. frame_size, num_frames"
    )
    host_weights: Path | None = Field(default=None, description="clip4clip: local CLIP weights")
    host_pretrained: str | None = Field(
        default=None, description="clip4clip: an open_clip pretrained tag (openai, ...)"
    )
    allow_download: bool = Field(
        default=False, description="let open_clip download host_pretrained's weights"
    )
    init: Path | None = Field(
        default=None,
        description="start from this checkpoint's host (or a plain state dict of --host)",
    )
    allow_partial: bool = Field(
        default=False, description="--init weights that fit only in part: load what fits"
    )
    objective: Objective = "finsta"
    mode: AlignMode = "distill"
    split: str = "train"
    steps: int = Field(default=300, ge=1)
    batch_size: int = Field(default=32, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    host_lr: float | None = Field(default=None, gt=0, description="default: lr")
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_steps: int = Field(default=30, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    seed: int = 0
    vtc_weight: float = Field(default=1.0, ge=0)
    osc_weight: float = Field(default=1.0, ge=0)
    ptc_weight: float = Field(default=1.0, ge=0)
    sg_weight: float = Field(default=0.5, ge=0)
    kd_weight: float = Field(default=1.0, ge=0)
    neg_weight: float = Field(default=1.0, ge=0)
    text_negatives: int = Field(
        default=0, ge=0, description="hard-negative captions per caption from its TSG; 0: off"
    )
    reverse_weight: float = Field(
        default=0.0,
        ge=0,
        description="each caption against its video played backwards (loss 'rev'); 0: off",
    )
    rank_kd_weight: float = Field(
        default=0.0,
        ge=0,
        description="the host's batch rankings pulled towards host + graphs' (loss 'kd_rank'); "
        "0: off",
    )
    osc: bool = True
    ptc: bool = True
    stgd: bool = True
    coref_edges: bool = True
    adverb_nodes: bool = True
    cross_edges: bool = True
    hops: int = Field(default=2, ge=0)
    ptc_negatives: int = Field(default=3, ge=0)
    temperature: float = Field(default=0.07, gt=0)
    hidden: int = Field(default=128, ge=8)
    graph_layers: int = Field(default=2, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    checkpoint_every: int = Field(default=50, ge=1)
    log_every: int = Field(default=10, ge=1)
    device: str = "auto"
    threads: int | None = Field(default=None, ge=1)
    cache: Path | None = Field(default=None, description="frame cache folder")
    graph_cache: Path | None = Field(
        default=None, description="folder of the set-up's graph cache (docs/align-train.md)"
    )
