"""The HostVLM protocol: what finsta needs from a video-language model (docs/architecture.md §4).

A host turns sampled video frames into per-frame (and, where it has them, per-patch) features and
a video embedding, and texts into per-token features (with character offsets, so scene-graph
nodes can pool the tokens of their span) and a text embedding. Finsta post-trains the host's
parameters; in ``distill`` mode the checkpoint is the host alone and runs without graphs.

Shapes (B videos or texts, T frames, P patches, L tokens, D feature size, E embedding size):

- frames in: (B, T, S, S, 3) uint8 RGB, S = ``host.frame_size``, T = ``host.num_frames``
- :class:`VideoFeatures`: ``frame`` (B, T, D), ``patch`` (B, T, P, D) or None,
  ``embedding`` (B, E)
- :class:`TextFeatures`: ``token`` (B, L, D), ``mask`` (B, L) bool, ``offsets`` (B, L, 2)
  character [start, end) with (-1, -1) for special tokens, ``embedding`` (B, E)

Embeddings are not normalised; similarity is the cosine scaled by ``host.logit_scale.exp()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, get_args, runtime_checkable

from pydantic import BaseModel

if TYPE_CHECKING:
    from torch import Tensor, nn

HostName = Literal["tiny", "clip4clip", "lite"]
HOST_NAMES: tuple[str, ...] = get_args(HostName)
TemporalMode = Literal["meanP", "seqTransf"]


@dataclass
class VideoFeatures:
    """What a host makes of a batch of videos (shapes in the module docstring)."""

    frame: Tensor
    embedding: Tensor
    patch: Tensor | None = None
    patch_grid: tuple[int, int] | None = None  # (rows, columns); patch p = row * columns + col


@dataclass
class TextFeatures:
    """What a host makes of a batch of texts (shapes in the module docstring)."""

    token: Tensor
    mask: Tensor
    offsets: Tensor
    embedding: Tensor


@runtime_checkable
class HostVLM(Protocol):
    """A video-language model finsta can post-train. Adapters are ``torch.nn.Module`` s."""

    name: str
    num_frames: int
    frame_size: int
    feature_dim: int
    embed_dim: int
    logit_scale: nn.Parameter

    def encode_video(self, frames: Tensor) -> VideoFeatures:
        """(B, T, S, S, 3) uint8 frames -> features; T may differ from ``num_frames``."""
        ...

    def encode_text(self, texts: Sequence[str]) -> TextFeatures:
        """Tokenise and encode a batch of texts."""
        ...

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters post-training updates (a frozen backbone keeps its own out)."""
        ...

    def host_config(self) -> dict[str, Any]:
        """A JSON-serialisable config that rebuilds the same architecture (see ``build_host``)."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> Any: ...

    def to(self, *args: Any, **kwargs: Any) -> Any: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def parameters(self, recurse: bool = True) -> Any: ...


def normalised_frames(frames: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """(B, T, S, S, 3) uint8 -> (B * T, 3, S, S) float, normalised per channel."""
    import torch

    b, t, h, w, c = frames.shape
    x = frames.reshape(b * t, h, w, c).permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def parse_host_config(model: type[ConfigT], config: Mapping[str, Any], host: str) -> ConfigT:
    """Validate a host's config dict as ``model``; an unknown key names the nearest valid one,
    an invalid value its field (ConfigError, exit 2)."""
    import difflib

    from pydantic import ValidationError

    from finsta_cli.errors import ConfigError

    fields = list(model.model_fields)
    for key in config:
        if key not in fields:
            near = difflib.get_close_matches(str(key), fields, n=1, cutoff=0.6)
            guess = f" (did you mean '{near[0]}'?)" if near else ""
            raise ConfigError(
                f"{host} host: unknown config key '{key}'{guess}",
                hint="valid keys: " + ", ".join(fields),
            )
    try:
        return model.model_validate(dict(config))
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        ]
        raise ConfigError(f"{host} host: invalid config: " + "; ".join(problems)) from None
