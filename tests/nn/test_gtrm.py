"""Tests of finsta_cli/nn/gtrm.py: EdgeAttention is TransformerConv (same initial weights for a
seed, same outputs, its checkpoints load), and GTrm matches the straightforward reference form
(tests/nn/reference.py) in outputs and gradients."""

from __future__ import annotations

import torch
from torch_geometric.nn import TransformerConv

from finsta_cli.nn import GTrm
from finsta_cli.nn.gtrm import EdgeAttention, edge_softmax
from tests.graph.sample import vocabularies
from tests.nn import reference


def test_edge_attention_is_transformer_conv() -> None:
    torch.manual_seed(3)
    conv = TransformerConv(32, 8, heads=4, concat=True, beta=True, edge_dim=6)
    torch.manual_seed(3)
    attention = EdgeAttention(32, 4, 6)
    # The same draws, in the same order: a seed gives the run the same initial weights.
    assert torch.equal(attention.project.weight[:32], conv.lin_query.weight)
    assert torch.equal(attention.project.bias[96:], conv.lin_skip.bias)
    assert torch.equal(attention.edge.weight, conv.lin_edge.weight)
    assert torch.equal(attention.gate.weight, conv.lin_beta.weight)
    x, edge_attr = torch.randn(40, 32), torch.randn(200, 6)
    edge_index = torch.randint(0, 40, (2, 200))
    expected = conv(x, edge_index, edge_attr)
    assert torch.allclose(attention(x, edge_index, edge_attr), expected, atol=1e-6)
    # A checkpoint written with TransformerConv's parameter names loads.
    loaded = EdgeAttention(32, 4, 6)
    loaded.load_state_dict(conv.state_dict())
    assert torch.allclose(loaded(x, edge_index, edge_attr), expected, atol=1e-6)


def test_edge_softmax_sums_to_one_per_target() -> None:
    score = torch.randn(50, 3) * 30
    target = torch.randint(0, 7, (50,))
    weight = edge_softmax(score, target, 9)
    total = torch.zeros(9, 3).index_add_(0, target, weight)
    used = torch.bincount(target, minlength=9) > 0
    assert torch.allclose(total[used], torch.ones(int(used.sum()), 3), atol=1e-6)
    assert (total[~used] == 0).all() and edge_softmax(score[:0], target[:0], 9).shape == (0, 3)


def test_gtrm_matches_the_reference_in_outputs_and_gradients() -> None:
    nodes, edges = vocabularies()
    model = GTrm(len(nodes), len(edges), hidden=32, layers=2, heads=4, edge_dim=8, dropout=0.0)
    batch = reference.random_batch(seed=1, graphs=6)
    reference.assert_matches(model, reference.gtrm, batch)
