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

    The frame's rows are a slice of the schedule's order, those without a predecessor first
    (``unlinked`` of them). The predecessors of the others were updated at earlier steps: they
    are rows ``previous`` of those steps' outputs from step ``source`` on, concatenated.
    Shapes: ``previous`` (R - unlinked,); ``graphs`` (R,) each row's graph; ``present``
    (B, 1) bool, the graphs with a row at this frame; ``count`` (B, 1) their rows (at least 1).
    """

    size: int
    unlinked: int
    source: int
    previous: Tensor
    graphs: Tensor
    present: Tensor
    count: Tensor


@dataclass
class FrameSchedule:
    """The recurrence's visiting order for one pass, made once (:meth:`build`) with a few
    whole-batch operations and reused by every layer.

    ``order`` (V,): the visual rows frame by frame; ``steps``: one per frame with rows;
    ``restore`` (N,): where each row's final state lies in ``cat([x, cat(step outputs)])``.
    """

    order: Tensor
    steps: list[FrameStep]
    restore: Tensor

    @classmethod
    def build(cls, frame: Tensor, pred: Tensor, batch: Tensor, num_graphs: int) -> FrameSchedule:
        n = frame.shape[0]
        visual = (frame >= 0).nonzero().flatten()
        linked = (pred[visual] >= 0).long()
        # Stable: inside a frame and a kind, rows keep their order.
        order = visual[torch.sort(frame[visual] * 2 + linked, stable=True).indices]
        frames = frame[order]
        position = torch.full((n,), -1, dtype=torch.long, device=frame.device)
        position[order] = torch.arange(order.numel(), device=frame.device)
        restore = torch.where(position >= 0, n + position, torch.arange(n, device=frame.device))
        if order.numel() == 0:
            return cls(order, [], restore)
        has_pred = pred[order] >= 0
        if bool((frame[pred[order]][has_pred] >= frames[has_pred]).any()):
            raise ValueError("a coreference link does not go forward in time")
        length = int(frames[-1]) + 1
        sizes = torch.bincount(frames, minlength=length)
        present_frames = (sizes > 0).nonzero().flatten()
        step_of_frame = torch.cumsum(sizes > 0, 0) - 1  # (T,) step index of each frame
        starts = torch.cumsum(sizes[present_frames], 0) - sizes[present_frames]  # (S,)
        # The first earlier step each step reads predecessors from.
        row_step = step_of_frame[frames]
        pred_step = torch.where(has_pred, step_of_frame[frame[pred[order]].clamp(min=0)], -1)
        num_steps = present_frames.numel()
        source = torch.full((num_steps,), num_steps, dtype=torch.long, device=frame.device)
        source.scatter_reduce_(0, row_step[has_pred], pred_step[has_pred], "amin")
        local = position[pred[order]] - starts[source.clamp(max=num_steps - 1)][row_step]
        # (S, B) rows of each graph at each step, in one count.
        graphs = batch[order]
        counts = torch.bincount(row_step * num_graphs + graphs, minlength=num_steps * num_graphs)
        counts = counts.view(num_steps, num_graphs, 1)
        size_list = sizes[present_frames].tolist()
        unlinked = torch.bincount(row_step[~has_pred], minlength=num_steps).tolist()
        steps = [
            FrameStep(
                size=size,
                unlinked=unlinked[k],
                source=int(source_k),
                previous=local_k[unlinked[k] :],
                graphs=graphs_k,
                present=counts[k] > 0,
                count=counts[k].clamp(min=1).to(torch.get_default_dtype()),
            )
            for k, (size, source_k, local_k, graphs_k) in enumerate(
                zip(size_list, source.tolist(), local.split(size_list),
                    graphs.split(size_list), strict=True)
            )
        ]  # fmt: skip
        return cls(order, steps, restore)


class RecurrentUpdate(nn.Module):
    """Temporal propagation over frames, in order.

    For frame t: nodes first read their graph's memory M_(t-1); a node with a predecessor is
    then updated h_i <- GRU(h_i, h_pi(i)) (the predecessor already updated at its own frame);
    finally M_t = (1 - z) * tanh(W M_(t-1) + U m_t) + z * M_(t-1), z = sigmoid(W' M_(t-1) + U' m_t),
    m_t the mean of the graph's nodes at t. Text nodes (frame -1) pass unchanged.

    The loop runs over frames only, each step on every graph of the batch at once, following
    ``schedule`` (:meth:`FrameSchedule.build`, made when not given). Each step's output is its
    own tensor and predecessors are read from the steps before, so that the backward pass
    costs O(rows of a step) per step, not O(all rows) as writes into one state tensor would.

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
        schedule: FrameSchedule | None = None,
    ) -> Tensor:
        if schedule is None:
            pred = predecessors(coref_index, x.shape[0])
            schedule = FrameSchedule.build(frame, pred, batch, num_graphs)
        if not schedule.steps:
            return x
        hidden = x.shape[1]
        memory = x.new_zeros(num_graphs, hidden)
        # The gate and the candidate read the same input: one product for both.
        weight = torch.cat([self.gate.weight, self.candidate.weight])
        bias = torch.cat([self.gate.bias, self.candidate.bias])
        inputs = x.index_select(0, schedule.order).split([s.size for s in schedule.steps])
        outputs: list[Tensor] = []
        for k, step in enumerate(schedule.steps):
            read = self.read_memory(memory).index_select(0, step.graphs)
            current = inputs[k] + read
            if step.previous.numel():
                earlier = outputs[step.source] if step.source == k - 1 else None
                source = earlier if earlier is not None else torch.cat(outputs[step.source : k])
                previous = source.index_select(0, step.previous)
                current = torch.cat(
                    [current[: step.unlinked], self.cell(current[step.unlinked :], previous)]
                )
            outputs.append(current)
            total = current.new_zeros(memory.shape).index_add_(0, step.graphs, current)
            both = torch.cat([memory, total / step.count], dim=1)
            z, candidate = torch.addmm(bias, both, weight.t()).split(hidden, dim=1)
            z = torch.sigmoid(z)
            updated = (1 - z) * torch.tanh(candidate) + z * memory
            memory = torch.where(step.present, updated, memory)
        return torch.cat([x, *outputs]).index_select(0, schedule.restore)


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
        schedule = FrameSchedule.build(data.frame, pred, batch, num_graphs)
        for k, (spatial, temporal) in enumerate(zip(self.spatial, self.temporal, strict=True)):
            x = spatial(x, edge_index, edge_attr)
            x = temporal(x, data.frame, data.coref_index, batch, num_graphs, schedule)
            if k < len(self.stgd):
                x, self.moving = self.stgd[k](
                    x, edge_index, edge_attr, data.box, data.frame, data.coref_index, motion
                )
        return GraphEncoderOutput(node=x, graph=mean_pool(x, batch, num_graphs))
