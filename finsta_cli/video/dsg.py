"""Assembling a video's dynamic scene graph from per-frame detections: tracks, temporal
coreference, relations and attributes, as a :class:`~finsta_cli.schema.DSG` record plus a plain
dict of tensors (boxes, scores, classes, track ids, region features) for the graph encoders.

Tensors of the ``.pt`` file (N objects over all frames, F sampled frames, D feature dims)::

    frame_index (F,) int64   frame indices in the video      frame_time (F,) float32 seconds
    frame       (N,) int64   each object's position in the record's frame list
    boxes       (N, 4) float32  xyxy normalised by the frame size
    scores      (N,) float32    classes (N,) int64    track_ids (N,) int64
    colours     (N, 3) float32  mean RGB in [0, 1] (the colour attribute's evidence)
    features    (N, D) float32  RoI-aligned detector features (D = 448 for YOLOv8n; 0 without)

Objects are ordered by frame, then by track id, as in the record's frames.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from finsta_cli.schema.dsg import (
    DSG,
    DSGFrame,
    DSGObject,
    DSGRelation,
    DSGTrack,
    TemporalCoreference,
)
from finsta_cli.video.attributes import (
    AttributeOptions,
    colour_name,
    frame_motions,
    motion_runs,
    size_name,
)
from finsta_cli.video.detections import FrameDetections
from finsta_cli.video.relations import RelationOptions, frame_relations
from finsta_cli.video.track import Tracker, TrackInput


@dataclass
class FrameResult:
    """One sampled frame after detection: where it is, its size and what was found."""

    index: int
    time: float
    width: int  # decoded frame size: the detections' pixel space
    height: int
    detections: FrameDetections
    colours: np.ndarray  # (n, 3) in [0, 1]


@dataclass
class VideoMeta:
    video_id: str
    source: str | None
    fps: float | None
    num_frames: int | None
    width: int | None
    height: int | None


def normalised_boxes(result: FrameResult) -> np.ndarray:
    scale = np.array([result.width, result.height, result.width, result.height], np.float32)
    boxes = result.detections.boxes / np.maximum(scale, 1.0)
    boxes = np.clip(boxes, 0.0, 1.0)
    boxes[:, 2] = np.maximum(boxes[:, 2], boxes[:, 0])
    boxes[:, 3] = np.maximum(boxes[:, 3], boxes[:, 1])
    return boxes


def build_dynamic_scene_graph(
    meta: VideoMeta,
    frames: Sequence[FrameResult],
    names: dict[int, str],
    tracker: Tracker,
    relation_options: RelationOptions,
    attribute_options: AttributeOptions,
    feature_dim: int,
) -> tuple[DSG, dict[str, Any]]:
    """The DSG record and the tensor dict of one video (see the module docstring)."""
    boxes = [normalised_boxes(f) for f in frames]
    ids = tracker.assign(_tracker_inputs(frames, boxes))
    tracks = _Tracks.follow(ids, boxes, frames)
    track_records, object_motion = _track_records(tracks, frames, names, attribute_options)

    dsg_frames: list[DSGFrame] = []
    rows: list[_Row] = []
    for position, (frame, frame_boxes, frame_ids) in enumerate(
        zip(frames, boxes, ids, strict=True)
    ):
        order = sorted(range(len(frame_ids)), key=lambda d: int(frame_ids[d]))
        objects = []
        for d in order:
            tid = int(frame_ids[d])
            motion = object_motion[(position, tid)]
            objects.append(
                _object_record(frame, d, frame_boxes[d], tid, motion, names, attribute_options)
            )
            rows.append((position, d, tid))
        relations = _relation_records(frame_ids, frame_boxes, tracks.median_area, relation_options)
        dsg_frames.append(
            DSGFrame(
                index=frame.index,
                time=round(float(frame.time), 6),
                objects=objects,
                relations=relations,
            )
        )
    record = DSG(
        video_id=meta.video_id,
        source=meta.source,
        fps=meta.fps,
        num_frames=meta.num_frames,
        width=meta.width,
        height=meta.height,
        frames=dsg_frames,
        tracks=track_records,
        coreference=_temporal_coreference(tracks),
    )
    return record, _graph_tensors(frames, boxes, rows, feature_dim)


# An object of the output, in output order: (frame position, detection index, track id).
_Row = tuple[int, int, int]


def _tracker_inputs(frames: Sequence[FrameResult], boxes: list[np.ndarray]) -> list[TrackInput]:
    return [
        TrackInput(
            boxes=b.astype(np.float64),
            classes=f.detections.classes,
            scores=f.detections.scores,
            colours=f.colours.astype(np.float64),
            features=f.detections.features.astype(np.float64),
            time=f.time,
        )
        for b, f in zip(boxes, frames, strict=True)
    ]


def _box_area(b: np.ndarray) -> float:
    return float(max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0))


@dataclass
class _Tracks:
    """Where each track is: its occurrences (frame position, detection index) in time order,
    its box centres and times there, its median box area, and every frame's centres by track."""

    occurrences: dict[int, list[tuple[int, int]]]
    centres: dict[int, np.ndarray]  # (occurrences, 2)
    times: dict[int, np.ndarray]
    median_area: dict[int, float]
    centre_at: list[dict[int, np.ndarray]]  # per frame position: track id -> centre

    @classmethod
    def follow(
        cls, ids: list[np.ndarray], boxes: list[np.ndarray], frames: Sequence[FrameResult]
    ) -> _Tracks:
        occurrences: dict[int, list[tuple[int, int]]] = {}
        for position, frame_ids in enumerate(ids):
            for det, tid in enumerate(frame_ids):
                occurrences.setdefault(int(tid), []).append((position, det))
        median_area = {
            tid: float(np.median([_box_area(boxes[p][d]) for p, d in occ]))
            for tid, occ in occurrences.items()
        }
        centres = {
            tid: np.array(
                [
                    [(boxes[p][d][0] + boxes[p][d][2]) / 2, (boxes[p][d][1] + boxes[p][d][3]) / 2]
                    for p, d in occ
                ]
            )
            for tid, occ in occurrences.items()
        }
        times = {
            tid: np.array([frames[p].time for p, _ in occ]) for tid, occ in occurrences.items()
        }
        centre_at: list[dict[int, np.ndarray]] = [{} for _ in frames]
        for tid, occ in occurrences.items():
            for k, (p, _) in enumerate(occ):
                centre_at[p][tid] = centres[tid][k]
        return cls(occurrences, centres, times, median_area, centre_at)


