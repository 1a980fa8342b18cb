"""Host input frames: uniform keyframes of each video, decoded once at the host's size and cached.

Training and evaluation read the same frames many times, so each video's sampled frames are
decoded once (decord, resized on decode, then stretched to a square S x S) and kept in a cache
file keyed by the video file's path, size and modification time and by (T, S). A video shorter
than T frames repeats its last frame. A video that cannot be decoded is reported, not fatal.
A cache entry that is not what this module writes ((T, S, S, 3) uint8 frames, (T,) int64
indices: integers, so never NaN) is decoded again, as a damaged one is.
A *segment* ``(start, end)`` (seconds) of a long video samples its T keyframes uniformly over
the frames shown in that part only (:func:`segment_indices`; a segment past the video's end is
cut there), and is part of the cache key. Only the sampled frames are decoded (decord seeks to
each), so memory does not grow with the video's length.
:func:`iter_host_frames` hands the frames out a chunk of videos at a time, so a consumer that
keeps only what it makes of each chunk (evaluation: the embeddings) holds one chunk of frames
whatever the number of videos; :func:`load_host_frames` holds them all (training).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from finsta_cli.datasets.records import Segment
from finsta_cli.errors import FinstaError, InputError
from finsta_cli.io.hashing import hash_json
from finsta_cli.io.torchfile import load_torch_file, save_torch_file
from finsta_cli.video.decode import (
    DecodeOptions,
    VideoSource,
    not_found,
    open_video,
    sample_indices,
)


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


def frame_cache_key(path: Path, num_frames: int, size: int, segment: Segment | None = None) -> str:
    """The name of a video's frame cache entry: its path, size and modification time, the
    frame count and size asked for, and the segment when there is one (a changed file or
    setting gives another entry)."""
    stat = path.stat()
    key: list[object] = [str(path.resolve()), stat.st_size, stat.st_mtime_ns, num_frames, size]
    if segment is not None:
        key.append([float(segment[0]), float(segment[1])])
    return hash_json(key)[:24]


def segment_indices(num_frames: int, fps: float, count: int, segment: Segment) -> list[int]:
    """``count`` uniform keyframes of the frames shown during ``segment`` (frame i is shown at
    i / fps s; all of them when fewer); a segment past the video's end is cut there, one
    shorter than a frame gives the frame at its start. A segment that starts after the video
    ends raises :class:`ValueError`."""
    start, end = segment
    # the tolerance keeps 7.2 s x 25 fps (180.00000000000003) at frame 180
    first = max(0, math.ceil(start * fps - 1e-6))
    stop = min(num_frames, math.ceil(end * fps - 1e-6))
    if first >= num_frames:
        raise ValueError(f"starts after the video's end ({num_frames / fps:.2f} s)")
    stop = max(stop, first + 1)
    return [first + i for i in sample_indices(stop - first, fps, frames=count)]


def decode_host_frames(
    path: Path, num_frames: int, size: int, segment: Segment | None = None
) -> tuple[Tensor, Tensor, int]:
    """(T, S, S, 3) uint8 frames, (T,) frame indices, and the video's frame count; with a
    ``segment``, the frames are sampled in that part of the video (:func:`segment_indices`)."""
    source = VideoSource(path.stem, path, "frames" if path.is_dir() else "video")
    video = open_video(source, DecodeOptions(longest=max(size, 2)))
    if segment is None or video.num_frames <= 0:
        indices = sample_indices(video.num_frames, video.fps, frames=num_frames)
    else:
        try:
            indices = segment_indices(video.num_frames, video.fps, num_frames, segment)
        except ValueError as exc:
            raise InputError(f"{path}: segment [{segment[0]}:{segment[1]}] {exc}") from None
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
    *,
    segments: Mapping[str, Segment] | None = None,
) -> FrameSet:
    """Frames of ``videos`` ((id, path) pairs) in one set; videos that fail are listed in
    ``failures``. Holds every frame at once: :func:`iter_host_frames` streams them."""
    return next(iter_host_frames(videos, num_frames, size, cache_dir, progress, segments=segments))


def iter_host_frames(
    videos: Sequence[tuple[str, Path | None]],
    num_frames: int,
    size: int,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
    *,
    segments: Mapping[str, Segment] | None = None,
) -> Iterator[FrameSet]:
    """Frames of ``videos`` ((id, path) pairs), ``chunk`` decoded videos per set (None: all in
    one set), in order; each set's ``failures`` are the videos that failed since the last set.
    ``segments``: the part of the video to sample, by id (ids not in it: the whole video).

    The sets cut the decoded videos, not ``videos``, so failures do not change which videos
    share a set. At most one set's frames are alive here: a consumer that drops each set before
    asking for the next holds one chunk of frames, whatever the number of videos.
    """
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    # (id, frames, indices, length) of the videos decoded since the last set; appended without
    # a local name, which would keep the last clip alive while the consumer holds the set.
    decoded: list[tuple[str, Tensor, Tensor, int]] = []
    failures: dict[str, str] = {}
    for video_id, path in videos:
        try:
            segment = segments.get(video_id) if segments is not None else None
            decoded.append(
                (video_id, *_host_clip(video_id, path, num_frames, size, cache_dir, segment))
            )
        except InputError as exc:
            failures[video_id] = exc.message
        if progress is not None:
            progress(1)
        if chunk is not None and len(decoded) == chunk:
            frames = _frame_set(decoded, failures, num_frames, size)
            decoded, failures = [], {}  # the clips now live on only in the set handed out
            yield frames
            del frames
    if decoded or failures or chunk is None:
        frames = _frame_set(decoded, failures, num_frames, size)
        del decoded
        yield frames


def _host_clip(
    video_id: str,
    path: Path | None,
    num_frames: int,
    size: int,
    cache_dir: Path | None,
    segment: Segment | None = None,
) -> tuple[Tensor, Tensor, int]:
    """One video's frames, indices and frame count, from the cache or decoded (and cached)."""
    if path is None:
        raise InputError(f"{video_id}: not found (no video file is named for it)")
    if not path.exists():
        raise InputError(not_found(path))
    target = None
    if cache_dir is not None and path.is_file():
        target = cache_dir / f"{frame_cache_key(path, num_frames, size, segment)}.pt"
        if target.is_file():
            cached = _read_cached(target, num_frames, size)  # None: damaged, decoded again
            if cached is not None:
                return cached
    clip, index, length = decode_host_frames(path, num_frames, size, segment)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        save_torch_file(target, {"frames": clip, "indices": index, "length": length})
    return clip, index, length


def _frame_set(
    decoded: list[tuple[str, Tensor, Tensor, int]],
    failures: dict[str, str],
    num_frames: int,
    size: int,
) -> FrameSet:
    if not decoded:
        return FrameSet(
            ids=[],
            frames=torch.zeros((0, num_frames, size, size, 3), dtype=torch.uint8),
            indices=torch.zeros((0, num_frames), dtype=torch.long),
            lengths=torch.zeros((0,), dtype=torch.long),
            failures=failures,
        )
    return FrameSet(
        ids=[video_id for video_id, _, _, _ in decoded],
        frames=torch.stack([clip for _, clip, _, _ in decoded]),
        indices=torch.stack([index for _, _, index, _ in decoded]),
        lengths=torch.tensor([length for _, _, _, length in decoded], dtype=torch.long),
        failures=failures,
    )
