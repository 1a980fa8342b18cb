"""Tests of finsta_cli/nn/rgtrm.py: R-GTrm reads time (temporal coreference) and its STGD switch."""

from __future__ import annotations

import torch

from finsta_cli.graph import GraphOptions, dsg_to_data
from finsta_cli.nn import RGTrm
from tests.graph.sample import sample_dsg, vocabularies
from tests.nn.helpers import HIDDEN, make_models


def test_rgtrm_uses_time_and_stgd_switch() -> None:
    _, rgtrm = make_models()
    nodes, edges = vocabularies()
    data = dsg_to_data(sample_dsg(), nodes, edges)
    no_time = dsg_to_data(sample_dsg(), nodes, edges, GraphOptions(temporal_coref=False))
    with torch.no_grad():
        assert not torch.allclose(rgtrm(data).node, rgtrm(no_time).node)
    plain = RGTrm(len(nodes), len(edges), hidden=HIDDEN, layers=3, edge_dim=8, stgd=False)
    assert len(plain.stgd) == 0 and len(rgtrm.stgd) == 2
