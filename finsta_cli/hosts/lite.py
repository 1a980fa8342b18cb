"""The ``lite`` host: real pretrained towers (EfficientNet-Lite0 on ImageNet, all-MiniLM-L6-v2),
frozen, with small trainable heads: projections to a joint space and CLIP4Clip's temporal
variants (``meanP``, ``seqTransf``).

Architecture (defaults: S = 160 px frames, T = 8, D = E = 256; C = 1280 with ``image_layer:
head``, 320 with ``block``; g = S / 32):

- frames -> EfficientNet-Lite0 (frozen, eval mode; :mod:`finsta_cli.hosts.efficientnet`) ->
  a C x g x g map per frame (5 x 5 at 160 px). Its cells are the patches; their mean is the frame
  (the pooled vector EfficientNet's classifier reads). One linear map W (C -> D) projects both,
  so the patch-level losses (OSC, PTC pool patches inside DSG boxes) train the same projection
  the video embedding uses: ``patch`` = LayerNorm(W cell + patch position), ``frame`` =
  LayerNorm(W pooled + M (pooled_t - pooled_{t-1})). The second term (``motion``, on by
  default; zero for the first frame) shows what changed between sampled frames: it costs one
  linear map over features the tower has already computed, where motion from pixels would need
  a trainable network over every frame at every step. With ``motion_source: attended`` M reads
  :func:`attended_change` instead of the pooled difference: the frame's cells weighted by how
  much each changed, i.e. what the object that moved looks like;
- ``meanP``: the video embedding is the projected mean of the frame features (blind to order);
  ``seqTransf``: frame features plus time-position embeddings go through a Transformer encoder,
  added back to the frame features (CLIP4Clip's residual), then averaged and projected;
- texts -> MiniLM (:mod:`finsta_cli.hosts.minilm`; frozen, except its top
  ``text_train_layers`` layers, trained copies of the pretrained ones) -> token features (384)
  with character offsets -> ``token`` = Wt h (384 -> D); the text ``embedding`` is the projected
  mean of the tokens over the mask (MiniLM's own sentence pooling), so Wt too is shared by the
  span-level losses and retrieval.

The towers are not submodules: ``state_dict``, ``parameters`` and checkpoints hold only the
trainable part (a few MB); the towers come from the installed packages every time the host is
built (:mod:`finsta_cli.hosts.pretrained`), and ``.to(device)`` moves them along.

The frozen towers' outputs are memoised (:mod:`finsta_cli.hosts.feature_cache`): per clip (its
T frames together, keyed by their bytes) and per text, each computed on its own (texts of the
same token count in one batch, without padding), so that an output never depends on what else
was in the batch or in the cache. Image features are stored as float16 whether cached or not,
so a cached and a fresh encoding are the same numbers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import Tensor, nn

from finsta_cli.errors import ConfigError, UsageError
from finsta_cli.hosts.base import TextFeatures, VideoFeatures, parse_host_config
from finsta_cli.hosts.efficientnet import (
    BLOCK_CHANNELS,
    HEAD_CHANNELS,
    STRIDE,
    EfficientNetLite,
    preprocess,
)
from finsta_cli.hosts.feature_cache import content_key, feature_cache
from finsta_cli.hosts.minilm import MAX_POSITIONS, MiniLM, MiniLMTokenizer, mean_pool

HOST_NAME = "lite"
# Bumped when the towers' computation changes, so that cached outputs of the old code are unused.
TOWER_CODE_VERSION = "1"
MAX_FRAMES = 64


class LiteConfig(BaseModel):
    """The ``lite`` host's config (what :meth:`LiteHost.host_config` returns)."""

    model_config = ConfigDict(extra="forbid")

    temporal: Literal["meanP", "seqTransf"] = "meanP"
    num_frames: int = Field(8, ge=1, le=MAX_FRAMES)
    frame_size: int = Field(160, ge=32)
    image_layer: Literal["head", "block"] = "head"
    motion: bool = True
    motion_source: Literal["pooled", "attended"] = "pooled"
    feature_dim: int = Field(256, ge=8)
    embed_dim: int = Field(256, ge=8)
    temporal_layers: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    text_train_layers: int = Field(0, ge=0)
    max_tokens: int = Field(256, ge=3, le=MAX_POSITIONS)

    @field_validator("frame_size")
    @classmethod
    def _multiple_of_stride(cls, value: int) -> int:
        if value % STRIDE:
            raise ValueError(f"must be a multiple of {STRIDE}")
        return value


