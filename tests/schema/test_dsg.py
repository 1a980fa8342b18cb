"""Tests of finsta_cli/schema/dsg.py: the graph checks of a DSG record."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finsta_cli.schema import DSG
from tests.schema.helpers import sample_dsg


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
