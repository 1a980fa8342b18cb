"""The ``clip4clip`` host: open_clip CLIP towers with CLIP4Clip's meanP or seqTransf pooling.

CLIP4Clip (Luo et al., 2022) encodes each sampled frame with CLIP's image tower and pools the
frame embeddings into a video embedding, either by their mean (``meanP``, blind to frame order) or
through a small temporal Transformer with frame position embeddings whose output is added back to
the frame embeddings before the mean (``seqTransf``). Texts go through CLIP's text tower; the text
embedding is the projected feature of the end-of-text token.

The towers come from the optional ``open_clip_torch`` package (``pip install 'finsta[clip]'``),
built offline from its bundled architecture configs (``create_model(arch, pretrained=None)``: no
download); weights are read from a local file (:func:`read_weights_file`), or from an open_clip
pretrained tag (``pretrained: openai``) that open_clip's own download fetches only when the user
allows downloads (``--allow-download`` or ``FINSTA_ALLOW_DOWNLOAD=1``; otherwise exit 4), and that
is then read as a local file. Without weights the host is randomly initialised, which the tests
use and which is logged as "random weights" the first time such a host encodes anything.

Architecture (``arch``): when the config leaves it out, it is inferred from the weights: the
shapes of the file's tensors pick open_clip's architecture, and its activation comes from what
the keys say about where the file comes from. CLIP4Clip checkpoints (``clip.*`` with
``clip.logit_scale``, ``transformerClip.*``, ``frame_position_embeddings.*``) and OpenAI's CLIP
state dicts (``input_resolution``, ``context_length``, ``vocab_size`` beside the weights) were
trained with QuickGELU, so they get the ``-quickgelu`` architecture (``ViT-B-32-quickgelu`` for
CLIP4Clip's ViT-B/32); so do open_clip pretrained tags whose config says ``quick_gelu``. GELU
and QuickGELU models hold the same tensors, so a file loads into either without an error and
only its features are wrong: such a file given with a GELU ``arch`` is refused, naming both.
Without weights, ``arch`` is ``ViT-B-32``.

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
  the original text, (-1, -1) for the start/end/padding tokens (see :func:`bpe_pieces`).
- text ``embedding`` (B, E): ``token`` at the end-of-text position.

Weights files (:func:`read_weights_file`, :meth:`Clip4ClipHost.load_weights`): a state dict
written by ``torch.save`` (loaded with ``weights_only=True``) or a ``.safetensors`` file, with
OpenAI-CLIP / open_clip key names (``visual.conv1.weight``, ``token_embedding.weight``, ...),
possibly nested under ``state_dict`` / ``model`` / ``module`` / ``host`` and prefixed with
``module.`` and/or ``clip.``. CLIP4Clip checkpoints map as follows:

- ``clip.<key>`` -> ``clip.<key>`` (the open_clip model; our own state dict uses the same prefix)
- ``frame_position_embeddings.weight`` -> ``temporal.position_embeddings.weight``
- ``transformerClip.resblocks.<i>.<...>`` -> ``temporal.transformer.resblocks.<i>.<...>``
- ``cross.*``, ``similarity_dense.*``, ``lstm_visual.*`` (CLIP4Clip heads finsta does not use)
  are skipped with a log line.

A CLIP checkpoint without temporal weights loaded into a ``seqTransf`` host initialises the
temporal module as CLIP4Clip does: position embeddings from the first rows of the text tower's
positional embedding and the temporal blocks from the first text Transformer blocks (when the
shapes fit; otherwise they stay random, with a warning).
"""

from __future__ import annotations

import difflib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from finsta_cli.errors import ConfigError, InputError, MissingResourceError, UsageError
from finsta_cli.hosts.base import TextFeatures, VideoFeatures, normalised_frames, parse_host_config
from finsta_cli.io.finite import require_finite
from finsta_cli.io.progress import get_logger
from finsta_cli.io.torchfile import load_torch_file

