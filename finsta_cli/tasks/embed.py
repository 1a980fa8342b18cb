"""Exporting embeddings (``finsta embed``): a checkpoint's video and text embeddings of your own
videos and texts, the very ones ``eval`` scores, as one (N, E) tensor file and an ids JSONL each.

The embeddings come from the :class:`~finsta_cli.tasks.embedder.Embedder` that ``eval`` uses:
the host's own (:class:`~finsta_cli.tasks.embedder.HostEmbedder`), or with ``with_graphs`` a
fusion checkpoint's fused host + scene-graph ones
(:class:`~finsta_cli.tasks.graph_eval.FusionEmbedder`), L2-normalised, with the same frames,
chunks and encoder batches. So ``embed`` of a dataset's videos and captions equals what
``eval --task retrieval`` computes on it, and so do metrics computed from the files.

A run is a stage (:class:`~finsta_cli.io.stage.StageRun`, docs/stages.md): each video is an
item whose embedding is kept in ``OUT/parts/videos/<id>.pt`` (texts: one part per batch of
:data:`~finsta_cli.tasks.embedder.TEXT_BATCH`), so a stopped run resumes where it stopped,
``--shard I/N`` splits the work and a video that cannot be decoded is a failure in
``video_embeddings.failures.jsonl``, not a crash. The final files are assembled from the parts
of every finished item, in input order (failed ones left out), by a run without ``--shard``::

    OUT/video_embeddings.pt   (N, E) float32 tensor (torch.load(..., weights_only=True))
    OUT/video_ids.jsonl       row i of the tensor: {"id", "path"}
    OUT/text_embeddings.pt    (M, E) float32 tensor
    OUT/text_ids.jsonl        row i: {"id", "text"}
    OUT/*.npy                 the same tensors for numpy (``npy``)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from finsta_cli.config import StageConfig
from finsta_cli.datasets.formats import DatasetFormat
from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.hashing import hash_file, hash_json, hash_text
from finsta_cli.tasks.eval_config import VIDEO_CHUNK

if TYPE_CHECKING:
    from torch import Tensor

    from finsta_cli.datasets import TaskDataset
    from finsta_cli.io.shard import Shard
    from finsta_cli.io.stage import StageItem, StageRun, StageSummary
    from finsta_cli.tasks.embedder import Embedder
    from finsta_cli.tasks.graph_eval import GraphSources

VIDEO_STEM, TEXT_STEM = "video", "text"


class EmbedConfig(StageConfig):
    """Options of ``finsta embed`` (the ``embed:`` section of a config file)."""

    SECTION: ClassVar[str] = "embed"
    # How the run goes, which inputs it takes and which extra copy it writes, not what an
    # item's embedding is (a video in two splits has one embedding).
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"device", "threads", "cache", "video_chunk", "npy", "split"}
    )

    with_graphs: bool = Field(
        default=False, description="a fusion checkpoint's host + scene-graph embeddings"
    )
    dsg_frames: int | None = Field(
        default=None, ge=1, description="keyframes of the DSGs built on the fly (--with-graphs)"
    )
    split: str = Field(default="test", description="--data: the split embedded")
    npy: bool = Field(default=False, description="also write the tensors as .npy files")
    video_chunk: int = Field(
        default=VIDEO_CHUNK, ge=1, description="videos decoded and embedded at a time"
    )
    cache: Path | None = Field(default=None, description="frame cache folder")
    threads: int | None = Field(default=None, ge=1)
    device: str = "auto"


@dataclass(frozen=True)
class VideoInput:
    """A video to embed: its id and file (None: the dataset names no file on disk for it)."""

    video_id: str
    path: Path | None


@dataclass
class EmbedInputs:
    """What one run embeds: videos and (id, text) pairs, with ids unique within each kind,
    and ``bad``: inputs refused before embedding (id, source, reason), each a failed item."""

    videos: list[VideoInput] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    bad: list[tuple[str, str, str]] = field(default_factory=list)
    dataset: TaskDataset | None = None  # when the inputs are a dataset's (--data)


@dataclass
class EmbedResult:
    """The runs of the two kinds (None: not asked), the files written (name -> path; none after
    a sharded run, which writes parts only) and the rows of each kind's tensor."""

    videos: StageSummary | None
    texts: StageSummary | None
    files: dict[str, str]
    rows: dict[str, int]


