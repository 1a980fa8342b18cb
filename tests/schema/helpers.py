"""Records of the schema tests: a hand-built TSG of one caption and a two-frame DSG it matches."""

from __future__ import annotations

from finsta_cli.schema import DSG, TSG

TEXT = "a man quickly throws a red ball, then sits on the bench"


def sample_tsg() -> TSG:
    return TSG.model_validate(
        {
            "id": "cap1",
            "text": TEXT,
            "nodes": [
                {
                    "id": 0,
                    "type": "object",
                    "label": "man",
                    "lemma": "man",
                    "span": [2, 5],
                    "number": "singular",
                    "count": 1,
                },
                {
                    "id": 1,
                    "type": "predicate",
                    "label": "throw",
                    "lemma": "throw",
                    "span": [14, 20],
                },
                {"id": 2, "type": "pred_attr", "label": "quickly", "span": [6, 13]},
                {"id": 3, "type": "object", "label": "ball", "span": [27, 31]},
                {"id": 4, "type": "attribute", "label": "red", "span": [23, 26]},
                {"id": 5, "type": "predicate", "label": "sit on", "span": [38, 45]},
                {"id": 6, "type": "object", "label": "bench", "span": [50, 55]},
            ],
            "edges": [
                {"source": 1, "target": 0, "type": "agent"},
                {"source": 1, "target": 3, "type": "patient"},
                {"source": 1, "target": 2, "type": "pred_attr"},
                {"source": 3, "target": 4, "type": "has_attribute"},
                {"source": 5, "target": 0, "type": "agent"},
                {"source": 5, "target": 6, "type": "prep_arg", "preposition": "on"},
                {"source": 1, "target": 5, "type": "before"},
            ],
        }
    )


def sample_dsg() -> DSG:
    obj = lambda t, x: {"track_id": t, "label": "ball", "score": 0.9, "box": [x, 0.1, x + 0.2, 0.3]}  # noqa: E731
    return DSG.model_validate(
        {
            "video_id": "vid1",
            "fps": 8.0,
            "num_frames": 16,
            "width": 256,
            "height": 256,
            "frames": [
                {
                    "index": 0,
                    "time": 0.0,
                    "objects": [obj(1, 0.1), obj(2, 0.5)],
                    "relations": [{"subject": 1, "object": 2, "predicate": "left of"}],
                },
                {"index": 8, "time": 1.0, "objects": [obj(1, 0.2)]},
            ],
            "tracks": [
                {
                    "track_id": 1,
                    "label": "ball",
                    "frames": [0, 1],
                    "attributes": {"motion": "right"},
                },
                {"track_id": 2, "label": "ball", "frames": [0]},
            ],
            "coreference": [{"track_id": 1, "source_frame": 0, "target_frame": 1}],
        }
    )
