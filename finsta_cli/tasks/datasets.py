"""Evaluation datasets: synth and public annotation formats read into one set of records.

:func:`load_task_dataset` reads a finsta synth folder, MSR-VTT (1k-A json/csv, MSRVTT_data.json,
MMAction2's video-text json), NExT-QA csv, ActivityNet-QA json, MSVD-QA / MSRVTT-QA json or a
generic JSONL into a :class:`TaskDataset`: videos, captions, hard negatives, multiple-choice and
open-ended questions, action labels. docs/datasets.md describes every format and how ``auto``
tells them apart. Video files are optional: ``VideoRef.path`` is None when the file is not on
disk (annotation-only datasets), and ``VideoRef.expected`` is then the path that was looked for
(None when there was nowhere to look: no ``video_root`` for a format that needs one). Bad input
raises :class:`InputError` naming the file (and line or item) and the reason; an unknown split
raises :class:`UsageError` listing the splits found.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, Field, ValidationError

from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.csvfile import iter_csv_rows
from finsta_cli.io.jsonl import iter_jsonl, validation_message
from finsta_cli.schema.base import VersionedRecord
from finsta_cli.video.decode import is_frame_folder

DatasetFormat = Literal["auto", "synth", "msrvtt", "nextqa", "activitynet-qa", "msvd-qa", "jsonl"]
FORMATS: tuple[str, ...] = get_args(DatasetFormat)

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v")
# Words that name a split inside a file name (msrvtt_test_1k.json, test_qa.json, ...).
SPLIT_WORDS: tuple[str, ...] = (
    "train",
    "trainval",
    "val",
    "valid",
    "validate",
    "validation",
    "dev",
    "test",
    "test_unseen",
)
# Files in an annotation folder that are not a split of annotations.
_SIDE_FILES = frozenset({"dataset.json", "manifest.json", "failures.jsonl", "map_vid_vidorid.json"})
_FORMAT_FILES: dict[str, tuple[str, ...]] = {
    "auto": (".jsonl", ".json", ".csv"),
    "synth": (".jsonl",),
    "msrvtt": (".json", ".csv"),
    "nextqa": (".csv",),
    "activitynet-qa": ("_q.json",),
    "msvd-qa": (".json",),
    "jsonl": (".jsonl",),
}
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
# MSVD-QA / MSRVTT-QA are reported per question word.
QUESTION_WORDS: tuple[str, ...] = ("what", "who", "how", "when", "where", "why", "which")


@dataclass(frozen=True)
class VideoRef:
    """A video of the dataset; ``path`` is None when its file is not on disk, and ``expected``
    is then the first path looked for (None when no folder was given to look in)."""

    video_id: str
    path: Path | None
    expected: Path | None = None

    @property
    def location(self) -> Path | None:
        """Where the video is, else where it was expected (what a "not found" names)."""
        return self.path if self.path is not None else self.expected


# Zero-shot action recognition scores one text per label, made from this template.
ACTION_PROMPT = "a video of {label}"


@dataclass(frozen=True)
class Caption:
    """A true caption of ``video_id``; ids are ``VIDEO.cK`` (K = its index among the video's)."""

    text_id: str
    video_id: str
    text: str


@dataclass(frozen=True)
class HardNegative:
    """A false caption of ``video_id`` made from caption ``source_text_id`` by changing one
    ``aspect`` (synth: spatial, temporal, attribute, object)."""

    video_id: str
    text: str
    source_text_id: str
    aspect: str


@dataclass(frozen=True)
class QAItem:
    """A question about ``video_id``; multiple choice when ``options`` is set (then
    ``answer == options[answer_index]``), open-ended otherwise."""

    qa_id: str
    video_id: str
    question: str
    answer: str
    options: tuple[str, ...] | None = None
    answer_index: int | None = None
    qtype: str | None = None


@dataclass(frozen=True)
class ActionItem:
    """The action label of a video."""

    video_id: str
    label: str


@dataclass
class TaskDataset:
    """One split of an evaluation dataset, in the common records.

    ``videos`` keeps the order of first appearance; ``labels`` is the action label set (as the
    dataset lists it, else sorted). ``name`` is the format that was read.
    """

    name: str
    split: str
    videos: dict[str, VideoRef]
    captions: list[Caption]
    negatives: list[HardNegative]
    qa_mc: list[QAItem]
    qa_open: list[QAItem]
    actions: list[ActionItem]
    labels: list[str]
    source: Path | None = None
    video_root: Path | None = None  # the folder given to look for videos in, if any

    def retrieval_index(self) -> tuple[list[str], list[int]]:
        """The retrieval gallery and each caption's place in it.

        Returns ``(video_ids, caption_video)``: the videos that have at least one caption, in
        dataset order, and for each entry of ``captions`` the index of its video in that list
        (the ``caption_video`` argument of the retrieval metrics).
        """
        gallery: dict[str, int] = {}
        for caption in self.captions:
            gallery.setdefault(caption.video_id, len(gallery))
        order = {video_id: i for i, video_id in enumerate(self.videos)}
        ordered = sorted(gallery, key=lambda v: order.get(v, len(order)))
        position = {video_id: i for i, video_id in enumerate(ordered)}
        return ordered, [position[c.video_id] for c in self.captions]

    def caption_texts(self) -> dict[str, str]:
        """Caption text by ``text_id`` (to find a hard negative's source caption)."""
        return {c.text_id: c.text for c in self.captions}

    def counts(self) -> dict[str, int]:
        """How many records of each kind (for logs and metrics.json)."""
        return {
            "videos": len(self.videos),
            "videos_on_disk": sum(1 for v in self.videos.values() if v.path is not None),
            "captions": len(self.captions),
            "negatives": len(self.negatives),
            "qa_mc": len(self.qa_mc),
            "qa_open": len(self.qa_open),
            "actions": len(self.actions),
            "labels": len(self.labels),
        }


class _Builder:
    """Accumulates records, numbers captions per video and refuses duplicate ids."""

    def __init__(self, name: str, split: str, source: Path) -> None:
        self.name, self.split, self.source = name, split, source
        self.videos: dict[str, VideoRef] = {}
        self.captions: list[Caption] = []
        self.negatives: list[HardNegative] = []
        self.qa_mc: list[QAItem] = []
        self.qa_open: list[QAItem] = []
        self.actions: dict[str, ActionItem] = {}
        self._caption_count: dict[str, int] = {}
        self._qa_ids: set[str] = set()

    def video(self, video_id: str, path: Path | None, expected: Path | None = None) -> None:
        known = self.videos.get(video_id)
        if known is None or (known.path is None and path is not None):
            self.videos[video_id] = VideoRef(video_id, path, None if path else expected)

    def find(self, video_id: str, root: Path | None, names: Sequence[str]) -> None:
        """Add a video, looking for its file under ``root`` only the first time it is named."""
        if video_id not in self.videos:
            self.video(video_id, _find_video(root, names), _expected_video(root, names))

    def at(self, video_id: str, path: Path) -> None:
        """Add a video whose file the dataset names: ``path``, when it is on disk."""
        self.video(video_id, _existing(path), path)

    def caption(self, video_id: str, text: str) -> str:
        k = self._caption_count.get(video_id, 0)
        self._caption_count[video_id] = k + 1
        text_id = f"{video_id}.c{k}"
        self.captions.append(Caption(text_id, video_id, text))
        return text_id

    def question(self, item: QAItem, where: str) -> None:
        if item.qa_id in self._qa_ids:
            raise InputError(f"{where}: question id {item.qa_id!r} appears twice")
        self._qa_ids.add(item.qa_id)
        (self.qa_mc if item.options is not None else self.qa_open).append(item)

    def action(self, video_id: str, label: str, where: str) -> None:
        known = self.actions.get(video_id)
        if known is not None and known.label != label:
            raise InputError(
                f"{where}: video {video_id!r} has two action labels, {known.label!r} and {label!r}"
            )
        self.actions[video_id] = ActionItem(video_id, label)

    def build(self, labels: Sequence[str] | None = None) -> TaskDataset:
        seen = sorted({a.label for a in self.actions.values()})
        return TaskDataset(
            name=self.name,
            split=self.split,
            videos=self.videos,
            captions=self.captions,
            negatives=self.negatives,
            qa_mc=self.qa_mc,
            qa_open=self.qa_open,
            actions=list(self.actions.values()),
            labels=list(labels) if labels else seen,
            source=self.source,
        )


# ---------------------------------------------------------------------------------------------
# small readers and checks


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
        ) from None