def _track_records(
    tracks: _Tracks,
    frames: Sequence[FrameResult],
    names: dict[int, str],
    options: AttributeOptions,
) -> tuple[list[DSGTrack], dict[tuple[int, int], str]]:
    """Each track's record, by track id, and the motion label of each of its objects, by
    (frame position, track id)."""
    object_motion: dict[tuple[int, int], str] = {}
    records: list[DSGTrack] = []
    for tid in sorted(tracks.occurrences):
        occ = tracks.occurrences[tid]
        per_frame = frame_motions(tracks.centres[tid], tracks.times[tid], options)
        for (p, _), label in zip(occ, per_frame, strict=True):
            object_motion[(p, tid)] = label
        records.append(_track_record(tid, tracks, frames, names, options))
    return records, object_motion


def _track_record(
    tid: int,
    tracks: _Tracks,
    frames: Sequence[FrameResult],
    names: dict[int, str],
    options: AttributeOptions,
) -> DSGTrack:
    """One track: its most frequent class and colour, the size of its median box, and its
    motion runs (the first one, and its other object, as the track's motion)."""
    occ = tracks.occurrences[tid]
    others = [{o: c for o, c in tracks.centre_at[p].items() if o != tid} for p, _ in occ]
    runs = motion_runs(tracks.centres[tid], tracks.times[tid], others, options)
    classes = Counter(int(frames[p].detections.classes[d]) for p, d in occ)
    label_id = classes.most_common(1)[0][0]
    colour_votes = Counter(
        colour_name(frames[p].colours[d], options.min_saturation) for p, d in occ
    )
    side = float(np.sqrt(tracks.median_area[tid]))
    attributes = {
        "colour": colour_votes.most_common(1)[0][0],
        "size": size_name([0.0, 0.0, side, side], options),
        "motion": runs[0].label if runs else "still",
        "motions": ",".join(run.label for run in runs) if runs else "still",
    }
    if runs and runs[0].other is not None:
        attributes["motion_object"] = str(runs[0].other)
    return DSGTrack(
        track_id=tid,
        label=names.get(label_id, str(label_id)),
        frames=[p for p, _ in occ],
        attributes=attributes,
    )


