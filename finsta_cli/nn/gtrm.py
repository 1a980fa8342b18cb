"""GTrm: a graph Transformer with edge features, residuals, LayerNorm and feed-forward blocks.

The attention (:class:`EdgeAttention`) is torch-geometric's ``TransformerConv`` with ``edge_dim``
(edge features enter the keys and values) and ``beta=True`` (a learned gate between the attended
message and the node's own state): the close equivalent of the Dwivedi & Bresson graph
Transformer that the paper's authors use. It is written here as a few large kernels over all
edges of a batch (one fused query/key/value/skip projection, gathers of keys and values, one
scatter-softmax over every edge of every graph, one scatter-add of the messages) with the same
parameters, initial weights and results as ``TransformerConv``. See docs/graph-encoders.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

from finsta_cli.graph.convert import EDGE_TYPES, NODE_TYPES

MAX_FRAMES = 256


@dataclass
class GraphEncoderOutput:
    """Encoder result. Shapes: ``node`` (N, H); ``graph`` (B, H), mean of each graph's nodes."""

    node: Tensor
    graph: Tensor


def graph_batch_vector(data: Data | Batch) -> Tensor:
    """(N,) graph index of each node; zeros for a single graph."""
    batch = getattr(data, "batch", None)
    if batch is None:
        return torch.zeros(data.num_nodes, dtype=torch.long, device=data.node_type.device)
    return batch


