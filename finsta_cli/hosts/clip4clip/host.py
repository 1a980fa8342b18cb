"""The clip4clip host model: CLIP image and text towers with CLIP4Clip's frame pooling.

Features (all in CLIP's joint space, so ``feature_dim == embed_dim`` = E, 512 for ViT-B/32):

- ``frame`` (B, T, E): the per-frame features the video embedding pools: CLIP image embeddings
  (``meanP``), or those after the temporal Transformer plus the residual (``seqTransf``).
- ``patch`` (B, T, P, E): the image tower's patch tokens after ``ln_post`` and the same ``proj``
  as the class token (P = 49 for ViT-B/32 at 224 px, ``patch_grid`` (7, 7)).
- video ``embedding`` (B, E): as CLIP4Clip, the mean over frames of the L2-normalised ``frame``
  features.
- ``token`` (B, L, E): every position of the text tower after ``ln_final`` and
  ``text_projection``, L = the batch's longest text in tokens (<= ``max_tokens``); ``mask`` is
  True for start, content and end tokens (False for padding); ``offsets`` are character spans in
  the original text, (-1, -1) for the start/end/padding tokens
  (:func:`finsta_cli.hosts.clip4clip.tokens.bpe_pieces`).
- text ``embedding`` (B, E): ``token`` at the end-of-text position.

Weights (:meth:`Clip4ClipHost.load_weights`, :func:`build_clip4clip`) are read by
:mod:`finsta_cli.hosts.clip4clip.weights` into the architecture
:mod:`finsta_cli.hosts.clip4clip.arch` chooses. A CLIP checkpoint without temporal weights loaded
into a ``seqTransf`` host initialises the temporal module as CLIP4Clip does: position embeddings
from the first rows of the text tower's positional embedding and the temporal blocks from the
first text Transformer blocks (when the shapes fit; otherwise they stay random, with a warning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from finsta_cli.errors import ConfigError, InputError, UsageError
from finsta_cli.hosts.base import TextFeatures, VideoFeatures, normalised_frames, parse_host_config
from finsta_cli.hosts.clip4clip.arch import (
    DEFAULT_ARCH,
    activation_mismatch,
    check_arch,
    fetch_pretrained,
    import_open_clip,
    quick_gelu_origin,
    resolve_arch,
)
from finsta_cli.hosts.clip4clip.tokens import tokenize_with_offsets
from finsta_cli.hosts.clip4clip.weights import check_fit, read_weights_file, split_state_dict
from finsta_cli.io.progress import get_logger

HOST_NAME = "clip4clip"
# CLIP4Clip's temporal Transformer depth (its cross_num_hidden_layers); heads are 64 wide.
DEFAULT_TEMPORAL_LAYERS = 4

log = get_logger("hosts.clip4clip")


class Clip4ClipConfig(BaseModel):
    """The ``clip4clip`` host's config (what :meth:`Clip4ClipHost.host_config` returns)."""

    model_config = ConfigDict(extra="forbid")

    arch: str | None = None  # None: inferred from the weights (clip4clip.arch), else ViT-B-32
    temporal: Literal["meanP", "seqTransf"] = "meanP"
    num_frames: int = Field(12, ge=1)
    frame_size: int | None = Field(None, ge=32)  # None: the architecture's image size
    train_layers: int = Field(2, ge=-1)  # last N blocks of each tower; -1: everything
    max_tokens: int = Field(77, ge=3)
    temporal_layers: int = Field(DEFAULT_TEMPORAL_LAYERS, ge=1)
    weights: str | None = None
    pretrained: str | None = None  # an open_clip pretrained tag (openai, laion2b_s34b_b79k, ...)


def parse_config(config: Mapping[str, Any]) -> Clip4ClipConfig:
    """Validate a host config dict; unknown keys name the nearest valid one."""
    return parse_host_config(Clip4ClipConfig, config, "clip4clip")


