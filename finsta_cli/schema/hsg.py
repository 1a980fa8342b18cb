"""Holistic scene graph (HSG) records: a TSG and a DSG joined by cross-modal coreference edges."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, NonNegativeInt, model_validator

from finsta_cli.schema.base import VersionedRecord
from finsta_cli.schema.dsg import DSG
from finsta_cli.schema.tsg import TSG


class CrossModalEdge(BaseModel):
    """Joins a TSG node to the DSG.

    ``object``: a text object node -> a visual track (``frame`` set: one occurrence of it, a
    position in the DSG frame list; unset: the whole track). ``predicate``: a text predicate ->
    a visual relation or motion of track ``track_id`` (``visual_predicate``, and the relation's
    other track in ``object_track_id``).
    """

    type: Literal["object", "predicate"]
    text_node: NonNegativeInt
    track_id: NonNegativeInt
    frame: NonNegativeInt | None = None
    visual_predicate: str | None = None
    object_track_id: NonNegativeInt | None = None
    score: float = Field(ge=0.0, le=1.0)


class HSG(VersionedRecord):
    """The holistic scene graph of one (video, text) pair."""

    SCHEMA_KIND: ClassVar[str] = "hsg"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    record: Literal["hsg"] = "hsg"
    id: str = Field(min_length=1, description="pair id")
    video_id: str
    text_id: str
    tsg: TSG
    dsg: DSG
    cross_edges: list[CrossModalEdge] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_edges(self) -> HSG:
        track_ids = {track.track_id for track in self.dsg.tracks}
        for edge in self.cross_edges:
            if edge.text_node >= len(self.tsg.nodes):
                raise ValueError(f"cross edge names text node {edge.text_node}, not in the TSG")
            node_type = self.tsg.nodes[edge.text_node].type
            if node_type != edge.type:
                raise ValueError(f"{edge.type} cross edge starts at a {node_type} node")
            for track in (edge.track_id, edge.object_track_id):
                if track is not None and track not in track_ids:
                    raise ValueError(f"cross edge names track {track}, not in the DSG")
            if edge.frame is not None and edge.frame >= len(self.dsg.frames):
                raise ValueError(f"cross edge names frame {edge.frame}, not in the DSG")
        return self
