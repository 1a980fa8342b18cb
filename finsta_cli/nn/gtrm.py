"""GTrm: a graph Transformer with edge features, residuals, LayerNorm and feed-forward blocks.

The attention is torch-geometric's ``TransformerConv`` with ``edge_dim`` (edge features enter the
keys and values) and ``beta=True`` (a learned gate between the attended message and the node's
own state): the close equivalent of the Dwivedi & Bresson graph Transformer that the paper's
authors use. See docs/graph-encoders.md for the equations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import TransformerConv
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
        self.attention = TransformerConv(
            hidden, hidden // heads, heads=heads, concat=True, beta=True, edge_dim=edge_dim,
            dropout=dropout,
        )  # fmt: skip
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