def _object_record(
    frame: FrameResult,
    d: int,
    box: np.ndarray,
    tid: int,
    motion: str,
    names: dict[int, str],
    options: AttributeOptions,
) -> DSGObject:
    """Detection ``d`` of ``frame`` (normalised ``box``) as an object of track ``tid``."""
    cls = int(frame.detections.classes[d])
    return DSGObject(
        track_id=tid,
        label=names.get(cls, str(cls)),
        class_id=cls,
        score=float(np.clip(frame.detections.scores[d], 0.0, 1.0)),
        box=tuple(round(float(v), 6) for v in box),
        attributes={
            "colour": colour_name(frame.colours[d], options.min_saturation),
            "size": size_name(box, options),
            "motion": motion,
        },
    )


def _relation_records(
    frame_ids: np.ndarray,
    frame_boxes: np.ndarray,
    median_area: dict[int, float],
    options: RelationOptions,
) -> list[DSGRelation]:
    """The relations of one frame; how much of each object shows is its box's area over its
    track's median one."""
    shown = np.array(
        [
            _box_area(frame_boxes[d]) / max(median_area[int(frame_ids[d])], 1e-9)
            for d in range(len(frame_ids))
        ]
    )
    return [
        DSGRelation(subject=s, predicate=p, object=o)
        for s, p, o in frame_relations([int(i) for i in frame_ids], frame_boxes, shown, options)
    ]


def _temporal_coreference(tracks: _Tracks) -> list[TemporalCoreference]:
    """Links between each track's consecutive occurrences."""
    return [
        TemporalCoreference(track_id=tid, source_frame=a, target_frame=b)
        for tid in sorted(tracks.occurrences)
        for (a, _), (b, _) in itertools.pairwise(tracks.occurrences[tid])
    ]


def _graph_tensors(
    frames: Sequence[FrameResult], boxes: list[np.ndarray], rows: list[_Row], feature_dim: int
) -> dict[str, Any]:
    """The ``.pt`` tensors (see the module docstring), one row per object in output order."""
    import torch

    def gather(values: list[Any], shape: tuple[int, ...], dtype: Any) -> Any:
        if not values:
            return torch.zeros(shape, dtype=dtype)
        return torch.as_tensor(np.stack(values), dtype=dtype)

    return {
        "frame_index": torch.tensor([f.index for f in frames], dtype=torch.int64),
        "frame_time": torch.tensor([f.time for f in frames], dtype=torch.float32),
        "frame": torch.tensor([p for p, _, _ in rows], dtype=torch.int64),
        "boxes": gather([boxes[p][d] for p, d, _ in rows], (0, 4), torch.float32),
        "scores": torch.tensor(
            [float(frames[p].detections.scores[d]) for p, d, _ in rows], dtype=torch.float32
        ),
        "classes": torch.tensor(
            [int(frames[p].detections.classes[d]) for p, d, _ in rows], dtype=torch.int64
        ),
        "track_ids": torch.tensor([t for _, _, t in rows], dtype=torch.int64),
        "colours": gather([frames[p].colours[d] for p, d, _ in rows], (0, 3), torch.float32),
        "features": gather(
            [frames[p].detections.features[d] for p, d, _ in rows],
            (0, feature_dim),
            torch.float32,
        ),
    }
