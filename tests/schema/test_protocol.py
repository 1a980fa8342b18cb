"""Tests of finsta_cli/schema/protocol.py: the protocol card's schema (``finsta schema
protocol``), its versioning, and the fields left out when unknown."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.errors import SchemaVersionError
from finsta_cli.schema import SCHEMAS
from finsta_cli.schema.protocol import ProtocolCard


def _card(**changes: object) -> dict[str, object]:
    card: dict[str, object] = {
        "command": "eval",
        "mode": "eval",
        "task": "tsg",
        "dataset": {"path": "gold.csv", "format": "factual", "format_detected": False},
        "items": {"items": 3},
        "software": {"finsta": "0.1.0", "python": "3.11.0"},
    }
    return {**card, **changes}


def test_finsta_schema_protocol_prints_the_card_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "protocol"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["$id"] == "finsta:protocol:1.0"
    assert {"dataset", "items", "frames", "checkpoint", "host", "graphs", "software"} <= set(
        document["properties"]
    )
    assert SCHEMAS["protocol"] is ProtocolCard


def test_unknown_fields_are_left_out_and_a_newer_major_is_refused() -> None:
    card = ProtocolCard.model_validate(_card())
    written = card.to_json()
    assert written["schema_version"] == "1.0" and written["record"] == "protocol"
    assert "frames" not in written and "git_commit" not in written["software"]
    assert ProtocolCard.model_validate({**written, "added_later": 1}).task == "tsg"
    with pytest.raises(SchemaVersionError, match="newer"):
        ProtocolCard.model_validate({**written, "schema_version": "2.0"})
    with pytest.raises(ValueError, match="mode"):
        ProtocolCard.model_validate(_card(mode="sometimes"))
