"""The embeddings every evaluation task scores: the :class:`Embedder` protocol, a host's own
embeddings (:class:`HostEmbedder`), and a dataset's videos embedded a chunk at a time.

An evaluation sees a model only through an :class:`Embedder`: L2-normalised text and video
embeddings, and what metrics.json records about them. There are two: a host's own embeddings
(here) and a fusion checkpoint's fused host + scene-graph embeddings
(:class:`finsta_cli.tasks.graph_eval.FusionEmbedder`, ``eval --with-graphs``).

Videos are decoded and embedded ``chunk`` at a time (:data:`VIDEO_CHUNK`) and only their
embeddings are kept, so memory does not grow with the number of videos beyond one (N, E)
embedding row each; with a chunk that is a multiple of the encoder batch (:data:`VIDEO_BATCH`)
the embeddings are the ones of a single pass, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from finsta_cli.errors import InputError, NonFiniteError
from finsta_cli.hosts.base import HostVLM
from finsta_cli.hosts.frames import FrameSet, iter_host_frames
from finsta_cli.io.progress import StageProgress, get_logger
from finsta_cli.runtime import release_freed_memory
from finsta_cli.tasks.eval_config import VIDEO_CHUNK

if TYPE_CHECKING:
    from finsta_cli.datasets import TaskDataset, VideoRef

log = get_logger("eval")
# Videos decoded at a time. Their frames (T x S x S x 3 bytes each: 221 KB for the tiny host's
# 8 x 96 px, 1.8 MB for CLIP4Clip's 12 x 224 px) are the only per-video data held beyond an
# embedding row, twice over while a chunk is stacked. A multiple of the encoder batch keeps the
# batches, and so the embeddings, those of one pass over all videos. (VIDEO_CHUNK lives with
# eval's config, which --help reads without importing torch.)
VIDEO_BATCH = 32
TEXT_BATCH = 256


class Embedder(Protocol):
    """What the evaluation tasks score: a model's L2-normalised text and video embeddings."""

    num_frames: int  # frames per video the model reads
    frame_size: int  # their side in pixels
    embed_dim: int

    def text_embeddings(self, texts: Sequence[str]) -> Tensor:
        """(N, E) L2-normalised text embeddings."""
        ...

    def video_embeddings(self, frames: FrameSet) -> Tensor:
        """(N, E) L2-normalised video embeddings, in ``frames.ids`` order."""
        ...

    def summary(self) -> dict[str, Any]:
        """What metrics.json records about these embeddings (called once, after the task)."""
        ...


class HostEmbedder(Embedder):
    """A host's own embeddings, ``text_batch`` texts / ``video_batch`` videos per encoder call."""

    def __init__(
        self, host: HostVLM, text_batch: int = TEXT_BATCH, video_batch: int = VIDEO_BATCH
    ) -> None:
        self.host = host
        self.num_frames = host.num_frames
        self.frame_size = host.frame_size
        self.embed_dim = host.embed_dim
        self.text_batch = text_batch
        self.video_batch = video_batch

    @torch.no_grad()
    def text_embeddings(self, texts: Sequence[str]) -> Tensor:
        batch = self.text_batch
        out = [
            F.normalize(
                self.host.encode_text(list(texts[i : i + batch])).embedding.float(), dim=-1
            ).cpu()
            for i in range(0, len(texts), batch)
        ]
        return torch.cat(out) if out else torch.zeros((0, self.embed_dim))

    @torch.no_grad()
    def video_embeddings(self, frames: FrameSet) -> Tensor:
        batch = self.video_batch
        out = [
            F.normalize(
                self.host.encode_video(frames.frames[i : i + batch]).embedding.float(), dim=-1
            ).cpu()
            for i in range(0, len(frames.ids), batch)
        ]
        return torch.cat(out) if out else torch.zeros((0, self.embed_dim))

    def summary(self) -> dict[str, Any]:
        return {"with_graphs": False}


# What the functions below take: an Embedder, or a host (its own embeddings).
Scorer = HostVLM | Embedder


def as_embedder(
    model: Scorer, *, text_batch: int = TEXT_BATCH, video_batch: int = VIDEO_BATCH
) -> Embedder:
    """``model`` when it is an :class:`Embedder`; a host's own embeddings, ``text_batch`` /
    ``video_batch`` per encoder call, when it is a host."""
    if isinstance(model, HostVLM):
        return HostEmbedder(model, text_batch, video_batch)
    return model


def require_finite_embeddings(embeddings: Tensor, kind: str, names: Sequence[str]) -> Tensor:
    """``embeddings`` (N, E) when every row is finite; else :class:`NonFiniteError` naming how
    many of the ``names`` (texts, video ids) have NaN or infinite embeddings. Scores of NaN
    embeddings rank as ties, so the metrics would look plausible while meaning nothing."""
    bad = ~torch.isfinite(embeddings).all(dim=1)
    if embeddings.numel() and bool(bad.any()):
        rows = bad.nonzero().flatten().tolist()
        shown = ", ".join(repr(str(names[i])[:60]) for i in rows[:3])
        raise NonFiniteError(
            f"the model gives NaN or infinite {kind} embeddings for {len(rows)} of "
            f"{len(names)} {kind}s (e.g. {shown}): no metrics are computed from them",
            hint="the checkpoint's weights or the inputs are broken; check the run that wrote it",
        )
    return embeddings


