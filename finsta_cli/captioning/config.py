"""The caption head's settings (sizes, training, decoding): pydantic only, so ``finsta eval
--help`` reads their defaults without importing torch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DecodeMethod = Literal["greedy", "beam"]


class CaptionHeadConfig(BaseModel):
    """The caption head's architecture and training beyond ``eval``'s own options (``eval:
    caption_head:`` in a config file, ``--set caption_head.KEY=VALUE``).

    CLIP4Caption-like: a Transformer encoder over the host's per-frame features and a
    Transformer decoder over the caption's words, cross-attending to the encoded frames."""

    model_config = ConfigDict(extra="forbid")

    width: int = Field(default=256, ge=8, description="model width of the head")
    heads: int = Field(default=4, ge=1, description="attention heads (must divide width)")
    encoder_layers: int = Field(default=2, ge=0, description="Transformer layers over frames")
    decoder_layers: int = Field(default=2, ge=1, description="Transformer decoder layers")
    ff_width: int = Field(default=512, ge=8, description="feed-forward width of each layer")
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    max_length: int = Field(
        default=24, ge=2, description="words per caption, <eos> included (training and decoding)"
    )
    min_word_count: int = Field(
        default=1, ge=1, description="training-caption occurrences a word needs to enter the vocab"
    )
    batch_size: int = Field(default=64, ge=1, description="(video, caption) pairs per step")
    lr: float = Field(default=5e-4, gt=0.0, description="the head's AdamW learning rate")
    host_lr: float = Field(default=1e-5, gt=0.0, description="the host's, with train_host")
    weight_decay: float = Field(default=0.01, ge=0.0)
    label_smoothing: float = Field(default=0.1, ge=0.0, lt=1.0)
    length_penalty: float = Field(
        default=1.0,
        ge=0.0,
        description="beam: hypotheses ranked by log-prob / length**length_penalty (0: raw)",
    )
