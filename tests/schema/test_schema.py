"""Artifact schemas: round trips, graph checks, and refusal of other major versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from finsta_cli.errors import InputError, SchemaVersionError
from finsta_cli.io import JsonlWriter, read_records
from finsta_cli.schema import DSG, HSG, SCHEMAS, TSG, RunManifest

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


def test_round_trip_every_kind(tmp_path: Path) -> None:
    tsg, dsg = sample_tsg(), sample_dsg()
    hsg = HSG(
        id="vid1:cap1",
        video_id="vid1",
        text_id="cap1",
        tsg=tsg,
        dsg=dsg,
        cross_edges=[{"type": "object", "text_node": 3, "track_id": 1, "score": 0.8}],  # type: ignore[list-item]
    )
    for record in (tsg, dsg, hsg):
        path = tmp_path / f"{record.SCHEMA_KIND}.jsonl"
        with JsonlWriter(path) as writer:
            writer.write(record)
        (back,) = read_records(path, type(record))
        assert back == record
        assert json.loads(path.read_text())["schema_version"] == "1.0"
    for kind, model in SCHEMAS.items():
        assert kind == model.SCHEMA_KIND
        assert "schema_version" in model.model_json_schema()["properties"]


def test_minor_versions_and_unknown_fields_are_read() -> None:
    data = sample_tsg().model_dump(mode="json")
    data.update(schema_version="1.7", added_in_1_7="ok")
    assert TSG.model_validate(data).nodes[0].label == "man"


def test_newer_major_version_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "tsg.jsonl"
    rows = [
        sample_tsg().model_dump(mode="json"),
        {**sample_tsg().model_dump(mode="json"), "schema_version": "2.0"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    records = read_records(path, TSG)
    assert next(records).id == "cap1"
    with pytest.raises(
        SchemaVersionError, match=r"tsg.jsonl:2: tsg record has schema version 2.0, newer"
    ) as info:
        next(records)
    assert info.value.hint and "upgrade finsta" in info.value.hint
    assert isinstance(info.value, InputError)
    with pytest.raises(SchemaVersionError, match="older"):
        TSG.model_validate({**rows[0], "schema_version": "0.3"})


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["edges"].append({"source": 0, "target": 3, "type": "agent"}),
            "agent edge joins object",
        ),
        (lambda d: d["edges"].append({"source": 1, "target": 99, "type": "patient"}), "node 99"),
        (lambda d: d["nodes"][0].update(span=[50, 99]), "outside the text"),
        (lambda d: d["nodes"][0].update(id=5), "ids must equal positions"),
    ],
)
def test_tsg_graph_errors(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = sample_tsg().model_dump(mode="json")
    change(data)
    with pytest.raises(ValidationError, match=message):
        TSG.model_validate(data)


def test_dsg_graph_errors() -> None:
    data = sample_dsg().model_dump(mode="json")
    data["frames"][1]["objects"][0]["box"] = [0.5, 0.1, 0.4, 0.3]
    with pytest.raises(ValidationError, match="box"):
        DSG.model_validate(data)
    data = sample_dsg().model_dump(mode="json")
    data["coreference"].append({"track_id": 2, "source_frame": 0, "target_frame": 1})
    with pytest.raises(ValidationError, match="track 2 is not in frame 1"):
        DSG.model_validate(data)
    data = sample_dsg().model_dump(mode="json")
    data["frames"][1]["index"] = 0
    with pytest.raises(ValidationError, match="must increase"):
        DSG.model_validate(data)


def test_hsg_cross_edges_must_fit_their_graphs() -> None:
    with pytest.raises(ValidationError, match="predicate cross edge starts at a object node"):
        HSG(
            id="p",
            video_id="vid1",
            text_id="cap1",
            tsg=sample_tsg(),
            dsg=sample_dsg(),
            cross_edges=[{"type": "predicate", "text_node": 0, "track_id": 1, "score": 0.5}],
        )  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="track 7"):
        HSG(
            id="p",
            video_id="vid1",
            text_id="cap1",
            tsg=sample_tsg(),
            dsg=sample_dsg(),
            cross_edges=[{"type": "object", "text_node": 0, "track_id": 7, "score": 0.5}],
        )  # type: ignore[list-item]


def test_manifest_requires_its_fields() -> None:
    with pytest.raises(ValidationError, match="stage"):
        RunManifest.model_validate({"version": "0.1.0", "status": "completed"})
