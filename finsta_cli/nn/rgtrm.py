"""R-GTrm: the recurrent graph Transformer for DSGs and HSGs.

Each layer attends spatially (a :class:`GTrmLayer` over every non-temporal edge: relations and
co-occurrence inside a frame, text edges, cross-modal edges), then propagates along time: frame by
frame, each visual node is updated by a GRU cell from its coreferent node in the previous frame,
and every graph keeps a frame memory (a gated update, as in MART) that the next frame's nodes
read. Optional :class:`STGDLayer` blocks sit between R-GTrm layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

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
from finsta_cli.nn.stgd import Motion, STGDLayer, predecessors


@dataclass
class FrameStep:
    """The rows the recurrence updates at one frame, and what it reads for them.

    Shapes: ``rows`` (R,), those without a predecessor first (``unlinked`` of them);
    ``previous`` (R - unlinked,) the predecessors of the others; ``graphs`` (R,) each row's
    graph; ``present`` (B, 1) bool, the graphs with a row at this frame; ``count`` (B, 1) their
    rows (at least 1).
    """

    rows: Tensor
    unlinked: int
    previous: Tensor
    graphs: Tensor
    present: Tensor
    count: Tensor


def frame_schedule(frame: Tensor, pred: Tensor, batch: Tensor, num_graphs: int) -> list[FrameStep]:
    """The recurrence's frames in order (frames without rows left out), made once per pass
    with a few whole-batch operations (one sort, two counts, one split): every layer reuses it.
    """
    visual = (frame >= 0).nonzero().flatten()
    if visual.numel() == 0:
        return []
    linked = (pred[visual] >= 0).long()
    # Stable: inside a frame and a kind, rows keep their order.
    order = torch.sort(frame[visual] * 2 + linked, stable=True).indices
    rows_sorted = visual[order]
    frames = frame[rows_sorted]
    length = int(frames[-1]) + 1
    sizes = torch.bincount(frames, minlength=length).tolist()
    unlinked = torch.bincount(frames[linked[order] == 0], minlength=length).tolist()
    graphs_sorted = batch[rows_sorted]
    # (T, B) rows of each graph at each frame, in one count.
    counts = torch.bincount(frames * num_graphs + graphs_sorted, minlength=length * num_graphs)
    counts = counts.view(length, num_graphs, 1)
    steps = []
    for t, (rows, graphs) in enumerate(
        zip(rows_sorted.split(sizes), graphs_sorted.split(sizes), strict=True)
    ):
        if sizes[t] == 0:
            continue
        steps.append(
            FrameStep(
                rows=rows,
                unlinked=unlinked[t],
                previous=pred[rows[unlinked[t] :]],
                graphs=graphs,
                present=counts[t] > 0,
                count=counts[t].clamp(min=1).to(torch.get_default_dtype()),
            )
        )
    return steps


class RecurrentUpdate(nn.Module):
    """Temporal propagation over frames, in order.

    For frame t: nodes first read their graph's memory M_(t-1); a node with a predecessor is
    then updated h_i <- GRU(h_i, h_pi(i)) (the predecessor already updated at its own frame);
    finally M_t = (1 - z) * tanh(W M_(t-1) + U m_t) + z * M_(t-1), z = sigmoid(W' M_(t-1) + U' m_t),
    m_t the mean of the graph's nodes at t. Text nodes (frame -1) pass unchanged. The loop runs
    over frames only (each step works on every graph of the batch at once), following
    ``schedule`` (:func:`frame_schedule`, made when not given).

    Shapes: x (N, H); frame (N,); coref_index (2, C); batch (N,) -> (N, H)
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.cell = nn.GRUCell(hidden, hidden)
        self.read_memory = nn.Linear(hidden, hidden)
        self.candidate = nn.Linear(2 * hidden, hidden)
        self.gate = nn.Linear(2 * hidden, hidden)

    def forward(
        self,
        x: Tensor,
        frame: Tensor,
        coref_index: Tensor,
        batch: Tensor,
        num_graphs: int,
        schedule: list[FrameStep] | None = None,
    ) -> Tensor:
        if schedule is None:
            pred = predecessors(coref_index, x.shape[0])
            schedule = frame_schedule(frame, pred, batch, num_graphs)
        if not schedule:
            return x
        memory = x.new_zeros(num_graphs, x.shape[1])
        # Rows are written in place, frame by frame: autograd keeps no reference to ``state``
        # itself (gathers save indices only), and a full copy per frame would cost O(T N H).
        state = x.clone()
        for step in schedule:
            # The memory read projected once per graph, then gathered for its rows.
            read = self.read_memory(memory).index_select(0, step.graphs)
            current = state.index_select(0, step.rows) + read
            if step.previous.numel():
                k = step.unlinked
                previous = state.index_select(0, step.previous)
                current = torch.cat([current[:k], self.cell(current[k:], previous)])
            state.index_copy_(0, step.rows, current)
            total = memory.new_zeros(memory.shape).index_add_(0, step.graphs, current)
            both = torch.cat([memory, total / step.count], dim=1)
            z = torch.sigmoid(self.gate(both))
            updated = (1 - z) * torch.tanh(self.candidate(both)) + z * memory
            memory = torch.where(step.present, updated, memory)
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
        # The graph's structure, read by every layer, is worked out once per pass.
        motion = None
        if self.stgd:
            motion = Motion.of(edge_index, data.box, data.frame, data.coref_index)
        pred = motion.pred if motion is not None else predecessors(data.coref_index, x.shape[0])
        schedule = frame_schedule(data.frame, pred, batch, num_graphs)
        for k, (spatial, temporal) in enumerate(zip(self.spatial, self.temporal, strict=True)):
            x = spatial(x, edge_index, edge_attr)
            x = temporal(x, data.frame, data.coref_index, batch, num_graphs, schedule)
            if k < len(self.stgd):
                x, self.moving = self.stgd[k](
                    x, edge_index, edge_attr, data.box, data.frame, data.coref_index, motion
                )
        return GraphEncoderOutput(node=x, graph=mean_pool(x, batch, num_graphs))
