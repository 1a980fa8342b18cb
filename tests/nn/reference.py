"""Straightforward reference forms of the graph encoders, on the encoders' own parameters: the
attention as torch-geometric's TransformerConv computes it (per-edge tensors, its softmax and
scatter), the recurrence visiting each frame's rows found with ``nonzero``, STGD recomputing its
structure in the layer (the code before the batched kernels). The tests compare the encoders
against them, outputs and gradients. Also random space-time graphs to compare them on."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter, softmax

from finsta_cli.graph import SceneGraphBuilder
from finsta_cli.graph.convert import TEMPORAL_EDGE_TYPES
from finsta_cli.nn import GTrm, GTrmLayer, RecurrentUpdate, RGTrm, STGDLayer, moving_weight
from finsta_cli.nn.gtrm import EdgeAttention, GraphEncoderOutput
from tests.graph.sample import vocabularies


def attention(layer: EdgeAttention, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
    """TransformerConv(concat, beta, edge_dim)'s forward, written out."""
    h, heads, c = layer.hidden, layer.heads, layer.channels
    weight, bias = layer.project.weight, layer.project.bias
    query, key, value, skip = (
        F.linear(x, weight[k * h : (k + 1) * h], bias[k * h : (k + 1) * h]) for k in range(4)
    )
    source, target = edge_index
    edge = F.linear(edge_attr, layer.edge.weight).view(-1, heads, c)
    key_j = key.view(-1, heads, c)[source] + edge
    alpha = (query.view(-1, heads, c)[target] * key_j).sum(dim=-1) / math.sqrt(c)
    alpha = softmax(alpha, target, num_nodes=x.shape[0])
    alpha = F.dropout(alpha, p=layer.dropout, training=layer.training)
    message = (value.view(-1, heads, c)[source] + edge) * alpha.unsqueeze(-1)
    out = scatter(message, target, dim=0, dim_size=x.shape[0], reduce="sum").view(-1, h)
    beta = torch.sigmoid(F.linear(torch.cat([out, skip, out - skip], dim=-1), layer.gate.weight))
    return beta * skip + (1 - beta) * out


