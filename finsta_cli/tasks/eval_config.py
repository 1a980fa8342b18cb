"""Config models of ``finsta eval`` and ``finsta zeroshot`` (defaults <- ``--config`` <- ``--set``
<- options), written next to their metrics like the other stages' resolved configs."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from finsta_cli.captioning.config import CaptionHeadConfig, DecodeMethod
from finsta_cli.captioning.metrics import CaptionBackend
from finsta_cli.config import StageConfig

# Videos decoded and embedded at a time (peak memory, not results; see tasks.embedder).
VIDEO_CHUNK = 32


class HostTaskConfig(StageConfig):
    """Options of the tasks that evaluate a checkpoint's host (retrieval, videoqa, action)."""

    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"device", "threads", "cache", "video_chunk"}
    )

    split: str | None = Field(default=None, description="split to evaluate; None: the command's")
    with_graphs: bool = Field(
        default=False, description="score a fusion checkpoint's host + scene-graph embeddings"
    )
    dsg_frames: int | None = Field(
        default=None, ge=1, description="keyframes of the DSGs built on the fly (--with-graphs)"
    )
    video_chunk: int = Field(
        default=VIDEO_CHUNK, ge=1, description="videos decoded and embedded at a time"
    )
    allow_partial: bool = Field(
        default=False,
        description="load a checkpoint whose host weights fit only in part (reported)",
    )
    cache: Path | None = Field(default=None, description="frame cache folder")
    threads: int | None = Field(default=None, ge=1)
    device: str = "auto"
    seed: int = 0


class EvalConfig(HostTaskConfig):
    """Options of ``finsta eval`` (the ``eval:`` section of a config file)."""

    SECTION: ClassVar[str] = "eval"

    finetune: bool = Field(
        default=False, description="videoqa/action: train the task head on train_split first"
    )
    train_split: str = "train"
    decode: DecodeMethod = Field(
        default="beam", description="captioning --finetune: greedy or beam-search decoding"
    )
    beam: int = Field(default=3, ge=1, description="captioning --finetune: the beam's size")
    epochs: int = Field(
        default=20, ge=1, description="captioning --finetune: the caption head's passes over "
        "the training captions",
    )  # fmt: skip
    train_host: bool = Field(
        default=False,
        description="captioning --finetune: train the host with the head (default: the host "
        "frozen, its features computed once)",
    )
    caption_head: CaptionHeadConfig = Field(
        default_factory=CaptionHeadConfig,
        description="captioning --finetune: the head's sizes, training and decoding",
    )
    errors: int = Field(default=0, ge=0, description="tsg/dsg: show the N worst items")
    ignore_labels: bool = Field(
        default=False, description="dsg: match objects by their boxes alone"
    )
    caption_metrics: CaptionBackend = Field(
        default="auto",
        description="captioning: pycocoevalcap (needs Java), python, or auto (pycocoevalcap "
        "when it and Java are present)",
    )


class ZeroShotConfig(HostTaskConfig):
    """Options of ``finsta zeroshot`` (the ``zeroshot:`` section of a config file)."""

    SECTION: ClassVar[str] = "zeroshot"
