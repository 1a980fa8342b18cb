"""Loading one split of a dataset: find its file, tell its format, run that format's reader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from finsta_cli.datasets.activitynet_qa import read_activitynet_qa
from finsta_cli.datasets.detect import detect_format, resolve_split
from finsta_cli.datasets.formats import FORMATS, DatasetFormat
from finsta_cli.datasets.how2qa import read_how2qa
from finsta_cli.datasets.jsonl import read_jsonl
from finsta_cli.datasets.longform import resolve_subtitles
from finsta_cli.datasets.msrvtt import read_msrvtt
from finsta_cli.datasets.msvd_qa import read_msvd_qa
from finsta_cli.datasets.nextqa import read_nextqa
from finsta_cli.datasets.records import TaskDataset
from finsta_cli.datasets.synth import read_synth
from finsta_cli.datasets.violin import read_violin
from finsta_cli.errors import InputError, UsageError

Reader = Callable[[Path, str, Path | None], TaskDataset]
"""A format's reader: ``(annotation file, split, video_root) -> TaskDataset``."""

READERS: dict[DatasetFormat, Reader] = {
    "synth": read_synth,
    "msrvtt": read_msrvtt,
    "nextqa": read_nextqa,
    "activitynet-qa": read_activitynet_qa,
    "msvd-qa": read_msvd_qa,
    "how2qa": read_how2qa,
    "violin": read_violin,
    "jsonl": read_jsonl,
}


def load_task_dataset(
    source: Path,
    split: str = "test",
    fmt: DatasetFormat = "auto",
    video_root: Path | None = None,
    *,
    subtitles: Path | str | None = None,
) -> TaskDataset:
    """Read one split of an evaluation dataset into the common records.

    ``source`` is a folder (the split's file is found in it: ``<split>.jsonl`` of a synth
    folder, ``<split>_q.json``, ``<split>.csv``, or the one file whose name holds the split
    word, e.g. ``msrvtt_test_1k.json``) or a file (read as is; ``split`` then only labels the
    result, except in MSRVTT_data.json where it selects the videos). ``fmt="auto"`` tells the
    format from the folder, file name and content. Video files are looked up under
    ``video_root`` (synth and JSONL: relative to their folder unless it is given).
    ``subtitles``: a subtitles file ``{video_id: [{text, start, end}]}``, or ``"dataset"`` for
    the dataset's own (VIOLIN), clipped to each question's segment and given to the text side
    (:func:`~finsta_cli.datasets.longform.attach_subtitles`).
    """
    source = Path(source)
    if fmt not in FORMATS:
        raise UsageError(f"unknown dataset format {fmt!r}", hint="use " + ", ".join(FORMATS))
    if video_root is not None and not Path(video_root).is_dir():
        raise UsageError(f"video root {video_root} is not a folder")
    video_root = Path(video_root) if video_root is not None else None
    if source.is_dir():
        path, found = resolve_split(source, split, fmt)
    elif source.is_file():
        path, found = source, fmt if fmt != "auto" else detect_format(source)
    else:
        raise InputError(f"{source}: no such file or folder")
    dataset = READERS[found](path, split, video_root)
    dataset.video_root = video_root
    if subtitles is not None:
        dataset = resolve_subtitles(dataset, subtitles)
    return dataset