def videos_from_paths(paths: Sequence[Path]) -> EmbedInputs:
    """Videos of files, folders (searched for video files and frame folders) and JSONL
    manifests of ``{"id", "path"}``, as ``build-dsg`` reads them."""
    from finsta_cli.io.jsonl import BadInput
    from finsta_cli.video.decode import discover_videos

    bad: list[BadInput] = []
    sources = discover_videos(list(paths), bad.append)
    inputs = EmbedInputs(bad=[(b.id, b.source, b.reason) for b in bad])
    seen: dict[str, Path] = {}
    for source in sources:
        if source.id in seen:
            if seen[source.id].resolve() != source.path.resolve():
                reason = f"two videos have the id {source.id!r}: {seen[source.id]} (embedded)"
                inputs.bad.append((source.id, str(source.path), reason))
            continue
        seen[source.id] = source.path
        inputs.videos.append(VideoInput(source.id, source.path))
    return inputs


def dataset_inputs(
    data: Path, fmt: DatasetFormat, split: str, video_root: Path | None
) -> EmbedInputs:
    """A dataset's videos (all of them, in dataset order) and captions (ids ``VIDEO.cK``)."""
    from finsta_cli.datasets import load_task_dataset

    dataset = load_task_dataset(data, split=split, fmt=fmt, video_root=video_root)
    return EmbedInputs(
        videos=[VideoInput(v.video_id, v.path) for v in dataset.videos.values()],
        texts=[(c.text_id, c.text) for c in dataset.captions],
        dataset=dataset,
    )


def read_texts(path: Path) -> list[tuple[str, str]]:
    """``(id, text)`` of a text file (one text a line, blank lines skipped; id: the line number)
    or a JSONL file of ``{"text"}`` lines (id: its ``id`` or ``text_id``, else the line)."""
    from finsta_cli.io.jsonl import iter_jsonl, open_text_input

    texts: list[tuple[str, str]] = []
    if path.suffix.lower() == ".jsonl":
        for line, record in iter_jsonl(path):
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{path}:{line}: 'text' must be a non-empty string")
            given = record.get("id", record.get("text_id"))
            texts.append((str(line) if given is None else str(given), text.strip()))
    else:
        with open_text_input(path) as handle:
            try:
                for line, text in enumerate(handle, start=1):
                    if text.strip():
                        texts.append((str(line), text.strip()))
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    seen: set[str] = set()
    for text_id, _ in texts:
        if text_id in seen:
            raise InputError(f"{path}: the text id {text_id!r} appears twice")
        seen.add(text_id)
    if not texts:
        raise InputError(f"{path}: no texts in it")
    return texts


def run_embed(
    checkpoint: Path,
    inputs: EmbedInputs,
    out: Path,
    config: EmbedConfig,
    *,
    graphs: GraphSources | None = None,
    shard: Shard | None = None,
    force: bool = False,
    limit: int | None = None,
    quiet: bool = False,
) -> EmbedResult:
    """Embed ``inputs`` with ``checkpoint``'s model into ``out`` (module docstring)."""
    from finsta_cli.runtime import configure_threads, resolve_device

    if not inputs.videos and not inputs.texts and not inputs.bad:
        raise UsageError("nothing to embed: give --videos, --texts or --data")
    if config.with_graphs != (graphs is not None):
        raise UsageError("with_graphs needs the graphs' sources (and they need with_graphs)")
    configure_threads(config.threads)
    device = resolve_device(config.device)
    checkpoint_key = hash_file(checkpoint) if checkpoint.is_file() else str(checkpoint)
    embedder = _embedder(checkpoint, inputs, out, config, graphs, device, quiet)
    graph_key = None if graphs is None else [str(graphs.tsg), str(graphs.dsg)]
    key = hash_json([checkpoint_key, graph_key])
    whole = shard is None or shard.is_whole
    files: dict[str, str] = {}
    rows: dict[str, int] = {}
    video_summary = text_summary = None
    if inputs.videos or inputs.bad:
        with _stage_run(out, VIDEO_STEM, config, shard, force, limit, quiet, device) as run:
            run.add_input(checkpoint, checkpoint_key, None)
            items = _video_items(inputs, key)
            _embed_videos(run, items, inputs.bad, embedder, config, out)
            if whole:
                rows[VIDEO_STEM] = _assemble(run, items, out, VIDEO_STEM, limit, config.npy, files)
        video_summary = run.summary
    if inputs.texts:
        with _stage_run(out, TEXT_STEM, config, shard, force, limit, quiet, device) as run:
            run.add_input(checkpoint, checkpoint_key, None)
            chunks = _text_items(inputs.texts, key)
            _embed_texts(run, chunks, embedder, out)
            if whole:
                rows[TEXT_STEM] = _assemble(run, chunks, out, TEXT_STEM, limit, config.npy, files)
        text_summary = run.summary
    return EmbedResult(video_summary, text_summary, files, rows)


