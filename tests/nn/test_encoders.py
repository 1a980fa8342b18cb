"""What GTrm (finsta_cli/nn/gtrm.py) and R-GTrm (nn/rgtrm.py) both hold, each test run over the two
encoders: node-permutation equivariance, batching, empty graphs, gradients to every parameter."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

from finsta_cli.graph import GraphOptions, dsg_to_data, hsg_to_data, tsg_to_data
from finsta_cli.schema import DSG, TSG
from tests.graph.sample import sample_dsg, sample_hsg, sample_tsg, vocabularies
from tests.nn.helpers import HIDDEN, graphs, make_models


def permute(data: Data, order: torch.Tensor) -> Data:
    """The same graph, its nodes listed in ``order`` (position k holds old node order[k])."""
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel())
    fields = {
        key: data[key][order] for key in ("node_type", "label", "box", "frame", "track", "span")
    }
    return Data(
        **fields,
        edge_index=inverse[data.edge_index],
        edge_type=data.edge_type,
        edge_label=data.edge_label,
        edge_weight=data.edge_weight,
        coref_index=inverse[data.coref_index],
        num_nodes=data.num_nodes,
    )


@pytest.mark.parametrize("kind", ["tsg", "dsg", "hsg"])
def test_node_permutation_equivariance(kind: str) -> None:
    gtrm, rgtrm = make_models()
    data = graphs()[kind]
    order = torch.randperm(data.num_nodes)
    for model in (gtrm, rgtrm):
        with torch.no_grad():
            plain, permuted = model(data), model(permute(data, order))
        assert torch.allclose(plain.node[order], permuted.node, atol=1e-5)
        assert torch.allclose(plain.graph, permuted.graph, atol=1e-5)


def test_batch_equals_one_by_one() -> None:
    gtrm, rgtrm = make_models()
    nodes, edges = vocabularies()
    items = [
        dsg_to_data(sample_dsg(frames=2), nodes, edges),
        hsg_to_data(sample_hsg(), nodes, edges),
        dsg_to_data(sample_dsg(frames=5, moving_track=3), nodes, edges),
        tsg_to_data(sample_tsg(), nodes, edges),
    ]
    batch = Batch.from_data_list(items)
    for model in (gtrm, rgtrm):
        with torch.no_grad():
            together = model(batch)
            alone = [model(item) for item in items]
        assert torch.allclose(together.node, torch.cat([a.node for a in alone]), atol=1e-5)
        assert torch.allclose(together.graph, torch.cat([a.graph for a in alone]), atol=1e-5)


def test_empty_graphs_and_graphs_without_edges() -> None:
    gtrm, rgtrm = make_models()
    nodes, edges = vocabularies()
    empty_tsg = tsg_to_data(TSG(id="e", text=""), nodes, edges)
    empty_dsg = dsg_to_data(DSG(video_id="e", frames=[{"index": 0, "time": 0.0}]), nodes, edges)  # type: ignore[list-item]
    lone = dsg_to_data(sample_dsg(frames=1), nodes, edges, GraphOptions(frame_clique=False))
    lone.edge_index, lone.edge_type = lone.edge_index[:, :0], lone.edge_type[:0]
    lone.edge_label, lone.edge_weight = lone.edge_label[:0], lone.edge_weight[:0]
    with torch.no_grad():
        for model in (gtrm, rgtrm):
            assert model(empty_tsg).node.shape == (0, HIDDEN)
            assert model(empty_dsg).graph.shape == (1, HIDDEN)
            out = model(lone)
            assert out.node.shape == (3, HIDDEN) and torch.isfinite(out.node).all()
            batch = model(Batch.from_data_list([empty_tsg, graphs()["hsg"], empty_dsg]))
            assert batch.graph.shape == (3, HIDDEN) and (batch.graph[0] == 0).all()


def test_gradients_reach_every_parameter() -> None:
    gtrm, rgtrm = make_models(region_dim=6)
    gtrm.train(), rgtrm.train()
    nodes, edges = vocabularies()
    hsg = hsg_to_data(sample_hsg(), nodes, edges, region=torch.randn(12, 6))
    batch = Batch.from_data_list(
        [hsg, dsg_to_data(sample_dsg(), nodes, edges, region=torch.randn(12, 6))]
    )
    loss = (
        rgtrm(batch).graph.pow(2).sum()
        + rgtrm(batch).node.sum()
        + gtrm(graphs()["tsg"]).graph.sum()
    )
    loss.backward()
    for model in (gtrm, rgtrm):
        for name, parameter in model.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
