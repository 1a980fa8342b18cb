"""The reader of MSR-VTT and other video-caption lists: the 1k-A json, the CLIP4Clip csv,
MSRVTT_data.json and MMAction2's video-text list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import json_objects, load_json, read_csv, text_field
from finsta_cli.datasets.records import TaskDataset
from finsta_cli.datasets.videos import VIDEO_EXTENSIONS
from finsta_cli.errors import InputError, UsageError


def read_msrvtt(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """An MSR-VTT caption file (the csv, a list of records, MSRVTT_data.json, whose ``split``
    picks the videos, or MMAction2's ``{file: captions}``) as captions."""
    out = TaskDatasetBuilder("msrvtt", split, path)
    if path.suffix.lower() == ".csv":
        _, rows = read_csv(path, ["video_id", "sentence"], on_error=out.bad_lines(path))
        for line, row in rows:
            where = f"{path}:{line}"
            with out.row(where):
                video_id = text_field(row, "video_id", where)
                out.find(video_id, video_root, [video_id])
                out.caption(video_id, text_field(row, "sentence", where))
        return out.build()
    data = load_json(path)
    if isinstance(data, dict) and "sentences" in data:
        _msrvtt_full(data, path, split, video_root, out)
    elif isinstance(data, dict):
        _caption_mapping(data, path, video_root, out)
    else:
        records = json_objects(data, path, "video-caption records", out.bad_items(path))
        for i, record in records:
            where = f"{path}: item {i}"
            with out.row(where):
                video_id = text_field(record, "video_id", where)
                key = "caption" if "caption" in record else "sentence"
                out.find(video_id, video_root, [str(record.get("video", "")), video_id])
                out.caption(video_id, text_field(record, key, where))
    return out.build()


def _msrvtt_full(
    data: dict[str, Any], path: Path, split: str, video_root: Path | None, out: TaskDatasetBuilder
) -> None:
    """MSRVTT_data.json: ``{"videos": [{"video_id", "split"}], "sentences": [{"video_id",
    "caption"}]}``; ``split`` picks the videos (``val`` also matches ``validate``)."""
    videos = json_objects(data.get("videos", []), path, "videos", out.bad_items(path), "videos[{}]")
    splits: dict[str, str] = {}
    for i, video in videos:
        where = f"{path}: videos[{i}]"
        if "split" in video:
            with out.row(where):
                splits[text_field(video, "video_id", where)] = text_field(video, "split", where)
    keep: set[str] | None = None
    if splits:
        wanted = {split, "validate"} if split in ("val", "validation") else {split}
        keep = {v for v, s in splits.items() if s in wanted}
        if not keep:
            raise UsageError(
                f"{path}: no video of split {split!r}",
                hint="splits here: " + ", ".join(sorted(set(splits.values()))),
            )
    sentences = json_objects(
        data["sentences"], path, "sentences", out.bad_items(path), "sentences[{}]"
    )
    for i, sentence in sentences:
        where = f"{path}: sentences[{i}]"
        with out.row(where):
            video_id = text_field(sentence, "video_id", where)
            if keep is not None and video_id not in keep:
                continue
            out.find(video_id, video_root, [video_id])
            out.caption(video_id, text_field(sentence, "caption", where))


def _caption_mapping(
    data: dict[str, Any], path: Path, video_root: Path | None, out: TaskDatasetBuilder
) -> None:
    """MMAction2's video-text list: ``{"file.mp4": ["caption", ...]}``; videos are found under
    ``video_root``, else beside the json."""
    base = video_root if video_root is not None else path.parent
    for key, value in data.items():
        where = f"{path}: {key!r}"
        with out.row(where):
            texts = [value] if isinstance(value, str) else value
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise InputError(f"{where}: expected a caption or a list of captions")
            video_id = Path(key).stem if Path(key).suffix.lower() in VIDEO_EXTENSIONS else key
            out.find(video_id, base, [key])
            for text in texts:
                if not text.strip():
                    raise InputError(f"{where}: an empty caption")
                out.caption(video_id, text.strip())
