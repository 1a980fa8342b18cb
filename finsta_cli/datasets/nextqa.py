"""The reader of NExT-QA's csv: multiple choice, or open-ended (NExT-OE) without options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import as_index, load_json, read_csv, text_field
from finsta_cli.datasets.records import QAItem, TaskDataset
from finsta_cli.errors import InputError


def read_nextqa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """A NExT-QA csv as multiple-choice questions (NExT-OE, without options: open-ended)."""
    out = TaskDatasetBuilder("nextqa", split, path)
    header, rows = read_csv(path, ["video", "question", "answer", "qid"], out.bad_lines(path))
    option_columns: list[str] = []
    while f"a{len(option_columns)}" in header:
        option_columns.append(f"a{len(option_columns)}")
    mapping: dict[str, Any] = {}
    map_path = path.parent / "map_vid_vidorID.json"
    if map_path.is_file():
        loaded = load_json(map_path)
        if not isinstance(loaded, dict):
            raise InputError(f"{map_path}: expected a JSON object video -> folder/video")
        mapping = loaded
    for line, row in rows:
        where = f"{path}:{line}"
        with out.row(where):
            video_id = text_field(row, "video", where)
            mapped = mapping.get(video_id)
            out.find(video_id, video_root, [str(mapped or ""), video_id])
            question = text_field(row, "question", where)
            qa_id = f"{video_id}_{text_field(row, 'qid', where)}"
            qtype = row.get("type", "").strip() or None
            if len(option_columns) >= 2:
                options = tuple(text_field(row, column, where) for column in option_columns)
                index = as_index(row["answer"], len(options), where, "answer")
                item = QAItem(qa_id, video_id, question, options[index], options, index, qtype)
            else:  # NExT-OE: the answer is the text
                answer = text_field(row, "answer", where)
                item = QAItem(qa_id, video_id, question, answer, qtype=qtype)
            out.question(item, where)
    return out.build()
