"""What the long-form QA readers (How2QA, VIOLIN) share: segments, option order, subtitles.

- A question's *segment* is the part of a long video it is about, ``(start, end)`` seconds;
  :func:`parse_segment` reads How2QA's ``[7.2:18.0]`` and VALUE's ``"7.2-18.0"``.
- Options are put in an order fixed by the question id (:func:`shuffle_options`): the releases
  list the correct answer at a fixed place (How2QA's CSV last, VALUE's JSONL wherever
  ``answer_idx`` says), and a model that prefers a position must not score for it.
- Subtitles (``{video_id: [{"text", "start", "end"}]}``, or a dataset's own, VIOLIN's ``sub``)
  are clipped to each question's segment and given to the text side
  (:func:`attach_subtitles`; docs/datasets.md, "Subtitles").
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from finsta_cli.datasets.files import load_json
from finsta_cli.datasets.records import QAItem, Segment, SubtitleLine, TaskDataset
from finsta_cli.errors import InputError

# ``--subtitles dataset``: the dataset's own subtitles (VIOLIN's ``sub``).
OWN_SUBTITLES = "dataset"
_NUMBER = r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*"
_BRACKETED = re.compile(rf"^\[{_NUMBER}:{_NUMBER}\]$")
_DASHED = re.compile(rf"^{_NUMBER}-{_NUMBER}$")


def checked_segment(start: float, end: float, where: str) -> Segment:
    """``(start, end)`` when ``0 <= start < end`` and both are finite; else an InputError."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InputError(f"{where}: segment [{start}:{end}] is not finite")
    if start < 0:
        raise InputError(f"{where}: segment [{start}:{end}] starts before 0 s")
    if start >= end:
        raise InputError(f"{where}: segment [{start}:{end}] does not end after it starts")
    return (start, end)


def parse_segment(text: str, where: str) -> Segment:
    """``[START:END]`` (How2QA's CSV) or ``START-END`` (VALUE's ``ts``) in seconds."""
    raw = text.strip()
    found = _BRACKETED.match(raw) or _DASHED.match(raw)
    if found is None:
        raise InputError(f"{where}: segment {text!r} is not [START:END] or START-END in seconds")
    return checked_segment(float(found.group(1)), float(found.group(2)), where)


def shuffle_options(
    options: Sequence[str], answer_index: int, key: str
) -> tuple[tuple[str, ...], int]:
    """``options`` in an order fixed by ``key`` (the question id) and the answer's new index.

    The order sorts the options by SHA-256 of ``key`` and their original position: the same on
    every machine and Python version, and unrelated to where the release put the answer."""

    def rank(position: int) -> bytes:
        return hashlib.sha256(f"{key}\0{position}".encode()).digest()

    order = sorted(range(len(options)), key=rank)
    return tuple(options[i] for i in order), order.index(answer_index)


def subtitle_lines(value: Any, where: str) -> list[SubtitleLine]:
    """A video's subtitles: a list of ``{"text", "start", "end"}`` objects or of
    ``[text, start, end]`` lists (VIOLIN); anything else raises naming ``where``."""
    if not isinstance(value, list):
        raise InputError(f"{where}: subtitles must be a list, found {type(value).__name__}")
    lines = []
    for k, entry in enumerate(value):
        if isinstance(entry, dict):
            text, start, end = entry.get("text"), entry.get("start"), entry.get("end")
        elif isinstance(entry, list | tuple) and len(entry) == 3:
            text, start, end = entry
        else:
            raise InputError(
                f"{where}: subtitle {k} must be {{text, start, end}} or [text, start, end]"
            )
        if not isinstance(text, str):
            raise InputError(f"{where}: subtitle {k}: 'text' must be a string")
        times = []
        for name, time in (("start", start), ("end", end)):
            if isinstance(time, bool) or not isinstance(time, int | float):
                raise InputError(f"{where}: subtitle {k}: {name!r} must be a number of seconds")
            times.append(float(time))
        if not (math.isfinite(times[0]) and math.isfinite(times[1])) or times[1] < times[0]:
            raise InputError(f"{where}: subtitle {k}: [{times[0]}, {times[1]}] is not a span")
        if text.strip():
            lines.append(SubtitleLine(text.strip(), times[0], times[1]))
    return lines


def load_subtitles(path: Path) -> dict[str, list[SubtitleLine]]:
    """A subtitles file: a JSON object ``{video_id: [{"text", "start", "end"}, ...]}``."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(
            f"{path}: expected a JSON object video_id -> [{{text, start, end}}, ...], "
            f"found {type(data).__name__}"
        )
    return {str(vid): subtitle_lines(lines, f"{path}: {vid}") for vid, lines in data.items()}


def clipped_text(lines: Sequence[SubtitleLine], segment: Segment | None) -> str | None:
    """The subtitles shown during ``segment`` (all of them without one), joined by spaces in
    time order; None when there are none. A line counts when it overlaps the segment."""
    if segment is not None:
        start, end = segment
        lines = [line for line in lines if line.end > start and line.start < end]
    ordered = sorted(lines, key=lambda line: (line.start, line.end))
    return " ".join(line.text for line in ordered) or None


def attach_subtitles(
    dataset: TaskDataset, subtitles: Mapping[str, Sequence[SubtitleLine]]
) -> TaskDataset:
    """``dataset`` with each question's :attr:`QAItem.subtitles` set to its video's
    ``subtitles`` clipped to its segment (questions of videos without subtitles keep none)."""

    def with_text(item: QAItem) -> QAItem:
        lines = subtitles.get(item.video_id)
        if not lines:
            return item
        return dataclasses.replace(item, subtitles=clipped_text(lines, item.segment))

    return dataclasses.replace(
        dataset,
        qa_mc=[with_text(q) for q in dataset.qa_mc],
        qa_open=[with_text(q) for q in dataset.qa_open],
    )


def resolve_subtitles(dataset: TaskDataset, source: Path | str) -> TaskDataset:
    """``dataset`` with the subtitles of ``source`` attached: a subtitles file, or
    :data:`OWN_SUBTITLES` (``dataset``) for the dataset's own, which it must have."""
    if str(source) == OWN_SUBTITLES:
        if not dataset.subtitles:
            raise InputError(
                f"{dataset.source}: --subtitles {OWN_SUBTITLES}: this {dataset.name} dataset "
                "has no subtitles of its own",
                hint="pass a subtitles file {video_id: [{text, start, end}]} instead",
            )
        return attach_subtitles(dataset, dataset.subtitles)
    return attach_subtitles(dataset, load_subtitles(Path(source)))