@torch.no_grad()
def encode_texts(model: Scorer, texts: Sequence[str], batch: int = TEXT_BATCH) -> Tensor:
    """(N, E) L2-normalised text embeddings (refused when not finite); ``batch``: texts per
    call of a host's encoder."""
    embeddings = as_embedder(model, text_batch=batch).text_embeddings(texts)
    if len(texts) > batch:
        release_freed_memory()  # the activations of the batches (see embed_videos)
    return require_finite_embeddings(embeddings, "text", texts)


@torch.no_grad()
def encode_videos(model: Scorer, frames: FrameSet, batch: int = VIDEO_BATCH) -> Tensor:
    """(N, E) L2-normalised video embeddings, in ``frames.ids`` order (refused when not
    finite); ``batch``: videos per call of a host's encoder."""
    embeddings = as_embedder(model, video_batch=batch).video_embeddings(frames)
    return require_finite_embeddings(embeddings, "video", frames.ids)


@dataclass
class VideoEmbeddings:
    """(N, E) L2-normalised ``embeddings`` of the videos that could be decoded, in ``ids``
    order; ``failures`` id -> reason for the others."""

    ids: list[str]
    embeddings: Tensor
    failures: dict[str, str]

    def __post_init__(self) -> None:
        self._positions = {vid: i for i, vid in enumerate(self.ids)}

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._positions

    def rows(self, video_ids: Sequence[str]) -> Tensor:
        """(len(video_ids), E) the embeddings of ``video_ids``, in that order."""
        return self.embeddings[torch.tensor([self._positions[v] for v in video_ids])]

    def position(self, video_id: str) -> int:
        return self._positions[video_id]


def embed_videos(
    model: Scorer,
    dataset: TaskDataset,
    video_ids: Sequence[str],
    cache: Path | None,
    quiet: bool,
    chunk: int = VIDEO_CHUNK,
    batch: int = VIDEO_BATCH,
) -> VideoEmbeddings:
    """Decode and embed ``video_ids`` of ``dataset``, ``chunk`` videos at a time, ``batch`` per
    encoder call: only the embeddings are kept (module docstring). A ``chunk`` that is a
    multiple of ``batch`` gives the embeddings of a single pass exactly; others agree to float
    rounding (the encoder's batches differ). None decoded is an :class:`InputError`.

    An id may be a segment's clip id (``VIDEO@START-END``, :meth:`TaskDataset.segments`): that
    part of its video is sampled and embedded under the clip id."""
    clips = dataset.segments()
    segments = {key: segment for key, (_, segment) in clips.items()}

    def ref(key: str) -> VideoRef | None:
        return dataset.videos.get(clips[key][0] if key in clips else key)

    refs = [(key, video.location if (video := ref(key)) else None) for key in video_ids]
    absent = {key for key in video_ids if (video := ref(key)) is None or video.path is None}
    ids: list[str] = []
    parts: list[Tensor] = []
    failures: dict[str, str] = {}
    with StageProgress(f"embedding {dataset.split}", len(refs), quiet=quiet) as bar:
        size = (model.num_frames, model.frame_size)
        chunks = iter_host_frames(
            refs, *size, cache, bar.advance, chunk=chunk, segments=segments or None
        )
        for frames in chunks:
            failures.update(frames.failures)
            if frames.ids:
                ids += frames.ids
                parts.append(encode_videos(model, frames, batch))
            del frames  # before the next chunk is decoded
            # else the C library keeps the freed frames and activations resident, and the
            # peak creeps up with the number of chunks
            release_freed_memory()
    missing = [vid for vid in failures if vid in absent]
    broken = [vid for vid in failures if vid not in absent]
    root_hint = video_root_hint(dataset)
    if missing:
        log.warning(
            "%d of %d video(s) not found, left out (first: %s)%s",
            len(missing), len(refs), failures[missing[0]], f"; {root_hint}" if root_hint else "",
        )  # fmt: skip
    if broken:
        log.warning(
            "%d video(s) could not be decoded, left out (first: %s)",
            len(broken), failures[broken[0]],
        )  # fmt: skip
    if not ids:
        first = failures[(missing or broken)[0]] if failures else "no videos"
        what = "was found" if len(missing) == len(refs) else "could be decoded"
        noun = "video segments" if segments else "videos"  # segments: clips of long videos
        raise InputError(
            f"{dataset.source}: none of the {len(refs)} {noun} of split {dataset.split!r} "
            f"{what} (first: {first})",
            hint=root_hint if missing else None,
        )
    return VideoEmbeddings(ids, torch.cat(parts), failures)


def video_root_hint(dataset: TaskDataset) -> str | None:
    """What to do about videos that are not found: pass ``--video-root`` when it was not given;
    when it was, what the folder should hold (None: nothing more to say)."""
    if dataset.video_root is None:
        return "pass --video-root DIR, the folder of the dataset's video files"
    return (
        f"--video-root {dataset.video_root} should hold <video_id>.mp4 (or another video "
        "extension, or a folder of frame images) for each video"
    )
