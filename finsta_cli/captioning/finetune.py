"""``eval --task captioning --finetune``: a caption head trained on a host's frame features of
the train split, its captions of the evaluated split, and the nearest-training-caption baseline,
both scored with the coco-caption metrics.

The host is frozen by default: the frame features (``host.encode_video(frames).frame``) of each
split are computed once, a chunk of videos at a time, and the head trains on them. With
``train_host`` the host's trainable parameters train too (at ``host_lr``), so the training
split's frames are held and encoded at every step. Training is seeded: the head's
initialisation, the order of the (video, caption) pairs and dropout come from ``seed``.

The baseline gives each evaluated video the first caption of the training video whose host
video embedding is nearest (cosine): what the host's embeddings alone say about a video's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from finsta_cli.align.loop import deterministic_on_cpu
from finsta_cli.captioning.config import CaptionHeadConfig, DecodeMethod
from finsta_cli.captioning.decode import decode_captions
from finsta_cli.captioning.head import CaptionHead, caption_loss, save_caption_head
from finsta_cli.captioning.vocab import CaptionVocab
from finsta_cli.datasets import DatasetFormat, TaskDataset, load_task_dataset
from finsta_cli.errors import InputError, NonFiniteError, UsageError
from finsta_cli.hosts.base import HostVLM
from finsta_cli.hosts.frames import FrameSet, iter_host_frames
from finsta_cli.io.progress import StageProgress, get_logger
from finsta_cli.runtime import release_freed_memory
from finsta_cli.tasks.embedder import VIDEO_BATCH, require_finite_embeddings, video_root_hint
from finsta_cli.tasks.eval_config import VIDEO_CHUNK

log = get_logger("eval")
HEAD_FILE = "caption_head.pt"


@dataclass(frozen=True)
class CaptionSettings:
    """How the head is trained and decoded (``eval``'s captioning options)."""

    head: CaptionHeadConfig = field(default_factory=CaptionHeadConfig)
    epochs: int = 20
    decode: DecodeMethod = "beam"
    beam: int = 3
    train_host: bool = False
    metrics_backend: str = "auto"

    def decode_json(self) -> dict[str, Any]:
        """The decoding settings metrics.json records."""
        out: dict[str, Any] = {"method": self.decode, "max_length": self.head.max_length}
        if self.decode == "beam":
            out.update(beam=self.beam, length_penalty=self.head.length_penalty)
        return out


@dataclass
class FrameFeatures:
    """Per-frame host features (N, T, D) and L2-normalised video embeddings (N, E) of the
    videos that could be decoded, in ``ids`` order; ``failures`` id -> reason for the others."""

    ids: list[str]
    frames: Tensor
    embeddings: Tensor
    failures: dict[str, str]


@torch.no_grad()
def host_frame_features(
    host: HostVLM,
    dataset: TaskDataset,
    video_ids: Sequence[str],
    cache: Path | None = None,
    quiet: bool = False,
    chunk: int = VIDEO_CHUNK,
) -> FrameFeatures:
    """Decode ``video_ids`` of ``dataset`` ``chunk`` videos at a time and keep only the host's
    frame features and video embeddings of each (as ``tasks.embedder.embed_videos`` keeps the
    embeddings). None decoded is an :class:`InputError`."""
    refs = [(v, dataset.videos[v].location if v in dataset.videos else None) for v in video_ids]
    ids: list[str] = []
    frames: list[Tensor] = []
    embeddings: list[Tensor] = []
    failures: dict[str, str] = {}
    with StageProgress(f"features {dataset.split}", len(refs), quiet=quiet) as bar:
        size = (host.num_frames, host.frame_size)
        for part in iter_host_frames(refs, *size, cache, bar.advance, chunk=chunk):
            failures.update(part.failures)
            for start in range(0, len(part.ids), VIDEO_BATCH):
                features = host.encode_video(part.frames[start : start + VIDEO_BATCH])
                frames.append(features.frame.float().cpu())
                embeddings.append(F.normalize(features.embedding.float(), dim=-1).cpu())
            ids += part.ids
            del part
            release_freed_memory()
    if failures:
        first = next(iter(failures.values()))
        log.warning("%d of %d video(s) of split %r left out (first: %s)",
                    len(failures), len(refs), dataset.split, first)  # fmt: skip
    if not ids:
        raise InputError(
            f"{dataset.source}: none of the {len(refs)} videos of split {dataset.split!r} could "
            f"be decoded (first: {next(iter(failures.values()), 'no videos')})",
            hint=video_root_hint(dataset),
        )
    pooled = require_finite_embeddings(torch.cat(embeddings), "video", ids)
    per_frame = torch.cat(frames)
    if not bool(torch.isfinite(per_frame).all()):
        raise NonFiniteError("the host gives NaN or infinite frame features")
    return FrameFeatures(ids, per_frame, pooled, failures)


@dataclass
class CaptionRun:
    """What :func:`train_and_caption` made: the evaluated videos' ``references`` (those that
    were decoded), the head's ``predictions`` and the nearest-caption ``baseline``, the mean
    training loss of each epoch, the trained head and its vocabulary."""

    references: dict[str, list[str]]
    predictions: dict[str, str]
    baseline: dict[str, str]
    train_losses: list[float]
    head: CaptionHead
    vocab: CaptionVocab
    counts: dict[str, int]
    failures: dict[str, str]


def _training_pairs(
    features: FrameFeatures, captions: dict[str, list[str]], vocab: CaptionVocab, max_length: int
) -> tuple[list[int], list[list[int]]]:
    """(row of the video's features, word ids) of every training caption of a decoded video."""
    rows, targets = [], []
    for row, video_id in enumerate(features.ids):
        for text in captions.get(video_id, ()):
            ids = vocab.encode(text, max_length)
            if len(ids) > 1:  # a caption with no word teaches only <eos>
                rows.append(row)
                targets.append(ids)
    return rows, targets


def train_caption_head(
    frames: Tensor | None,
    rows: Sequence[int],
    targets: Sequence[list[int]],
    vocab: CaptionVocab,
    settings: CaptionSettings,
    *,
    seed: int = 0,
    device: str = "cpu",
    host: HostVLM | None = None,
    host_frames: FrameSet | None = None,
    feature_shape: tuple[int, int] | None = None,
    quiet: bool = True,
) -> tuple[CaptionHead, list[float]]:
    """Train a head on (``rows[i]``'s features, ``targets[i]``) pairs: frozen ``frames``
    (N, T, D), or with ``host`` the features of ``host_frames`` encoded at every step (the
    host's trainable parameters train too). Returns the head (eval mode) and each epoch's
    mean loss."""
    config = settings.head
    if frames is not None:
        num_frames, feature_dim = frames.shape[1], frames.shape[2]
    elif feature_shape is not None:
        num_frames, feature_dim = feature_shape
    else:
        raise ValueError("train_caption_head needs frames or a host's feature_shape")
    torch.manual_seed(seed)
    head = CaptionHead(feature_dim, num_frames, len(vocab), config).to(device)
    groups: list[dict[str, Any]] = [{"params": list(head.parameters()), "lr": config.lr}]
    if host is not None:
        groups.append({"params": host.trainable_parameters(), "lr": config.host_lr})
        host.train()
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    order = torch.Generator().manual_seed(seed)
    row_index = torch.tensor(list(rows))
    losses: list[float] = []
    head.train()
    # With more than one CPU thread the backward of the token embedding accumulates in an
    # order that depends on thread timing: two runs of the same seed differed (CIDEr 108.1
    # vs 108.8). The deterministic kernels make them equal, as in align-train.
    restore = deterministic_on_cpu(device)
    try:
        with StageProgress("training caption head", settings.epochs, quiet=quiet) as bar:
            for _ in range(settings.epochs):
                total, count = 0.0, 0
                permutation = torch.randperm(len(targets), generator=order).tolist()
                for start in range(0, len(permutation), config.batch_size):
                    batch = permutation[start : start + config.batch_size]
                    picked = row_index[batch]
                    if host is not None and host_frames is not None:
                        features = host.encode_video(host_frames.frames[picked].to(device)).frame
                    else:
                        assert frames is not None
                        features = frames[picked].to(device)
                    loss = caption_loss(
                        head, features, [targets[i] for i in batch], config.label_smoothing
                    )
                    if not bool(torch.isfinite(loss)):
                        raise NonFiniteError(
                            "the caption head's training loss is not finite",
                            hint="lower caption_head.lr (--set caption_head.lr=...)",
                        )
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * len(batch)
                    count += len(batch)
                losses.append(total / max(count, 1))
                bar.advance(1)
    finally:
        restore()
    head.eval()
    if host is not None:
        host.eval()
    return head, losses


def nearest_caption_baseline(
    test: FrameFeatures, train: FrameFeatures, captions: dict[str, list[str]]
) -> dict[str, str]:
    """Each ``test`` video's caption: the first caption of the ``train`` video with the most
    similar video embedding (cosine; ties to the earlier training video)."""
    captioned = [i for i, v in enumerate(train.ids) if captions.get(v)]
    if not captioned:
        raise InputError("the training split has no captioned video the baseline can copy")
    pool = train.embeddings[torch.tensor(captioned)]
    nearest = (test.embeddings @ pool.t()).argmax(dim=1).tolist()
    return {v: captions[train.ids[captioned[j]]][0] for v, j in zip(test.ids, nearest, strict=True)}


def train_and_caption(
    host: HostVLM,
    dataset: TaskDataset,
    train: TaskDataset,
    settings: CaptionSettings,
    *,
    cache: Path | None = None,
    quiet: bool = False,
    seed: int = 0,
    device: str = "cpu",
    video_chunk: int = VIDEO_CHUNK,
) -> CaptionRun:
    """Train the head on ``train``'s captions and caption ``dataset``'s captioned videos
    (module docstring)."""
    references = dataset.captions_by_video()
    train_captions = train.captions_by_video()
    if not references:
        raise InputError(f"{dataset.source}: split {dataset.split!r} has no captions to score")
    if not train_captions:
        raise InputError(f"{train.source}: split {train.split!r} has no captions to train on")
    vocab = CaptionVocab.build(
        (t for texts in train_captions.values() for t in texts), settings.head.min_word_count
    )
    host.eval()
    train_features = host_frame_features(host, train, list(train_captions), cache, quiet,
                                         video_chunk)  # fmt: skip
    if settings.train_host:
        return _train_host_and_caption(
            host, dataset, train, settings, vocab, train_features, cache=cache, quiet=quiet,
            seed=seed, device=device, video_chunk=video_chunk,
        )  # fmt: skip
    test_features = host_frame_features(host, dataset, list(references), cache, quiet,
                                        video_chunk)  # fmt: skip
    return caption_from_features(
        train_features, test_features, train_captions, references, settings, vocab=vocab,
        seed=seed, device=device, quiet=quiet,
    )  # fmt: skip


def caption_from_features(
    train_features: FrameFeatures,
    test_features: FrameFeatures,
    train_captions: dict[str, list[str]],
    references: dict[str, list[str]],
    settings: CaptionSettings,
    *,
    vocab: CaptionVocab | None = None,
    seed: int = 0,
    device: str = "cpu",
    quiet: bool = True,
) -> CaptionRun:
    """Train a head on frozen ``train_features`` and their ``train_captions``, caption the
    videos of ``test_features`` and copy their nearest training captions (the baseline).
    Features computed once serve any number of heads (seeds, settings)."""
    if vocab is None:
        texts = (t for texts in train_captions.values() for t in texts)
        vocab = CaptionVocab.build(texts, settings.head.min_word_count)
    rows, targets = _training_pairs(train_features, train_captions, vocab, settings.head.max_length)
    if not targets:
        raise InputError("the training split has no caption with a word")
    head, losses = train_caption_head(
        train_features.frames, rows, targets, vocab, settings, seed=seed, device=device,
        quiet=quiet,
    )  # fmt: skip
    return _captioned(head, vocab, losses, len(targets), train_features, test_features,
                      train_captions, references, settings)  # fmt: skip


def _train_host_and_caption(
    host: HostVLM,
    dataset: TaskDataset,
    train: TaskDataset,
    settings: CaptionSettings,
    vocab: CaptionVocab,
    train_features: FrameFeatures,
    *,
    cache: Path | None,
    quiet: bool,
    seed: int,
    device: str,
    video_chunk: int,
) -> CaptionRun:
    """:func:`train_and_caption` with ``train_host``: the training videos' frames held and
    encoded at every step; both splits' features recomputed with the trained host after."""
    from finsta_cli.hosts.frames import load_host_frames

    train_captions = train.captions_by_video()
    references = dataset.captions_by_video()
    rows, targets = _training_pairs(train_features, train_captions, vocab, settings.head.max_length)
    if not targets:
        raise InputError(f"{train.source}: split {train.split!r} has no caption with a word")
    refs = [(v, train.videos[v].location) for v in train_features.ids]
    held = load_host_frames(refs, host.num_frames, host.frame_size, cache)
    if held.ids != train_features.ids:  # decoded once already: a change on disk meanwhile
        raise InputError(f"{train.source}: the training videos changed while training")
    shape = (train_features.frames.shape[1], train_features.frames.shape[2])
    head, losses = train_caption_head(
        None, rows, targets, vocab, settings, seed=seed, device=device, host=host,
        host_frames=held, feature_shape=shape, quiet=quiet,
    )  # fmt: skip
    del held
    train_features = host_frame_features(host, train, list(train_captions), cache, True,
                                         video_chunk)  # fmt: skip
    test_features = host_frame_features(host, dataset, list(references), cache, quiet,
                                        video_chunk)  # fmt: skip
    return _captioned(head, vocab, losses, len(targets), train_features, test_features,
                      train_captions, references, settings)  # fmt: skip


def _captioned(
    head: CaptionHead,
    vocab: CaptionVocab,
    losses: list[float],
    pairs: int,
    train_features: FrameFeatures,
    test_features: FrameFeatures,
    train_captions: dict[str, list[str]],
    references: dict[str, list[str]],
    settings: CaptionSettings,
) -> CaptionRun:
    """The trained head's captions of ``test_features``' videos and the baseline's."""
    decoded = decode_captions(
        head, test_features.frames, method=settings.decode, max_length=settings.head.max_length,
        beam=settings.beam, length_penalty=settings.head.length_penalty,
    )  # fmt: skip
    predictions = {v: vocab.decode(d.ids) for v, d in zip(test_features.ids, decoded, strict=True)}
    baseline = nearest_caption_baseline(test_features, train_features, train_captions)
    kept = {v: references[v] for v in test_features.ids}
    counts = {
        "train_videos": len(train_features.ids),
        "train_captions": pairs,
        "vocabulary": len(vocab),
        "videos": len(kept),
    }
    return CaptionRun(kept, predictions, baseline, losses, head, vocab, counts,
                      {**train_features.failures, **test_features.failures})  # fmt: skip


@dataclass
class CaptionEvalResult:
    """metrics.json's payload, the predictions (PRED JSONL rows) and the run behind them."""

    metrics: dict[str, Any]
    predictions: list[dict[str, Any]]
    run: CaptionRun
    settings: CaptionSettings


def run_caption_eval(
    checkpoint: Path,
    data: Path,
    *,
    split: str = "test",
    train_split: str = "train",
    fmt: DatasetFormat = "auto",
    video_root: Path | None = None,
    settings: CaptionSettings | None = None,
    cache: Path | None = None,
    device: str = "auto",
    threads: int | None = None,
    seed: int = 0,
    quiet: bool = False,
    video_chunk: int = VIDEO_CHUNK,
    allow_partial: bool = False,
    command: str = "eval",
) -> CaptionEvalResult:
    """Load the host of ``checkpoint`` (a host checkpoint, or a Finsta distill-mode one: its
    host; ``allow_partial``: weights that fit only in part, reported), train a caption head on
    ``train_split`` and caption ``split``; score the head and the nearest-caption baseline with
    :func:`finsta_cli.captioning.metrics.score_captions`. The metrics carry the protocol card
    (:func:`finsta_cli.tasks.protocol.caption_card`)."""
    from finsta_cli.captioning.metrics import resolve_backend, score_captions
    from finsta_cli.hosts.factory import load_host_reporting
    from finsta_cli.runtime import configure_threads, resolve_device
    from finsta_cli.tasks.protocol import EvalRun, cached_videos, caption_card

    settings = settings or CaptionSettings()
    if video_chunk < 1:
        raise UsageError(f"--video-chunk must be at least 1 (got {video_chunk})")
    if settings.beam < 1:
        raise UsageError(f"--beam must be at least 1 (got {settings.beam})")
    if split == train_split:
        raise UsageError(
            f"captioning trains on --train-split {train_split!r}: evaluate another --split"
        )
    backend = resolve_backend(settings.metrics_backend)  # type: ignore[arg-type]
    thread_count = configure_threads(threads)
    resolved = resolve_device(device)
    # a wrong checkpoint is refused before the data is read
    host, weights = load_host_reporting(checkpoint, resolved, allow_partial=allow_partial)
    dataset = load_task_dataset(data, split=split, fmt=fmt, video_root=video_root)
    train = load_task_dataset(data, split=train_split, fmt=fmt, video_root=video_root)
    eval_ids, train_ids = list(dataset.captions_by_video()), list(train.captions_by_video())
    size = (host.num_frames, host.frame_size)
    from_cache = cached_videos(dataset, eval_ids, cache, *size) + cached_videos(
        train, train_ids, cache, *size
    )
    run = train_and_caption(
        host, dataset, train, settings, cache=cache, quiet=quiet, seed=seed, device=resolved,
        video_chunk=video_chunk,
    )  # fmt: skip
    scores = score_captions(run.references, run.predictions, backend=backend)
    baseline = score_captions(run.references, run.baseline, backend=backend)
    metrics: dict[str, Any] = {
        "task": "captioning",
        "checkpoint": str(checkpoint),
        "data": str(data),
        "split": split,
        "train_split": train_split,
        "finetuned": True,
        **scores.to_json(),
        "baseline": {
            "method": "nearest training caption (host video embedding, cosine)",
            **baseline.to_json(),
        },
        "decode": settings.decode_json(),
        "train": {
            "epochs": settings.epochs,
            "seed": seed,
            "train_host": settings.train_host,
            "loss_first": run.train_losses[0] if run.train_losses else None,
            "loss_last": run.train_losses[-1] if run.train_losses else None,
            "losses": [round(x, 5) for x in run.train_losses],
            **run.counts,
        },
        "head": settings.head.model_dump(),
        "failed_videos": len(run.failures),
    }
    card = EvalRun(
        command=command, task="captioning", data=data, dataset=dataset, fmt=fmt, split=split,
        finetune=True, train_split=train_split, checkpoint=checkpoint, weights=weights,
        host=host, seed=seed, epochs=settings.epochs, device=resolved, threads=thread_count,
        cache=cache, from_cache=from_cache, video_ids=[*eval_ids, *train_ids],
    )  # fmt: skip
    metrics["protocol"] = caption_card(card, metrics).to_json()
    predictions = [{"video_id": v, "caption": c} for v, c in run.predictions.items()]
    return CaptionEvalResult(metrics, predictions, run, settings)


def write_caption_eval(result: CaptionEvalResult, out: Path) -> None:
    """``out/metrics.json``, ``out/predictions.jsonl`` (``{"video_id", "caption"}``),
    ``out/baseline_predictions.jsonl``, ``out/caption_head.pt`` and, when videos failed,
    ``out/failures.jsonl``."""
    from finsta_cli.io import JsonlWriter
    from finsta_cli.io.atomic import atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    run = result.run
    save_caption_head(out / HEAD_FILE, run.head, run.vocab, train=result.metrics.get("train"),
                      checkpoint=result.metrics.get("checkpoint"))  # fmt: skip
    with JsonlWriter(out / "predictions.jsonl") as writer:
        for row in result.predictions:
            writer.write(row)
    with JsonlWriter(out / "baseline_predictions.jsonl") as writer:
        for video_id, caption in run.baseline.items():
            writer.write({"video_id": video_id, "caption": caption})
    if run.failures:
        with JsonlWriter(out / "failures.jsonl") as writer:
            for video_id, reason in run.failures.items():
                writer.write({"id": video_id, "error": reason})
    atomic_write_json(out / "metrics.json", {**result.metrics, "head_file": HEAD_FILE})