def _read_csv(
    path: Path, required: Sequence[str]
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header of a CSV file and an iterator of ``(line, row)``; missing columns raise, and so
    does a quote that is never closed (:func:`~finsta_cli.io.csvfile.iter_csv_rows`)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(iter_csv_rows(handle, str(path)))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if not rows:
        raise InputError(f"{path}: empty file, expected a CSV header")
    header = [name.strip() for name in rows[0][1]]
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header is {','.join(header)}"
        )

    def iterate() -> Iterator[tuple[int, dict[str, str]]]:
        for line, row in rows[1:]:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InputError(
                    f"{path}:{line}: {len(row)} fields where the header has {len(header)}"
                )
            yield line, dict(zip(header, row, strict=True))

    return header, iterate()


def _text(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if value is None:
        raise InputError(f"{where}: missing {key!r}")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{where}: {key!r} must be a string, found {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise InputError(f"{where}: {key!r} is empty")
    return text


def _as_index(value: Any, size: int, where: str, what: str) -> int:
    try:
        index = int(str(value).strip()) if not isinstance(value, bool) else -1
    except ValueError:
        index = -1
    if not 0 <= index < size:
        raise InputError(f"{where}: {what} {value!r} is not an index in 0..{size - 1}")
    return index


def _find_video(root: Path | None, names: Sequence[str]) -> Path | None:
    """The first ``root/name`` (or ``root/name + ext``) that is a video, else None.

    A video is a file or a folder of frame images (a frame dump)."""
    if root is None:
        return None
    for name in names:
        if not name:
            continue
        candidate = root / name
        if candidate.is_dir() and is_frame_folder(candidate):
            return candidate
        if candidate.suffix.lower() in VIDEO_EXTENSIONS:
            if candidate.is_file():
                return candidate
            continue
        for ext in VIDEO_EXTENSIONS:
            with_ext = root / f"{name}{ext}"
            if with_ext.is_file():
                return with_ext
    return None


def _expected_video(root: Path | None, names: Sequence[str]) -> Path | None:
    """The first path :func:`_find_video` looks for (``root/name``, with ``.mp4`` when the name
    has no video extension), or None without a ``root``."""
    if root is None:
        return None
    for name in names:
        if name:
            has_suffix = Path(name).suffix.lower() in VIDEO_EXTENSIONS
            return root / (name if has_suffix else f"{name}{VIDEO_EXTENSIONS[0]}")
    return None


def _existing(path: Path) -> Path | None:
    if path.is_file() or (path.is_dir() and is_frame_folder(path)):
        return path
    return None


def _records(value: Any, path: Path, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a JSON list of {what}, found {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"{path}: item {i}: expected an object, found {type(item).__name__}")
    return value


# ---------------------------------------------------------------------------------------------
# synth


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
    info = _load_json(info_path)
    if not isinstance(info, dict):
        raise InputError(f"{info_path}: expected a JSON object")
    labels = info.get("actions", info.get("motions"))
    if labels is None:
        return None
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise InputError(f"{info_path}: 'actions' must be a list of strings")
    return list(labels)


def _read_synth(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    folder = path.parent
    labels = _synth_labels(folder)
    base = video_root if video_root is not None else folder
    out = _Builder("synth", split, path)
    for line, value in iter_jsonl(path):
        where = f"{path}:{line}"
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
            out.negatives.append(
                HardNegative(
                    video_id,
                    negative.text.strip(),
                    f"{video_id}.c{negative.source}",
                    negative.aspect,
                )
            )
        for k, mc in enumerate(record.qa_mc):
            answer = _as_index(mc.answer, len(mc.options), where, "qa_mc answer")
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


# ---------------------------------------------------------------------------------------------
# MSR-VTT (and other video-caption lists)


def _read_msrvtt(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    out = _Builder("msrvtt", split, path)
    if path.suffix.lower() == ".csv":
        _, rows = _read_csv(path, ["video_id", "sentence"])
        for line, row in rows:
            where = f"{path}:{line}"
            video_id = _text(row, "video_id", where)
            out.find(video_id, video_root, [video_id])
            out.caption(video_id, _text(row, "sentence", where))
        return out.build()
    data = _load_json(path)
    if isinstance(data, dict) and "sentences" in data:
        _msrvtt_full(data, path, split, video_root, out)
    elif isinstance(data, dict):
        _caption_mapping(data, path, video_root, out)
    else:
        for i, record in enumerate(_records(data, path, "video-caption records")):
            where = f"{path}: item {i}"
            video_id = _text(record, "video_id", where)
            key = "caption" if "caption" in record else "sentence"
            out.find(video_id, video_root, [str(record.get("video", "")), video_id])
            out.caption(video_id, _text(record, key, where))
    return out.build()


def _msrvtt_full(
    data: dict[str, Any], path: Path, split: str, video_root: Path | None, out: _Builder
) -> None:
    """MSRVTT_data.json: ``{"videos": [{"video_id", "split"}], "sentences": [{"video_id",
    "caption"}]}``; ``split`` picks the videos (``val`` also matches ``validate``)."""
    videos = _records(data.get("videos", []), path, "videos")
    splits: dict[str, str] = {}
    for i, video in enumerate(videos):
        where = f"{path}: videos[{i}]"
        if "split" in video:
            splits[_text(video, "video_id", where)] = _text(video, "split", where)
    keep: set[str] | None = None
    if splits:
        wanted = {split, "validate"} if split in ("val", "validation") else {split}
        keep = {v for v, s in splits.items() if s in wanted}
        if not keep:
            raise UsageError(
                f"{path}: no video of split {split!r}",
                hint="splits here: " + ", ".join(sorted(set(splits.values()))),
            )
    for i, sentence in enumerate(_records(data["sentences"], path, "sentences")):
        where = f"{path}: sentences[{i}]"
        video_id = _text(sentence, "video_id", where)
        if keep is not None and video_id not in keep:
            continue
        out.find(video_id, video_root, [video_id])
        out.caption(video_id, _text(sentence, "caption", where))


def _caption_mapping(
    data: dict[str, Any], path: Path, video_root: Path | None, out: _Builder
) -> None:
    """MMAction2's video-text list: ``{"file.mp4": ["caption", ...]}``; videos are found under
    ``video_root``, else beside the json."""
    base = video_root if video_root is not None else path.parent
    for key, value in data.items():
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InputError(f"{path}: {key!r}: expected a caption or a list of captions")
        video_id = Path(key).stem if Path(key).suffix.lower() in VIDEO_EXTENSIONS else key
        out.find(video_id, base, [key])
        for text in texts:
            if not text.strip():
                raise InputError(f"{path}: {key!r}: an empty caption")
            out.caption(video_id, text.strip())


# ---------------------------------------------------------------------------------------------
# NExT-QA


def _read_nextqa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    header, rows = _read_csv(path, ["video", "question", "answer", "qid"])
    option_columns: list[str] = []
    while f"a{len(option_columns)}" in header:
        option_columns.append(f"a{len(option_columns)}")
    mapping: dict[str, Any] = {}
    map_path = path.parent / "map_vid_vidorID.json"
    if map_path.is_file():
        loaded = _load_json(map_path)
        if not isinstance(loaded, dict):
            raise InputError(f"{map_path}: expected a JSON object video -> folder/video")
        mapping = loaded
    out = _Builder("nextqa", split, path)
    for line, row in rows:
        where = f"{path}:{line}"
        video_id = _text(row, "video", where)
        mapped = mapping.get(video_id)
        out.find(video_id, video_root, [str(mapped or ""), video_id])
        question = _text(row, "question", where)
        qa_id = f"{video_id}_{_text(row, 'qid', where)}"
        qtype = row.get("type", "").strip() or None
        if len(option_columns) >= 2:
            options = tuple(_text(row, column, where) for column in option_columns)
            index = _as_index(row["answer"], len(options), where, "answer")
            item = QAItem(qa_id, video_id, question, options[index], options, index, qtype)
        else:  # NExT-OE: the answer is the text
            item = QAItem(qa_id, video_id, question, _text(row, "answer", where), qtype=qtype)
        out.question(item, where)
    return out.build()


# ---------------------------------------------------------------------------------------------
# ActivityNet-QA


def _activitynet_pair(path: Path) -> tuple[Path, Path]:
    name = path.name
    if name.endswith("_a.json"):
        return path.with_name(name[: -len("_a.json")] + "_q.json"), path
    if name.endswith("_q.json"):
        return path, path.with_name(name[: -len("_q.json")] + "_a.json")
    raise InputError(
        f"{path}: an ActivityNet-QA file is named <split>_q.json (answers in <split>_a.json)"
    )


def _read_activitynet_qa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    q_path, a_path = _activitynet_pair(path)
    if not a_path.is_file():
        raise InputError(f"{q_path}: its answers file {a_path.name} is not beside it")
    questions = _records(_load_json(q_path), q_path, "questions")
    answers: dict[str, dict[str, Any]] = {}
    for i, record in enumerate(_records(_load_json(a_path), a_path, "answers")):
        qid = _text(record, "question_id", f"{a_path}: item {i}")
        answers[qid] = record
    out = _Builder("activitynet-qa", split, q_path)
    for i, record in enumerate(questions):
        where = f"{q_path}: item {i}"
        qid = _text(record, "question_id", where)
        name = _text(record, "video_name", where)
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
                _text(record, "question", where),
                _text(answer, "answer", f"{a_path}: answer of {qid}"),
                qtype=qtype,
            ),
            where,
        )
    return out.build()


# ---------------------------------------------------------------------------------------------
# MSVD-QA / MSRVTT-QA


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


def _read_msvd_qa(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    mapping = _youtube_mapping([path.parent, video_root])
    out = _Builder("msvd-qa", split, path)
    for i, record in enumerate(_records(_load_json(path), path, "questions")):
        where = f"{path}: item {i}"
        key = "video_id" if "video_id" in record else "video"
        raw = _text(record, key, where)
        video_id = raw
        names = [raw]
        if raw.isdigit():
            names += [f"video{raw}", f"vid{raw}", mapping.get(f"vid{raw}", "")]
        out.find(video_id, video_root, names)
        question = _text(record, "question", where)
        qa_id = str(record["id"]) if record.get("id") is not None else f"{path.stem}.{i}"
        out.question(
            QAItem(
                qa_id,
                video_id,
                question,
                _text(record, "answer", where),
                qtype=question_word(question),
            ),
            where,
        )
    return out.build()


# ---------------------------------------------------------------------------------------------
# generic JSONL


def _read_jsonl(path: Path, split: str, video_root: Path | None) -> TaskDataset:
    base = video_root if video_root is not None else path.parent
    out = _Builder("jsonl", split, path)
    qa_count: dict[str, int] = {}
    label_set: list[str] | None = None
    label_lines: dict[str, int] = {}  # video id -> the line of its label
    for line, record in iter_jsonl(path):
        where = f"{path}:{line}"
        if "video_id" not in record and "labels" in record:
            if label_set is not None:
                raise InputError(f"{where}: a second 'labels' line (one label set per file)")
            label_set = _jsonl_label_set(record["labels"], where)
            continue
        video_id = _text(record, "video_id", where)
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
        first_caption = out._caption_count.get(video_id, 0)
        for k, text in enumerate(texts):
            if isinstance(text, dict):
                text = text.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{where}: caption {k} must be a non-empty string")
            out.caption(video_id, text.strip())
        for k, negative in enumerate(record.get("negatives") or []):
            _jsonl_negative(negative, k, video_id, first_caption, len(texts), where, out)
        if "question" in record:
            n = qa_count.get(video_id, 0)
            qa_count[video_id] = n + 1
            out.question(_jsonl_question(record, video_id, n, where), where)
        if record.get("label") is not None:
            out.action(video_id, _text(record, "label", where), where)
            label_lines.setdefault(video_id, line)
    if label_set is not None:
        known = set(label_set)
        for action in out.actions.values():
            if action.label not in known:
                raise InputError(
                    f"{path}:{label_lines[action.video_id]}: label {action.label!r} of video "
                    f"{action.video_id!r} is not in the file's 'labels' ({len(label_set)} labels)"
                )
    return out.build(label_set)


def _jsonl_label_set(value: Any, where: str) -> list[str]:
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


def _jsonl_negative(
    negative: Any, k: int, video_id: str, first: int, count: int, where: str, out: _Builder
) -> None:
    if not isinstance(negative, dict):
        raise InputError(f"{where}: negatives[{k}] must be an object with text, aspect, source")
    text = _text(negative, "text", f"{where}: negatives[{k}]")
    source = _as_index(negative.get("source", 0), count, f"{where}: negatives[{k}]", "source")
    aspect = str(negative.get("aspect") or "other")
    out.negatives.append(HardNegative(video_id, text, f"{video_id}.c{first + source}", aspect))


def _jsonl_question(record: dict[str, Any], video_id: str, n: int, where: str) -> QAItem:
    question = _text(record, "question", where)
    qa_id = str(record.get("qa_id") or record.get("id") or f"{video_id}.q{n}")
    qtype = None if record.get("qtype") is None else str(record["qtype"])
    options = record.get("options")
    if options is None:
        return QAItem(qa_id, video_id, question, _text(record, "answer", where), qtype=qtype)
    if (
        not isinstance(options, list)
        or len(options) < 2
        or not all(isinstance(o, str) and o.strip() for o in options)
    ):
        raise InputError(f"{where}: 'options' must be a list of at least 2 non-empty strings")
    choices = tuple(o.strip() for o in options)
    if record.get("answer_index") is not None:
        index = _as_index(record["answer_index"], len(choices), where, "answer_index")
        if record.get("answer") is not None and _text(record, "answer", where) != choices[index]:
            raise InputError(
                f"{where}: answer {record['answer']!r} is not options[{index}] ({choices[index]!r})"
            )
    else:
        answer = _text(record, "answer", where)
        if answer not in choices:
            raise InputError(f"{where}: answer {answer!r} is not one of the options")
        index = choices.index(answer)
    return QAItem(qa_id, video_id, question, choices[index], choices, index, qtype)


# ---------------------------------------------------------------------------------------------
# format detection and split resolution

_READERS = {
    "synth": _read_synth,
    "msrvtt": _read_msrvtt,
    "nextqa": _read_nextqa,
    "activitynet-qa": _read_activitynet_qa,
    "msvd-qa": _read_msvd_qa,
    "jsonl": _read_jsonl,
}


def _first_jsonl_record(path: Path) -> dict[str, Any] | None:
    for _, record in iter_jsonl(path):
        return record
    return None


def detect_format(path: Path) -> str:
    """The format of an annotation file, from its name and content (docs/datasets.md)."""
    name = path.name.lower()
    hint = "pass --format: " + ", ".join(f for f in FORMATS if f != "auto")
    if name.endswith(".jsonl"):
        first = _first_jsonl_record(path)
        return "synth" if first is not None and first.get("record") == "synth_video" else "jsonl"
    if name.endswith(".csv"):
        header, _ = _read_csv(path, [])
        if {"video_id", "sentence"} <= set(header):
            return "msrvtt"
        if {"video", "question", "answer", "qid"} <= set(header):
            return "nextqa"
        raise InputError(f"{path}: unrecognised CSV header {','.join(header)}", hint=hint)
    if name.endswith(("_q.json", "_a.json")):
        return "activitynet-qa"
    if name.endswith(".json"):
        data = _load_json(path)
        if isinstance(data, dict):
            if "sentences" in data or all(isinstance(v, str | list) for v in data.values()):
                return "msrvtt"
        elif isinstance(data, list) and data and isinstance(data[0], dict):
            keys = set(data[0])
            if {"video_name", "question_id"} <= keys:
                return "activitynet-qa"
            if {"question", "answer"} <= keys:
                return "msvd-qa"
            if "caption" in keys or "sentence" in keys:
                return "msrvtt"
        raise InputError(f"{path}: cannot tell which dataset format this JSON is", hint=hint)
    raise InputError(f"{path}: cannot tell the dataset format from the file name", hint=hint)


def _split_names(path: Path) -> set[str]:
    """The split names a file answers to: its stem and the split words in it."""
    name = path.name
    stem = name[: -len("_q.json")] if name.endswith("_q.json") else path.stem
    names = {stem}
    lower = stem.lower()
    for word in SPLIT_WORDS:
        if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", lower):
            names.add(word)
    return names


def _data_files(folder: Path, fmt: str) -> list[Path]:
    endings = _FORMAT_FILES[fmt]
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.name.lower().endswith(endings)
        and p.name.lower() not in _SIDE_FILES
        and not p.name.endswith("_a.json")
    )


def _resolve_folder(folder: Path, split: str, fmt: str) -> tuple[Path, str]:
    if fmt in ("auto", "synth") and (folder / "dataset.json").is_file():
        path = folder / f"{split}.jsonl"
        if not path.is_file():
            found = sorted(p.stem for p in _data_files(folder, "synth"))
            raise UsageError(
                f"{folder}: no split {split!r}",
                hint="splits here: " + (", ".join(found) or "none"),
            )
        return path, "synth"
    files = _data_files(folder, fmt)
    if not files:
        raise InputError(f"{folder}: no annotation files here ({', '.join(_FORMAT_FILES[fmt])})")
    names = {p: _split_names(p) for p in files}
    stem = [
        p for p in files if split in names[p] and (p.stem == split or p.name == f"{split}_q.json")
    ]
    matching = stem if len(stem) == 1 else [p for p in files if split in names[p]]
    if len(matching) == 1:
        path = matching[0]
        return path, fmt if fmt != "auto" else detect_format(path)
    if matching:
        raise UsageError(
            f"{folder}: several files match split {split!r}: "
            + ", ".join(p.name for p in matching),
            hint="pass the file itself",
        )
    found = sorted(set().union(*names.values()))
    raise UsageError(f"{folder}: no split {split!r}", hint="splits here: " + ", ".join(found))


def load_task_dataset(
    source: Path,
    split: str = "test",
    fmt: DatasetFormat = "auto",
    video_root: Path | None = None,
) -> TaskDataset:
    """Read one split of an evaluation dataset into the common records.

    ``source`` is a folder (the split's file is found in it: ``<split>.jsonl`` of a synth
    folder, ``<split>_q.json``, ``<split>.csv``, or the one file whose name holds the split
    word, e.g. ``msrvtt_test_1k.json``) or a file (read as is; ``split`` then only labels the
    result, except in MSRVTT_data.json where it selects the videos). ``fmt="auto"`` tells the
    format from the folder, file name and content. Video files are looked up under
    ``video_root`` (synth and JSONL: relative to their folder unless it is given).
    """
    source = Path(source)
    if fmt not in FORMATS:
        raise UsageError(f"unknown dataset format {fmt!r}", hint="use " + ", ".join(FORMATS))
    if video_root is not None and not Path(video_root).is_dir():
        raise UsageError(f"video root {video_root} is not a folder")
    video_root = Path(video_root) if video_root is not None else None
    if source.is_dir():
        path, found = _resolve_folder(source, split, fmt)
    elif source.is_file():
        path, found = source, fmt if fmt != "auto" else detect_format(source)
    else:
        raise InputError(f"{source}: no such file or folder")
    dataset = _READERS[found](path, split, video_root)
    dataset.video_root = video_root
    return dataset