def gtrm_layer(layer: GTrmLayer, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
    attended = attention(layer.attention, x, edge_index, edge_attr)
    x = layer.norm_attention(x + layer.dropout(attended))
    return layer.norm_feed_forward(x + layer.dropout(layer.feed_forward(x)))


def predecessors(coref_index: Tensor, num_nodes: int) -> Tensor:
    pred = torch.full((num_nodes,), -1, dtype=torch.long)
    if coref_index.numel():
        pred[coref_index[1]] = coref_index[0]
    return pred


def recurrent(
    update: RecurrentUpdate, x: Tensor, frame: Tensor, coref: Tensor, batch: Tensor, b: int
) -> Tensor:
    if not bool((frame >= 0).any()):
        return x
    pred = predecessors(coref, x.shape[0])
    memory = x.new_zeros(b, x.shape[1])
    state = x.clone()
    for t in range(int(frame.max()) + 1):
        rows = (frame == t).nonzero(as_tuple=True)[0]
        if rows.numel() == 0:
            continue
        current = state[rows] + update.read_memory(memory[batch[rows]])
        linked = pred[rows] >= 0
        if bool(linked.any()):
            previous = state[pred[rows[linked]]]
            current = torch.cat([current[~linked], update.cell(current[linked], previous)])
            rows = torch.cat([rows[~linked], rows[linked]])
        state[rows] = current
        graphs = batch[rows]
        present = torch.zeros(b, dtype=torch.bool)
        present[graphs] = True
        frame_mean = scatter(current, graphs, dim=0, dim_size=b, reduce="mean")
        both = torch.cat([memory, frame_mean], dim=1)
        z = torch.sigmoid(update.gate(both))
        updated = (1 - z) * torch.tanh(update.candidate(both)) + z * memory
        memory = torch.where(present.unsqueeze(-1), updated, memory)
    return state


def stgd(
    layer: STGDLayer, x: Tensor, edge_index: Tensor, edge_attr: Tensor, data: Data
) -> tuple[Tensor, Tensor]:
    n, box, frame = x.shape[0], data.box, data.frame
    centre = (box[:, :2] + box[:, 2:]) / 2
    pred = predecessors(data.coref_index, n)
    source, target = edge_index
    mask = (frame[source] >= 0) & (frame[source] == frame[target]) & (source != target)
    j, i = edge_index[:, mask]
    both = (pred[i] >= 0) & (pred[j] >= 0)
    bi, bj = i[both], j[both]
    change = ((centre[bj] - centre[bi]) - (centre[pred[bj]] - centre[pred[bi]])).norm(dim=1)
    total = scatter(change, bi, dim=0, dim_size=n, reduce="sum")
    count = scatter(torch.ones_like(change), bi, dim=0, dim_size=n, reduce="sum")
    own = torch.zeros(n)
    has = pred >= 0
    own[has] = (centre[has] - centre[pred[has]]).norm(dim=1)
    displacement = torch.where(count > 0, total / count.clamp(min=1), own)
    g = moving_weight(displacement, layer.log_sigma_t.exp())
    gate = torch.log(layer.eps + g)[source].unsqueeze(-1)
    attended = gtrm_layer(layer.attention, x, edge_index, torch.cat([edge_attr, gate], dim=1))
    distance2 = ((centre[i] - centre[j]) ** 2).sum(dim=1)
    weight = softmax(-distance2 / (2 * layer.log_sigma_s.exp() ** 2), i, num_nodes=n)
    neighbourhood = scatter(weight.unsqueeze(-1) * x[j], i, dim=0, dim_size=n)
    has_neighbours = scatter(torch.ones_like(weight), i, dim=0, dim_size=n) > 0
    d_spatial = torch.where(has_neighbours.unsqueeze(-1), x - neighbourhood, torch.zeros_like(x))
    d_temporal = torch.where(has.unsqueeze(-1), x - x[pred.clamp(min=0)], torch.zeros_like(x))
    injected = g.unsqueeze(-1) * layer.differential(torch.cat([d_spatial, d_temporal], dim=1))
    return attended + injected, g


def rgtrm(model: RGTrm, data: Batch) -> GraphEncoderOutput:
    x = model.node_encoder(data)
    edge_attr = model.edge_encoder(data.edge_type, data.edge_label, data.edge_weight)
    keep = ~torch.isin(data.edge_type, torch.tensor(TEMPORAL_EDGE_TYPES))
    edge_index, edge_attr = data.edge_index[:, keep], edge_attr[keep]
    b = data.num_graphs
    for k, (spatial, temporal) in enumerate(zip(model.spatial, model.temporal, strict=True)):
        x = gtrm_layer(spatial, x, edge_index, edge_attr)
        x = recurrent(temporal, x, data.frame, data.coref_index, data.batch, b)
        if k < len(model.stgd):
            x, _ = stgd(model.stgd[k], x, edge_index, edge_attr, data)
    return GraphEncoderOutput(x, scatter(x, data.batch, dim=0, dim_size=b, reduce="mean"))


def gtrm(model: GTrm, data: Batch) -> GraphEncoderOutput:
    x = model.node_encoder(data)
    edge_attr = model.edge_encoder(data.edge_type, data.edge_label, data.edge_weight)
    for layer in model.layers:
        x = gtrm_layer(layer, x, data.edge_index, edge_attr)
    b = data.num_graphs
    return GraphEncoderOutput(x, scatter(x, data.batch, dim=0, dim_size=b, reduce="mean"))


def random_graph(
    rng: random.Random, text_nodes: int, frames: int, tracks: int, region_dim: int = 0
) -> Data:
    """A random space-time graph: text nodes with random text edges, object occurrences that
    come and go (a track may skip frames; some frames may be empty), random relations or
    co-occurrence inside a frame, coreference along each track, random cross edges."""
    nodes, edges = vocabularies()
    builder = SceneGraphBuilder(nodes, edges)
    labels = nodes.to_list()
    text = [
        builder.node(rng.choice(["object", "attribute", "predicate"]), rng.choice(labels),
                     span=(3 * k, 3 * k + 2))
        for k in range(text_nodes)
    ]  # fmt: skip
    for a in text:
        for c in text:
            if a < c and rng.random() < 0.4:
                builder.edge(a, c, rng.choice(["agent", "patient", "has_attribute", "before"]))
    last: dict[int, int] = {}
    visual = []
    for t in range(frames):
        here = []
        for track in range(tracks):
            if rng.random() < 0.3:
                continue
            x, y = rng.random() * 0.8, rng.random() * 0.8
            box = (x, y, x + 0.1 + rng.random() * 0.1, y + 0.1)
            row = builder.node("visual", rng.choice(labels), box=box, frame=t, track=track)
            if track in last:
                builder.edge(last[track], row, "coref")
                builder.coref.append((last[track], row))
            last[track] = row
            here.append(row)
        for a in here:
            for c in here:
                if a < c:
                    if rng.random() < 0.3:
                        builder.edge(a, c, "spatial", rng.choice(edges.to_list()))
                    else:
                        builder.edge(a, c, "cooccur")
        visual += here
    for a in text:
        for row in visual:
            if rng.random() < 0.15:
                builder.edge(a, row, "cross", None, rng.random())
    region = torch.randn(builder.num_nodes, region_dim) if region_dim else None
    return builder.to_data(region)


def random_batch(seed: int, graphs: int, region_dim: int = 0) -> Batch:
    rng = random.Random(seed)
    items = [
        random_graph(rng, rng.randint(0, 6), rng.randint(0, 6), rng.randint(1, 4), region_dim)
        for _ in range(graphs)
    ]
    return Batch.from_data_list(items)


def assert_matches(
    model: GTrm | RGTrm,
    reference_forward: Callable[[Any, Batch], GraphEncoderOutput],
    batch: Batch,
) -> None:
    """``model`` and its reference form give the same outputs and parameter gradients on
    ``batch`` (a loss over node and graph outputs), within float tolerance."""
    outputs = []
    for forward in (model, lambda data: reference_forward(model, data)):
        model.zero_grad()
        out = forward(batch)
        (out.node.pow(2).sum() + out.graph.sum()).backward()
        grads = [p.grad.clone() for p in model.parameters()]  # type: ignore[union-attr]
        outputs.append((out.node.detach(), out.graph.detach(), grads))
    (node, graph, grads), (ref_node, ref_graph, ref_grads) = outputs
    assert torch.allclose(node, ref_node, atol=1e-5)
    assert torch.allclose(graph, ref_graph, atol=1e-5)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        assert torch.allclose(grad, ref_grad, atol=1e-4, rtol=1e-4)
