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
from finsta_cli.video.track import TrackInput


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
    tracker: Any,
    relation_options: RelationOptions,
    attribute_options: AttributeOptions,
    feature_dim: int,
) -> tuple[DSG, dict[str, Any]]:
    """The DSG record and the tensor dict of one video (see the module docstring)."""
    import torch

    boxes = [normalised_boxes(f) for f in frames]
    inputs = [
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
    ids = tracker.assign(inputs)

    # Occurrences of each track: (frame position, detection index), in time order.
    occurrences: dict[int, list[tuple[int, int]]] = {}
    for position, frame_ids in enumerate(ids):
        for det, tid in enumerate(frame_ids):
            occurrences.setdefault(int(tid), []).append((position, det))

    def box_area(b: np.ndarray) -> float:
        return float(max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0))

    median_area = {
        tid: float(np.median([box_area(boxes[p][d]) for p, d in occ]))
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
    times = {tid: np.array([frames[p].time for p, _ in occ]) for tid, occ in occurrences.items()}
    centre_at: list[dict[int, np.ndarray]] = [{} for _ in frames]
    for tid, occ in occurrences.items():
        for k, (p, _) in enumerate(occ):
            centre_at[p][tid] = centres[tid][k]

    object_motion: dict[tuple[int, int], str] = {}
    track_records: list[DSGTrack] = []
    for tid in sorted(occurrences):
        occ = occurrences[tid]
        per_frame = frame_motions(centres[tid], times[tid], attribute_options)
        for (p, _), label in zip(occ, per_frame, strict=True):
            object_motion[(p, tid)] = label
        others = [{o: c for o, c in centre_at[p].items() if o != tid} for p, _ in occ]
        runs = motion_runs(centres[tid], times[tid], others, attribute_options)
        classes = Counter(int(frames[p].detections.classes[d]) for p, d in occ)
        label_id = classes.most_common(1)[0][0]
        colour_votes = Counter(
            colour_name(frames[p].colours[d], attribute_options.min_saturation) for p, d in occ
        )
        side = float(np.sqrt(median_area[tid]))
        attributes = {
            "colour": colour_votes.most_common(1)[0][0],
            "size": size_name([0.0, 0.0, side, side], attribute_options),
            "motion": runs[0].label if runs else "still",
            "motions": ",".join(run.label for run in runs) if runs else "still",
        }
        if runs and runs[0].other is not None:
            attributes["motion_object"] = str(runs[0].other)
        track_records.append(
            DSGTrack(
                track_id=tid,
                label=names.get(label_id, str(label_id)),
                frames=[p for p, _ in occ],
                attributes=attributes,
            )
        )

    dsg_frames: list[DSGFrame] = []
    rows: list[tuple[int, int, int]] = []  # (position, detection, track id) in output order
    for position, (frame, frame_boxes, frame_ids) in enumerate(
        zip(frames, boxes, ids, strict=True)
    ):
        order = sorted(range(len(frame_ids)), key=lambda d: int(frame_ids[d]))
        objects = []
        for d in order:
            tid = int(frame_ids[d])
            cls = int(frame.detections.classes[d])
            objects.append(
                DSGObject(
                    track_id=tid,
                    label=names.get(cls, str(cls)),
                    class_id=cls,
                    score=float(np.clip(frame.detections.scores[d], 0.0, 1.0)),
                    box=tuple(round(float(v), 6) for v in frame_boxes[d]),
                    attributes={
                        "colour": colour_name(frame.colours[d], attribute_options.min_saturation),
                        "size": size_name(frame_boxes[d], attribute_options),
                        "motion": object_motion[(position, tid)],
                    },
                )
            )
            rows.append((position, d, tid))
        shown = np.array(
            [
                box_area(frame_boxes[d]) / max(median_area[int(frame_ids[d])], 1e-9)
                for d in range(len(frame_ids))
            ]
        )
        relations = [
            DSGRelation(subject=s, predicate=p, object=o)
            for s, p, o in frame_relations(
                [int(i) for i in frame_ids], frame_boxes, shown, relation_options
            )
        ]
        dsg_frames.append(
            DSGFrame(
                index=frame.index,
                time=round(float(frame.time), 6),
                objects=objects,
                relations=relations,
            )
        )
    coreference = [
        TemporalCoreference(track_id=tid, source_frame=a, target_frame=b)
        for tid in sorted(occurrences)
        for (a, _), (b, _) in itertools.pairwise(occurrences[tid])
    ]
    record = DSG(
        video_id=meta.video_id,
        source=meta.source,
        fps=meta.fps,
        num_frames=meta.num_frames,
        width=meta.width,
        height=meta.height,
        frames=dsg_frames,
        tracks=track_records,
        coreference=coreference,
    )

    def gather(values: list[Any], shape: tuple[int, ...], dtype: Any) -> Any:
        if not values:
            return torch.zeros(shape, dtype=dtype)
        return torch.as_tensor(np.stack(values), dtype=dtype)

    tensors = {
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
    return record, tensors
