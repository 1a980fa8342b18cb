"""Tests of finsta_cli/nn/stgd.py: a moving node weighs above still ones; a camera pan is not
motion."""

from __future__ import annotations

import torch

from finsta_cli.graph import dsg_to_data
from finsta_cli.nn import STGDLayer
from tests.graph.sample import sample_dsg, vocabularies
from tests.nn.helpers import HIDDEN


def test_stgd_weights_a_moving_node_above_still_ones() -> None:
    nodes, edges = vocabularies()
    data = dsg_to_data(sample_dsg(frames=3, moving_track=1), nodes, edges)
    layer = STGDLayer(HIDDEN, edge_dim=8)
    x = torch.randn(data.num_nodes, HIDDEN)
    edge_attr = torch.randn(data.edge_index.shape[1], 8)
    _, g = layer(x, data.edge_index, edge_attr, data.box, data.frame, data.coref_index)
    first, later = data.frame == 0, data.frame > 0
    assert (g[first] == 0).all()  # no previous occurrence: no motion known
    moving = later & (data.track == 1)
    still = later & (data.track != 1)
    assert g[moving].min() > 0.5 and g[moving].min() > 2 * g[still].max()
    # A camera pan (everything shifts alike) is not object motion.
    panned = data.box.clone()
    panned[:, [0, 2]] += 0.05 * data.frame.clamp(min=0).unsqueeze(-1)
    _, g_pan = layer(x, data.edge_index, edge_attr, panned, data.frame, data.coref_index)
    assert torch.allclose(g_pan, g, atol=1e-5)
