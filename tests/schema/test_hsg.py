"""Tests of finsta_cli/schema/hsg.py: cross edges must fit the TSG and DSG they join."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finsta_cli.schema import HSG
from tests.schema.helpers import sample_dsg, sample_tsg


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
