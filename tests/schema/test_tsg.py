"""Tests of finsta_cli/schema/tsg.py: the graph checks of a TSG record."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finsta_cli.schema import TSG
from tests.schema.helpers import sample_tsg


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
