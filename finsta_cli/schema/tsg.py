"""Textual scene graph (TSG) records: what ``parse-text`` writes, one per caption."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, NonNegativeInt, model_validator

from finsta_cli.schema.base import VersionedRecord

TSGNodeType = Literal["object", "attribute", "predicate", "pred_attr"]
TSGEdgeType = Literal[
    "has_attribute", "agent", "patient", "prep_arg", "pred_attr", "before", "overlaps"
]

# (source node type, target node type) of each edge type; edges point from the head outwards.
TSG_EDGE_ENDPOINTS: dict[str, tuple[str, str]] = {
    "has_attribute": ("object", "attribute"),
    "agent": ("predicate", "object"),
    "patient": ("predicate", "object"),
    "prep_arg": ("predicate", "object"),
    "pred_attr": ("predicate", "pred_attr"),
    "before": ("predicate", "predicate"),
    "overlaps": ("predicate", "predicate"),
}


class TSGNode(BaseModel):
    """A node of the TSG.

    ``object``: an entity ("man", "cup"); ``attribute``: a property of an object ("red", "two",
    "wooden"); ``predicate``: a verb or preposition relating objects ("hold", "sit on",
    "in front of"); ``pred_attr``: an adverb of a predicate ("quickly", "again").
    """

    id: NonNegativeInt = Field(description="index of the node in the record's node list")
    type: TSGNodeType
    label: str = Field(min_length=1, description="normalised text, e.g. 'sit on', 'red'")
    lemma: str | None = Field(default=None, description="head lemma, for objects and predicates")
    span: tuple[NonNegativeInt, NonNegativeInt] | None = Field(
        default=None, description="character offsets [start, end) of the node's words in text"
    )
    number: Literal["singular", "plural"] | None = Field(default=None, description="objects")
    count: int | None = Field(default=None, ge=0, description="objects: 'two dogs' -> 2")


class TSGEdge(BaseModel):
    """A directed edge between TSG nodes.

    ``has_attribute``: object -> attribute; ``agent`` / ``patient`` / ``prep_arg``: predicate ->
    its subject / direct object / prepositional object (``preposition`` names it);
    ``pred_attr``: predicate -> adverb; ``before``: predicate -> a predicate that happens after
    it; ``overlaps``: predicate -> a predicate at the same time ("while").
    """

    source: NonNegativeInt
    target: NonNegativeInt
    type: TSGEdgeType
    preposition: str | None = None


class TSG(VersionedRecord):
    """The textual scene graph of one caption."""

    SCHEMA_KIND: ClassVar[str] = "tsg"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    record: Literal["tsg"] = "tsg"
    id: str = Field(min_length=1, description="the caption's id (its line number when none)")
    text: str
    nodes: list[TSGNode] = Field(default_factory=list)
    edges: list[TSGEdge] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_graph(self) -> TSG:
        for position, node in enumerate(self.nodes):
            if node.id != position:
                raise ValueError(f"node {position} has id {node.id}: ids must equal positions")
            if node.span is not None:
                start, end = node.span
                if not start < end <= len(self.text):
                    raise ValueError(f"node {node.id} span {node.span} is outside the text")
        for edge in self.edges:
            for end_id in (edge.source, edge.target):
                if end_id >= len(self.nodes):
                    raise ValueError(f"{edge.type} edge names node {end_id}, which does not exist")
            want = TSG_EDGE_ENDPOINTS[edge.type]
            got = (self.nodes[edge.source].type, self.nodes[edge.target].type)
            if got != want:
                raise ValueError(f"{edge.type} edge joins {got[0]} -> {got[1]}, expected {want}")
        return self
