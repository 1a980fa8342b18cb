"""Ground-truth DSGs from ``finsta synth`` records: the oracle a build-dsg output is compared to.

The synth record's ground-truth DSG, with each track's motions in build-dsg's vocabulary (left,
right, up, down, still, approaching, leaving), derived from the events it is the subject of, in
order, so that text predicates can be matched against it as against a build-dsg output.
"""

from __future__ import annotations

from typing import Any

from finsta_cli.schema import DSG
from finsta_cli.synth.scene import OPPOSITE


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
    """The ground-truth DSG of one synth video record, with motions in build-dsg's vocabulary.

    :func:`finsta_cli.synth.records.ground_truth_dsg` gives the frames, tracks, relations
    and coreference edges; here each track's ``motion`` becomes the label of its first event and
    ``motions`` lists the labels of all its events in order (``still`` when it has none), and the
    synth motion class is kept as ``action``.
    """
    from finsta_cli.synth.records import ground_truth_dsg

    dsg: DSG = ground_truth_dsg(record)
    motions: dict[int, list[str]] = {}
    for event in record.get("events", []):
        labels = motions.setdefault(int(event["subject"]), [])
        labels += [label for label in event_motions(event) if label not in labels]
    for track in dsg.tracks:
        labels = motions.get(track.track_id) or ["still"]
        track.attributes = {
            **track.attributes,
            "action": track.attributes.get("motion", ""),
            "motion": labels[0],
            "motions": ",".join(labels),
        }
    return dsg