def _quiet_create_model(open_clip: Any, arch: str, frame_size: int | None) -> Any:
    # open_clip warns on the root logger that no pretrained weights were loaded; finsta says so
    # itself (once, when a random host is used), so keep that line off stderr.
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        return open_clip.create_model(
            arch,
            pretrained=None,
            load_weights=False,
            pretrained_image=False,
            pretrained_text=False,
            force_image_size=frame_size,
            device="cpu",
        )
    finally:
        logging.disable(previous)


class TemporalTransformer(nn.Module):
    """CLIP4Clip's seqTransf: frames + position embeddings -> Transformer, plus the frames again.

    The blocks are open_clip's (OpenAI-CLIP layout, QuickGELU as in CLIP4Clip), so CLIP4Clip's
    ``transformerClip.*`` weights load unchanged.

    Shapes: (B, T, E) -> (B, T, E), T <= ``max_positions``.
    """

    def __init__(self, width: int, layers: int, max_positions: int) -> None:
        super().__init__()
        from open_clip.transformer import QuickGELU, Transformer

        self.position_embeddings = nn.Embedding(max_positions, width)
        nn.init.normal_(self.position_embeddings.weight, std=0.02)
        self.transformer = Transformer(
            width, layers, max(1, width // 64), act_layer=QuickGELU, batch_first=True
        )

    def forward(self, frames: Tensor) -> Tensor:
        t = frames.shape[1]
        if t > self.position_embeddings.num_embeddings:
            raise UsageError(
                f"clip4clip seqTransf host: {t} frames per video, at most "
                f"{self.position_embeddings.num_embeddings} (its frame position embeddings)"
            )
        positions = self.position_embeddings.weight[:t].to(frames.dtype).unsqueeze(0)
        out: Tensor = self.transformer(frames + positions)
        return out + frames


def _resize_center_crop(pixels: Tensor, size: int) -> Tensor:
    """(N, 3, H, W) -> (N, 3, size, size): shorter side to ``size`` (bicubic), centre crop."""
    h, w = pixels.shape[-2:]
    if h == size and w == size:
        return pixels
    scale = size / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
    pixels = F.interpolate(
        pixels, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True
    )
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return pixels[..., top : top + size, left : left + size]


def trainable_prefixes(
    train_layers: int, visual_blocks: int, text_blocks: int
) -> tuple[str, ...] | None:
    """Names (prefixes) of the host parameters post-training updates; None: all of them.

    The last ``train_layers`` Transformer blocks of each tower, the image tower's ``ln_post`` and
    ``proj``, the text tower's ``ln_final`` and ``text_projection``, the temperature and the
    temporal module; ``train_layers`` -1 trains everything (CLIP4Clip's own fine-tuning).
    """
    if train_layers < 0:
        return None
    prefixes = [
        "logit_scale",
        "temporal.",
        "clip.visual.ln_post.",
        "clip.visual.proj",
        "clip.ln_final.",
        "clip.text_projection",
    ]
    prefixes += [
        f"clip.visual.transformer.resblocks.{i}."
        for i in range(max(0, visual_blocks - train_layers), visual_blocks)
    ]
    prefixes += [
        f"clip.transformer.resblocks.{i}."
        for i in range(max(0, text_blocks - train_layers), text_blocks)
    ]
    return tuple(prefixes)


class Clip4ClipHost(nn.Module):
    """CLIP image and text towers (open_clip) with CLIP4Clip's meanP / seqTransf frame pooling.

    Shapes (module docstring of :mod:`finsta_cli.hosts.base`): frames (B, T, S, S, 3) uint8 ->
    ``frame`` (B, T, E), ``patch`` (B, T, P, E), ``embedding`` (B, E); texts -> ``token``
    (B, L, E), ``mask`` (B, L), ``offsets`` (B, L, 2), ``embedding`` (B, E); E = ``embed_dim`` =
    ``feature_dim``, L <= ``max_tokens`` (the batch's longest text).
    """

    name = HOST_NAME

    def __init__(self, config: Clip4ClipConfig | Mapping[str, Any] | None = None) -> None:
        super().__init__()
        cfg = config if isinstance(config, Clip4ClipConfig) else parse_config(config or {})
        open_clip = import_open_clip()
        arch = cfg.arch or DEFAULT_ARCH
        arch_config = check_arch(open_clip, arch)
        clip = _quiet_create_model(open_clip, arch, cfg.frame_size)
        from open_clip.tokenizer import SimpleTokenizer
        from open_clip.transformer import VisionTransformer

        if not isinstance(clip, open_clip.CLIP) or not isinstance(clip.visual, VisionTransformer):
            raise ConfigError(f"clip4clip host: arch {arch!r} is not a CLIP ViT")
        clip.visual.output_tokens = True  # forward returns (pooled, ln_post-ed patch tokens)
        height, width = clip.visual.image_size
        if height != width:
            raise ConfigError(f"clip4clip host: arch {arch!r} has non-square frames")
        if cfg.max_tokens > clip.context_length:
            raise ConfigError(
                f"clip4clip host: max_tokens {cfg.max_tokens} exceeds the text tower's "
                f"context of {clip.context_length}"
            )
        tokenizer = open_clip.get_tokenizer(arch)
        if not isinstance(tokenizer, SimpleTokenizer):
            raise ConfigError(f"clip4clip host: arch {arch!r} does not use CLIP's tokenizer")

        # The host owns the temperature, so that ``host.logit_scale`` is a real parameter; the
        # loader maps a checkpoint's ``logit_scale`` onto it.
        self.logit_scale = nn.Parameter(clip.logit_scale.detach().clone())
        del clip.logit_scale
        self.clip = clip
        self.tokenizer = tokenizer
        self.num_frames = cfg.num_frames
        self.frame_size = int(height)
        self.embed_dim = int(clip.visual.proj.shape[1])
        self.feature_dim = self.embed_dim
        self.max_tokens = cfg.max_tokens
        self.temporal_mode = cfg.temporal
        grid = clip.visual.grid_size
        self.patch_grid: tuple[int, int] = (int(grid[0]), int(grid[1]))
        preprocess = getattr(clip.visual, "preprocess_cfg", None) or {}
        self.pixel_mean = tuple(preprocess.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self.pixel_std = tuple(preprocess.get("std", open_clip.OPENAI_DATASET_STD))
        self.temporal: TemporalTransformer | None = None
        if cfg.temporal == "seqTransf":
            self.temporal = TemporalTransformer(
                self.embed_dim, cfg.temporal_layers, int(clip.context_length)
            )
        self.train_layers = cfg.train_layers
        # Whether the towers use QuickGELU (OpenAI's CLIP and CLIP4Clip) rather than GELU.
        self.quick_gelu = bool(arch_config.get("quick_gelu", False))
        self._config = cfg.model_copy(update={"frame_size": self.frame_size, "arch": arch})
        self.weights_source: str | None = None  # None: random initialisation
        self._warned_random = False
        self._freeze()

    # -- HostVLM -------------------------------------------------------------------------------

    def host_config(self) -> dict[str, Any]:
        """arch (as resolved), temporal, num_frames, frame_size, train_layers, max_tokens,
        temporal_layers, weights, pretrained: what :func:`build_clip4clip` rebuilds the host
        from."""
        return self._config.model_dump(mode="json")

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The last ``train_layers`` blocks of both towers, the projections and final norms, the
        temperature and the temporal module (everything when ``train_layers`` is -1)."""
        return [p for p in self.parameters() if p.requires_grad]

    def encode_video(self, frames: Tensor) -> VideoFeatures:
        if frames.dim() != 5 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
            raise ValueError(
                f"encode_video expects (B, T, H, W, 3) uint8 frames, got {tuple(frames.shape)} "
                f"{frames.dtype}"
            )
        self._warn_if_random()
        b, t = int(frames.shape[0]), int(frames.shape[1])
        visual = self.clip.visual
        pixels = normalised_frames(
            frames.to(self.logit_scale.device, non_blocking=True), self.pixel_mean, self.pixel_std
        )
        pixels = _resize_center_crop(pixels, self.frame_size).to(visual.conv1.weight.dtype)
        pooled, tokens = visual(pixels)  # (B*T, E), (B*T, P, width) after ln_post
        patch = tokens @ visual.proj
        frame_embeddings = pooled.reshape(b, t, -1)
        frame = frame_embeddings if self.temporal is None else self.temporal(frame_embeddings)
        embedding = F.normalize(frame, dim=-1).mean(dim=1)
        return VideoFeatures(
            frame=frame,
            embedding=embedding,
            patch=patch.reshape(b, t, patch.shape[1], -1),
            patch_grid=self.patch_grid,
        )

    def encode_text(self, texts: Sequence[str]) -> TextFeatures:
        texts = list(texts)
        if not texts:
            raise ValueError("encode_text needs at least one text")
        self._warn_if_random()
        ids, lengths, offsets = tokenize_with_offsets(self.tokenizer, texts, self.max_tokens)
        # Pad to the longest text of the batch, not max_tokens: under CLIP's causal mask a real
        # token never sees padding, so the features are the same and short captions cost less.
        length = int(lengths.max())
        device = self.logit_scale.device
        ids, offsets = ids[:, :length].to(device), offsets[:, :length].to(device)
        lengths = lengths.to(device)
        clip = self.clip
        cast = clip.transformer.get_cast_dtype()
        x = clip.token_embedding(ids).to(cast) + clip.positional_embedding[:length].to(cast)
        # The causal mask keeps padding out of every real token's features.
        x = clip.transformer(x, attn_mask=clip.attn_mask[:length, :length])
        x = clip.ln_final(x)
        projection = clip.text_projection
        if isinstance(projection, nn.Linear):
            token = projection(x)
        elif projection is not None:
            token = x @ projection
        else:
            token = x
        rows = torch.arange(len(texts), device=device)
        embedding = token[rows, lengths - 1]
        mask = torch.arange(length, device=device).unsqueeze(0) < lengths.unsqueeze(1)
        return TextFeatures(token=token, mask=mask, offsets=offsets.to(device), embedding=embedding)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.weights_source = "state dict"
        return result

    # -- weights -------------------------------------------------------------------------------

    def load_weights(self, path: Path) -> None:
        """Load a local CLIP / CLIP4Clip / finsta weights file (the forms
        :mod:`finsta_cli.hosts.clip4clip.weights` reads)."""
        self.load_pretrained_state(read_weights_file(path), str(path))

    def load_pretrained_state(self, state: Mapping[str, Tensor], source: str) -> None:
        """Load CLIP (and optionally temporal) weights given with any of the accepted key forms;
        mismatches raise InputError naming ``source`` and the first bad keys."""
        from open_clip.model import resize_pos_embed

        clip_state, temporal_state, skipped = split_state_dict(state)
        arch = str(self._config.arch)
        origin = quick_gelu_origin(state)
        if origin is not None and not self.quick_gelu:
            raise activation_mismatch(source, origin, arch)
        if not any(k.startswith("visual.") for k in clip_state):
            raise InputError(
                f"{source}: no CLIP weights found (no visual.* keys; first keys: "
                + ", ".join(list(state)[:3])
                + ")",
                hint="expected an OpenAI-CLIP / open_clip / CLIP4Clip state dict",
            )
        if skipped:
            log.info("%s: skipped %d CLIP4Clip tensors finsta does not use", source, len(skipped))
        resize_pos_embed(clip_state, self.clip)  # when frame_size differs from the file's
        scale = clip_state.pop("logit_scale", None)
        expected = dict(self.clip.state_dict())
        check_fit(clip_state, expected, source, f"the {arch} CLIP model")
        if scale is None or scale.shape != self.logit_scale.shape:
            raise InputError(f"{source}: no logit_scale of shape {tuple(self.logit_scale.shape)}")
        if self.temporal is None:
            if temporal_state:
                log.warning("%s: its temporal module is not used by a meanP host", source)
        elif temporal_state:
            check_fit(temporal_state, self.temporal.state_dict(), source, "the temporal module")
        else:
            temporal_state = self._temporal_from_text_tower(clip_state)
            log.warning(
                "%s: no temporal weights; initialised %d of %d temporal tensors from the text "
                "tower as CLIP4Clip does (the rest stay random)",
                source,
                len(temporal_state),
                len(self.temporal.state_dict()),
            )
        with torch.no_grad():
            self.clip.load_state_dict(clip_state, strict=True)
            self.logit_scale.copy_(scale)
            if self.temporal is not None and temporal_state:
                self.temporal.load_state_dict(temporal_state, strict=False)
        self.weights_source = source

    def _temporal_from_text_tower(self, clip_state: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """CLIP4Clip's initialisation of seqTransf: position embeddings from the text positional
        embedding's first rows, temporal block i from text block i (where shapes fit)."""
        assert self.temporal is not None
        target = self.temporal.state_dict()
        init: dict[str, Tensor] = {}
        positions = clip_state.get("positional_embedding")
        current = target["position_embeddings.weight"]
        if positions is not None and positions.shape[1] == current.shape[1]:
            rows = min(positions.shape[0], current.shape[0])
            merged = current.clone()
            merged[:rows] = positions[:rows]
            init["position_embeddings.weight"] = merged
        for key, value in target.items():
            source = clip_state.get(key)  # "transformer.resblocks.i..." in both
            if not key.startswith("transformer.") or source is None:
                continue
            if source.shape == value.shape:
                init[key] = source
        return init

    # -- internals -----------------------------------------------------------------------------

    def _freeze(self) -> None:
        prefixes = trainable_prefixes(
            self.train_layers,
            len(self.clip.visual.transformer.resblocks),
            len(self.clip.transformer.resblocks),
        )
        for name, parameter in self.named_parameters():
            parameter.requires_grad_(prefixes is None or name.startswith(prefixes))

    def _warn_if_random(self) -> None:
        if self.weights_source is None and not self._warned_random:
            self._warned_random = True
            log.warning(
                "clip4clip host (%s) runs with random weights: no weights file was given, so "
                "its features mean nothing until trained",
                self._config.arch,
            )


def build_clip4clip(
    config: Mapping[str, Any] | None = None, *, allow_download: bool = False
) -> Clip4ClipHost:
    """A ``clip4clip`` host from its config: ``config["weights"]`` (a local file) or
    ``config["pretrained"]`` (an open_clip tag, downloaded only when allowed) is loaded, into the
    architecture ``config["arch"]`` names or the file's (:mod:`finsta_cli.hosts.clip4clip.arch`).

    Raises MissingResourceError (exit 4) when open_clip is not installed, the weights file does
    not exist or the pretrained weights may not or cannot be downloaded, ConfigError for a bad
    config, InputError for a weights file that does not fit (or needs another activation).
    """
    cfg = parse_config(config or {})
    open_clip = import_open_clip()
    if cfg.weights and cfg.pretrained:
        raise ConfigError(
            "clip4clip host: give 'weights' (a local file) or 'pretrained' (an open_clip tag), "
            "not both"
        )
    arch, path = cfg.arch, None
    if cfg.pretrained:
        arch, path = fetch_pretrained(open_clip, cfg.arch, cfg.pretrained, allow_download)
    elif cfg.weights:
        path = Path(cfg.weights).expanduser()
    state = read_weights_file(path) if path is not None else None
    source = str(path)
    arch = resolve_arch(open_clip, arch, state, source)
    host = Clip4ClipHost(cfg.model_copy(update={"arch": arch}))
    if state is not None:
        host.load_pretrained_state(state, source)
    return host
