"""DSG evaluation: detection recall / precision, track consistency (IDF1), relation and motion
accuracy of ``build-dsg`` outputs against gold.

Gold is a ``finsta synth`` folder (its ``annotations/*.json``), one split file of it
(``test.jsonl``), a folder of gold DSG ``.json`` records (any source), or Something-Else boxes
(Materzynska et al., CVPR 2020: the ``annotations.json`` file, or a folder holding it, as in
``../shared/benchmarks/something_else_ssv2``). Predictions are a ``build-dsg`` output folder;
they are scored on the frames they sampled (a gold frame with no predicted frame of the same
index is not scored), and a gold video with no prediction counts as entirely missed.

Something-Else gold: image ``<video>/NNNN.jpg`` is frame ``NNNN - 1`` (as build-dsg numbers a
frame folder's images), boxes are in pixels of the original frames and are normalised by the
size of the frame image beside the annotations (``videos/<video>/NNNN.jpg``), else by the
prediction's ``width`` x ``height``; objects are tracks by their ``standard_category``
(``0000``, ``0001``, ...), labels their ``category``. Hands (``standard_category: hand``) are
no COCO class: recall is also reported per group (``by_group``: ``object`` and ``hand``).

- **recall / precision** at IoU 0.5: per frame, a one-to-one assignment (Hungarian, on IoU)
  between gold and predicted objects of the same label, or of any labels with
  ``ignore_labels`` (class-agnostic: ``eval --task dsg --ignore-labels``). Synth gold objects
  that show less than the synth ``min_visible`` share (not ``labelled``) are *ignored*: not
  counted as missed when not found, and a prediction on one is not counted as false.
- **IDF1** (Ristani et al., 2016): ``2 IDTP / (gold objects + predicted objects)``, where IDTP
  is the largest number of frame-level matches that a one-to-one map of gold tracks to
  predicted tracks keeps.
- **relation accuracy**: the share of gold relations between two matched objects whose
  predicate the prediction states for the two matched tracks (either direction);
  **relation precision**: the share of predicted relations between matched objects, with a
  predicate that gold uses, that gold states.
- **motion accuracy**: for each gold track mapped to a predicted track (the IDF1 map), whether
  the predicted track's ``motion`` attribute is one that the gold motion allows. For synth gold,
  the object's motion class (the first event it does) allows: move d -> d; stay_still ->
  still; approach -> approaching; retreat -> leaving; enter from side s -> the opposite
  direction; leave to side s -> s; collide moving d -> d or approaching; pass moving d -> d. For
  DSG gold, the track's ``motion`` attribute itself. **colour accuracy** likewise with
  ``colour``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from finsta_cli.errors import InputError

IOU_THRESHOLD = 0.5


HAND_GROUP = "hand"
OBJECT_GROUP = "object"


@dataclass
class FrameObject:
    """One object of one frame, gold or predicted: its track, label and box (x1, y1, x2, y2)."""

    track_id: int
    label: str
    box: np.ndarray
    ignore: bool = False
    group: str = OBJECT_GROUP


@dataclass
class GoldVideo:
    """What the scorer needs of one gold video."""

    video_id: str
    frames: dict[int, list[FrameObject]]
    relations: dict[int, set[tuple[int, str, int]]]
    motions: dict[int, set[str]]
    colours: dict[int, str] = field(default_factory=dict)
    # Something-Else: boxes in pixels of frames of this (width, height); None: the prediction's.
    pixels: bool = False
    frame_size: tuple[int, int] | None = None
    groups: bool = False  # whether recall is reported per group (objects, hands)


def synth_motion_labels(record: dict[str, Any]) -> dict[int, set[str]]:
    """The motion labels each object of a synth record allows: those of the first event it is
    the subject of (see the module docstring), ``still`` without one."""
    from finsta_cli.synth.dsg import event_motions

    allowed: dict[int, set[str]] = {int(o["track_id"]): {"still"} for o in record["objects"]}
    seen: set[int] = set()
    for event in record.get("events", []):
        subject = int(event["subject"])
        if subject in seen:
            continue
        seen.add(subject)
        labels = event_motions(event)
        if labels:
            allowed[subject] = set(labels)
    return allowed


def _canonical(s: int, p: str, o: int) -> tuple[int, str, int]:
    from finsta_cli.video.relations import canonical

    return canonical(s, p, o)


def gold_from_synth(record: dict[str, Any]) -> GoldVideo:
    shapes = {int(o["track_id"]): str(o["shape"]) for o in record["objects"]}
    frames: dict[int, list[FrameObject]] = {}
    relations: dict[int, set[tuple[int, str, int]]] = {}
    for frame in record["frames"]:
        index = int(frame["index"])
        frames[index] = [
            FrameObject(
                int(o["track_id"]),
                shapes[int(o["track_id"])],
                np.asarray(o["box"], np.float64),
                ignore=not bool(o.get("labelled", True)),
            )
            for o in frame["objects"]
            if o.get("box") is not None
        ]
        relations[index] = {_canonical(int(s), str(p), int(o)) for s, p, o in frame["relations"]}
    return GoldVideo(
        video_id=str(record["video_id"]),
        frames=frames,
        relations=relations,
        motions=synth_motion_labels(record),
        colours={int(o["track_id"]): str(o["colour"]) for o in record["objects"]},
    )


def gold_from_dsg(record: dict[str, Any]) -> GoldVideo:
    frames: dict[int, list[FrameObject]] = {}
    relations: dict[int, set[tuple[int, str, int]]] = {}
    for frame in record.get("frames", []):
        index = int(frame["index"])
        frames[index] = [
            FrameObject(int(o["track_id"]), str(o["label"]), np.asarray(o["box"], np.float64))
            for o in frame.get("objects", [])
        ]
        relations[index] = {
            _canonical(int(r["subject"]), str(r["predicate"]), int(r["object"]))
            for r in frame.get("relations", [])
        }
    motions: dict[int, set[str]] = {}
    colours: dict[int, str] = {}
    for track in record.get("tracks", []):
        attributes = track.get("attributes", {})
        if "motion" in attributes:
            motions[int(track["track_id"])] = {str(attributes["motion"])}
        if "colour" in attributes:
            colours[int(track["track_id"])] = str(attributes["colour"])
    return GoldVideo(str(record["video_id"]), frames, relations, motions, colours)


def is_something_else(data: Any) -> bool:
    """Whether parsed JSON is Something-Else's annotations: video id -> frame records with
    ``name`` and ``labels``."""
    if not isinstance(data, dict) or not data:
        return False
    frames = next(iter(data.values()))
    return (
        isinstance(frames, list)
        and bool(frames)
        and isinstance(frames[0], dict)
        and "name" in frames[0]
        and "labels" in frames[0]
    )


def _image_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError):
        return None
    return int(width), int(height)


def gold_from_something_else(video_id: str, frames: Any, root: Path | None) -> GoldVideo:
    """One video of Something-Else annotations (module docstring); ``root`` is the folder of
    ``annotations.json``, where ``videos/<video>/NNNN.jpg`` give the frame size."""
    if not isinstance(frames, list):
        raise TypeError(f"expected a list of frame records, found {type(frames).__name__}")
    gold: dict[int, list[FrameObject]] = {}
    size: tuple[int, int] | None = None
    for frame in frames:
        name = str(frame["name"])
        index = int(Path(name).stem) - 1
        if index < 0:
            raise ValueError(f"frame name {name!r} is not NNNN.jpg counted from 0001")
        if size is None and root is not None:
            size = _image_size(root / "videos" / name)
        objects = gold.setdefault(index, [])
        hands = 0
        for label in frame.get("labels") or []:
            b = label["box2d"]
            box = np.asarray([b["x1"], b["y1"], b["x2"], b["y2"]], np.float64)
            standard = str(label.get("standard_category", ""))
            if standard == HAND_GROUP:
                track, group = 1000 + hands, HAND_GROUP
                hands += 1
            else:
                track, group = int(standard) if standard.isdigit() else 900 + len(objects), "object"
            category = str(label.get("category") or standard or "object")
            objects.append(FrameObject(track, category, box, group=group))
    return GoldVideo(str(video_id), gold, {}, {}, pixels=True, frame_size=size, groups=True)


def _read_something_else(path: Path, data: dict[str, Any]) -> list[GoldVideo]:
    videos = []
    for video_id, frames in data.items():
        try:
            videos.append(gold_from_something_else(video_id, frames, path.parent))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{path}: video {video_id}: not in Something-Else format ({exc})"
            ) from None
    return videos


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected a JSON object")
    return value


def _gold_record(record: dict[str, Any], where: str) -> GoldVideo:
    try:
        if record.get("record") == "synth_video":
            return gold_from_synth(record)
        if record.get("record") == "dsg":
            return gold_from_dsg(record)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: gold record is malformed ({exc})") from None
    raise InputError(f"{where}: neither a synth video record nor a DSG record")


def read_gold(path: Path) -> list[GoldVideo]:
    """Gold videos from a synth folder, a synth split JSONL file, a folder of DSG records, or
    Something-Else's ``annotations.json`` (the file or its folder)."""
    from finsta_cli.io.jsonl import iter_jsonl

    if (
        path.is_dir()
        and not (path / "annotations").is_dir()
        and (path / SOMETHING_ELSE_FILE).is_file()
    ):
        path = path / SOMETHING_ELSE_FILE
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not readable JSON ({exc})") from None
        if is_something_else(data):
            return _read_something_else(path, data)
        if isinstance(data, dict) and "record" in data:
            return [_gold_record(data, str(path))]
        raise InputError(
            f"{path}: neither Something-Else annotations (video id -> frames with name and "
            "labels) nor a synth or DSG record"
        )
    if path.is_file():
        return [_gold_record(r, f"{path}:{n}") for n, r in iter_jsonl(path)]
    if not path.is_dir():
        raise InputError(f"{path}: gold not found")
    folder = path / "annotations" if (path / "annotations").is_dir() else path
    files = sorted(p for p in folder.glob("*.json") if p.name not in _STAGE_FILES)
    if not files:
        raise InputError(f"{path}: no gold records (*.json or annotations/*.json)")
    return [_gold_record(_read_json(p), str(p)) for p in files]


