"""Pydantic models of every artifact finsta writes (TSG, DSG, HSG, run manifest, the protocol
card of evaluations)."""

from finsta_cli.schema.base import VersionedRecord
from finsta_cli.schema.dsg import (
    DSG,
    DSGFrame,
    DSGObject,
    DSGRelation,
    DSGTrack,
    TemporalCoreference,
)
from finsta_cli.schema.hsg import HSG, CrossModalEdge
from finsta_cli.schema.manifest import InputRecord, RunCounts, RunManifest
from finsta_cli.schema.protocol import ProtocolCard
from finsta_cli.schema.tsg import TSG, TSG_EDGE_ENDPOINTS, TSGEdge, TSGNode

SCHEMAS: dict[str, type[VersionedRecord]] = {
    "tsg": TSG,
    "dsg": DSG,
    "hsg": HSG,
    "manifest": RunManifest,
    "protocol": ProtocolCard,
}

__all__ = [
    "DSG",
    "HSG",
    "SCHEMAS",
    "TSG",
    "TSG_EDGE_ENDPOINTS",
    "CrossModalEdge",
    "DSGFrame",
    "DSGObject",
    "DSGRelation",
    "DSGTrack",
    "InputRecord",
    "ProtocolCard",
    "RunCounts",
    "RunManifest",
    "TSGEdge",
    "TSGNode",
    "TemporalCoreference",
    "VersionedRecord",
]
