"""The reader of How2QA: the release CSVs (no header, 7 columns) and VALUE/HERO's JSONL.

Each question is about a segment of a long YouTube video; the segment is what the host sees
(:attr:`~finsta_cli.datasets.records.QAItem.segment`). Options are put in an order fixed by
the question id (:func:`~finsta_cli.datasets.longform.shuffle_options`). docs/datasets.md,
"How2QA".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import as_index, csv_rows, text_field
from finsta_cli.datasets.longform import parse_segment, shuffle_options
from finsta_cli.datasets.records import QAItem, TaskDataset
from finsta_cli.errors import InputError
from finsta_cli.io.jsonl import iter_jsonl

# The release CSV's columns, in order (it has no header row).
HOW2QA_COLUMNS: tuple[str, ...] = (
    "video_id",
    "segment",
    "wrong1",
    "wrong2",
    "wrong3",
    "question",
    "answer",
)
# VALUE/HERO JSONL: four options a0..a3, the answer's index, the question, its id, the segment.
HOW2QA_JSONL_KEYS: tuple[str, ...] = ("a0", "answer_idx", "q", "qid", "vid_name")


def read_how2qa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """A How2QA release CSV or VALUE/HERO JSONL as 4-option multiple-choice questions, each
    about its segment of ``video_root/<video id>.mp4``."""
    out = TaskDatasetBuilder("how2qa", split, path)
    if path.name.lower().endswith(".jsonl"):
        _read_jsonl(path, video_root, out)
    else:
        _read_csv(path, video_root, out)
    return out.build()


def _read_csv(path: Path, video_root: Path | None, out: TaskDatasetBuilder) -> None:
    for line, row in csv_rows(path):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}:{line}"
        with out.row(where):
            if len(row) != len(HOW2QA_COLUMNS):
                raise InputError(
                    f"{where}: {len(row)} fields where How2QA has {len(HOW2QA_COLUMNS)} "
                    "(video, [start:end], 3 wrong answers, question, answer)"
                )
            record = dict(zip(HOW2QA_COLUMNS, row, strict=True))
            video_id = text_field(record, "video_id", where)
            segment = parse_segment(record["segment"], where)
            wrong = [text_field(record, f"wrong{k}", where) for k in (1, 2, 3)]
            answer = text_field(record, "answer", where)
            question = text_field(record, "question", where)
            qa_id = f"{path.stem}-{line}"
            options, index = shuffle_options([*wrong, answer], len(wrong), qa_id)
            item = QAItem(qa_id, video_id, question, answer, options, index, segment=segment)
            out.question(item, where)
            out.find(video_id, video_root, [video_id])


def _read_jsonl(path: Path, video_root: Path | None, out: TaskDatasetBuilder) -> None:
    def bad_line(line: int, reason: str) -> None:
        where = f"{path}:{line}"
        with out.row(where):
            raise InputError(f"{where}: {reason}")

    for line, record in iter_jsonl(path, on_error=bad_line):
        where = f"{path}:{line}"
        with out.row(where):
            out.question(_jsonl_question(record, where), where)
            video_id = text_field(record, "vid_name", where)
            out.find(video_id, video_root, [video_id])


def _jsonl_question(record: dict[str, Any], where: str) -> QAItem:
    missing = [key for key in HOW2QA_JSONL_KEYS if key not in record]
    if missing:
        raise InputError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    options: list[str] = []
    while f"a{len(options)}" in record:
        options.append(text_field(record, f"a{len(options)}", where))
    if len(options) < 2:
        raise InputError(f"{where}: a question needs at least two options a0, a1, ...")
    given = as_index(record["answer_idx"], len(options), where, "answer_idx")
    qa_id = text_field(record, "qid", where)
    segment = parse_segment(str(record["ts"]), where) if record.get("ts") is not None else None
    shuffled, index = shuffle_options(options, given, qa_id)
    return QAItem(
        qa_id,
        text_field(record, "vid_name", where),
        text_field(record, "q", where),
        options[given],
        shuffled,
        index,
        segment=segment,
    )
