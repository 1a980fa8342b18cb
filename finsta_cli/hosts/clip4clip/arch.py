"""The open_clip architecture of a clip4clip host: checked, inferred, or a pretrained tag's.

Only open_clip's built-in plain CLIP ViTs are accepted (:func:`check_arch`). When the config
leaves ``arch`` out, it is inferred from the weights (:func:`resolve_arch`): the shapes of the
file's tensors pick open_clip's architecture, and its activation comes from what the keys say
about where the file comes from. CLIP4Clip checkpoints (``clip.*`` with ``clip.logit_scale``,
``transformerClip.*``, ``frame_position_embeddings.*``) and OpenAI's CLIP state dicts
(``input_resolution``, ``context_length``, ``vocab_size`` beside the weights) were trained with
QuickGELU, so they get the ``-quickgelu`` architecture (``ViT-B-32-quickgelu`` for CLIP4Clip's
ViT-B/32); so do open_clip pretrained tags whose config says ``quick_gelu``
(:func:`fetch_pretrained`). GELU and QuickGELU models hold the same tensors, so a file loads into
either without an error and only its features are wrong: such a file given with a GELU ``arch``
is refused, naming both. Without weights, ``arch`` is ``ViT-B-32``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from finsta_cli.errors import ConfigError, InputError, MissingResourceError
from finsta_cli.hosts.clip4clip.weights import OPENAI_EXTRA_KEYS, split_state_dict
from finsta_cli.io.progress import get_logger

DEFAULT_ARCH = "ViT-B-32"
QUICKGELU_SUFFIX = "-quickgelu"
INSTALL_HINT = "pip install 'finsta[clip]'  (or: pip install 'open_clip_torch>=3.0,<4')"

log = get_logger("hosts.clip4clip")


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
