"""What ``finsta data check`` reports about a dataset: counts per split, the videos on disk,
missing or unchecked, and every row a reader refused, with its file, line and reason.

Each split is read with :func:`~finsta_cli.datasets.builder.collecting_rejections`, so a bad row
is recorded and the reader goes on. An error about a whole file (not JSON, a list where an
object belongs, a missing column) is that split's ``error``: nothing of the file was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import collecting_rejections
from finsta_cli.datasets.detect import detect_format, split_files
from finsta_cli.datasets.formats import FORMATS, DatasetFormat
from finsta_cli.datasets.load import load_task_dataset
from finsta_cli.datasets.records import RejectedRow, TaskDataset
from finsta_cli.errors import ExitCode, InputError, UsageError


@dataclass
class SplitCheck:
    """One split as read: its file, format, counts, videos and refused rows (``error``: the
    whole file was refused, and nothing else is set)."""

    split: str
    file: Path
    format: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    videos_found: int = 0
    videos_missing: list[Path] = field(default_factory=list)  # the paths looked for
    videos_unchecked: list[str] = field(default_factory=list)  # ids: nowhere to look
    rejected: list[RejectedRow] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "file": str(self.file),
            "format": self.format,
            "counts": self.counts,
            "videos": {
                "found": self.videos_found,
                # every video not on disk; "unchecked" of them had no path to look at
                "missing": len(self.videos_missing) + len(self.videos_unchecked),
                "unchecked": len(self.videos_unchecked),
                "missing_paths": [str(p) for p in self.videos_missing],
            },
            "rejected": [{"where": r.where, "reason": r.reason} for r in self.rejected],
            "error": self.error,
        }


@dataclass
class CheckReport:
    """Every split checked; ``exit_code`` 3 when a row or a whole file was refused."""

    source: Path
    video_root: Path | None
    splits: list[SplitCheck]

    @property
    def rejected(self) -> int:
        return sum(len(s.rejected) for s in self.splits)

    @property
    def file_errors(self) -> int:
        return sum(1 for s in self.splits if s.error is not None)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PARTIAL if self.rejected or self.file_errors else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "video_root": None if self.video_root is None else str(self.video_root),
            "splits": [s.to_json() for s in self.splits],
            "rejected": self.rejected,
            "file_errors": self.file_errors,
            "exit_code": int(self.exit_code),
        }


def dataset_counts(dataset: TaskDataset) -> dict[str, int]:
    """Records of each kind: videos, captions, hard negatives, questions (multiple choice and
    open), the options of the multiple-choice ones, action labels and the label set."""
    return {
        "videos": len(dataset.videos),
        "captions": len(dataset.captions),
        "negatives": len(dataset.negatives),
        "questions": len(dataset.qa_mc) + len(dataset.qa_open),
        "qa_mc": len(dataset.qa_mc),
        "qa_open": len(dataset.qa_open),
        "options": sum(len(q.options or ()) for q in dataset.qa_mc),
        "actions": len(dataset.actions),
        "labels": len(dataset.labels),
    }


def check_split(path: Path, split: str, fmt: DatasetFormat, video_root: Path | None) -> SplitCheck:
    """Read one split file collecting its refused rows (a whole-file error becomes ``error``)."""
    report = SplitCheck(split, path)
    try:
        found = fmt if fmt != "auto" else detect_format(path)
        report.format = found
        with collecting_rejections():
            dataset = load_task_dataset(path, split=split, fmt=found, video_root=video_root)
    except InputError as exc:
        report.error = exc.message
        return report
    report.counts = dataset_counts(dataset)
    for video in dataset.videos.values():
        if video.path is not None:
            report.videos_found += 1
        elif video.expected is not None:
            report.videos_missing.append(video.expected)
        else:
            report.videos_unchecked.append(video.video_id)
    report.rejected = list(dataset.rejected)
    return report


def check_dataset(
    source: Path,
    fmt: DatasetFormat = "auto",
    split: str | None = None,
    video_root: Path | None = None,
) -> CheckReport:
    """Check ``source``: a file (one split, ``split`` or the split word in its name), or a
    folder (``split``'s file, or every split file found in it: see
    :func:`~finsta_cli.datasets.detect.split_files`)."""
    from finsta_cli.datasets.detect import resolve_split

    source = Path(source)
    if fmt not in FORMATS:
        raise UsageError(f"unknown dataset format {fmt!r}", hint="use " + ", ".join(FORMATS))
    if video_root is not None and not Path(video_root).is_dir():
        raise UsageError(f"video root {video_root} is not a folder")
    if source.is_file():
        files = [(split or _split_of(source), source)]
    elif source.is_dir():
        if split is not None:
            files = [(split, resolve_split(source, split, fmt)[0])]
        else:
            files = split_files(source, fmt)
            if not files:
                raise InputError(f"{source}: no annotation files here")
    else:
        raise InputError(f"{source}: no such file or folder")
    splits = [check_split(path, name, fmt, video_root) for name, path in files]
    return CheckReport(source, video_root, splits)


def _split_of(path: Path) -> str:
    for name, found in split_files(path.parent, "auto"):
        if found == path:
            return name
    return path.stem
