"""Ground-truth DSGs from ``finsta synth`` records: the oracle a build-dsg output is compared to.

Every frame of the record becomes a DSG frame with the objects that show (a non-null ``box``),
labelled with their shape; tracks carry the ``colour`` and ``size`` of the object and its
``motion`` / ``motions`` in build-dsg's vocabulary (left, right, up, down, still, approaching,
leaving), derived from the events it is the subject of, in order; relations are the record's.
"""

from __future__ import annotations

import itertools
from typing import Any

from finsta_cli.schema import DSG

OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}


def event_motions(event: dict[str, Any]) -> list[str]:
    """build-dsg motion labels that describe one synth event of its subject."""
    kind, direction = str(event["kind"]), event.get("direction")
    if kind == "still":
        return ["still"]
    if kind == "approach":
        return ["approaching"]
    if kind == "retreat":
        return ["leaving"]
    if kind == "enter" and direction:
        return [OPPOSITE[str(direction)]]
    if kind == "collide" and direction:
        return [str(direction), "approaching"]
    if direction:  # move, leave, pass
        return [str(direction)]
    return []


def synth_to_dsg(record: dict[str, Any]) -> DSG:
    """The ground-truth DSG of one synth video record."""
    objects = {int(o["track_id"]): o for o in record["objects"]}
    motions: dict[int, list[str]] = {track: [] for track in objects}
    for event in record.get("events", []):
        for label in event_motions(event):
            if label not in motions[int(event["subject"])]:
                motions[int(event["subject"])].append(label)
    frames: list[dict[str, Any]] = []
    seen: dict[int, list[int]] = {track: [] for track in objects}
    for position, frame in enumerate(record["frames"]):
        present = [o for o in frame["objects"] if o.get("box") is not None]
        ids = {int(o["track_id"]) for o in present}
        for o in present:
            seen[int(o["track_id"])].append(position)
        frames.append(
            {
                "index": int(frame["index"]),
                "time": float(frame["time"]),
                "objects": [
                    {
                        "track_id": int(o["track_id"]),
                        "label": str(objects[int(o["track_id"])]["shape"]),
                        "class_id": int(objects[int(o["track_id"])]["class_id"]),
                        "score": 1.0,
                        "box": [min(max(float(v), 0.0), 1.0) for v in o["box"]],
                        "attributes": {"colour": str(objects[int(o["track_id"])]["colour"])},
                    }
                    for o in present
                ],
                "relations": [
                    {"subject": int(s), "object": int(t), "predicate": str(p)}
                    for s, p, t in frame["relations"]
                    if int(s) in ids and int(t) in ids
                ],
            }
        )
    tracks = []
    coreference = []
    for track, positions in seen.items():
        if not positions:
            continue
        labels = motions[track] or ["still"]
        obj = objects[track]
        tracks.append(
            {
                "track_id": track,
                "label": str(obj["shape"]),
                "frames": positions,
                "attributes": {
                    "colour": str(obj["colour"]),
                    "size": str(obj["size"]),
                    "motion": labels[0],
                    "motions": ",".join(labels),
                },
            }
        )
        coreference += [
            {"track_id": track, "source_frame": a, "target_frame": b}
            for a, b in itertools.pairwise(positions)
        ]
    return DSG.model_validate(
        {
            "video_id": str(record["video_id"]),
            "source": record.get("video"),
            "fps": float(record["fps"]),
            "num_frames": int(record["num_frames"]),
            "width": int(record["width"]),
            "height": int(record["height"]),
            "frames": frames,
            "tracks": tracks,
            "coreference": coreference,
        }
    )
