"""Datasets for training and evaluation: synth and public annotation formats in one set of records.

:func:`load_task_dataset` reads a finsta synth folder, MSR-VTT (1k-A json/csv, MSRVTT_data.json,
MMAction2's video-text json), NExT-QA csv, ActivityNet-QA json, MSVD-QA / MSRVTT-QA json,
How2QA (release CSV, VALUE JSONL), VIOLIN (annotation json, VALUE JSONL) or a generic JSONL into
a :class:`TaskDataset`: videos, captions, hard negatives, multiple-choice and
open-ended questions, action labels. docs/datasets.md describes every format and how ``auto``
tells them apart. Video files are optional: ``VideoRef.path`` is None when the file is not on
disk (annotation-only datasets), and ``VideoRef.expected`` is then the path that was looked for
(None when there was nowhere to look: no ``video_root`` for a format that needs one). Bad input
raises :class:`InputError` naming the file (and line or item) and the reason; an unknown split
raises :class:`UsageError` listing the splits found.

The modules: ``records`` (the records), ``formats`` (the format names), ``detect`` (``auto`` and
finding a split's file), ``load`` (the reader registry), one reader module per format
(``synth``, ``msrvtt``, ``nextqa``, ``activitynet_qa``, ``msvd_qa``, ``how2qa``, ``violin``,
``jsonl``) over ``builder``, ``files`` and ``videos``; ``longform`` holds what the long-form QA
readers share (segments, option order, subtitles).
"""

from finsta_cli.datasets.detect import detect_format
from finsta_cli.datasets.formats import CAPTION_FORMATS, FORMATS, CaptionFormat, DatasetFormat
from finsta_cli.datasets.load import load_task_dataset
from finsta_cli.datasets.msvd_qa import question_word
from finsta_cli.datasets.records import (
    ACTION_PROMPT,
    ActionItem,
    Caption,
    HardNegative,
    QAItem,
    TaskDataset,
    VideoRef,
)

__all__ = [
    "ACTION_PROMPT",
    "CAPTION_FORMATS",
    "FORMATS",
    "ActionItem",
    "Caption",
    "CaptionFormat",
    "DatasetFormat",
    "HardNegative",
    "QAItem",
    "TaskDataset",
    "VideoRef",
    "detect_format",
    "load_task_dataset",
    "question_word",
]
