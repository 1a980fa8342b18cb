"""Captioning evaluation from files: the gold references (a caption JSONL or a dataset reader's
format), the predicted captions (JSONL), how they are paired, and their scores.

What does not pair up (docs/datasets.md "Captioning"):

- a gold video with no prediction: an error naming the prediction file and the first such videos
  (scores over a subset of the videos are not comparable with anyone's);
- a prediction for a video the gold split does not have: a counted warning, the prediction left
  out of the scores (a prediction file may cover more splits than the one scored);
- a video predicted twice: an error naming both lines (which one to score is not knowable);
- an empty predicted caption: a counted warning; it is scored as the empty caption (zero on every
  metric), as a captioner that output nothing deserves;
- an empty or missing gold caption, a gold split with no captions: an error (the dataset readers
  refuse empty captions with file and line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finsta_cli.captioning.metrics import CaptionBackend, CaptionScores, score_captions
from finsta_cli.datasets.files import text_field
from finsta_cli.datasets.formats import DatasetFormat
from finsta_cli.errors import InputError
from finsta_cli.io.jsonl import iter_jsonl
from finsta_cli.io.progress import get_logger

log = get_logger("eval")

_SHOWN = 5  # ids named in a message before "..."


@dataclass(frozen=True)
class CaptionGold:
    """The reference captions of one split, by video id (in the file's order)."""

    references: dict[str, list[str]]
    source: Path
    format: str
    split: str


@dataclass(frozen=True)
class CaptionPredictions:
    """One predicted caption per video id (in the file's order) and the line it is on."""

    captions: dict[str, str]
    lines: dict[str, int]
    source: Path


@dataclass(frozen=True)
class CaptionEvaluation:
    """The scores and what was counted on the way: predictions left out (their video is not in
    the gold split) and empty predictions (scored as empty)."""

    scores: CaptionScores
    unknown_predictions: list[str]
    empty_predictions: list[str]

    def to_json(self) -> dict[str, Any]:
        """The scores and the counts, for metrics.json."""
        return {
            **self.scores.to_json(),
            "unknown_predictions": len(self.unknown_predictions),
            "empty_predictions": len(self.empty_predictions),
        }


def read_caption_gold(path: Path, split: str = "test", fmt: DatasetFormat = "auto") -> CaptionGold:
    """The reference captions of ``split`` in ``path``: a JSONL of ``{"video_id", "captions":
    [...]}`` (finsta's generic JSONL, so also one ``"caption"`` a line) or any dataset format
    that carries captions (MSR-VTT, synth), read by :func:`finsta_cli.datasets.load_task_dataset`.
    Videos of the split without captions are not part of the gold."""
    from finsta_cli.datasets import load_task_dataset

    dataset = load_task_dataset(path, split, fmt)
    references: dict[str, list[str]] = {}
    for caption in dataset.captions:
        references.setdefault(caption.video_id, []).append(caption.text)
    source = dataset.source or path
    if not references:
        raise InputError(
            f"{source}: no captions in split {split!r} (read as {dataset.name}): captioning "
            "needs reference captions",
            hint='gold is a JSONL of {"video_id", "captions": [...]} lines, an MSR-VTT '
            "caption file or a synth folder",
        )
    return CaptionGold(references, source, dataset.name, split)


def read_caption_predictions(path: Path) -> CaptionPredictions:
    """Predicted captions: a JSONL of ``{"video_id", "caption"}``, one line a video."""
    if not path.is_file():
        raise InputError(f"{path}: no such file (predictions: a JSONL of video_id, caption)")
    captions: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line, record in iter_jsonl(path):
        where = f"{path}:{line}"
        video_id = text_field(record, "video_id", where)
        if "caption" not in record:
            raise InputError(f"{where}: missing 'caption' (an empty string if there is none)")
        caption = record["caption"]
        if not isinstance(caption, str):
            raise InputError(f"{where}: 'caption' must be a string, found {type(caption).__name__}")
        if video_id in captions:
            raise InputError(
                f"{where}: video {video_id!r} is predicted again (first on line "
                f"{lines[video_id]}): one caption per video"
            )
        captions[video_id] = caption.strip()
        lines[video_id] = line
    if not captions:
        raise InputError(f"{path}: no predictions in it")
    return CaptionPredictions(captions, lines, path)


def evaluate_captions(
    gold: CaptionGold, predictions: CaptionPredictions, backend: CaptionBackend = "auto"
) -> CaptionEvaluation:
    """Pair each gold video with its prediction and score them (module docstring: what does not
    pair up)."""
    missing = [v for v in gold.references if v not in predictions.captions]
    if missing:
        raise InputError(
            f"{predictions.source}: no prediction for {len(missing)} of the "
            f"{len(gold.references)} gold videos of {gold.source} (split {gold.split!r}): "
            f"{_ids(missing)}",
            hint='write one {"video_id", "caption"} line per gold video (an empty caption '
            "scores zero)",
        )
    unknown = [v for v in predictions.captions if v not in gold.references]
    if unknown:
        first = unknown[0]
        log.warning(
            "%s: %d prediction(s) for videos not in the gold split (%s, split %r), left out of "
            "the scores: %s (first on line %d)",
            predictions.source, len(unknown), gold.source, gold.split, _ids(unknown),
            predictions.lines[first],
        )  # fmt: skip
    empty = [v for v in gold.references if not predictions.captions[v]]
    if empty:
        log.warning(
            "%s: %d empty predicted caption(s), scored as empty (zero): %s (first on line %d)",
            predictions.source, len(empty), _ids(empty), predictions.lines[empty[0]],
        )  # fmt: skip
    paired = {v: predictions.captions[v] for v in gold.references}
    scores = score_captions(gold.references, paired, backend=backend)
    return CaptionEvaluation(scores, unknown, empty)


def _ids(ids: list[str]) -> str:
    return ", ".join(map(repr, ids[:_SHOWN])) + (" ..." if len(ids) > _SHOWN else "")
