"""Tests of finsta_cli/nn/rgtrm.py: R-GTrm reads time (temporal coreference) and its STGD switch."""

from __future__ import annotations

import pytest
import torch

from finsta_cli.graph import GraphOptions, dsg_to_data
from finsta_cli.nn import RGTrm
from tests.graph.sample import sample_dsg, vocabularies
from tests.nn import reference
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


@pytest.mark.parametrize("stgd", [True, False])
def test_rgtrm_matches_the_reference_in_outputs_and_gradients(stgd: bool) -> None:
    """The batched R-GTrm (one softmax over all edges, a frame schedule made once per pass)
    against the straightforward form (tests/nn/reference.py), training mode, on random graphs
    with text nodes, tracks that skip frames and empty frames."""
    nodes, edges = vocabularies()
    model = RGTrm(len(nodes), len(edges), hidden=HIDDEN, layers=3, heads=4, edge_dim=8,
                  dropout=0.0, region_dim=5, stgd=stgd).train()  # fmt: skip
    batch = reference.random_batch(seed=2, graphs=8, region_dim=5)
    assert int((batch.frame >= 0).sum()) > 20 and batch.coref_index.shape[1] > 5
    reference.assert_matches(model, reference.rgtrm, batch)


def test_a_coreference_link_backwards_in_time_is_refused() -> None:
    _, rgtrm = make_models()
    nodes, edges = vocabularies()
    data = dsg_to_data(sample_dsg(frames=3), nodes, edges)
    data.coref_index = data.coref_index.flip(0)  # next -> previous
    with pytest.raises(ValueError, match="forward in time"):
        rgtrm(data)