HOST_NAME = "clip4clip"
DEFAULT_ARCH = "ViT-B-32"
QUICKGELU_SUFFIX = "-quickgelu"
INSTALL_HINT = "pip install 'finsta[clip]'  (or: pip install 'open_clip_torch>=3.0,<4')"
# CLIP4Clip's temporal Transformer depth (its cross_num_hidden_layers); heads are 64 wide.
DEFAULT_TEMPORAL_LAYERS = 4
# CLIP4Clip's own checkpoints carry these heads; finsta's host has no use for them.
IGNORED_PREFIXES = ("cross.", "similarity_dense.", "lstm_visual.", "loss_fct.")
# OpenAI's state dicts carry these scalars next to the weights.
OPENAI_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")
NESTING_KEYS = ("state_dict", "model", "module", "host")
STRIPPED_PREFIXES = ("module.", "clip.")
CLIP4CLIP_RENAMES = (
    ("frame_position_embeddings.", "temporal.position_embeddings."),
    ("transformerClip.", "temporal.transformer."),
)

log = get_logger("hosts.clip4clip")


class Clip4ClipConfig(BaseModel):
    """The ``clip4clip`` host's config (what :meth:`Clip4ClipHost.host_config` returns)."""

    model_config = ConfigDict(extra="forbid")

    arch: str | None = None  # None: inferred from the weights (module docstring), else ViT-B-32
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


def import_open_clip() -> Any:
    """The ``open_clip`` module, or MissingResourceError (exit 4) with the install command."""
    try:
        import open_clip
    except ImportError as exc:
        raise MissingResourceError(
            f"the clip4clip host needs the open_clip_torch package ({exc})", hint=INSTALL_HINT
        ) from None
    return open_clip


def check_arch(open_clip: Any, arch: str) -> dict[str, Any]:
    """The open_clip config of a built-in ViT CLIP architecture this host supports."""
    if ":" in arch:
        raise ConfigError(
            f"clip4clip host: arch {arch!r}: only open_clip's built-in architecture names are "
            "accepted (hf-hub: and local-dir: would read or download elsewhere)",
            hint="e.g. ViT-B-32, ViT-B-16, ViT-L-14 (or their -quickgelu variants); load the "
            "weights with the 'weights' key",
        )
    cfg = open_clip.get_model_config(arch)
    if cfg is None:
        near = difflib.get_close_matches(arch, open_clip.list_models(), n=3, cutoff=0.5)
        raise ConfigError(
            f"clip4clip host: unknown arch {arch!r}",
            hint=("nearest: " + ", ".join(near)) if near else "see open_clip.list_models()",
        )
    vision, text = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    reasons = []
    if "timm_model_name" in vision or isinstance(vision.get("layers"), list | tuple):
        reasons.append("its image tower is not open_clip's VisionTransformer")
    if vision.get("attentional_pool") or vision.get("pool_type", "tok") != "tok":
        reasons.append("its image tower does not pool a class token")
    if vision.get("final_ln_after_pool") or vision.get("patch_dropout"):
        reasons.append("its image tower pools in a way this host does not reproduce")
    if "hf_model_name" in text or "hf_tokenizer_name" in text or cfg.get("custom_text"):
        reasons.append("its text tower or tokenizer is a Hugging Face model (downloaded)")
    if text.get("pool_type", "argmax") != "argmax" or text.get("embed_cls"):
        reasons.append("its text tower does not pool the end-of-text token")
    if "multimodal_cfg" in cfg:
        reasons.append("it is a CoCa model")
    if reasons:
        raise ConfigError(
            f"clip4clip host: arch {arch!r} is not supported: " + "; ".join(reasons),
            hint="use a plain CLIP ViT: ViT-B-32, ViT-B-16, ViT-L-14 (or -quickgelu variants)",
        )
    return dict(cfg)


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


# ---------------------------------------------------------------------------------------------
# Tokenisation with character offsets