def mean_pool(node: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """(N, H), (N,) -> (B, H): mean of each graph's nodes; zeros for an empty graph."""
    return scatter(node, batch, dim=0, dim_size=num_graphs, reduce="mean")


def num_graphs_of(data: Data | Batch) -> int:
    return int(getattr(data, "num_graphs", 1) or 1)


def edge_softmax(score: Tensor, target: Tensor, num_nodes: int) -> Tensor:
    """Softmax of edge scores over the edges into each target node, for all edges of a batch at
    once: one scatter-max, one scatter-sum. Shapes: score (E, ...), target (E,) -> (E, ...)."""
    if score.shape[0] == 0:
        return score
    index = target.view(-1, *([1] * (score.dim() - 1))).expand_as(score)
    shape = (num_nodes, *score.shape[1:])
    # The maximum only keeps exp() in range: no gradient through it (the softmax is unchanged).
    peak = score.new_full(shape, float("-inf"))
    peak.scatter_reduce_(0, index, score.detach(), "amax", include_self=False)
    weight = (score - peak.index_select(0, target)).exp()
    total = weight.new_zeros(shape).index_add_(0, target, weight)
    return weight / (total.index_select(0, target) + 1e-16)


class EdgeAttention(nn.Module):
    """Multi-head attention along the edges, with edge features and a gated skip connection.

    Per head (C = H / heads channels) for the edge j -> i with features e_ij:
    alpha_ij = softmax_j((W_q h_i)·(W_k h_j + W_e e_ij) / sqrt(C)); m_i = sum_j alpha_ij
    (W_v h_j + W_e e_ij); the heads concatenated, r_i = W_r h_i, beta_i = sigmoid(w_b ·
    [m_i; r_i; m_i - r_i]), output beta_i r_i + (1 - beta_i) m_i. This is ``TransformerConv(
    hidden, hidden // heads, heads, concat=True, beta=True, edge_dim=edge_dim)`` of
    torch-geometric, with W_q, W_k, W_v, W_r fused into one (4H, H) projection. A checkpoint
    written with ``TransformerConv``'s parameter names loads into it.

    Shapes: x (N, H); edge_index (2, E); edge_attr (E, D_e) -> (N, H)
    """

    def __init__(self, hidden: int, heads: int, edge_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden, self.heads, self.channels = hidden, heads, hidden // heads
        self.dropout = dropout
        # The layers' own initialisation is drawn in a forked generator and discarded:
        # reset_parameters draws the weights, as TransformerConv did.
        with torch.random.fork_rng(devices=[]):
            self.project = nn.Linear(hidden, 4 * hidden)  # rows: query, key, value, skip
            self.edge = nn.Linear(edge_dim, hidden, bias=False)
            self.gate = nn.Linear(3 * hidden, 1, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """TransformerConv's initialisation, drawn in its order (key, query, value, edge, skip,
        gate, twice: once as its layers are made, once in its own reset), so that a seed gives
        the same initial weights as it did."""
        h = self.hidden
        blocks = {name: slice(k * h, (k + 1) * h) for k, name in enumerate(("q", "k", "v", "r"))}
        weight, bias = self.project.weight, self.project.bias
        with torch.no_grad():
            for _ in range(2):
                for name in ("k", "q", "v"):
                    _linear_init(weight[blocks[name]], bias[blocks[name]])
                _linear_init(self.edge.weight, None)
                _linear_init(weight[blocks["r"]], bias[blocks["r"]])
                _linear_init(self.gate.weight, None)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        n, h, heads, c = x.shape[0], self.hidden, self.heads, self.channels
        source, target = edge_index[0], edge_index[1]
        projected = self.project(x)
        query, skip = projected[:, :h], projected[:, 3 * h :]
        # Keys and values of the sending nodes, the edge term added to both. Gathered apart:
        # the element-wise products below run at half speed on a strided (E, 2, H) view.
        edge = self.edge(edge_attr)  # (E, H)
        key = projected[:, h : 2 * h].index_select(0, source) + edge
        value = projected[:, 2 * h : 3 * h].index_select(0, source) + edge
        score = (query.index_select(0, target) * key).view(-1, heads, c).sum(-1)
        alpha = edge_softmax(score / math.sqrt(c), target, n)  # (E, heads)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        message = (value.view(-1, heads, c) * alpha.unsqueeze(-1)).view(-1, h)
        attended = message.new_zeros(n, h).index_add_(0, target, message)
        beta = torch.sigmoid(self.gate(torch.cat([attended, skip, attended - skip], dim=-1)))
        return beta * skip + (1 - beta) * attended

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        _from_transformer_conv(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _linear_init(weight: Tensor, bias: Tensor | None) -> None:
    """nn.Linear's (and torch-geometric Linear's) default initialisation of one block."""
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(weight.shape[1]) if weight.shape[1] else 0.0
        nn.init.uniform_(bias, -bound, bound)


_CONV_NAMES = {"query": "lin_query", "key": "lin_key", "value": "lin_value", "skip": "lin_skip"}


def _from_transformer_conv(state_dict: dict[str, Any], prefix: str) -> None:
    """Rewrite, in place, a TransformerConv's parameters under ``prefix`` (checkpoints written
    before :class:`EdgeAttention`) as EdgeAttention's."""
    if f"{prefix}lin_query.weight" not in state_dict:
        return
    parts: Mapping[str, str] = _CONV_NAMES
    for kind in ("weight", "bias"):
        state_dict[f"{prefix}project.{kind}"] = torch.cat(
            [state_dict.pop(f"{prefix}{parts[name]}.{kind}") for name in parts]
        )
    state_dict[f"{prefix}edge.weight"] = state_dict.pop(f"{prefix}lin_edge.weight")
    state_dict[f"{prefix}gate.weight"] = state_dict.pop(f"{prefix}lin_beta.weight")


class NodeEncoder(nn.Module):
    """Initial node states from type, label, geometry, frame position and region features.

    Shapes:
        - input: a graph from :mod:`finsta_cli.graph.convert` with N nodes
        - output: (N, H)
    """

    def __init__(
        self, num_labels: int, hidden: int, region_dim: int = 0, visual: bool = True
    ) -> None:
        super().__init__()
        self.type_embedding = nn.Embedding(len(NODE_TYPES), hidden)
        self.label_embedding = nn.Embedding(num_labels, hidden)
        # Text-only graphs (the TSG) have no boxes or frames: no parameters for them.
        self.frame_embedding = nn.Embedding(MAX_FRAMES + 1, hidden) if visual else None
        self.geometry = nn.Linear(6, hidden) if visual else None
        self.region_dim = region_dim
        self.region = nn.Linear(region_dim, hidden) if region_dim else None
        self.norm = nn.LayerNorm(hidden)

    def forward(self, data: Data | Batch) -> Tensor:
        state = self.type_embedding(data.node_type) + self.label_embedding(data.label)
        if self.geometry is not None and self.frame_embedding is not None:
            box = data.box
            size = (box[:, 2:] - box[:, :2]).clamp(min=0)
            state = state + self.geometry(torch.cat([box, size], dim=1))
            state = state + self.frame_embedding((data.frame + 1).clamp(0, MAX_FRAMES))
        if self.region is not None:
            region = getattr(data, "region", None)
            if region is not None:
                state = state + self.region(region)
        return self.norm(state)


class EdgeEncoder(nn.Module):
    """Edge features from edge type, relation label and weight.

    Shapes: ``edge_type``, ``edge_label``, ``edge_weight`` (E,) -> (E, D_e).
    """

    def __init__(self, num_labels: int, edge_dim: int) -> None:
        super().__init__()
        self.type_embedding = nn.Embedding(len(EDGE_TYPES), edge_dim)
        self.label_embedding = nn.Embedding(num_labels, edge_dim)
        self.weight = nn.Linear(1, edge_dim)

    def forward(self, edge_type: Tensor, edge_label: Tensor, edge_weight: Tensor) -> Tensor:
        return (
            self.type_embedding(edge_type)
            + self.label_embedding(edge_label)
            + self.weight(edge_weight.unsqueeze(-1))
        )


class GTrmLayer(nn.Module):
    """One graph Transformer block: x <- LN(x + Attn(x, E)); x <- LN(x + FFN(x)).

    Shapes:
        - x: (N, H); edge_index: (2, E); edge_attr: (E, D_e)
        - output: (N, H)
    """

    def __init__(self, hidden: int, edge_dim: int, heads: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not divisible by {heads} heads")
        self.attention = EdgeAttention(hidden, heads, edge_dim, dropout)
        self.norm_attention = nn.LayerNorm(hidden)
        self.feed_forward = nn.Sequential(
            nn.Linear(hidden, 2 * hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(2 * hidden, hidden),
        )
        self.norm_feed_forward = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        attended = self.attention(x, edge_index, edge_attr)
        x = self.norm_attention(x + self.dropout(attended))
        return self.norm_feed_forward(x + self.dropout(self.feed_forward(x)))


class GTrm(nn.Module):
    """The TSG encoder: node and edge encoders, then ``layers`` :class:`GTrmLayer` blocks.

    Shapes:
        - input: a TSG graph or a ``Batch`` of them (N nodes, E edges, B graphs)
        - output: :class:`GraphEncoderOutput` with node (N, H) and graph (B, H)
    """

    def __init__(
        self,
        num_node_labels: int,
        num_edge_labels: int,
        hidden: int = 128,
        layers: int = 2,
        heads: int = 4,
        edge_dim: int = 32,
        dropout: float = 0.1,
        region_dim: int = 0,
    ) -> None:
        super().__init__()
        # ``region_dim``: per-node input features (``data.region``), e.g. host token features
        # pooled on each node's span during alignment.
        self.node_encoder = NodeEncoder(num_node_labels, hidden, region_dim, visual=False)
        self.edge_encoder = EdgeEncoder(num_edge_labels, edge_dim)
        self.layers = nn.ModuleList(
            GTrmLayer(hidden, edge_dim, heads, dropout) for _ in range(layers)
        )

    def forward(self, data: Data | Batch) -> GraphEncoderOutput:
        x = self.node_encoder(data)
        edge_attr = self.edge_encoder(data.edge_type, data.edge_label, data.edge_weight)
        for layer in self.layers:
            x = layer(x, data.edge_index, edge_attr)
        batch = graph_batch_vector(data)
        return GraphEncoderOutput(node=x, graph=mean_pool(x, batch, num_graphs_of(data)))
