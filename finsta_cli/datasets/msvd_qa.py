"""The reader of MSVD-QA / MSRVTT-QA json (open-ended, typed by the question word)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import json_objects, load_json, text_field
from finsta_cli.datasets.records import QAItem, TaskDataset

# MSVD-QA / MSRVTT-QA are reported per question word.
QUESTION_WORDS: tuple[str, ...] = ("what", "who", "how", "when", "where", "why", "which")


def _youtube_mapping(folders: Sequence[Path | None]) -> dict[str, str]:
    """MSVD's youtube_mapping.txt (``<YouTube clip name> vid<N>`` per line), if present."""
    for folder in folders:
        if folder is None:
            continue
        path = folder / "youtube_mapping.txt"
        if path.is_file():
            mapping = {}
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 2:
                    mapping[parts[1]] = parts[0]
            return mapping
    return {}


def question_word(question: str) -> str:
    """The question type used for MSVD-QA / MSRVTT-QA: its first word if a wh-word, else other."""
    words = question.strip().lower().split()
    return words[0] if words and words[0] in QUESTION_WORDS else "other"


def read_msvd_qa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """An MSVD-QA / MSRVTT-QA json as open-ended questions typed by their question word."""
    mapping = _youtube_mapping([path.parent, video_root])
    out = TaskDatasetBuilder("msvd-qa", split, path)
    for i, record in json_objects(load_json(path), path, "questions", out.bad_items(path)):
        where = f"{path}: item {i}"
        with out.row(where):
            key = "video_id" if "video_id" in record else "video"
            raw = text_field(record, key, where)
            video_id = raw
            names = [raw]
            if raw.isdigit():
                names += [f"video{raw}", f"vid{raw}", mapping.get(f"vid{raw}", "")]
            out.find(video_id, video_root, names)
            question = text_field(record, "question", where)
            qa_id = str(record["id"]) if record.get("id") is not None else f"{path.stem}.{i}"
            out.question(
                QAItem(
                    qa_id,
                    video_id,
                    question,
                    text_field(record, "answer", where),
                    qtype=question_word(question),
                ),
                where,
            )
    return out.build()
