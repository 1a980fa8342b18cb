"""The reader of VIOLIN (video-and-language inference): ``violin_annotation.json`` and VALUE's
JSONL, each (positive, negative) statement pair as a 2-option "which statement holds" item.

A pair is scored as binary entailment: the item is right when the true statement scores above
the false one (``pair_accuracy``). The options are put in an order fixed by the item id
(:func:`~finsta_cli.datasets.longform.shuffle_options`). The annotation's subtitles (``sub``)
are kept on the dataset and given to the text side with ``--subtitles dataset``.
docs/datasets.md, "VIOLIN".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import load_json, text_field
from finsta_cli.datasets.longform import parse_segment, shuffle_options, subtitle_lines
from finsta_cli.datasets.records import QAItem, Segment, SubtitleLine, TaskDataset
from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.jsonl import iter_jsonl

# The qtype of every VIOLIN item (metrics.json's mc_by_type names it).
VIOLIN_QTYPE = "statement_pair"
# Split names the annotation file uses for the names finsta's commands take.
_SPLIT_ALIASES: dict[str, tuple[str, ...]] = {
    "val": ("val", "validate", "validation"),
    "validate": ("validate", "val", "validation"),
}


def read_violin(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """``violin_annotation.json`` (the clips of ``split``) or VALUE's VIOLIN JSONL (the whole
    file) as statement-pair items about ``video_root/<file>.mp4``."""
    out = TaskDatasetBuilder("violin", split, path)
    if path.name.lower().endswith(".jsonl"):
        _read_jsonl(path, video_root, out)
        return out.build()
    subtitles = _read_annotation(path, split, video_root, out)
    dataset = out.build()
    dataset.subtitles = subtitles
    return dataset


def _pair_item(
    qa_id: str, video_id: str, true: str, false: str, segment: Segment | None = None
) -> QAItem:
    options, index = shuffle_options([true, false], 0, qa_id)
    return QAItem(qa_id, video_id, "", true, options, index, VIOLIN_QTYPE, segment=segment)


def _read_annotation(
    path: Path, split: str, video_root: Path | None, out: TaskDatasetBuilder
) -> dict[str, list[SubtitleLine]]:
    """The clips of ``split`` into ``out``; returns their subtitles by video id."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(
            f"{path}: expected a JSON object clip id -> {{file, split, sub, statement}}"
        )
    wanted = _SPLIT_ALIASES.get(split, (split,))
    splits: set[str] = set()
    subtitles: dict[str, list[SubtitleLine]] = {}
    for clip_id, clip in data.items():
        where = f"{path}: clip {clip_id}"
        with out.row(where):
            if not isinstance(clip, dict):
                raise InputError(f"{where}: expected an object, found {type(clip).__name__}")
            clip_split = text_field(clip, "split", where)
            splits.add(clip_split)
            if clip_split not in wanted:
                continue
            video_id = text_field(clip, "file", where)
            pairs = clip.get("statement")
            if not isinstance(pairs, list) or not pairs:
                raise InputError(f"{where}: 'statement' must be a list of [positive, negative]")
            lines = subtitle_lines(clip.get("sub", []), where)
            items = [_annotation_pair(clip_id, video_id, k, pair, where)
                     for k, pair in enumerate(pairs)]  # fmt: skip
            for item in items:
                out.question(item, where)
            out.find(video_id, video_root, [video_id])
            subtitles[video_id] = lines
    if not any(name in splits for name in wanted) and not out.rejected:
        raise UsageError(
            f"{path}: no clips of split {split!r}",
            hint="splits here: " + (", ".join(sorted(splits)) or "none"),
        )
    return subtitles


def _annotation_pair(clip_id: str, video_id: str, k: int, pair: Any, where: str) -> QAItem:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
        raise InputError(f"{where}: statement {k} must be [positive, negative] strings")
    true, false = (s.strip() for s in pair)
    if not true or not false:
        raise InputError(f"{where}: statement {k} has an empty statement")
    return _pair_item(f"{clip_id}-{k}", video_id, true, false)


def _read_jsonl(path: Path, video_root: Path | None, out: TaskDatasetBuilder) -> None:
    """VALUE's lines (one statement each, ``answer`` 1 true / 0 false) joined on
    ``(vid_name, paired_id)``: each pair needs one true and one false statement."""

    def bad_line(line: int, reason: str) -> None:
        where = f"{path}:{line}"
        with out.row(where):
            raise InputError(f"{where}: {reason}")

    pairs: dict[tuple[str, str], list[tuple[int, str, bool, Segment | None]]] = {}
    for line, record in iter_jsonl(path, on_error=bad_line):
        where = f"{path}:{line}"
        with out.row(where):
            video_id = text_field(record, "vid_name", where)
            paired = text_field(record, "paired_id", where)
            statement = text_field(record, "statement", where)
            answer = record.get("answer")
            if answer not in (0, 1) or isinstance(answer, float):
                raise InputError(f"{where}: 'answer' must be 1 (true) or 0 (false)")
            ts = record.get("ts")
            segment = parse_segment(str(ts), where) if ts is not None else None
            pairs.setdefault((video_id, paired), []).append((line, statement, answer == 1, segment))
    for (video_id, paired), statements in pairs.items():
        where = f"{path}:{statements[0][0]}"
        with out.row(where):
            true = [s for s in statements if s[2]]
            false = [s for s in statements if not s[2]]
            if len(true) != 1 or len(false) != 1:
                raise InputError(
                    f"{where}: pair {paired!r} of {video_id!r} has {len(true)} true and "
                    f"{len(false)} false statement(s) (lines "
                    f"{', '.join(str(s[0]) for s in statements)}); a pair has one of each"
                )
            item = _pair_item(f"{video_id}-{paired}", video_id, true[0][1], false[0][1],
                              true[0][3])  # fmt: skip
            out.question(item, where)
            out.find(video_id, video_root, [video_id])
