"""Video inputs and decoding: finding videos, sampling keyframes, decord decoding, prefetching.

A *video* is a video file (decoded with decord, resized on decode) or a folder of frame images
(a frame dump, read with Pillow). Only the sampled frames are decoded, in chunks of at most
``chunk`` frames, so a long video is never held in memory whole. :class:`PrefetchingReader`
decodes on a background thread while the caller runs the detector on what was decoded before.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.hashing import hash_file, hash_json
from finsta_cli.io.jsonl import BadInput, find_lone_surrogate, iter_jsonl
from finsta_cli.io.progress import get_logger
from finsta_cli.io.stage import StageItem

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
)
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
MANIFEST_EXTENSIONS = frozenset({".jsonl"})

SourceKind = Literal["video", "frames"]
# Where a stage sends an input it cannot use (a bad manifest line, a repeated id) to fail alone.
OnBadInput = Callable[[BadInput], None]
log = get_logger("build-dsg")


@dataclass(frozen=True)
class VideoSource:
    """Where one video comes from: a file, or a folder of frame images."""

    id: str
    path: Path
    kind: SourceKind


@dataclass(frozen=True)
class VideoInfo:
    """What decoding learnt about a video; width and height are the original frame size."""

    num_frames: int
    fps: float
    width: int
    height: int


@dataclass
class FrameChunk:
    """Decoded frames of one video: ``frames`` is (n, h, w, 3) uint8 RGB at the decode size.

    ``positions`` are the frames' places among the video's sampled frames, ``indices`` their
    0-based indices in the video, ``times`` their timestamps in seconds. ``last`` marks the
    video's final chunk; a video with no frames yields one empty chunk with ``last`` set.
    """

    item: StageItem[VideoSource]
    info: VideoInfo
    positions: list[int]
    indices: list[int]
    times: list[float]
    frames: np.ndarray
    last: bool


@dataclass
class DecodeFailure:
    """A video that could not be decoded, and why."""

    item: StageItem[VideoSource]
    error: BaseException


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )


def _has_video_below(folder: Path) -> bool:
    """Whether ``folder`` or a folder under it holds a video file."""
    for _, _, files in os.walk(folder):
        if any(Path(name).suffix.lower() in VIDEO_EXTENSIONS for name in files):
            return True
    return False


def is_frame_folder(folder: Path) -> bool:
    """True for a frame dump (one video): a folder holding frame images and no video files, in
    it or in a folder under it. Images beside videos are stray files, not a video."""
    try:
        names = [p.suffix.lower() for p in folder.iterdir()]
    except OSError:
        return False
    if not any(suffix in IMAGE_EXTENSIONS for suffix in names):
        return False
    if any(suffix in VIDEO_EXTENSIONS for suffix in names):
        return False
    return not _has_video_below(folder)


def _read_manifest(path: Path, on_error: OnBadInput | None = None) -> list[VideoSource]:
    """The videos of a JSONL manifest. A line that names no video (not JSON, no ``path``, a
    lone surrogate) raises :class:`InputError` naming the file and line, or with ``on_error``
    is reported there and left out, as is a manifest that cannot be read."""

    def bad(line: int, reason: str, item_id: object = None) -> None:
        failure = BadInput.at_line(path, line, reason, item_id)
        if on_error is None:
            raise InputError(failure.reason)
        on_error(failure)

    sources: list[VideoSource] = []
    try:
        for line_no, record in iter_jsonl(path, on_error=bad):
            # {id, path}, or a `finsta synth` split file's {video_id, video}
            where = record.get("path", record.get("video"))
            raw_id = record.get("id") or record.get("video_id")
            if where is None:
                bad(line_no, "a manifest line needs 'path' (and 'id')", raw_id)
                continue
            if not isinstance(where, str) or not where.strip():
                bad(line_no, f"'path' must be a file or folder name, found {where!r}", raw_id)
                continue
            if isinstance(raw_id, bool) or not isinstance(raw_id, str | int | None):
                bad(line_no, f"'id' must be a string, found {type(raw_id).__name__}")
                continue
            target = Path(where).expanduser()
            if not target.is_absolute():
                target = path.parent / target
            video_id = str(raw_id) if raw_id is not None else target.stem
            kind: SourceKind = "frames" if target.is_dir() else "video"
            sources.append(VideoSource(video_id, target, kind))
    except InputError as exc:
        if on_error is None:
            raise
        # The manifest as a whole (unreadable, not UTF-8): one failure; the other inputs go on.
        on_error(BadInput(str(path), str(path), exc.message))
    return sources


def discover_videos(
    inputs: Sequence[str | os.PathLike[str]],
    on_error: OnBadInput | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[VideoSource]:
    """Expand command-line inputs into videos, in a stable order.

    A file is a video (even with an odd suffix: decoding then reports what it is), except a
    ``.jsonl`` file, which is a manifest of ``{"id", "path"}`` lines (relative paths from the
    manifest's folder; a ``finsta synth`` split file such as ``test.jsonl`` works as one); a
    folder holding images and no videos (:func:`is_frame_folder`) is one video (a frame dump);
    any other folder is searched recursively for video files and frame folders, and images
    lying beside videos are left out with a warning. A path that does not exist is kept, so
    that it fails as an item with its reason. Ids are file stems (folder names for frame
    folders); when two videos share a stem, their paths relative to the input folder tell them
    apart. A manifest line that names no video, or a file name that is not UTF-8, raises
    :class:`InputError`, or is passed to ``on_error``.

    Warnings (stray images, an input that holds no video) go to ``on_warning`` (default: the
    log). Inputs that hold no video at all, and nothing that failed, are a :class:`UsageError`
    naming them.
    """
    if not inputs:
        raise UsageError("no videos given", hint="finsta build-dsg VIDEO_OR_FOLDER... --out DIR")
    warn = on_warning if on_warning is not None else log.warning
    rejected: list[BadInput] = []

    def bad(failure: BadInput) -> None:
        rejected.append(failure)
        if on_error is None:
            raise InputError(failure.reason)
        on_error(failure)

    sources: list[VideoSource] = []
    empty: list[Path] = []
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            if is_frame_folder(path):
                sources.append(VideoSource(path.name or str(path), path, "frames"))
                continue
            found = _search_folder(path, warn)
            if not found:
                empty.append(path)
            sources.extend(found)
        elif path.suffix.lower() in MANIFEST_EXTENSIONS and path.is_file():
            before = len(rejected)
            listed = _read_manifest(path, bad if on_error is not None else None)
            if not listed and len(rejected) == before:
                empty.append(path)
            sources.extend(listed)
        else:
            sources.append(VideoSource(path.stem or path.name, path, "video"))
    kept = [source for source in sources if _valid_name(source, bad)]
    if empty:
        names = ", ".join(str(path) for path in empty)
        if not kept and not rejected:
            raise UsageError(
                f"no videos found in {names}",
                hint="give video files (" + ", ".join(sorted(VIDEO_EXTENSIONS)) + "), folders "
                "holding them (searched recursively), folders of frame images, or a JSONL "
                "manifest of {id, path}",
            )
        for path in empty:
            warn(f"{path}: no videos found in it; left out")
    return kept


def _search_folder(root: Path, warn: Callable[[str], None]) -> list[VideoSource]:
    """The videos under ``root``: video files and frame folders, ids as :func:`discover_videos`
    says. Images lying beside videos are left out with one warning per folder."""
    found: list[tuple[str, Path, SourceKind]] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(folder)
        for sub in list(dirs):
            if is_frame_folder(here / sub):
                found.append(((here / sub).relative_to(root).as_posix(), here / sub, "frames"))
                dirs.remove(sub)  # its images are the video, not more videos
        stray = []
        for name in sorted(files):
            suffix = Path(name).suffix.lower()
            if suffix in VIDEO_EXTENSIONS:
                relative = (here / name).relative_to(root).with_suffix("")
                found.append((relative.as_posix(), here / name, "video"))
            elif suffix in IMAGE_EXTENSIONS:
                stray.append(name)
        if stray:
            shown = ", ".join(stray[:3]) + (f" and {len(stray) - 3} more" if stray[3:] else "")
            warn(
                f"{here}: {len(stray)} image file(s) left out ({shown}): a folder is read as "
                "one video of frame images only when it holds images and no videos; move frame "
                "images into a folder of their own"
            )
    stems: dict[str, int] = {}
    for rel_id, _, _ in found:
        stems[Path(rel_id).name] = stems.get(Path(rel_id).name, 0) + 1
    sources = []
    for rel_id, target, kind in sorted(found, key=lambda f: f[0]):
        stem = Path(rel_id).name
        sources.append(VideoSource(stem if stems[stem] == 1 else rel_id, target, kind))
    return sources


def _valid_name(source: VideoSource, on_error: OnBadInput | None) -> bool:
    """Whether the id and path are Unicode text. A file name with bytes that are not UTF-8
    reaches Python with lone surrogates, which no output file (JSON, ledger) can hold."""
    name = str(source.path)
    if find_lone_surrogate(name) is None and find_lone_surrogate(source.id) is None:
        return True
    printable = name.encode("utf-8", "backslashreplace").decode("utf-8")
    failure = BadInput(
        source.id.encode("utf-8", "backslashreplace").decode("utf-8"),
        printable,
        f"{printable}: the file name is not UTF-8 text; rename it",
    )
    if on_error is None:
        raise InputError(failure.reason)
    on_error(failure)
    return False


def source_hash(source: VideoSource) -> str:
    """The input hash for resume: the file's bytes, or a frame folder's names, sizes and times."""
    try:
        if source.kind == "frames":
            entries = [
                (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in _image_files(source.path)
            ]
            return hash_json(entries)
        return hash_file(source.path)
    except OSError as exc:
        # It fails when decoded, with its reason; the hash only has to differ from a good one.
        return hash_json(["unreadable", str(source.path), exc.strerror or str(exc)])


def video_items(
    sources: Iterable[VideoSource], on_error: OnBadInput | None = None
) -> Iterator[StageItem[VideoSource]]:
    """Stage items for videos; a repeated id is an error (outputs would overwrite each other).

    With ``on_error``, the first video of an id is kept: a later one of another file is passed
    to ``on_error`` (a failure of its own), and one of the same file is left out with a warning
    that counts them.
    """
    seen: dict[str, VideoSource] = {}
    repeated = 0
    for source in sources:
        first = seen.get(source.id)
        if first is not None:
            if on_error is None:
                raise UsageError(
                    f"two videos have the id {source.id!r}: {first.path} and {source.path}",
                    hint="give them distinct ids in a JSONL manifest of {id, path}",
                )
            if first.path.resolve() == source.path.resolve():
                repeated += 1
            else:
                reason = (
                    f"two videos have the id {source.id!r}: {first.path} (built) and "
                    f"{source.path} (left out); give them distinct ids in a JSONL manifest"
                )
                on_error(BadInput(source.id, str(source.path), reason))
            continue
        seen[source.id] = source
        yield StageItem(source.id, source_hash(source), source, str(source.path))
    if repeated:
        log.warning(
            "%d input(s) repeat a video already given (same id and file): built once", repeated
        )


def sample_indices(
    num_frames: int, video_fps: float, *, frames: int = 16, fps: float | None = None
) -> list[int]:
    """0-based frame indices to decode: ``frames`` uniform keyframes, or ``fps`` frames a second.

    Uniform sampling takes the centre of each of ``frames`` equal segments; a video shorter than
    ``frames`` gives all its frames.
    """
    if num_frames <= 0:
        return []
    if fps is not None:
        step = max(video_fps / fps, 1.0)
        count = max(1, math.floor((num_frames - 1) / step) + 1)
        return sorted({min(num_frames - 1, round(i * step)) for i in range(count)})
    if num_frames <= frames:
        return list(range(num_frames))
    segment = num_frames / frames
    return [min(num_frames - 1, int(segment * (i + 0.5))) for i in range(frames)]


def decode_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) with the longer side at most ``longest`` (never enlarged), aspect kept."""
    if longest <= 0 or max(width, height) <= longest:
        return width, height
    scale = longest / max(width, height)
    return max(2, round(width * scale)), max(2, round(height * scale))


class _VideoFile:
    """A video file opened for sampled decoding with decord (resized on decode)."""

    def __init__(self, path: Path, longest: int) -> None:
        self.path = path
        if not path.exists():
            raise InputError(not_found(path))
        if path.is_dir():
            raise InputError(f"{path}: a folder with no images, not a video")
        try:
            size = path.stat().st_size
            with path.open("rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if size == 0:
            raise InputError(f"{path}: empty file (0 bytes)")
        width, height, fps = self._probe(path)
        import decord

        self.width, self.height = width, height
        out_w, out_h = decode_size(width, height, longest)
        try:
            self.reader = decord.VideoReader(
                str(path), ctx=decord.cpu(0), width=out_w, height=out_h, num_threads=1
            )
            self.num_frames = len(self.reader)
            reader_fps = float(self.reader.get_avg_fps())
        except (RuntimeError, decord.DECORDError) as exc:
            raise InputError(f"{path}: not a readable video ({_first_line(exc)})") from None
        self.fps = fps if fps > 0 else (reader_fps if reader_fps > 0 else 25.0)

    @staticmethod
    def _probe(path: Path) -> tuple[int, int, float]:
        import av

        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise InputError(f"{path}: no video stream (not a video)")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                width = int(stream.codec_context.width)
                height = int(stream.codec_context.height)
                fps = float(rate) if rate else 0.0
        except InputError:
            raise
        except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path}: not a video ({_first_line(exc)})") from None
        if width <= 0 or height <= 0:
            raise InputError(f"{path}: video stream has no frame size (not a video)")
        return width, height, fps

    def read(self, indices: Sequence[int]) -> np.ndarray:
        import decord

        try:
            batch = self.reader.get_batch(list(indices)).asnumpy()
        except (RuntimeError, IndexError, decord.DECORDError) as exc:
            raise InputError(
                f"{self.path}: cannot decode frames {indices[0]}-{indices[-1]} "
                f"(truncated or corrupt video: {_first_line(exc)})"
            ) from None
        if batch.shape[0] != len(indices):
            raise InputError(f"{self.path}: decoded {batch.shape[0]} of {len(indices)} frames")
        return np.ascontiguousarray(batch)


def _pillow_open() -> Any:
    """Pillow's own ``Image.open``. Importing ultralytics replaces ``PIL.Image.open`` with a
    wrapper that meets a file Pillow cannot identify by installing pi-heif (pip, where
    YOLO_AUTOINSTALL is on) and otherwise fails with "No module named 'pi_heif'"."""
    from PIL import Image

    patches = sys.modules.get("ultralytics.utils.patches")
    original = getattr(patches, "_image_open", None)
    return original if callable(original) else Image.open


def _image_error(path: Path, exc: Exception) -> InputError:
    from PIL import UnidentifiedImageError

    if isinstance(exc, (UnidentifiedImageError, ImportError)):  # ImportError: see _pillow_open
        reason = "unknown or damaged image format"
    else:
        reason = _first_line(exc)
    return InputError(f"{path}: not a readable image ({reason})")


class _FrameFolder:
    """A folder of frame images (sorted by name), read with Pillow and resized."""

    def __init__(self, path: Path, longest: int, fps: float) -> None:
        self.path = path
        try:
            self.files = _image_files(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot list frames ({exc.strerror or exc})") from None
        if not self.files:
            raise InputError(f"{path}: no frame images")
        try:
            with _pillow_open()(self.files[0]) as first:
                self.width, self.height = first.size
        except Exception as exc:  # Pillow's plugins raise many kinds on a damaged file
            raise _image_error(self.files[0], exc) from None
        self.num_frames = len(self.files)
        self.fps = fps
        self.size = decode_size(self.width, self.height, longest)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        from PIL import Image

        frames = []
        open_image = _pillow_open()
        for index in indices:
            try:
                with open_image(self.files[index]) as image:
                    rgb = image.convert("RGB")
                    if rgb.size != self.size:
                        rgb = rgb.resize(self.size, Image.Resampling.BILINEAR)
                    frames.append(np.asarray(rgb))
            except Exception as exc:  # Pillow's plugins raise many kinds on a damaged file
                raise _image_error(self.files[index], exc) from None
        return np.stack(frames)


def not_found(path: Path) -> str:
    """The reason given for a video that is not there: ``not found: PATH``, the path tried."""
    if path.is_symlink():
        return f"not found: {path} (a link to {os.readlink(path)}, which does not exist)"
    return f"not found: {path}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


@dataclass(frozen=True)
class DecodeOptions:
    """How videos are sampled and decoded."""

    frames: int = 16
    fps: float | None = None
    longest: int = 256
    chunk: int = 16
    folder_fps: float = 12.0


def open_video(source: VideoSource, options: DecodeOptions) -> _VideoFile | _FrameFolder:
    if source.kind == "frames":
        return _FrameFolder(source.path, options.longest, options.folder_fps)
    return _VideoFile(source.path, options.longest)


def iter_chunks(item: StageItem[VideoSource], options: DecodeOptions) -> Iterator[FrameChunk]:
    """Decode the sampled frames of one video, ``options.chunk`` frames at a time."""
    video = open_video(item.payload, options)
    info = VideoInfo(video.num_frames, video.fps, video.width, video.height)
    indices = sample_indices(video.num_frames, video.fps, frames=options.frames, fps=options.fps)
    if not indices:
        raise InputError(f"{item.payload.path}: the video has no frames")
    step = max(1, options.chunk)
    for start in range(0, len(indices), step):
        part = indices[start : start + step]
        frames = video.read(part)
        yield FrameChunk(
            item=item,
            info=info,
            positions=list(range(start, start + len(part))),
            indices=part,
            times=[index / info.fps for index in part],
            frames=frames,
            last=start + step >= len(indices),
        )


_END = object()
BACKGROUND_NICENESS = 10


def lower_thread_priority(step: int = BACKGROUND_NICENESS) -> None:
    """Lower the calling thread's scheduling priority (Linux: threads have their own nice).

    The detector runs torch's thread pool on every core; a background thread at the same
    priority takes a core from one of its threads, and the others wait for it at the end of each
    parallel region. At a lower priority, decoding and writing fill the gaps instead (Python
    pre- and post-processing, which use one core).
    """
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + step)
    except (AttributeError, OSError):
        pass  # not on this platform, or not allowed: run at the normal priority


def auto_decode_workers(cpus: int | None = None) -> int:
    """Videos decoded at once by default: 1 on up to 4 CPU cores (the detector's torch pool
    needs them), else a quarter of the cores, at most 4 (enough to feed a GPU detector)."""
    cores = cpus if cpus is not None else (os.cpu_count() or 1)
    return 1 if cores <= 4 else min(4, cores // 4)


@dataclass
class PrefetchingReader:
    """Decode videos on ``workers`` background threads, ``depth`` chunks ahead of the consumer.

    Iterating yields :class:`FrameChunk` and :class:`DecodeFailure` objects in video order.
    Worker k decodes videos k, k + W, k + 2W, ... into its own queue, and the consumer takes
    each video's chunks from its worker's queue in turn, so order is kept and memory stays
    bounded (W x ``depth`` chunks). decord and Pillow release the GIL while decoding, and
    torch while it runs the detector, so decoding the next chunks overlaps detection of the
    current ones, and several workers decode at once.
    """

    items: Sequence[StageItem[VideoSource]]
    options: DecodeOptions
    depth: int = 4
    workers: int = 1
    _stop: threading.Event = field(init=False, repr=False)

    def __iter__(self) -> Iterator[FrameChunk | DecodeFailure]:
        self._stop = threading.Event()
        count = max(1, min(self.workers, len(self.items)))
        queues: list[queue.Queue[Any]] = [
            queue.Queue(maxsize=max(1, self.depth)) for _ in range(count)
        ]
        threads = [
            threading.Thread(
                target=self._work,
                args=(self.items[k::count], queues[k]),
                name=f"finsta-decode-{k}",
                daemon=True,
            )
            for k in range(count)
        ]
        for thread in threads:
            thread.start()
        try:
            for k in range(len(self.items)):
                source = queues[k % count]
                while True:
                    entry = source.get()
                    if entry is _END:
                        return
                    yield entry
                    if isinstance(entry, DecodeFailure) or entry.last:
                        break
        finally:
            self._stop.set()
            for thread, source in zip(threads, queues, strict=True):
                while thread.is_alive():  # unblock a worker waiting on a full queue
                    try:
                        source.get_nowait()
                    except queue.Empty:
                        thread.join(timeout=0.05)

    def _put(self, target: queue.Queue[Any], entry: Any) -> bool:
        while not self._stop.is_set():
            try:
                target.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, items: Sequence[StageItem[VideoSource]], target: queue.Queue[Any]) -> None:
        lower_thread_priority()
        try:
            for item in items:
                try:
                    for chunk in iter_chunks(item, self.options):
                        if not self._put(target, chunk):
                            return
                except Exception as exc:  # one bad video must not stop the others
                    if not self._put(target, DecodeFailure(item, exc)):
                        return
        finally:
            self._put(target, _END)
