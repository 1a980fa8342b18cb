"""The reader of a finsta synth folder's ``<split>.jsonl`` (captions, negatives, QA, actions)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field, ValidationError

from finsta_cli.datasets.builder import TaskDatasetBuilder
from finsta_cli.datasets.files import as_index, load_json
from finsta_cli.datasets.records import QAItem, TaskDataset
from finsta_cli.errors import InputError
from finsta_cli.io.jsonl import iter_jsonl, validation_message
from finsta_cli.schema.base import VersionedRecord


class _SynthCaption(BaseModel):
    text: str = Field(min_length=1)


class _SynthNegative(BaseModel):
    text: str = Field(min_length=1)
    aspect: str
    source: int = Field(ge=0)


class _SynthMC(BaseModel):
    question: str
    options: list[str] = Field(min_length=2)
    answer: int = Field(ge=0)
    type: str | None = None


class _SynthOpen(BaseModel):
    question: str
    answer: str
    type: str | None = None


class _SynthLine(VersionedRecord):
    """The fields of a ``SynthVideo`` line that evaluation needs (frames are not read)."""

    SCHEMA_KIND: ClassVar[str] = "synth_video"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    video_id: str = Field(min_length=1)
    video: str | None = None
    action: str | None = None
    captions: list[_SynthCaption] = Field(default_factory=list)
    negatives: list[_SynthNegative] = Field(default_factory=list)
    qa_mc: list[_SynthMC] = Field(default_factory=list)
    qa_open: list[_SynthOpen] = Field(default_factory=list)


def _synth_labels(folder: Path) -> list[str] | None:
    info_path = folder / "dataset.json"
    if not info_path.is_file():
        return None
    info = load_json(info_path)
    if not isinstance(info, dict):
        raise InputError(f"{info_path}: expected a JSON object")
    labels = info.get("actions", info.get("motions"))
    if labels is None:
        return None
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise InputError(f"{info_path}: 'actions' must be a list of strings")
    return list(labels)


def read_synth(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    """A synth folder's ``<split>.jsonl``; videos and the label set come from its folder (videos:
    from ``video_root`` when given)."""
    folder = path.parent
    labels = _synth_labels(folder)
    base = video_root if video_root is not None else folder
    out = TaskDatasetBuilder("synth", split, path)
    for line, value in iter_jsonl(path, on_error=out.bad_lines(path)):
        where = f"{path}:{line}"
        with out.row(where):
            try:
                record = _SynthLine.model_validate(value)
            except InputError as exc:
                raise type(exc)(f"{where}: {exc.message}", hint=exc.hint) from None
            except ValidationError as exc:
                raise InputError(
                    f"{where}: not a synth video record: {validation_message(exc)}"
                ) from None
            video_id = record.video_id
            if video_id in out.videos:
                raise InputError(f"{where}: video {video_id!r} appears twice")
            video = record.video or f"videos/{video_id}.mp4"
            out.at(video_id, base / video)
            for caption in record.captions:
                out.caption(video_id, caption.text.strip())
            for negative in record.negatives:
                if negative.source >= len(record.captions):
                    raise InputError(
                        f"{where}: a negative's source {negative.source} is not a caption index "
                        f"(the video has {len(record.captions)})"
                    )
                out.negative(video_id, negative.text.strip(), negative.source, negative.aspect)
            for k, mc in enumerate(record.qa_mc):
                answer = as_index(mc.answer, len(mc.options), where, "qa_mc answer")
                options = tuple(o.strip() for o in mc.options)
                out.question(
                    QAItem(
                        f"{video_id}.mc{k}",
                        video_id,
                        mc.question.strip(),
                        options[answer],
                        options,
                        answer,
                        mc.type,
                    ),
                    where,
                )
            for k, qa in enumerate(record.qa_open):
                out.question(
                    QAItem(
                        f"{video_id}.open{k}",
                        video_id,
                        qa.question.strip(),
                        qa.answer.strip(),
                        qtype=qa.type,
                    ),
                    where,
                )
            if record.action is not None:
                if labels is not None and record.action not in labels:
                    raise InputError(
                        f"{where}: action {record.action!r} is not one of dataset.json's actions"
                    )
                out.action(video_id, record.action, where)
    return out.build(labels)