def _embedder(
    checkpoint: Path,
    inputs: EmbedInputs,
    out: Path,
    config: EmbedConfig,
    graphs: GraphSources | None,
    device: str,
    quiet: bool,
) -> Embedder:
    """The host's own embeddings, or a fusion checkpoint's with its graphs (as eval makes it)."""
    from finsta_cli.tasks.embedder import HostEmbedder

    if graphs is None:
        from finsta_cli.hosts.factory import load_host

        return HostEmbedder(load_host(checkpoint, device))
    from finsta_cli.tasks.graph_eval import (
        check_sources,
        load_fusion_model,
        prepare_fusion_embedder,
    )

    check_sources(graphs)
    fusion = load_fusion_model(checkpoint, device)
    dataset = inputs.dataset if inputs.dataset is not None else _as_dataset(inputs)
    ids = [v.video_id for v in inputs.videos if v.path is not None]
    return prepare_fusion_embedder(
        checkpoint, fusion, graphs, [dataset], [ids],
        device=device, threads=config.threads, quiet=quiet, cache=config.cache,
    )  # fmt: skip


def _as_dataset(inputs: EmbedInputs) -> TaskDataset:
    """The inputs as a dataset, for the graphs of ``--with-graphs`` (DSGs built for its videos,
    TSGs looked up by its captions' ids)."""
    from finsta_cli.datasets import Caption, TaskDataset, VideoRef

    return TaskDataset(
        name="embed",
        split="embed",
        videos={v.video_id: VideoRef(v.video_id, v.path) for v in inputs.videos},
        captions=[Caption(text_id, "", text) for text_id, text in inputs.texts],
        negatives=[],
        qa_mc=[],
        qa_open=[],
        actions=[],
        labels=[],
    )


def _stage_run(
    out: Path,
    stem: str,
    config: EmbedConfig,
    shard: Shard | None,
    force: bool,
    limit: int | None,
    quiet: bool,
    device: str,
) -> StageRun[Any]:
    """The run of one kind: its manifest, failures and ledger named after its tensor file
    (``video_embeddings.manifest.json``, ...), so the two kinds share ``out``."""
    from finsta_cli.io.stage import StagePaths, StageRun

    paths = StagePaths.for_file(out / f"{stem}_embeddings.pt", shard)
    return StageRun[Any](
        "embed", paths, config, force=force, limit=limit, quiet=quiet, device=device,
        threads=config.threads,
    )  # fmt: skip


def _video_items(inputs: EmbedInputs, key: str) -> list[StageItem[VideoInput]]:
    from finsta_cli.io.stage import StageItem
    from finsta_cli.video.decode import VideoSource, source_hash

    items = []
    for video in inputs.videos:
        if video.path is None:
            content = "absent"
        else:
            source = VideoSource(
                video.video_id, video.path, "frames" if video.path.is_dir() else "video"
            )
            content = source_hash(source)
        where = None if video.path is None else str(video.path)
        items.append(StageItem(video.video_id, hash_json([content, key]), video, where))
    return items


def _text_items(texts: Sequence[tuple[str, str]], key: str) -> list[StageItem[list[Any]]]:
    """The texts in parts of :data:`~finsta_cli.tasks.embedder.TEXT_BATCH` (the encoder batch
    of eval: the same batches give the same embeddings), id ``texts-<first row>``."""
    from finsta_cli.io.stage import StageItem
    from finsta_cli.tasks.embedder import TEXT_BATCH

    items = []
    for start in range(0, len(texts), TEXT_BATCH):
        part = [list(pair) for pair in texts[start : start + TEXT_BATCH]]
        input_hash = hash_json([hash_text(hash_json(part)), key])
        items.append(StageItem(f"texts-{start:09d}", input_hash, part, None))
    return items


def _part_path(out: Path, stem: str, item_id: str) -> Path:
    from finsta_cli.io.paths import output_path

    return output_path(out / "parts" / f"{stem}s", item_id, ".pt")


def _save_part(path: Path, payload: dict[str, Any]) -> None:

    from finsta_cli.io.torchfile import save_torch_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch_file(path, payload)


