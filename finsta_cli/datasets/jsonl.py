"""The reader of finsta's generic JSONL: any mix of captions, negatives, questions and labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import as_index, text_field
from finsta_cli.datasets.records import QAItem, TaskDataset
from finsta_cli.errors import InputError
from finsta_cli.io.jsonl import iter_jsonl


def read_jsonl(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """A generic JSONL file; videos are named relative to ``video_root``, else to its folder."""
    base = video_root if video_root is not None else path.parent
    out = TaskDatasetBuilder("jsonl", split, path)
    qa_count: dict[str, int] = {}
    label_set: list[str] | None = None
    label_lines: dict[str, int] = {}  # video id -> the line of its label
    for line, record in iter_jsonl(path, on_error=out.bad_lines(path)):
        where = f"{path}:{line}"
        with out.row(where):
            if "video_id" not in record and "labels" in record:
                if label_set is not None:
                    raise InputError(f"{where}: a second 'labels' line (one label set per file)")
                label_set = _label_set(record["labels"], where)
                continue
            video_id = text_field(record, "video_id", where)
            video = record.get("video")
            if video is not None and not isinstance(video, str):
                raise InputError(f"{where}: 'video' must be a path string")
            if video:
                out.at(video_id, base / video)
            else:
                out.find(video_id, video_root, [video_id])
            texts: list[Any] = []
            if "captions" in record:
                if not isinstance(record["captions"], list):
                    raise InputError(f"{where}: 'captions' must be a list of strings")
                texts += record["captions"]
            if "caption" in record:
                texts.append(record["caption"])
            first_caption = out.caption_count(video_id)
            for k, text in enumerate(texts):
                if isinstance(text, dict):
                    text = text.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise InputError(f"{where}: caption {k} must be a non-empty string")
                out.caption(video_id, text.strip())
            for k, negative in enumerate(record.get("negatives") or []):
                _negative(negative, k, video_id, first_caption, len(texts), where, out)
            if "question" in record:
                n = qa_count.get(video_id, 0)
                out.question(_question(record, video_id, n, where), where)
                qa_count[video_id] = n + 1
            if record.get("label") is not None:
                out.action(video_id, text_field(record, "label", where), where)
                label_lines.setdefault(video_id, line)
    if label_set is not None:
        known = set(label_set)
        for action in list(out.actions.values()):
            if action.label not in known:
                where = f"{path}:{label_lines[action.video_id]}"
                with out.row(where):
                    raise InputError(
                        f"{where}: label {action.label!r} of video {action.video_id!r} is not "
                        f"in the file's 'labels' ({len(label_set)} labels)"
                    )
                del out.actions[action.video_id]  # rejected (collecting): not an action
    return out.build(label_set)


def _label_set(value: Any, where: str) -> list[str]:
    """The action label set of a generic JSONL line ``{"labels": [...]}``: the classes an action
    is chosen among (zero-shot: one prompt each), not only the labels its videos carry."""
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: 'labels' must be a non-empty list of strings")
    labels = []
    for k, label in enumerate(value):
        if not isinstance(label, str) or not label.strip():
            raise InputError(f"{where}: labels[{k}] must be a non-empty string")
        labels.append(label.strip())
    repeated = sorted(label for label, n in Counter(labels).items() if n > 1)
    if repeated:
        raise InputError(f"{where}: 'labels' repeats {', '.join(map(repr, repeated[:3]))}")
    return labels


def _negative(
    negative: Any,
    k: int,
    video_id: str,
    first: int,
    count: int,
    where: str,
    out: TaskDatasetBuilder,
) -> None:
    if not isinstance(negative, dict):
        raise InputError(f"{where}: negatives[{k}] must be an object with text, aspect, source")
    text = text_field(negative, "text", f"{where}: negatives[{k}]")
    source = as_index(negative.get("source", 0), count, f"{where}: negatives[{k}]", "source")
    aspect = str(negative.get("aspect") or "other")
    out.negative(video_id, text, first + source, aspect)


def _question(record: dict[str, Any], video_id: str, n: int, where: str) -> QAItem:
    question = text_field(record, "question", where)
    qa_id = str(record.get("qa_id") or record.get("id") or f"{video_id}.q{n}")
    qtype = None if record.get("qtype") is None else str(record["qtype"])
    options = record.get("options")
    if options is None:
        return QAItem(qa_id, video_id, question, text_field(record, "answer", where), qtype=qtype)
    if (
        not isinstance(options, list)
        or len(options) < 2
        or not all(isinstance(o, str) and o.strip() for o in options)
    ):
        raise InputError(f"{where}: 'options' must be a list of at least 2 non-empty strings")
    choices = tuple(o.strip() for o in options)
    if record.get("answer_index") is not None:
        index = as_index(record["answer_index"], len(choices), where, "answer_index")
        if (
            record.get("answer") is not None
            and text_field(record, "answer", where) != choices[index]
        ):
            raise InputError(
                f"{where}: answer {record['answer']!r} is not options[{index}] ({choices[index]!r})"
            )
    else:
        answer = text_field(record, "answer", where)
        if answer not in choices:
            raise InputError(f"{where}: answer {answer!r} is not one of the options")
        index = choices.index(answer)
    return QAItem(qa_id, video_id, question, choices[index], choices, index, qtype)
