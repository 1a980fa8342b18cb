"""Builders of the encoder tests: a GTrm and an R-GTrm over the sample graphs' vocabularies, and
those graphs as PyG data."""

from __future__ import annotations

from torch_geometric.data import Data

from finsta_cli.graph import dsg_to_data, hsg_to_data, tsg_to_data
from finsta_cli.nn import GTrm, RGTrm
from tests.graph.sample import sample_dsg, sample_hsg, sample_tsg, vocabularies

HIDDEN = 32


def make_models(region_dim: int = 0) -> tuple[GTrm, RGTrm]:
    nodes, edges = vocabularies()
    gtrm = GTrm(len(nodes), len(edges), hidden=HIDDEN, layers=2, heads=4, edge_dim=8).eval()
    rgtrm = RGTrm(len(nodes), len(edges), hidden=HIDDEN, layers=3, heads=4, edge_dim=8,
                  region_dim=region_dim).eval()  # fmt: skip
    return gtrm, rgtrm


def graphs() -> dict[str, Data]:
    nodes, edges = vocabularies()
    return {
        "tsg": tsg_to_data(sample_tsg(), nodes, edges),
        "dsg": dsg_to_data(sample_dsg(), nodes, edges),
        "hsg": hsg_to_data(sample_hsg(), nodes, edges),
    }
