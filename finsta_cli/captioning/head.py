"""The caption head: a small Transformer encoder-decoder over a host's per-frame features, its
teacher-forced loss, and its weight file (``caption_head.pt``: weights, config and vocabulary).

Shapes (B videos, T frames, D the host's feature size, L caption tokens, V vocabulary size):
frames (B, T, D) float -> memory (B, T, width); tokens (B, L) int64 starting with ``<bos>`` ->
logits (B, L, V) of each next word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from finsta_cli.captioning.config import CaptionHeadConfig
from finsta_cli.captioning.vocab import BOS, PAD, CaptionVocab
from finsta_cli.errors import InputError

HEAD_KIND = "finsta-caption-head"
HEAD_VERSION = 1


class CaptionHead(nn.Module):
    """CLIP4Caption-like: ``encoder_layers`` Transformer layers over the projected frame features
    (learned frame positions), ``decoder_layers`` causal decoder layers over the words (learned
    word positions) attending to them, a linear layer to the vocabulary."""

    def __init__(
        self, feature_dim: int, num_frames: int, vocab_size: int, config: CaptionHeadConfig
    ) -> None:
        super().__init__()
        if config.width % config.heads:
            raise InputError(
                f"caption head: width {config.width} is not a multiple of heads {config.heads}"
            )
        self.feature_dim, self.num_frames, self.vocab_size = feature_dim, num_frames, vocab_size
        self.config = config
        width = config.width
        self.frame_in = nn.Sequential(nn.LayerNorm(feature_dim), nn.Linear(feature_dim, width))
        self.frame_position = nn.Embedding(num_frames, width)
        layer = {"d_model": width, "nhead": config.heads, "dim_feedforward": config.ff_width,
                 "dropout": config.dropout, "batch_first": True, "norm_first": True}  # fmt: skip
        self.encoder = (
            nn.TransformerEncoder(
                nn.TransformerEncoderLayer(**layer),  # type: ignore[arg-type]
                config.encoder_layers,
                enable_nested_tensor=False,
            )
            if config.encoder_layers
            else None
        )
        self.memory_norm = nn.LayerNorm(width)
        self.word = nn.Embedding(vocab_size, width, padding_idx=PAD)
        self.word_position = nn.Embedding(config.max_length + 1, width)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(**layer),  # type: ignore[arg-type]
            config.decoder_layers,
        )
        self.out_norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, vocab_size)

    def encode(self, frames: Tensor) -> Tensor:
        """(B, T, D) frame features -> (B, T, width) memory the decoder attends to."""
        if frames.shape[1] > self.num_frames or frames.shape[2] != self.feature_dim:
            raise InputError(
                f"caption head: frame features {tuple(frames.shape[1:])} do not fit a head "
                f"built for at most {self.num_frames} frames of {self.feature_dim} features"
            )
        positions = torch.arange(frames.shape[1], device=frames.device)
        x = self.frame_in(frames.float()) + self.frame_position(positions)
        if self.encoder is not None:
            x = self.encoder(x)
        return self.memory_norm(x)

    def next_word_logits(self, memory: Tensor, tokens: Tensor) -> Tensor:
        """(B, T, width) memory, (B, L) tokens -> (B, L, V) logits of the word after each."""
        length = tokens.shape[1]
        positions = torch.arange(length, device=tokens.device)
        x = self.word(tokens) + self.word_position(positions)
        # Boolean like the padding mask (True: may not attend): word i sees words 0..i.
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
        x = self.decoder(
            x, memory, tgt_mask=causal, tgt_is_causal=True, tgt_key_padding_mask=tokens == PAD
        )
        return self.out(self.out_norm(x))

    def forward(self, frames: Tensor, tokens: Tensor) -> Tensor:
        return self.next_word_logits(self.encode(frames), tokens)


def teacher_forcing_batch(targets: list[list[int]], device: Any = "cpu") -> tuple[Tensor, Tensor]:
    """Decoder inputs ``<bos> w1 .. wn`` and targets ``w1 .. wn <eos>``, padded with ``<pad>``:
    two (B, L) tensors (``targets`` end with ``<eos>``)."""
    length = max(len(t) for t in targets)
    inputs = torch.full((len(targets), length), PAD, dtype=torch.long)
    gold = torch.full((len(targets), length), PAD, dtype=torch.long)
    for row, ids in enumerate(targets):
        inputs[row, 0] = BOS
        inputs[row, 1 : len(ids)] = torch.tensor(ids[:-1], dtype=torch.long)
        gold[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return inputs.to(device), gold.to(device)


def caption_loss(
    head: CaptionHead, frames: Tensor, targets: list[list[int]], label_smoothing: float = 0.0
) -> Tensor:
    """Teacher-forced cross-entropy of ``targets`` (word ids ending with ``<eos>``) given
    ``frames`` (B, T, D), averaged over the words (``<pad>`` ignored)."""
    inputs, gold = teacher_forcing_batch(targets, frames.device)
    logits = head(frames, inputs)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        gold.reshape(-1),
        ignore_index=PAD,
        label_smoothing=label_smoothing,
    )


@torch.no_grad()
def sequence_log_probs(head: CaptionHead, frames: Tensor, targets: list[list[int]]) -> Tensor:
    """(B,) the head's log-probability of each target sequence (ending with ``<eos>``)."""
    inputs, gold = teacher_forcing_batch(targets, frames.device)
    logp = head(frames, inputs).log_softmax(-1)
    picked = logp.gather(-1, gold.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return picked.masked_fill(gold == PAD, 0.0).sum(-1)


def save_caption_head(path: Path, head: CaptionHead, vocab: CaptionVocab, **extra: Any) -> None:
    """``path``: the head's weights, config and vocabulary (plain tensors, strings and lists:
    decoding needs nothing else), and ``extra`` (JSON-able) as ``info``."""
    from finsta_cli.io.torchfile import save_torch_file

    payload = {
        "kind": HEAD_KIND,
        "version": HEAD_VERSION,
        "config": head.config.model_dump_json(),
        "feature_dim": head.feature_dim,
        "num_frames": head.num_frames,
        "vocab": list(vocab.words),
        "info": json.dumps(extra, sort_keys=True, default=str),
        "state": {k: v.detach().cpu() for k, v in head.state_dict().items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch_file(path, payload)


def load_caption_head(path: Path, device: str = "cpu") -> tuple[CaptionHead, CaptionVocab]:
    """The head and vocabulary :func:`save_caption_head` wrote, in eval mode on ``device``."""
    from finsta_cli.errors import MissingResourceError
    from finsta_cli.io.torchfile import load_torch_file

    if not path.is_file():
        raise MissingResourceError(f"{path}: caption head not found")
    payload = load_torch_file(path, unreadable="not a readable caption head", map_location=device)
    if not isinstance(payload, dict) or payload.get("kind") != HEAD_KIND:
        raise InputError(f"{path}: not a finsta caption head")
    version = payload.get("version")
    if not isinstance(version, int) or version > HEAD_VERSION:
        raise InputError(
            f"{path}: caption head format {version!r} is newer than this finsta reads "
            f"({HEAD_VERSION})"
        )
    vocab = CaptionVocab(payload["vocab"])
    config = CaptionHeadConfig.model_validate_json(payload["config"])
    head = CaptionHead(int(payload["feature_dim"]), int(payload["num_frames"]), len(vocab), config)
    head.load_state_dict(payload["state"])
    head.to(device)
    head.eval()
    return head, vocab
