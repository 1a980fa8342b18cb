"""R-GTrm: the recurrent graph Transformer for DSGs and HSGs.

Each layer attends spatially (a :class:`GTrmLayer` over every non-temporal edge: relations and
co-occurrence inside a frame, text edges, cross-modal edges), then propagates along time: frame by
frame, each visual node is updated by a GRU cell from its coreferent node in the previous frame,
and every graph keeps a frame memory (a gated update, as in MART) that the next frame's nodes
read. Optional :class:`STGDLayer` blocks sit between R-GTrm layers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

from finsta_cli.graph.convert import TEMPORAL_EDGE_TYPES
from finsta_cli.nn.gtrm import (
    EdgeEncoder,
    GraphEncoderOutput,
    GTrmLayer,
    NodeEncoder,
    graph_batch_vector,
    mean_pool,
    num_graphs_of,
)
from finsta_cli.nn.stgd import STGDLayer, predecessors


class RecurrentUpdate(nn.Module):
    """Temporal propagation over frames, in order.

    For frame t: nodes first read their graph's memory M_(t-1); a node with a predecessor is
    then updated h_i <- GRU(h_i, h_pi(i)) (the predecessor already updated at its own frame);
    finally M_t = (1 - z) * tanh(W M_(t-1) + U m_t) + z * M_(t-1), z = sigmoid(W' M_(t-1) + U' m_t),
    m_t the mean of the graph's nodes at t. Text nodes (frame -1) pass unchanged.

    Shapes: x (N, H); frame (N,); coref_index (2, C); batch (N,) -> (N, H)
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.cell = nn.GRUCell(hidden, hidden)
        self.read_memory = nn.Linear(hidden, hidden)
        self.candidate = nn.Linear(2 * hidden, hidden)
        self.gate = nn.Linear(2 * hidden, hidden)

    def forward(
        self, x: Tensor, frame: Tensor, coref_index: Tensor, batch: Tensor, num_graphs: int
    ) -> Tensor:
        if not bool((frame >= 0).any()):
            return x
        pred = predecessors(coref_index, x.shape[0])
        memory = x.new_zeros(num_graphs, x.shape[1])
        # Rows are written in place, frame by frame: autograd keeps no reference to ``state``
        # itself (gathers save indices only), and a full copy per frame would cost O(T N H).
        state = x.clone()
        for t in range(int(frame.max()) + 1):
            rows = (frame == t).nonzero(as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            current = state[rows] + self.read_memory(memory[batch[rows]])
            linked = pred[rows] >= 0
            if bool(linked.any()):
                previous = state[pred[rows[linked]]]
                current = torch.cat([current[~linked], self.cell(current[linked], previous)])
                rows = torch.cat([rows[~linked], rows[linked]])
            state[rows] = current
            graphs = batch[rows]
            present = torch.zeros(num_graphs, dtype=torch.bool, device=x.device)
            present[graphs] = True
            frame_mean = scatter(current, graphs, dim=0, dim_size=num_graphs, reduce="mean")
            both = torch.cat([memory, frame_mean], dim=1)
            z = torch.sigmoid(self.gate(both))
            updated = (1 - z) * torch.tanh(self.candidate(both)) + z * memory
            memory = torch.where(present.unsqueeze(-1), updated, memory)
        return state


class RGTrm(nn.Module):
    """The DSG / HSG encoder: ``layers`` R-GTrm layers with STGD layers between them.

    Shapes:
        - input: a graph from :func:`dsg_to_data` / :func:`hsg_to_data` or a ``Batch`` of them
          (N nodes, E edges, B graphs)
        - output: :class:`GraphEncoderOutput` with node (N, H) and graph (B, H); ``moving``
          holds the last STGD layer's (N,) moving-ness after a forward pass
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
        stgd: bool = True,
    ) -> None:
        super().__init__()
        self.node_encoder = NodeEncoder(num_node_labels, hidden, region_dim)
        self.edge_encoder = EdgeEncoder(num_edge_labels, edge_dim)
        self.spatial = nn.ModuleList(
            GTrmLayer(hidden, edge_dim, heads, dropout) for _ in range(layers)
        )
        self.temporal = nn.ModuleList(RecurrentUpdate(hidden) for _ in range(layers))
        self.stgd = nn.ModuleList(
            STGDLayer(hidden, edge_dim, heads, dropout) for _ in range(layers - 1 if stgd else 0)
        )
        self.moving: Tensor | None = None

    def forward(self, data: Data | Batch) -> GraphEncoderOutput:
        x = self.node_encoder(data)
        edge_attr = self.edge_encoder(data.edge_type, data.edge_label, data.edge_weight)
        keep = ~torch.isin(data.edge_type, torch.tensor(TEMPORAL_EDGE_TYPES, device=x.device))
        edge_index, edge_attr = data.edge_index[:, keep], edge_attr[keep]
        batch, num_graphs = graph_batch_vector(data), num_graphs_of(data)
        for k, (spatial, temporal) in enumerate(zip(self.spatial, self.temporal, strict=True)):
            x = spatial(x, edge_index, edge_attr)
            x = temporal(x, data.frame, data.coref_index, batch, num_graphs)
            if k < len(self.stgd):
                x, self.moving = self.stgd[k](
                    x, edge_index, edge_attr, data.box, data.frame, data.coref_index
                )
        return GraphEncoderOutput(node=x, graph=mean_pool(x, batch, num_graphs))