_STAGE_FILES = {"manifest.json", "dataset.json"}
SOMETHING_ELSE_FILE = "annotations.json"


def _pred_records(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if not folder.is_dir():
        raise InputError(f"{folder}: predictions folder not found")
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith("manifest.json") or path.name in _STAGE_FILES:
            continue
        record = _read_json(path)
        if record.get("record") == "dsg":
            yield str(record["video_id"]), record


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from finsta_cli.video.track import box_iou

    if a.size == 0 or b.size == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    return box_iou(a, b)


def match_objects(
    gold: list[FrameObject], pred: list[FrameObject], ignore_labels: bool = False
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """One-to-one matches (gold index, pred index) at IoU >= 0.5 with equal labels (any labels
    with ``ignore_labels``)."""
    from scipy.optimize import linear_sum_assignment

    if not gold or not pred:
        return [], np.zeros((len(gold), len(pred)))
    iou = _iou(np.stack([g.box for g in gold]), np.stack([p.box for p in pred]))
    if ignore_labels:
        same = np.ones(iou.shape, dtype=bool)
    else:
        same = np.array([[g.label == p.label for p in pred] for g in gold])
    score = np.where(same & (iou >= IOU_THRESHOLD), iou, 0.0)
    rows, cols = linear_sum_assignment(-score)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if score[r, c] > 0], iou


@dataclass
class VideoScore:
    video_id: str
    gold: int = 0
    pred: int = 0
    matched: int = 0
    idtp: int = 0
    relations: int = 0
    relations_found: int = 0
    relations_pred: int = 0
    relations_pred_true: int = 0
    tracks: int = 0
    motion_correct: int = 0
    colour_tracks: int = 0
    colour_correct: int = 0
    frames: int = 0
    missing: bool = False
    # group -> [gold objects, matched] (Something-Else gold: objects and hands)
    groups: dict[str, list[int]] = field(default_factory=dict)

    def count_group(self, group: str, gold: int, matched: int) -> None:
        entry = self.groups.setdefault(group, [0, 0])
        entry[0] += gold
        entry[1] += matched

    @property
    def idf1(self) -> float:
        total = self.gold + self.pred
        return 2 * self.idtp / total if total else 1.0


def _normalised(gold: GoldVideo, pred: dict[str, Any]) -> GoldVideo:
    """``gold`` with pixel boxes divided by the frame size (its own, else the prediction's)."""
    if not gold.pixels:
        return gold
    size = gold.frame_size
    if size is None and pred.get("width") and pred.get("height"):
        size = (int(pred["width"]), int(pred["height"]))
    if size is None:
        raise InputError(
            f"video {gold.video_id}: the gold boxes are in pixels, but neither its frames "
            "(videos/<video>/NNNN.jpg beside annotations.json) nor the prediction give the "
            "frame size"
        )
    scale = np.asarray([size[0], size[1], size[0], size[1]], np.float64)
    frames = {
        index: [replace(o, box=np.clip(o.box / scale, 0.0, 1.0)) for o in objects]
        for index, objects in gold.frames.items()
    }
    return replace(gold, frames=frames, pixels=False, frame_size=size)


def score_video(
    gold: GoldVideo, pred: dict[str, Any] | None, ignore_labels: bool = False
) -> VideoScore:
    """Count matches, identity matches, relations and motions of one video (class-agnostic
    matching with ``ignore_labels``)."""
    if pred is None:
        return _missed_video(gold)
    score = VideoScore(gold.video_id)
    gold = _normalised(gold, pred)
    gold_vocab = {p for rels in gold.relations.values() for _, p, _ in rels}
    pairs: dict[tuple[int, int], int] = {}  # (gold track, pred track) -> frames matched
    for frame in pred.get("frames", []):
        if int(frame["index"]) in gold.frames:
            _score_frame(score, gold, frame, gold_vocab, pairs, ignore_labels)
    if pairs:
        pred_tracks = {int(t["track_id"]): t for t in pred.get("tracks", [])}
        _score_identities(score, gold, pairs, pred_tracks)
    return score


def _missed_video(gold: GoldVideo) -> VideoScore:
    """The score of a gold video without a prediction: every object missed."""
    score = VideoScore(gold.video_id, missing=True)
    score.gold = sum(1 for objs in gold.frames.values() for o in objs if not o.ignore)
    if gold.groups:
        for objects in gold.frames.values():
            for missed in objects:
                score.count_group(missed.group, 1, 0)
    return score


def _score_frame(
    score: VideoScore,
    gold: GoldVideo,
    frame: dict[str, Any],
    gold_vocab: set[str],
    pairs: dict[tuple[int, int], int],
    ignore_labels: bool,
) -> None:
    """Add one predicted frame's objects and relations to ``score``, and its (gold track,
    predicted track) matches to ``pairs``."""
    index = int(frame["index"])
    score.frames += 1
    gold_objs = gold.frames[index]
    pred_objs = [
        FrameObject(int(o["track_id"]), str(o["label"]), np.asarray(o["box"], np.float64))
        for o in frame.get("objects", [])
    ]
    matches, iou = match_objects(gold_objs, pred_objs, ignore_labels)
    matched_pred = {c for _, c in matches}
    on_ignored = set()
    for c in range(len(pred_objs)):
        if c in matched_pred:
            continue
        for r, g in enumerate(gold_objs):
            if g.ignore and iou[r, c] >= IOU_THRESHOLD:
                on_ignored.add(c)
                break
    counted = [(r, c) for r, c in matches if not gold_objs[r].ignore]
    score.gold += sum(1 for g in gold_objs if not g.ignore)
    score.pred += len(pred_objs) - len(on_ignored) - (len(matches) - len(counted))
    score.matched += len(counted)
    if gold.groups:
        found = {r for r, _ in counted}
        for r, gold_obj in enumerate(gold_objs):
            if not gold_obj.ignore:
                score.count_group(gold_obj.group, 1, int(r in found))
    to_gold = {}
    for r, c in counted:
        key = (gold_objs[r].track_id, pred_objs[c].track_id)
        pairs[key] = pairs.get(key, 0) + 1
        to_gold[pred_objs[c].track_id] = gold_objs[r].track_id
    matched_gold = set(to_gold.values())
    predicted = set()
    for rel in frame.get("relations", []):
        s, o = int(rel["subject"]), int(rel["object"])
        if s in to_gold and o in to_gold:
            predicted.add(_canonical(to_gold[s], str(rel["predicate"]), to_gold[o]))
    for triple in gold.relations.get(index, set()):
        if triple[0] in matched_gold and triple[2] in matched_gold:
            score.relations += 1
            score.relations_found += triple in predicted
    for triple in predicted:
        if triple[1] in gold_vocab:
            score.relations_pred += 1
            score.relations_pred_true += triple in gold.relations.get(index, set())


def _score_identities(
    score: VideoScore,
    gold: GoldVideo,
    pairs: dict[tuple[int, int], int],
    pred_tracks: dict[int, dict[str, Any]],
) -> None:
    """IDTP of the one-to-one map of gold to predicted tracks that keeps the most frame-level
    matches, and the motion and colour of each mapped track."""
    from scipy.optimize import linear_sum_assignment

    gold_ids = sorted({key[0] for key in pairs})
    pred_ids = sorted({key[1] for key in pairs})
    counts = np.zeros((len(gold_ids), len(pred_ids)))
    for (gold_id, pred_id), n in pairs.items():
        counts[gold_ids.index(gold_id), pred_ids.index(pred_id)] = n
    rows, cols = linear_sum_assignment(-counts)
    for r, c in zip(rows, cols, strict=True):
        if counts[r, c] <= 0:
            continue
        score.idtp += int(counts[r, c])
        gold_id, pred_id = gold_ids[r], pred_ids[c]
        attributes = pred_tracks.get(pred_id, {}).get("attributes", {})
        if gold_id in gold.motions:
            score.tracks += 1
            score.motion_correct += attributes.get("motion") in gold.motions[gold_id]
        if gold_id in gold.colours:
            score.colour_tracks += 1
            score.colour_correct += attributes.get("colour") == gold.colours[gold_id]


@dataclass
class DSGMetrics:
    videos: int
    missing: int
    frames: int
    gold_objects: int
    pred_objects: int
    recall: float
    precision: float
    idf1: float
    relation_accuracy: float
    relation_precision: float
    motion_accuracy: float
    colour_accuracy: float
    tracks: int
    ignore_labels: bool = False
    # group -> (gold objects, matched), for gold that has groups (Something-Else: object, hand)
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        payload = {
            "task": "dsg",
            "videos": self.videos,
            "missing_predictions": self.missing,
            "frames": self.frames,
            "gold_objects": self.gold_objects,
            "pred_objects": self.pred_objects,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "idf1": round(self.idf1, 4),
            "relation_accuracy": round(self.relation_accuracy, 4),
            "relation_precision": round(self.relation_precision, 4),
            "motion_accuracy": round(self.motion_accuracy, 4),
            "colour_accuracy": round(self.colour_accuracy, 4),
            "matched_tracks": self.tracks,
            "iou_threshold": IOU_THRESHOLD,
            "labels": "ignored" if self.ignore_labels else "matched",
        }
        if self.groups:
            payload["by_group"] = {
                group: {"gold_objects": gold, "matched": matched,
                        "recall": round(_ratio(matched, gold), 4)}
                for group, (gold, matched) in sorted(self.groups.items())
            }  # fmt: skip
        return payload


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate_dsg(
    gold_path: Path, pred_path: Path, *, ignore_labels: bool = False
) -> tuple[DSGMetrics, list[VideoScore]]:
    """Score a build-dsg output folder against gold (see the module docstring); with
    ``ignore_labels``, objects match whatever their labels (class-agnostic)."""
    gold = read_gold(gold_path)
    predictions = dict(_pred_records(pred_path))
    scores = [score_video(g, predictions.get(g.video_id), ignore_labels) for g in gold]
    groups: dict[str, tuple[int, int]] = {}
    for s in scores:
        for group, (count, matched) in s.groups.items():
            before = groups.get(group, (0, 0))
            groups[group] = (before[0] + count, before[1] + matched)
    total = VideoScore("all")
    for s in scores:
        for name in (
            "gold",
            "pred",
            "matched",
            "idtp",
            "relations",
            "relations_found",
            "relations_pred",
            "relations_pred_true",
            "tracks",
            "motion_correct",
            "colour_tracks",
            "colour_correct",
            "frames",
        ):
            setattr(total, name, getattr(total, name) + getattr(s, name))
    metrics = DSGMetrics(
        videos=len(scores),
        missing=sum(s.missing for s in scores),
        frames=total.frames,
        gold_objects=total.gold,
        pred_objects=total.pred,
        recall=_ratio(total.matched, total.gold),
        precision=_ratio(total.matched, total.pred),
        idf1=total.idf1 if total.gold + total.pred else 0.0,
        relation_accuracy=_ratio(total.relations_found, total.relations),
        relation_precision=_ratio(total.relations_pred_true, total.relations_pred),
        motion_accuracy=_ratio(total.motion_correct, total.tracks),
        colour_accuracy=_ratio(total.colour_correct, total.colour_tracks),
        tracks=total.tracks,
        ignore_labels=ignore_labels,
        groups=groups,
    )
    return metrics, scores
