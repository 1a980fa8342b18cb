"""Which file and which format: format detection (``auto``) and finding a split in a folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from finsta_cli.datasets.files import load_json, read_csv
from finsta_cli.datasets.formats import FORMAT_FILES, FORMATS, DatasetFormat
from finsta_cli.datasets.how2qa import HOW2QA_COLUMNS, HOW2QA_JSONL_KEYS
from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.jsonl import iter_jsonl

# Words that name a split inside a file name (msrvtt_test_1k.json, test_qa.json, ...).
SPLIT_WORDS: tuple[str, ...] = (
    "train",
    "trainval",
    "val",
    "valid",
    "validate",
    "validation",
    "dev",
    "test",
    "test_unseen",
)
# VIOLIN's one annotation file, every split in it (a folder holding it is a VIOLIN folder).
VIOLIN_ANNOTATION = "violin_annotation.json"
# Files in an annotation folder that are not a split of annotations.
_SIDE_FILES = frozenset({"dataset.json", "manifest.json", "failures.jsonl", "map_vid_vidorid.json"})


def _first_jsonl_record(path: Path) -> dict[str, Any] | None:
    for _, record in iter_jsonl(path):
        return record
    return None


def detect_format(path: Path) -> DatasetFormat:
    """The format of an annotation file, from its name and content (docs/datasets.md)."""
    name = path.name.lower()
    hint = "pass --format: " + ", ".join(f for f in FORMATS if f != "auto")
    if name.endswith(".jsonl"):
        first = _first_jsonl_record(path) or {}
        if first.get("record") == "synth_video":
            return "synth"
        if set(HOW2QA_JSONL_KEYS) <= set(first):
            return "how2qa"
        if {"paired_id", "vid_name", "statement"} <= set(first):
            return "violin"
        return "jsonl"
    if name.endswith(".csv"):
        header, _ = read_csv(path, [])
        if {"video_id", "sentence"} <= set(header):
            return "msrvtt"
        if {"video", "question", "answer", "qid"} <= set(header):
            return "nextqa"
        if len(header) == len(HOW2QA_COLUMNS) and header[1].startswith("["):
            return "how2qa"  # no header: the first row's second field is its [start:end]
        raise InputError(f"{path}: unrecognised CSV header {','.join(header)}", hint=hint)
    if name.endswith(("_q.json", "_a.json")):
        return "activitynet-qa"
    if name.endswith(".json"):
        data = load_json(path)
        if isinstance(data, dict):
            clip: Any = next(iter(data.values()), None)
            if isinstance(clip, dict) and {"file", "statement"} <= set(clip):
                return "violin"
            if "sentences" in data or all(isinstance(v, str | list) for v in data.values()):
                return "msrvtt"
        elif isinstance(data, list) and data and isinstance(data[0], dict):
            keys = set(data[0])
            if {"video_name", "question_id"} <= keys:
                return "activitynet-qa"
            if {"question", "answer"} <= keys:
                return "msvd-qa"
            if "caption" in keys or "sentence" in keys:
                return "msrvtt"
        raise InputError(f"{path}: cannot tell which dataset format this JSON is", hint=hint)
    raise InputError(f"{path}: cannot tell the dataset format from the file name", hint=hint)


def _split_names(path: Path) -> set[str]:
    """The split names a file answers to: its stem and the split words in it."""
    name = path.name
    stem = name[: -len("_q.json")] if name.endswith("_q.json") else path.stem
    names = {stem}
    lower = stem.lower()
    for word in SPLIT_WORDS:
        if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", lower):
            names.add(word)
    return names


def _data_files(folder: Path, fmt: DatasetFormat) -> list[Path]:
    endings = FORMAT_FILES[fmt]
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.name.lower().endswith(endings)
        and p.name.lower() not in _SIDE_FILES
        and not p.name.endswith("_a.json")
    )


def split_files(folder: Path, fmt: DatasetFormat) -> list[tuple[str, Path]]:
    """Every split file of ``folder`` with the split it holds (``finsta data check`` without
    ``--split``): a synth folder's ``<split>.jsonl``, else each annotation file of the format,
    named by the one split word in its name (``msrvtt_test_1k.json``: test), else by its stem."""
    synth = fmt in ("auto", "synth") and (folder / "dataset.json").is_file()
    found = []
    for path in _data_files(folder, "synth" if synth else fmt):
        words = sorted(_split_names(path) & set(SPLIT_WORDS))
        stem = path.name[: -len("_q.json")] if path.name.endswith("_q.json") else path.stem
        found.append((stem if synth or len(words) != 1 else words[0], path))
    return found


def resolve_split(folder: Path, split: str, fmt: DatasetFormat) -> tuple[Path, DatasetFormat]:
    """The file of ``split`` in ``folder`` and its format (docs/datasets.md, "A folder")."""
    if fmt in ("auto", "violin") and (folder / VIOLIN_ANNOTATION).is_file():
        return folder / VIOLIN_ANNOTATION, "violin"  # every split in one file
    if fmt in ("auto", "synth") and (folder / "dataset.json").is_file():
        path = folder / f"{split}.jsonl"
        if not path.is_file():
            found = sorted(p.stem for p in _data_files(folder, "synth"))
            raise UsageError(
                f"{folder}: no split {split!r}",
                hint="splits here: " + (", ".join(found) or "none"),
            )
        return path, "synth"
    files = _data_files(folder, fmt)
    if not files:
        raise InputError(f"{folder}: no annotation files here ({', '.join(FORMAT_FILES[fmt])})")
    names = {p: _split_names(p) for p in files}
    stem = [
        p for p in files if split in names[p] and (p.stem == split or p.name == f"{split}_q.json")
    ]
    matching = stem if len(stem) == 1 else [p for p in files if split in names[p]]
    if len(matching) == 1:
        path = matching[0]
        return path, fmt if fmt != "auto" else detect_format(path)
    if matching:
        raise UsageError(
            f"{folder}: several files match split {split!r}: "
            + ", ".join(p.name for p in matching),
            hint="pass the file itself",
        )
    found = sorted(set().union(*names.values()))
    raise UsageError(f"{folder}: no split {split!r}", hint="splits here: " + ", ".join(found))
