"""The embedded ``tiny`` host: a small CNN frame encoder and a small text Transformer, trainable
on two CPU cores in minutes, with CLIP4Clip's two temporal variants (``meanP``, ``seqTransf``).

Architecture (defaults: S = 96 px frames, D = E = 128):

- frames: each frame's RGB and, with ``motion`` (on for new hosts), its difference from the
  previous sampled frame (six input channels, so a frame feature can show what moved and which
  way); four 3x3 stride-2 convolutions (16, 32, 64, D channels; GroupNorm, GELU) give an
  (S/16)^2 grid of patch features (6 x 6 = 36 patches at 96 px) plus a learned patch-position
  embedding; a frame's feature is attention pooling of its patches with a learned query, so where
  things are survives;
- ``meanP``: the video embedding is the projected mean of the frame features (blind to order);
  ``seqTransf``: frame features plus time-position embeddings go through a Transformer encoder,
  added back to the frame features (CLIP4Clip's residual), then averaged and projected;
- texts: a word-level tokenizer (lowercase words, numbers and punctuation, character offsets
  kept) over a vocabulary built from the training split's texts (captions, and the QA and
  action-prompt words), a [CLS] token, token and position embeddings (word embeddings N(0,
  ``word_std``)), a pre-norm Transformer encoder; the text embedding is the projected [CLS]
  output.

The vocabulary is part of the config, so a checkpoint rebuilds the same tokenizer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from finsta_cli.errors import UsageError
from finsta_cli.hosts.base import TextFeatures, VideoFeatures, normalised_frames

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
SPECIALS = (PAD, UNK, CLS)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]", re.UNICODE)

DEFAULTS: dict[str, Any] = {
    "temporal": "meanP",
    "num_frames": 8,
    "frame_size": 96,
    "feature_dim": 128,
    "embed_dim": 128,
    "text_layers": 2,
    "temporal_layers": 2,
    "heads": 4,
    "max_tokens": 40,
    "dropout": 0.1,
    "max_vocab": 8000,
    "motion": False,
    "word_std": 1.0,
}
# A new host's options where they differ from DEFAULTS. DEFAULTS say what a checkpoint written
# before an option existed meant (no motion channels); a host built from scratch gets these.
NEW_HOST: dict[str, Any] = {"motion": True}


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """Lowercased words and punctuation of ``text`` with their character [start, end)."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def build_vocab(texts: Iterable[str], max_size: int = DEFAULTS["max_vocab"]) -> list[str]:
    """Special tokens, then words by falling frequency (ties alphabetical), at most ``max_size``."""
    counts = Counter(word for text in texts for word, _, _ in word_spans(text))
    words = sorted(counts, key=lambda w: (-counts[w], w))[: max(0, max_size - len(SPECIALS))]
    return [*SPECIALS, *words]


