"""The reader of ActivityNet-QA: ``<split>_q.json`` joined with ``<split>_a.json`` on the id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import json_objects, load_json, text_field
from finsta_cli.datasets.records import QAItem, TaskDataset
from finsta_cli.errors import InputError

# ActivityNet-QA question/answer types (dataset/README.md of MILVLG/activitynet-qa).
ACTIVITYNET_QA_TYPES: tuple[str, ...] = (
    "motion",
    "spatial_relation",
    "temporal_relation",
    "yes_no",
    "color",
    "object",
    "location",
    "number",
    "other",
)


def _activitynet_pair(path: Path) -> tuple[Path, Path]:
    name = path.name
    if name.endswith("_a.json"):
        return path.with_name(name[: -len("_a.json")] + "_q.json"), path
    if name.endswith("_q.json"):
        return path, path.with_name(name[: -len("_q.json")] + "_a.json")
    raise InputError(
        f"{path}: an ActivityNet-QA file is named <split>_q.json (answers in <split>_a.json)"
    )


def read_activitynet_qa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """``<split>_q.json`` (or its ``_a.json``) as open-ended questions about ``v_<video_name>``,
    typed by the answer's ``type``."""
    q_path, a_path = _activitynet_pair(path)
    if not a_path.is_file():
        raise InputError(f"{q_path}: its answers file {a_path.name} is not beside it")
    out = TaskDatasetBuilder("activitynet-qa", split, q_path)
    questions = json_objects(load_json(q_path), q_path, "questions", out.bad_items(q_path))
    answers: dict[str, dict[str, Any]] = {}
    for i, record in json_objects(load_json(a_path), a_path, "answers", out.bad_items(a_path)):
        where = f"{a_path}: item {i}"
        with out.row(where):
            answers[text_field(record, "question_id", where)] = record
    for i, record in questions:
        where = f"{q_path}: item {i}"
        with out.row(where):
            _question(out, record, answers, where, a_path, q_path, video_root)
    return out.build()


def _question(
    out: TaskDatasetBuilder,
    record: dict[str, Any],
    answers: dict[str, dict[str, Any]],
    where: str,
    a_path: Path,
    q_path: Path,
    video_root: Path | None,
) -> None:
    """Add one question (item of ``q_path``) with its answer and video."""
    qid = text_field(record, "question_id", where)
    name = text_field(record, "video_name", where)
    # ActivityNet names its videos v_<YouTube id> (as the question ids do); video_name
    # is the bare YouTube id
    video_id = f"v_{name}"
    answer = answers.get(qid)
    if answer is None:
        raise InputError(f"{a_path}: no answer for question {qid!r} of {q_path.name}")
    kind = answer.get("type")
    if (
        isinstance(kind, int)
        and not isinstance(kind, bool)
        and 0 <= kind < len(ACTIVITYNET_QA_TYPES)
    ):
        qtype: str | None = ACTIVITYNET_QA_TYPES[kind]
    else:
        qtype = None if kind is None else str(kind)
    out.find(video_id, video_root, [video_id, name])
    out.question(
        QAItem(
            qid,
            video_id,
            text_field(record, "question", where),
            text_field(answer, "answer", f"{a_path}: answer of {qid}"),
            qtype=qtype,
        ),
        where,
    )