def align_cleaned_text(original: str, cleaned: str) -> list[tuple[int, int]]:
    """For each character of ``cleaned`` (the tokenizer's cleaned text), its span in ``original``.

    CLIP's tokenizer fixes mojibake (ftfy), unescapes HTML, collapses whitespace and lower-cases.
    The common case (only whitespace and case change) is one walk over both strings, each
    character mapping to one. Otherwise difflib's opcodes between ``cleaned`` and a copy of
    ``original`` lower-cased character by character (so indices stay those of ``original``) say
    what changed: equal runs map one to one; a replaced run maps every cleaned character onto the
    whole original run (``&#39;`` -> ``'``, ``Ã©`` -> ``é``, ``ﬁ`` -> ``fi``); original text the
    cleaning dropped right after a character joins that character's span (``&amp;`` -> ``&``);
    cleaned characters with no source (a combining mark that lower-casing added) take the span of
    the character before them. Whitespace never joins a span.
    """
    lowered = "".join((c.lower() or c)[0] for c in original)
    spans = [(-1, -1)] * len(cleaned)
    i, n = 0, len(original)
    for j, ch in enumerate(cleaned):
        if ch.isspace():
            if i < n and not original[i].isspace():
                break
            continue
        while i < n and original[i].isspace():
            i += 1
        if i >= n or lowered[i] != ch:
            break
        spans[j] = (i, i + 1)
        i += 1
    else:
        return spans
    spans = [(-1, -1)] * len(cleaned)
    matcher = difflib.SequenceMatcher(None, cleaned, lowered, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(a2 - a1):
                spans[a1 + k] = (b1 + k, b1 + k + 1)
        elif tag == "replace":
            lo, hi = b1, b2
            while lo < hi and original[lo].isspace():
                lo += 1
            while hi > lo and original[hi - 1].isspace():
                hi -= 1
            for k in range(a1, a2):
                spans[k] = (lo, hi) if lo < hi else (-1, -1)
        elif tag == "insert" and a1 > 0 and spans[a1 - 1][1] == b1:
            end = b1
            while end < b2 and not original[end].isspace():
                end += 1
            spans[a1 - 1] = (spans[a1 - 1][0], end)
    previous = (-1, -1)
    for k, span in enumerate(spans):
        if span[0] < 0 and not cleaned[k].isspace():
            spans[k] = previous
        elif span[0] >= 0:
            previous = span
    return spans


def _original_span(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The span of the original text that cleaned characters [start, end) came from."""
    found = [span for span in spans[start:end] if span[0] >= 0]
    if not found:
        return -1, -1
    return min(lo for lo, _ in found), max(hi for _, hi in found)


def bpe_pieces(tokenizer: Any, text: str) -> list[tuple[int, int, int]]:
    """``text`` as CLIP BPE token ids with [start, end) character spans in ``text``.

    The tokenizer's own steps are replayed: ``clean_fn`` (cleaned text), its pre-token regex
    (``pat.finditer`` gives each pre-token's span in the cleaned text), byte-level BPE of each
    pre-token (each piece covers a run of the pre-token's UTF-8 bytes; a piece that splits a
    multi-byte character covers that whole character). Cleaned spans are mapped back with
    :func:`align_cleaned_text`. The ids equal ``tokenizer.encode(text)``.
    """
    cleaned = tokenizer.clean_fn(text)
    spans = align_cleaned_text(text, cleaned)
    pieces: list[tuple[int, int, int]] = []
    for match in tokenizer.pat.finditer(cleaned):
        word = match.group(0)
        byte_to_char: list[int] = []
        for index, char in enumerate(word):
            byte_to_char.extend([index] * len(char.encode("utf-8")))
        unicode_word = "".join(tokenizer.byte_encoder[b] for b in word.encode("utf-8"))
        position = 0
        for piece in tokenizer.bpe(unicode_word).split(" "):
            size = len(piece) - (4 if piece.endswith("</w>") else 0)
            first = byte_to_char[min(position, len(byte_to_char) - 1)]
            last = byte_to_char[min(position + size, len(byte_to_char)) - 1]
            position += size
            span = _original_span(spans, match.start() + first, match.start() + last + 1)
            pieces.append((tokenizer.encoder[piece], *span))
    return pieces


def tokenize_with_offsets(
    tokenizer: Any, texts: Sequence[str], max_tokens: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Token ids (B, L), real-token lengths (B,) and character offsets (B, L, 2), L = max_tokens.

    Each row is ``<start_of_text> pieces... <end_of_text>`` then padding (id 0); texts with more
    than ``max_tokens - 2`` pieces are truncated, keeping the end-of-text token, as open_clip does.
    Start, end and padding tokens have offsets (-1, -1).
    """
    ids = torch.zeros(len(texts), max_tokens, dtype=torch.long)
    offsets = torch.full((len(texts), max_tokens, 2), -1, dtype=torch.long)
    lengths = torch.zeros(len(texts), dtype=torch.long)
    for row, text in enumerate(texts):
        pieces = bpe_pieces(tokenizer, text)[: max_tokens - 2]
        n = len(pieces)
        ids[row, 0] = tokenizer.sot_token_id
        if n:
            ids[row, 1 : n + 1] = torch.tensor([p[0] for p in pieces], dtype=torch.long)
            offsets[row, 1 : n + 1] = torch.tensor([p[1:] for p in pieces], dtype=torch.long)
        ids[row, n + 1] = tokenizer.eot_token_id
        lengths[row] = n + 2
    return ids, lengths, offsets


# ---------------------------------------------------------------------------------------------
# Weights files


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:
        raise MissingResourceError(
            f"{path}: reading .safetensors weights needs the safetensors package",
            hint="pip install safetensors",
        ) from None
    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({str(exc)[:200]})") from None


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(name.endswith("/constants.pkl") for name in names) and any(
        "/code/" in name for name in names
    )


def _unwrap_state_dict(payload: Any, path: Path) -> dict[str, Tensor]:
    for _ in range(len(NESTING_KEYS) + 1):
        if not isinstance(payload, Mapping):
            raise InputError(
                f"{path}: not a state dict of tensors (found a {type(payload).__name__})"
            )
        if any(isinstance(value, Tensor) for value in payload.values()):
            return {str(k): v for k, v in payload.items() if isinstance(v, Tensor)}
        nested = next(
            (payload[k] for k in NESTING_KEYS if isinstance(payload.get(k), Mapping)), None
        )
        if nested is None:
            break
        payload = nested
    keys = ", ".join(map(str, list(payload)[:5])) if isinstance(payload, Mapping) else ""
    raise InputError(
        f"{path}: no tensors found (top-level keys: {keys or 'none'})",
        hint="expected a CLIP / CLIP4Clip state dict, possibly under 'state_dict' or 'model'",
    )


def read_weights_file(path: Path) -> dict[str, Tensor]:
    """The tensors of a local weights file (torch.save state dict or safetensors), on the CPU.

    Never executes code from the file: ``torch.load(weights_only=True)``; a file that needs
    arbitrary unpickling (a pickled model object, argparse.Namespace, ...) or a TorchScript
    archive is refused with an InputError that says how to re-save plain tensors. Weights
    with a NaN or infinite value are refused too, naming the tensor.
    """
    state = _read_weights(path)
    require_finite(state, str(path), what="refused: the weights are not finite: tensor")
    return state


def _read_weights(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise MissingResourceError(
            f"{path}: clip4clip weights file not found",
            hint="give a local CLIP or CLIP4Clip checkpoint (nothing is downloaded), or leave "
            "the weights out for a randomly initialised host",
        )
    with path.open("rb") as handle:
        head = handle.read(16)
    if path.suffix == ".safetensors" or (head[:2] != b"PK" and head[8:9] == b"{"):
        return _read_safetensors(path)
    if head[:2] == b"PK" and _is_torchscript(path):
        raise InputError(
            f"{path}: refused: a TorchScript archive (as OpenAI's CLIP .pt files are); "
            "finsta reads plain state dicts only",
            hint='if you trust the file, convert it once: python -c "import torch; '
            f"torch.save(torch.jit.load('{path}', map_location='cpu').state_dict(), "
            f"'{path.with_suffix('.state.pt')}')\"",
        )
    payload = load_torch_file(path, unreadable="not a readable weights file")
    return _unwrap_state_dict(payload, path)


def split_state_dict(
    state: Mapping[str, Tensor],
) -> tuple[dict[str, Tensor], dict[str, Tensor], list[str]]:
    """Normalise checkpoint keys: (CLIP keys, temporal-module keys, skipped keys).

    CLIP keys lose any ``module.`` / ``clip.`` prefixes (``visual.conv1.weight``, ...); temporal
    keys are relative to the temporal module (``position_embeddings.weight``,
    ``transformer.resblocks.0...``) whether they were written by finsta (``temporal.*``) or by
    CLIP4Clip (``frame_position_embeddings.*``, ``transformerClip.*``). OpenAI's scalar entries
    are dropped; CLIP4Clip heads finsta does not use are returned as skipped.
    """
    clip: dict[str, Tensor] = {}
    temporal: dict[str, Tensor] = {}
    skipped: list[str] = []
    for key, value in state.items():
        name = key
        while name.startswith(STRIPPED_PREFIXES):
            name = name.split(".", 1)[1]
        if name in OPENAI_EXTRA_KEYS:
            continue
        for old, new in CLIP4CLIP_RENAMES:
            if name.startswith(old):
                name = new + name[len(old) :]
        if name.startswith("temporal."):
            temporal[name[len("temporal.") :]] = value
        elif name.startswith(IGNORED_PREFIXES):
            skipped.append(key)
        else:
            clip[name] = value
    return clip, temporal, skipped


def _check_fit(
    given: Mapping[str, Tensor], expected: Mapping[str, Tensor], source: str, what: str
) -> None:
    """InputError naming the first unexpected, missing or wrongly shaped keys."""
    unexpected = [k for k in given if k not in expected]
    missing = [k for k in expected if k not in given]
    wrong = [k for k in given if k in expected and given[k].shape != expected[k].shape]
    hint = "the file may hold another architecture: set the host's 'arch' to match it"
    if wrong:
        detail = ", ".join(
            f"{k} {tuple(given[k].shape)} vs {tuple(expected[k].shape)}" for k in wrong[:3]
        )
        raise InputError(
            f"{source}: {len(wrong)} tensor(s) do not fit {what} (file vs model): {detail}",
            hint=hint,
        )
    if unexpected:
        raise InputError(
            f"{source}: {len(unexpected)} tensor(s) that {what} does not have: "
            + ", ".join(unexpected[:3]),
            hint=hint,
        )
    if missing:
        raise InputError(
            f"{source}: {len(missing)} tensor(s) of {what} missing from the file: "
            + ", ".join(missing[:3]),
            hint=hint,
        )


# ---------------------------------------------------------------------------------------------
# The architecture a weights file was trained as


def _unprefixed(key: str) -> str:
    while key.startswith("module."):
        key = key[len("module.") :]
    return key


def quick_gelu_origin(state: Mapping[str, Tensor]) -> str | None:
    """Which QuickGELU-trained family a state dict's keys show: ``"CLIP4Clip"`` (``clip.*`` with
    ``clip.logit_scale``, ``transformerClip.*``, ``frame_position_embeddings.*``),
    ``"OpenAI CLIP"`` (its scalars ``input_resolution``, ``context_length``, ``vocab_size``), or
    None when the keys do not say (open_clip's files, finsta's own host state)."""
    names = [_unprefixed(key) for key in state]
    if any(
        name == "clip.logit_scale"
        or name.startswith(("transformerClip.", "frame_position_embeddings."))
        for name in names
    ):
        return "CLIP4Clip"
    bare = [name.split(".", 1)[1] if name.startswith("clip.") else name for name in names]
    if any(name in OPENAI_EXTRA_KEYS for name in bare):
        return "OpenAI CLIP"
    return None


def _blocks(state: Mapping[str, Tensor], prefix: str) -> int:
    """How many Transformer blocks ``prefix<i>.`` the state holds."""
    found = {key[len(prefix) :].split(".", 1)[0] for key in state if key.startswith(prefix)}
    return len([index for index in found if index.isdigit()])


def _file_shapes(clip_state: Mapping[str, Tensor]) -> dict[str, int] | None:
    """The architecture numbers a CLIP ViT state dict (keys without prefixes) shows, or None."""
    try:
        conv = clip_state["visual.conv1.weight"]  # (width, 3, patch, patch)
        grid = round((clip_state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
        return {
            "embed_dim": int(clip_state["text_projection"].shape[-1]),
            "vision_width": int(conv.shape[0]),
            "patch_size": int(conv.shape[-1]),
            "image_size": int(conv.shape[-1]) * grid,
            "vision_layers": _blocks(clip_state, "visual.transformer.resblocks."),
            "text_width": int(clip_state["ln_final.weight"].shape[0]),
            "text_layers": _blocks(clip_state, "transformer.resblocks."),
            "context_length": int(clip_state["positional_embedding"].shape[0]),
            "vocab_size": int(clip_state["token_embedding.weight"].shape[0]),
        }
    except (KeyError, IndexError):
        return None


def _config_shapes(cfg: Mapping[str, Any]) -> dict[str, int] | None:
    vision, text = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    try:
        return {
            "embed_dim": int(cfg["embed_dim"]),
            "vision_width": int(vision["width"]),
            "patch_size": int(vision["patch_size"]),
            "image_size": int(vision["image_size"]),
            "vision_layers": int(vision["layers"]),
            "text_width": int(text["width"]),
            "text_layers": int(text["layers"]),
            "context_length": int(text.get("context_length", 77)),
            "vocab_size": int(text.get("vocab_size", 49408)),
        }
    except (KeyError, TypeError, ValueError):
        return None


def infer_arch(open_clip: Any, clip_state: Mapping[str, Tensor], quick_gelu: bool) -> str | None:
    """The open_clip architecture whose tensors have the shapes of ``clip_state`` (keys without
    prefixes) and whose activation is QuickGELU when ``quick_gelu``, GELU otherwise; the
    shortest such name (``ViT-B-32-quickgelu`` rather than a variant), or None."""
    shapes = _file_shapes(clip_state)
    if shapes is None:
        return None
    found = []
    for name in open_clip.list_models():
        cfg = open_clip.get_model_config(name) or {}
        if bool(cfg.get("quick_gelu", False)) != quick_gelu or _config_shapes(cfg) != shapes:
            continue
        try:
            check_arch(open_clip, name)
        except ConfigError:
            continue
        found.append(name)
    return min(found, key=lambda name: (len(name), name)) if found else None


def _quick_gelu_name(open_clip: Any, arch: str) -> str | None:
    name = arch if arch.endswith(QUICKGELU_SUFFIX) else arch + QUICKGELU_SUFFIX
    return name if open_clip.get_model_config(name) is not None else None


def activation_mismatch(source: str, origin: str, arch: str) -> InputError:
    """The refusal of a QuickGELU-trained file for a GELU architecture (they share every tensor,
    so the file would load without an error and give wrong features)."""
    target = f"{arch}{QUICKGELU_SUFFIX}" if not arch.endswith(QUICKGELU_SUFFIX) else arch
    return InputError(
        f"{source}: a {origin} checkpoint, trained with QuickGELU, but arch {arch!r} uses GELU: "
        "loaded into it, its features would be wrong",
        hint=f"leave 'arch' out to infer it from the file, or set arch: {target}",
    )


def resolve_arch(
    open_clip: Any, arch: str | None, state: Mapping[str, Tensor] | None, source: str
) -> str:
    """The architecture a host for ``state`` (a weights file's tensors, None without weights)
    is built as: ``arch`` when given (refused when the file needs QuickGELU and ``arch`` has
    GELU), else inferred from the file (module docstring), else :data:`DEFAULT_ARCH`."""
    origin = quick_gelu_origin(state) if state is not None else None
    if arch is not None:
        if origin is not None and not check_arch(open_clip, arch).get("quick_gelu", False):
            raise activation_mismatch(source, origin, arch)
        return arch
    if state is None:
        return DEFAULT_ARCH
    clip_state, _, _ = split_state_dict(state)
    inferred = infer_arch(open_clip, clip_state, quick_gelu=origin is not None)
    if inferred is None and origin is not None:
        raise InputError(
            f"{source}: a {origin} checkpoint (trained with QuickGELU), but no open_clip "
            "QuickGELU ViT architecture has the shapes of its tensors",
            hint="set the host's 'arch' to the file's architecture",
        )
    if inferred is None:
        return DEFAULT_ARCH  # loading then names the tensors that do not fit
    why = (
        f"a {origin} checkpoint, trained with QuickGELU" if origin else "the shapes of its tensors"
    )
    log.info("%s: arch %s, inferred from the file (%s)", source, inferred, why)
    return inferred


def fetch_pretrained(
    open_clip: Any, arch: str | None, tag: str, allow_download: bool = False
) -> tuple[str, Path]:
    """The architecture and local file of open_clip's pretrained ``tag`` for ``arch`` (default
    :data:`DEFAULT_ARCH`), fetched through open_clip's own download (its cache, then the
    network) only when downloads are allowed (``allow_download``, or ``FINSTA_ALLOW_DOWNLOAD=1``);
    MissingResourceError (exit 4) otherwise, or when
    the download fails. A tag trained with QuickGELU (``openai``) turns an ``arch`` left out into
    the ``-quickgelu`` architecture and refuses a GELU one given explicitly."""
    from finsta_cli.offline import ALLOW_DOWNLOAD_HINT, download_allowed, download_dir

    name = arch or DEFAULT_ARCH
    check_arch(open_clip, name)
    cfg = open_clip.pretrained.get_pretrained_cfg(name, tag)
    if not cfg:
        tags = open_clip.pretrained.list_pretrained_tags_by_model(name)
        raise ConfigError(
            f"clip4clip host: open_clip has no pretrained weights {tag!r} for arch {name!r}",
            hint=("tags for it: " + ", ".join(tags)) if tags else "see open_clip.list_pretrained()",
        )
    if cfg.get("quick_gelu") and not check_arch(open_clip, name).get("quick_gelu", False):
        quick = _quick_gelu_name(open_clip, name)
        if arch is not None or quick is None:
            raise activation_mismatch(f"open_clip pretrained {tag!r}", "QuickGELU", name)
        name = quick
    if not download_allowed(allow_download):
        raise MissingResourceError(
            f"clip4clip host: the pretrained weights {name}/{tag} come from open_clip's "
            "download, which finsta runs only when you allow it",
            hint=f"{ALLOW_DOWNLOAD_HINT}; or download the file yourself and give it as the weights",
        )
    try:
        target = open_clip.pretrained.download_pretrained(
            cfg, cache_dir=str(download_dir("open_clip"))
        )
    except Exception as exc:  # the network, the hub, the disk: all mean "not here"
        lines = str(exc).strip().splitlines()
        reason = lines[0][:200] if lines else type(exc).__name__
        raise MissingResourceError(
            f"clip4clip host: open_clip could not download {name}/{tag} ({reason})",
            hint="check the network, or download the file yourself and give it as the weights",
        ) from None
    if not target or not Path(target).is_file():
        raise MissingResourceError(f"clip4clip host: open_clip gave no file for {name}/{tag}")
    return name, Path(target)


# ---------------------------------------------------------------------------------------------
# The host


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
        """Load a local CLIP / CLIP4Clip / finsta weights file (module docstring)."""
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
        _check_fit(clip_state, expected, source, f"the {arch} CLIP model")
        if scale is None or scale.shape != self.logit_scale.shape:
            raise InputError(f"{source}: no logit_scale of shape {tuple(self.logit_scale.shape)}")
        if self.temporal is None:
            if temporal_state:
                log.warning("%s: its temporal module is not used by a meanP host", source)
        elif temporal_state:
            _check_fit(temporal_state, self.temporal.state_dict(), source, "the temporal module")
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
    architecture ``config["arch"]`` names or the file's (module docstring).

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