class WordTokenizer:
    """Word-level tokenizer with character offsets; unknown words map to [UNK]."""

    def __init__(self, vocab: Sequence[str], max_tokens: int) -> None:
        if list(vocab[: len(SPECIALS)]) != list(SPECIALS):
            raise UsageError("a tiny-host vocabulary must start with [PAD], [UNK], [CLS]")
        self.vocab = list(vocab)
        self.index = {word: i for i, word in enumerate(self.vocab)}
        self.max_tokens = max_tokens

    def __call__(self, texts: Sequence[str]) -> tuple[Tensor, Tensor, Tensor]:
        """ids (B, L) long, mask (B, L) bool, offsets (B, L, 2) long; L <= max_tokens."""
        rows = [word_spans(text)[: self.max_tokens - 1] for text in texts]
        length = max(1, max((len(r) for r in rows), default=0) + 1)
        unk, cls, pad = self.index[UNK], self.index[CLS], self.index[PAD]
        index = self.index
        # Plain lists first, one tensor each at the end: per-element tensor writes cost ~1 us
        # apiece, which made tokenising the largest part of encoding short texts.
        ids: list[list[int]] = []
        offsets: list[list[tuple[int, int]]] = []
        lengths: list[int] = []
        for row in rows:
            fill = length - 1 - len(row)
            ids.append([cls, *(index.get(word, unk) for word, _, _ in row), *([pad] * fill)])
            offsets.append(
                [(-1, -1), *((start, end) for _, start, end in row), *([(-1, -1)] * fill)]
            )
            lengths.append(len(row) + 1)
        ids_t = torch.tensor(ids, dtype=torch.long).view(len(texts), length)
        offsets_t = torch.tensor(offsets, dtype=torch.long).view(len(texts), length, 2)
        mask = torch.arange(length)[None, :] < torch.tensor(lengths, dtype=torch.long)[:, None]
        return ids_t, mask, offsets_t


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1),
        nn.GroupNorm(min(8, cout // 2), cout),
        nn.GELU(),
    )


class AttentionPool(nn.Module):
    """One learned query attends over a set. Shapes: (N, P, D) -> (N, D)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        pooled, _ = self.attention(self.query.expand(x.shape[0], -1, -1), x, x, need_weights=False)
        return self.norm(pooled.squeeze(1))


def _encoder(dim: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class TinyHost(nn.Module):
    """The embedded host (see the module docstring). Implements :class:`HostVLM`."""

    name = "tiny"

    def __init__(self, vocab: Sequence[str], **options: Any) -> None:
        super().__init__()
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise UsageError(f"unknown tiny-host option(s): {', '.join(sorted(unknown))}")
        cfg = {**DEFAULTS, **options}
        if cfg["temporal"] not in ("meanP", "seqTransf"):
            raise UsageError(
                f"tiny host: temporal must be meanP or seqTransf, not {cfg['temporal']}"
            )
        if int(cfg["frame_size"]) % 16 or int(cfg["frame_size"]) < 32:
            raise UsageError("tiny host: frame_size must be a multiple of 16, at least 32")
        if not isinstance(cfg["motion"], bool):
            raise UsageError(f"tiny host: motion must be true or false, not {cfg['motion']!r}")
        word_std = cfg["word_std"]
        if isinstance(word_std, bool) or not isinstance(word_std, int | float) or word_std <= 0:
            raise UsageError(f"tiny host: word_std must be a number above 0, not {word_std!r}")
        self.options = cfg
        self.temporal: str = cfg["temporal"]
        self.num_frames = int(cfg["num_frames"])
        self.frame_size = int(cfg["frame_size"])
        d, e, heads = int(cfg["feature_dim"]), int(cfg["embed_dim"]), int(cfg["heads"])
        self.feature_dim, self.embed_dim = d, e
        dropout = float(cfg["dropout"])
        self.tokenizer = WordTokenizer(vocab, int(cfg["max_tokens"]))
        grid = self.frame_size // 16
        self.grid = (grid, grid)
        # Frames.
        # Narrow early layers: they run at the highest resolution and dominate the cost.
        self.motion: bool = cfg["motion"]  # RGB + the change since the previous frame
        channels = 6 if self.motion else 3
        self.cnn = nn.Sequential(_conv(channels, 16), _conv(16, 32), _conv(32, 64), _conv(64, d))
        self.patch_position = nn.Parameter(torch.zeros(1, grid * grid, d))
        self.patch_norm = nn.LayerNorm(d)
        self.frame_pool = AttentionPool(d, heads)
        self.time_position = nn.Parameter(torch.zeros(1, 64, d))
        self.temporal_encoder = (
            _encoder(d, heads, int(cfg["temporal_layers"]), dropout)
            if self.temporal == "seqTransf"
            else None
        )
        self.video_projection = nn.Linear(d, e)
        # Texts.
        self.token_embedding = nn.Embedding(len(self.tokenizer.vocab), d, padding_idx=0)
        self.text_position = nn.Parameter(torch.zeros(1, int(cfg["max_tokens"]), d))
        self.text_encoder = _encoder(d, heads, int(cfg["text_layers"]), dropout)
        self.text_norm = nn.LayerNorm(d)
        self.text_projection = nn.Linear(d, e)
        self.logit_scale = nn.Parameter(torch.tensor(1 / 0.07).log())
        # Word embeddings keep PyTorch's N(0, 1), 50 times the positions' scale, so the text
        # embedding is nearly blind to word order. Initialising them like the positions (std
        # 0.02, CLIP's) makes it see order but was measured worse on the demo (meanP R@1 -5 to
        # -7 points, the fusion arm -8; docs/benchmarks.md), so the host keeps this default.
        nn.init.normal_(self.patch_position, std=0.02)
        nn.init.normal_(self.time_position, std=0.02)
        nn.init.normal_(self.text_position, std=0.02)
        # 1.0 is the embedding's own N(0, 1): drawn again only for another scale, so that the
        # random stream, and with it every host built before the option, stays as it was.
        if float(cfg["word_std"]) != 1.0:
            nn.init.normal_(self.token_embedding.weight, std=float(cfg["word_std"]))
            with torch.no_grad():
                self.token_embedding.weight[0].zero_()

    @classmethod
    def from_config(cls, config: dict[str, Any], texts: Sequence[str] | None = None) -> TinyHost:
        options = dict(config)
        vocab = options.pop("vocab", None)
        options.pop("name", None)
        if vocab is None:
            if texts is None:
                raise UsageError(
                    "the tiny host needs a vocabulary: give training captions to build one"
                )
            vocab = build_vocab(texts, int(options.get("max_vocab", DEFAULTS["max_vocab"])))
            options = {**NEW_HOST, **options}
        return cls(list(vocab), **options)

    def host_config(self) -> dict[str, Any]:
        return {**self.options, "vocab": list(self.tokenizer.vocab)}

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def encode_video(self, frames: Tensor) -> VideoFeatures:
        b, t = frames.shape[:2]
        if t > self.time_position.shape[1]:
            raise UsageError(f"tiny host: at most {self.time_position.shape[1]} frames, got {t}")
        device = self.patch_position.device
        x = normalised_frames(frames.to(device), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
        if x.shape[-1] != self.frame_size or x.shape[-2] != self.frame_size:
            x = nn.functional.interpolate(
                x, size=(self.frame_size, self.frame_size), mode="bilinear", align_corners=False
            )
        if self.motion:
            clip = x.view(b, t, *x.shape[1:])
            change = torch.cat([torch.zeros_like(clip[:, :1]), clip[:, 1:] - clip[:, :-1]], dim=1)
            x = torch.cat([clip, change], dim=2).flatten(0, 1)
        grid = self.cnn(x)  # (B*T, D, g, g)
        patches = self.patch_norm(grid.flatten(2).transpose(1, 2) + self.patch_position)
        frame = self.frame_pool(patches).view(b, t, -1)
        if self.temporal_encoder is not None:
            frame = frame + self.temporal_encoder(frame + self.time_position[:, :t])
        embedding = self.video_projection(frame.mean(dim=1))
        return VideoFeatures(
            frame=frame,
            embedding=embedding,
            patch=patches.view(b, t, patches.shape[1], -1),
            patch_grid=self.grid,
        )

    def encode_text(self, texts: Sequence[str]) -> TextFeatures:
        device = self.token_embedding.weight.device
        ids, mask, offsets = self.tokenizer(texts)
        ids, mask = ids.to(device), mask.to(device)
        x = self.token_embedding(ids) + self.text_position[:, : ids.shape[1]]
        token = self.text_norm(self.text_encoder(x, src_key_padding_mask=~mask))
        embedding = self.text_projection(token[:, 0])
        return TextFeatures(token=token, mask=mask, offsets=offsets.to(device), embedding=embedding)
