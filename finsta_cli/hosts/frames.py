"""Host input frames: uniform keyframes of each video, decoded once at the host's size and cached.

Training and evaluation read the same frames many times, so each video's sampled frames are
decoded once (decord, resized on decode, then stretched to a square S x S) and kept in a cache
file keyed by the video file's path, size and modification time and by (T, S). A video shorter
than T frames repeats its last frame. A video that cannot be decoded is reported, not fatal.
A cache entry that is not what this module writes ((T, S, S, 3) uint8 frames, (T,) int64
indices: integers, so never NaN) is decoded again, as a damaged one is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from finsta_cli.errors import FinstaError, InputError
from finsta_cli.io.atomic import atomic_open
from finsta_cli.io.hashing import hash_json
from finsta_cli.io.torchfile import load_torch_file
from finsta_cli.video.decode import DecodeOptions, VideoSource, open_video, sample_indices


@dataclass
class FrameSet:
    """Frames of many videos. ``frames`` (N, T, S, S, 3) uint8; ``indices`` (N, T) the decoded
    frame numbers; ``lengths`` (N,) frames in each video; ``failures`` id -> reason."""

    ids: list[str]
    frames: Tensor
    indices: Tensor
    lengths: Tensor
    failures: dict[str, str] = field(default_factory=dict)

    def position(self, video_id: str) -> int:
        return self._positions[video_id]

    def __post_init__(self) -> None:
        self._positions = {vid: i for i, vid in enumerate(self.ids)}


def _cache_key(path: Path, num_frames: int, size: int) -> str:
    stat = path.stat()
    return hash_json([str(path.resolve()), stat.st_size, stat.st_mtime_ns, num_frames, size])[:24]


def decode_host_frames(path: Path, num_frames: int, size: int) -> tuple[Tensor, Tensor, int]:
    """(T, S, S, 3) uint8 frames, (T,) frame indices, and the video's frame count."""
    source = VideoSource(path.stem, path, "frames" if path.is_dir() else "video")
    video = open_video(source, DecodeOptions(longest=max(size, 2)))
    indices = sample_indices(video.num_frames, video.fps, frames=num_frames)
    if not indices:
        raise InputError(f"{path}: the video has no frames")
    indices = indices + [indices[-1]] * (num_frames - len(indices))
    array = video.read(indices)
    frames = torch.from_numpy(array)
    if frames.shape[1] != size or frames.shape[2] != size:
        x = frames.permute(0, 3, 1, 2).float()
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        frames = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    return frames, torch.tensor(indices, dtype=torch.long), int(video.num_frames)


def _read_cached(path: Path, num_frames: int, size: int) -> tuple[Tensor, Tensor, int] | None:
    """A cache entry's frames, indices and length; None when it is damaged or not of the
    expected shapes and types (float frames, which could hold NaN, included)."""
    try:
        cached = load_torch_file(path, unreadable="not a frame cache entry")
        clip, index, length = cached["frames"], cached["indices"], int(cached["length"])
    except (FinstaError, KeyError, TypeError, ValueError):  # damaged, cut short, foreign
        return None
    fits = (
        isinstance(clip, Tensor)
        and isinstance(index, Tensor)
        and clip.dtype == torch.uint8
        and tuple(clip.shape) == (num_frames, size, size, 3)
        and index.dtype == torch.long
        and tuple(index.shape) == (num_frames,)
        and length > 0
    )
    return (clip, index, length) if fits else None


def load_host_frames(
    videos: Sequence[tuple[str, Path | None]],
    num_frames: int,
    size: int,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> FrameSet:
    """Frames of ``videos`` ((id, path) pairs); videos that fail are listed in ``failures``."""
    ids: list[str] = []
    frames: list[Tensor] = []
    indices: list[Tensor] = []
    lengths: list[int] = []
    failures: dict[str, str] = {}
    for video_id, path in videos:
        try:
            if path is None or not path.exists():
                raise InputError(f"{path or video_id}: video file not found")
            cached = None
            target = None
            if cache_dir is not None and path.is_file():
                target = cache_dir / f"{_cache_key(path, num_frames, size)}.pt"
                if target.is_file():
                    cached = _read_cached(target, num_frames, size)
            if cached is None:
                clip, index, length = decode_host_frames(path, num_frames, size)
                if target is not None:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_open(target, "wb") as handle:
                        torch.save({"frames": clip, "indices": index, "length": length}, handle)
            else:
                clip, index, length = cached
        except InputError as exc:
            failures[video_id] = exc.message
        else:
            ids.append(video_id)
            frames.append(clip)
            indices.append(index)
            lengths.append(length)
        if progress is not None:
            progress(1)
    empty = torch.zeros((0, num_frames, size, size, 3), dtype=torch.uint8)
    return FrameSet(
        ids=ids,
        frames=torch.stack(frames) if frames else empty,
        indices=torch.stack(indices) if indices else torch.zeros((0, num_frames), dtype=torch.long),
        lengths=torch.tensor(lengths, dtype=torch.long),
        failures=failures,
    )
