"""Finding a dataset's video files: a file with a video extension, or a folder of frames."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from finsta_cli.video.decode import is_frame_folder

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v")


def find_video(root: Path | None, names: Sequence[str]) -> Path | None:
    """The first ``root/name`` (or ``root/name + ext``) that is a video, else None.

    A video is a file or a folder of frame images (a frame dump)."""
    if root is None:
        return None
    for name in names:
        if not name:
            continue
        candidate = root / name
        if candidate.is_dir() and is_frame_folder(candidate):
            return candidate
        if candidate.suffix.lower() in VIDEO_EXTENSIONS:
            if candidate.is_file():
                return candidate
            continue
        for ext in VIDEO_EXTENSIONS:
            with_ext = root / f"{name}{ext}"
            if with_ext.is_file():
                return with_ext
    return None


def expected_video(root: Path | None, names: Sequence[str]) -> Path | None:
    """The first path :func:`find_video` looks for (``root/name``, with ``.mp4`` when the name
    has no video extension), or None without a ``root``."""
    if root is None:
        return None
    for name in names:
        if name:
            has_suffix = Path(name).suffix.lower() in VIDEO_EXTENSIONS
            return root / (name if has_suffix else f"{name}{VIDEO_EXTENSIONS[0]}")
    return None


def existing_video(path: Path) -> Path | None:
    if path.is_file() or (path.is_dir() and is_frame_folder(path)):
        return path
    return None