def _embed_videos(
    run: StageRun[Any],
    items: Sequence[StageItem[VideoInput]],
    bad: Sequence[tuple[str, str, str]],
    embedder: Embedder,
    config: EmbedConfig,
    out: Path,
) -> None:
    """Decode and embed the selected videos ``video_chunk`` at a time (as eval does), each
    one's embedding written to its part; one that cannot be decoded is a failed item."""
    from finsta_cli.hosts.frames import iter_host_frames
    from finsta_cli.runtime import release_freed_memory
    from finsta_cli.tasks.embedder import encode_videos

    for item_id, source, reason in bad:
        if run.paths.shard.contains(item_id):
            run.fail(item_id, reason, source=source)
    todo = {item.id: item for item in run.select(items)}
    refs = [(item.id, item.payload.path) for item in todo.values()]
    size = (embedder.num_frames, embedder.frame_size)
    for frames in iter_host_frames(refs, *size, config.cache, chunk=config.video_chunk):
        for video_id, reason in frames.failures.items():
            run.fail(todo[video_id], reason)
        if frames.ids:
            with run.timed("embed"):
                embeddings = encode_videos(embedder, frames)
            for video_id, row in zip(frames.ids, embeddings, strict=True):
                item = todo[video_id]
                path = _part_path(out, VIDEO_STEM, video_id)
                _save_part(path, {"id": video_id, "key": run.item_key(item), "rows": row[None]})
                run.done(item, [path])
        del frames
        release_freed_memory()


def _embed_texts(
    run: StageRun[Any], items: Sequence[StageItem[list[Any]]], embedder: Embedder, out: Path
) -> None:
    from finsta_cli.tasks.embedder import encode_texts

    for item in run.select(items):
        with run.timed("embed"):
            embeddings = encode_texts(embedder, [text for _, text in item.payload])
        path = _part_path(out, TEXT_STEM, item.id)
        _save_part(path, {"id": item.id, "key": run.item_key(item), "rows": embeddings})
        run.done(item, [path])


def _finished_rows(
    run: StageRun[Any], items: Sequence[StageItem[Any]], out: Path, stem: str, limit: int | None
) -> Iterator[tuple[StageItem[Any], Tensor]]:
    """The embeddings of the items this run selected (the first ``limit``) that are finished:
    their part is there and was written for this very input, checkpoint and config."""
    from finsta_cli.io.torchfile import load_torch_file

    seen: set[str] = set()
    for item in items if limit is None else items[:limit]:
        if item.id in seen:
            continue
        seen.add(item.id)
        path = _part_path(out, stem, item.id)
        if not path.is_file():
            continue
        part = load_torch_file(path, unreadable="not an embedding part")
        if isinstance(part, dict) and part.get("key") == run.item_key(item):
            yield item, part["rows"]


def _assemble(
    run: StageRun[Any],
    items: Sequence[StageItem[Any]],
    out: Path,
    stem: str,
    limit: int | None,
    npy: bool,
    files: dict[str, str],
) -> int:
    """Write ``<stem>_embeddings.pt`` and ``<stem>_ids.jsonl`` (and ``.npy``) from the finished
    items' parts, in input order; the number of rows."""
    import torch

    from finsta_cli.io import JsonlWriter
    from finsta_cli.io.atomic import atomic_open
    from finsta_cli.io.torchfile import save_torch_file

    parts: list[Tensor] = []
    tensor_path, ids_path = out / f"{stem}_embeddings.pt", out / f"{stem}_ids.jsonl"
    with run.timed("assemble"), JsonlWriter(ids_path) as ids:
        for item, rows in _finished_rows(run, items, out, stem, limit):
            parts.append(rows)
            if stem == VIDEO_STEM:
                ids.write({"id": item.id, "path": item.source})
            else:
                for text_id, text in item.payload:
                    ids.write({"id": text_id, "text": text})
        width = parts[0].shape[1] if parts else 0
        embeddings = torch.cat(parts) if parts else torch.zeros((0, width))
        save_torch_file(tensor_path, embeddings.float().contiguous())
        files[f"{stem}_embeddings"], files[f"{stem}_ids"] = str(tensor_path), str(ids_path)
        if npy:
            import numpy as np

            npy_path = out / f"{stem}_embeddings.npy"
            with atomic_open(npy_path, "wb") as handle:
                np.save(handle, embeddings.float().numpy())
            files[f"{stem}_npy"] = str(npy_path)
    return int(embeddings.shape[0])
