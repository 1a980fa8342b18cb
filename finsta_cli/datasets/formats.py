"""The dataset formats: their names (the one ``Literal`` the CLI choices derive from) and files.

A format is registered here and in :mod:`finsta_cli.datasets.load` (its reader); how ``auto``
tells the formats apart is :mod:`finsta_cli.datasets.detect`. docs/datasets.md describes each.
"""

from __future__ import annotations

from typing import Literal, get_args

DatasetFormat = Literal[
    "auto", "synth", "msrvtt", "nextqa", "activitynet-qa", "msvd-qa", "how2qa", "violin", "jsonl"
]
FORMATS: tuple[DatasetFormat, ...] = get_args(DatasetFormat)

# The formats whose datasets carry captions: what align-train can train on.
CaptionFormat = Literal["auto", "synth", "msrvtt", "jsonl"]
CAPTION_FORMATS: tuple[CaptionFormat, ...] = get_args(CaptionFormat)

# How the annotation files of each format end (what a folder is searched for).
FORMAT_FILES: dict[DatasetFormat, tuple[str, ...]] = {
    "auto": (".jsonl", ".json", ".csv"),
    "synth": (".jsonl",),
    "msrvtt": (".json", ".csv"),
    "nextqa": (".csv",),
    "activitynet-qa": ("_q.json",),
    "msvd-qa": (".json",),
    "how2qa": (".csv", ".jsonl"),
    "violin": (".json", ".jsonl"),
    "jsonl": (".jsonl",),
}
