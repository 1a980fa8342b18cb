"""Hand-built scene graphs shared by the graph and encoder tests."""

from __future__ import annotations

from finsta_cli.graph import LabelVocab
from finsta_cli.schema import DSG, HSG, TSG

TEXT = "the red ball quickly rolls toward the cube, then the cube moves"


def span(words: str) -> list[int]:
    start = TEXT.index(words)
    return [start, start + len(words)]


def sample_tsg() -> TSG:
    nodes = [
        {"id": 0, "type": "object", "label": "ball", "span": span("ball")},
        {"id": 1, "type": "attribute", "label": "red", "span": span("red")},
        {"id": 2, "type": "predicate", "label": "roll toward", "span": span("rolls toward")},
        {"id": 3, "type": "object", "label": "cube", "span": span("cube")},
        {"id": 4, "type": "predicate", "label": "move", "span": span("moves")},
        {"id": 5, "type": "pred_attr", "label": "quickly", "span": span("quickly")},
    ]
    edges = [
        {"source": 0, "target": 1, "type": "has_attribute"},
        {"source": 2, "target": 0, "type": "agent"},
        {"source": 2, "target": 3, "type": "prep_arg", "preposition": "toward"},
        {"source": 4, "target": 3, "type": "agent"},
        {"source": 2, "target": 4, "type": "before"},
        {"source": 2, "target": 5, "type": "pred_attr"},
    ]
    return TSG.model_validate({"id": "c1", "text": TEXT, "nodes": nodes, "edges": edges})


def sample_dsg(frames: int = 4, moving_track: int = 1) -> DSG:
    """Three objects; ``moving_track`` moves right 0.08 per frame, the others stay."""
    start = {1: (0.1, 0.4), 2: (0.6, 0.4), 3: (0.4, 0.7)}
    labels = {1: "ball", 2: "cube", 3: "cone"}
    frame_list = []
    for t in range(frames):
        objects = []
        for track, (x, y) in start.items():
            dx = 0.08 * t if track == moving_track else 0.0
            objects.append(
                {"track_id": track, "label": labels[track], "score": 0.9,
                 "box": [x + dx, y, x + dx + 0.1, y + 0.1]}
            )  # fmt: skip
        relations = [{"subject": 1, "object": 2, "predicate": "left of"}]
        frame_list.append(
            {"index": 2 * t, "time": t / 4, "objects": objects, "relations": relations}
        )
    tracks = [{"track_id": k, "label": labels[k], "frames": list(range(frames))} for k in start]
    coref = [
        {"track_id": k, "source_frame": t, "target_frame": t + 1}
        for k in start
        for t in range(frames - 1)
    ]
    return DSG.model_validate(
        {"video_id": "v1", "frames": frame_list, "tracks": tracks, "coreference": coref}
    )


def sample_hsg() -> HSG:
    return HSG.model_validate(
        {
            "id": "v1:c1",
            "video_id": "v1",
            "text_id": "c1",
            "tsg": sample_tsg().model_dump(),
            "dsg": sample_dsg().model_dump(),
            "cross_edges": [
                {"type": "object", "text_node": 0, "track_id": 1, "score": 0.9},
                {"type": "object", "text_node": 3, "track_id": 2, "frame": 0, "score": 0.7},
                {
                    "type": "predicate",
                    "text_node": 2,
                    "track_id": 1,
                    "object_track_id": 2,
                    "visual_predicate": "approaching",
                    "score": 0.6,
                },
            ],
        }
    )


def vocabularies() -> tuple[LabelVocab, LabelVocab]:
    nodes = LabelVocab.build(["ball", "red", "roll toward", "cube", "move", "quickly", "cone"])
    edges = LabelVocab.build(["toward", "left of", "approaching"])
    return nodes, edges
