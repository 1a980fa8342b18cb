"""Tests of finsta_cli/schema/base.py (the versioned record every schema derives from): round
trips of every kind, minor versions read, other major versions refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.errors import InputError, SchemaVersionError
from finsta_cli.io import JsonlWriter, read_records
from finsta_cli.schema import HSG, SCHEMAS, TSG
from tests.schema.helpers import sample_dsg, sample_tsg


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
