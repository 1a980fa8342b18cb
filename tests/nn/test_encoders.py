"""GTrm, R-GTrm and STGD: equivariance, batching, empty graphs, moving-ness, gradients."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

from finsta_cli.graph import GraphOptions, dsg_to_data, hsg_to_data, tsg_to_data
from finsta_cli.nn import GTrm, RGTrm, STGDLayer
from finsta_cli.schema import DSG, TSG
from tests.graph.sample import sample_dsg, sample_hsg, sample_tsg, vocabularies

HIDDEN = 32


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


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


def test_rgtrm_uses_time_and_stgd_switch() -> None:
    _, rgtrm = make_models()
    nodes, edges = vocabularies()
    data = dsg_to_data(sample_dsg(), nodes, edges)
    no_time = dsg_to_data(sample_dsg(), nodes, edges, GraphOptions(temporal_coref=False))
    with torch.no_grad():
        assert not torch.allclose(rgtrm(data).node, rgtrm(no_time).node)
    plain = RGTrm(len(nodes), len(edges), hidden=HIDDEN, layers=3, edge_dim=8, stgd=False)
    assert len(plain.stgd) == 0 and len(rgtrm.stgd) == 2


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
