"""Scene graphs as torch-geometric graphs: vocabularies, conversion, node and edge type codes."""

from finsta_cli.graph.convert import (
    CROSS_EDGE_TYPES,
    EDGE_TYPES,
    NODE_TYPES,
    TEMPORAL_EDGE_TYPES,
    GraphOptions,
    SceneGraphBuilder,
    dsg_to_data,
    hsg_to_data,
    tsg_node_index,
    tsg_to_data,
)
from finsta_cli.graph.vocab import LabelVocab

__all__ = [
    "CROSS_EDGE_TYPES",
    "EDGE_TYPES",
    "NODE_TYPES",
    "TEMPORAL_EDGE_TYPES",
    "GraphOptions",
    "LabelVocab",
    "SceneGraphBuilder",
    "dsg_to_data",
    "hsg_to_data",
    "tsg_node_index",
    "tsg_to_data",
]