def parse_config(config: Mapping[str, Any]) -> LiteConfig:
    """Validate a host config dict; unknown keys name the nearest valid one."""
    return parse_host_config(LiteConfig, config, "lite")


@lru_cache(maxsize=8)
def _file_identity(path: str, size: int, mtime_ns: int) -> str:
    from finsta_cli.io.hashing import hash_file

    return hash_file(path)[:24]


def tower_identity(*paths: Path) -> str:
    """A short hash of the towers' files (by content; memoised by path, size and time)."""
    parts = []
    for path in paths:
        stat = path.stat()
        parts.append(_file_identity(str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return content_key(TOWER_CODE_VERSION, *parts)[:24]


def attended_change(cells: Tensor, log_sharpness: Tensor) -> Tensor:
    """What is where the map changed (``motion_source: attended``): for each frame after the
    first, its cells averaged with softmax weights on how much each changed since the previous
    frame (the change's L2 norm over its mean across the frame, times exp(``log_sharpness``)).
    (B, T, P, C) -> (B, T - 1, C). An object that moves or appears changes its cells, so the
    weights pick it out and the average is what it looks like: "the red cube moves, then the
    blue ball" becomes a sequence of appearances, where the pooled difference is mostly the
    background's (the mean of a grid barely changes when one object moves)."""
    change = (cells[:, 1:] - cells[:, :-1]).norm(dim=-1)  # (B, T-1, P)
    change = change / (change.mean(dim=2, keepdim=True) + 1e-6)
    weights = torch.softmax(change * log_sharpness.exp(), dim=2)
    return (weights.unsqueeze(-1) * cells[:, 1:]).sum(dim=2)


def _encoder(dim: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class LiteHost(nn.Module):
    """Frozen EfficientNet-Lite0 and MiniLM towers with trainable heads (module docstring).
    Implements :class:`~finsta_cli.hosts.base.HostVLM`.

    Shapes: frames (B, T, S, S, 3) uint8 -> ``frame`` (B, T, D), ``patch`` (B, T, g*g, D),
    ``embedding`` (B, E); texts -> ``token`` (B, L, D), ``mask`` (B, L), ``offsets`` (B, L, 2),
    ``embedding`` (B, E); L <= ``max_tokens`` (the batch's longest text).
    """

    name = HOST_NAME
    image_tower: EfficientNetLite
    text_tower: MiniLM

    def __init__(
        self,
        config: LiteConfig | Mapping[str, Any] | None = None,
        *,
        towers: tuple[EfficientNetLite, MiniLM, Path, str] | None = None,
    ) -> None:
        super().__init__()
        cfg = config if isinstance(config, LiteConfig) else parse_config(config or {})
        image, text, tokenizer_file, identity = towers or load_towers()
        if cfg.text_train_layers > len(text.layers):
            raise ConfigError(
                f"lite host: text_train_layers {cfg.text_train_layers} exceeds MiniLM's "
                f"{len(text.layers)} layers"
            )
        self._config = cfg
        self.temporal_mode: str = cfg.temporal
        self.num_frames = cfg.num_frames
        self.frame_size = cfg.frame_size
        d, e = cfg.feature_dim, cfg.embed_dim
        self.feature_dim, self.embed_dim = d, e
        grid = cfg.frame_size // STRIDE
        self.patch_grid: tuple[int, int] = (grid, grid)
        channels = HEAD_CHANNELS if cfg.image_layer == "head" else BLOCK_CHANNELS
        # Frozen towers, kept out of the module tree (no state_dict entries, no parameters()).
        object.__setattr__(self, "image_tower", image)
        object.__setattr__(self, "text_tower", text)
        self.tokenizer = MiniLMTokenizer(tokenizer_file, cfg.max_tokens)
        self.tower_id = identity
        self.frozen_text_layers = len(text.layers) - cfg.text_train_layers
        # Trainable: video side.
        self.input_dropout = nn.Dropout(cfg.dropout)
        self.patch_projection = nn.Linear(channels, d)
        self.motion_projection = nn.Linear(channels, d, bias=False) if cfg.motion else None
        if cfg.motion and cfg.motion_source == "attended":
            # Log of the softmax's sharpness over relative cell changes (starts at 2e, about 5).
            self.motion_sharpness = nn.Parameter(torch.tensor(1.0 + math.log(2.0)))
        self.patch_position = nn.Parameter(torch.zeros(1, grid * grid, d))
        self.patch_norm = nn.LayerNorm(d)
        self.frame_norm = nn.LayerNorm(d)
        self.time_position = nn.Parameter(torch.zeros(1, MAX_FRAMES, d))
        self.temporal_encoder = (
            _encoder(d, cfg.heads, cfg.temporal_layers, cfg.dropout)
            if cfg.temporal == "seqTransf"
            else None
        )
        self.video_projection = nn.Linear(d, e)
        # Trainable: text side (the top MiniLM layers start as the pretrained ones).
        self.text_layers = nn.ModuleList(
            copy.deepcopy(layer).requires_grad_(True)
            for layer in list(text.layers)[self.frozen_text_layers :]
        )
        self.token_projection = nn.Linear(text.hidden, d)
        self.text_projection = nn.Linear(d, e)
        self.logit_scale = nn.Parameter(torch.tensor(1 / 0.07).log())
        nn.init.normal_(self.patch_position, std=0.02)
        nn.init.normal_(self.time_position, std=0.02)

    # -- HostVLM -------------------------------------------------------------------------------

    def host_config(self) -> dict[str, Any]:
        return self._config.model_dump(mode="json")

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The heads, the trained MiniLM layers and the temperature (never the frozen towers,
        which are not parameters of this module)."""
        return [p for p in self.parameters() if p.requires_grad]

    def encode_video(self, frames: Tensor) -> VideoFeatures:
        if frames.dim() != 5 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
            raise ValueError(
                f"encode_video expects (B, T, H, W, 3) uint8 frames, got {tuple(frames.shape)} "
                f"{frames.dtype}"
            )
        t = int(frames.shape[1])
        if t > MAX_FRAMES:
            raise UsageError(f"lite host: at most {MAX_FRAMES} frames per video, got {t}")
        device = self.logit_scale.device
        maps = torch.stack([self._clip_features(clip) for clip in frames]).to(device)
        cells = maps.flatten(3).transpose(2, 3).float()  # (B, T, P, C)
        pooled = cells.mean(dim=2)  # (B, T, C)
        # No dropout on the cells: drawing a mask over (B, T, P, C) inputs cost more than the
        # projection itself (measured: 60 % of a warm training step at C = 1280).
        patch = self.patch_norm(self.patch_projection(cells) + self.patch_position)
        frame = self.patch_projection(self.input_dropout(pooled))
        if self.motion_projection is not None:
            if self._config.motion_source == "attended":
                step = attended_change(cells, self.motion_sharpness)
            else:
                step = pooled[:, 1:] - pooled[:, :-1]
            change = torch.cat([torch.zeros_like(pooled[:, :1]), step], 1)
            frame = frame + self.motion_projection(self.input_dropout(change))
        frame = self.frame_norm(frame)
        if self.temporal_encoder is not None:
            frame = frame + self.temporal_encoder(frame + self.time_position[:, :t])
        embedding = self.video_projection(frame.mean(dim=1))
        return VideoFeatures(
            frame=frame, embedding=embedding, patch=patch, patch_grid=self.patch_grid
        )

    def encode_text(self, texts: Sequence[str]) -> TextFeatures:
        texts = list(texts)
        if not texts:
            raise ValueError("encode_text needs at least one text")
        device = self.logit_scale.device
        ids, mask, offsets = self.tokenizer(texts)
        hidden = torch.zeros((len(texts), ids.shape[1], self.text_tower.hidden), device=device)
        lengths = mask.sum(dim=1).tolist()
        for i, states in enumerate(self._frozen_text(ids, lengths)):
            hidden[i, : lengths[i]] = states.to(device)
        mask = mask.to(device)
        for layer in self.text_layers:
            hidden = layer(hidden, mask)
        token = self.token_projection(self.input_dropout(hidden))
        embedding = self.text_projection(mean_pool(token, mask))
        return TextFeatures(token=token, mask=mask, offsets=offsets.to(device), embedding=embedding)

    # -- towers --------------------------------------------------------------------------------

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> LiteHost:
        # ``.to(device)`` / ``.half()`` reach the towers too, though they are not submodules.
        super()._apply(fn, recurse)
        self.image_tower._apply(fn)
        self.text_tower._apply(fn)
        return self

    def _clip_features(self, clip: Tensor) -> Tensor:
        """One video's (T, S, S, 3) uint8 frames -> (T, C, g, g) float16 tower features."""
        layer = self._config.image_layer
        key = content_key("lite-image", self.tower_id, layer, str(self.frame_size), clip)
        cache = feature_cache()
        cached = cache.get(key, disk=True)
        if cached is not None:
            return cached
        tower_device = next(self.image_tower.parameters()).device
        x = clip.to(tower_device).permute(0, 3, 1, 2)
        if x.shape[-1] != self.frame_size or x.shape[-2] != self.frame_size:
            x = nn.functional.interpolate(
                x.float(), size=(self.frame_size, self.frame_size), mode="bilinear",
                antialias=True, align_corners=False,
            ).round().clamp(0, 255)  # fmt: skip
        with torch.no_grad(), torch.autocast(tower_device.type, enabled=False):
            features = self.image_tower.blocks(preprocess(x))
            if layer == "head":
                features = self.image_tower.head(features)
        value = features.clamp(-65504, 65504).to("cpu", torch.float16)
        cache.put(key, value, disk=True)
        return value

    def _frozen_text(self, ids: Tensor, lengths: list[int]) -> list[Tensor]:
        """Each text's hidden states (L_i, 384) after MiniLM's frozen layers: cached, else
        computed with the other texts of the same length (no padding, so no batch effects)."""
        cache = feature_cache()
        depth = str(self.frozen_text_layers)
        rows = [ids[i, :n] for i, n in enumerate(lengths)]
        keys = [content_key("lite-text", self.tower_id, depth, row) for row in rows]
        found: dict[str, Tensor] = {}
        missing: dict[int, dict[str, Tensor]] = {}  # token count -> key -> ids
        for key, row in zip(keys, rows, strict=True):
            if key in found or key in missing.get(len(row), {}):
                continue
            value = cache.get(key)
            if value is None:
                missing.setdefault(len(row), {})[key] = row
            else:
                found[key] = value
        tower_device = next(self.text_tower.parameters()).device
        for group in missing.values():
            batch = torch.stack(list(group.values())).to(tower_device)
            mask = torch.ones(batch.shape, dtype=torch.bool, device=tower_device)
            with torch.no_grad(), torch.autocast(tower_device.type, enabled=False):
                states = self.text_tower.encode(
                    self.text_tower.embed(batch), mask, 0, self.frozen_text_layers
                )
            for key, value in zip(group, states.cpu(), strict=True):
                found[key] = value.clone()  # not a view that keeps the whole batch alive
                cache.put(key, found[key])
        return [found[key] for key in keys]


def load_towers() -> tuple[EfficientNetLite, MiniLM, Path, str]:
    """Both pretrained towers from their installed packages (frozen, eval mode), the tokenizer
    file, and their identity (for cache keys); MissingResourceError (exit 4) when absent."""
    from finsta_cli.hosts.efficientnet import load_efficientnet_lite0
    from finsta_cli.hosts.minilm import load_minilm
    from finsta_cli.hosts.pretrained import efficientnet_weights, minilm_dir

    weights, folder = efficientnet_weights(), minilm_dir()
    image = load_efficientnet_lite0(str(weights))
    text, tokenizer_file = load_minilm(folder)
    identity = tower_identity(weights, folder / "model.safetensors", tokenizer_file)
    return image, text, tokenizer_file, identity


def build_lite(config: Mapping[str, Any] | None = None) -> LiteHost:
    """A ``lite`` host from its config (see :class:`LiteConfig`)."""
    cfg = parse_config(config or {})
    return LiteHost(cfg)
