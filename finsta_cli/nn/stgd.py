"""STGD: the spatial-temporal Gaussian differential layer between R-GTrm layers.

For a visual node i in frame t with coreferent predecessor pi(i) (its track's previous
occurrence) and same-frame neighbours j that also have predecessors:

    r_ij^t  = c_j^t - c_i^t                                   (relative position, box centres)
    D_i^t   = mean_j || r_ij^t - r_pi(i)pi(j)^(t-1) ||        (|| c_i^t - c_pi(i) || without
                                                               such neighbours; 0 without pi(i))
    g_i     = 1 - exp(-(D_i^t)^2 / (2 sigma_t^2))             (moving-ness in [0, 1))
    d_sp,i  = h_i - sum_j softmax_j(-||c_i - c_j||^2 / (2 sigma_s^2)) h_j
    d_tm,i  = h_i - h_pi(i)                                   (0 without pi(i))
    h_i    <- GTrmLayer(h; edge features + log(eps + g_j))_i + g_i W [d_sp,i ; d_tm,i]

The attention sees log(eps + g_j) of each neighbour as an extra edge feature, so it can learn to
attend to moving neighbours; the differential term is injected in proportion to how much node i
moves. sigma_t and sigma_s are learnable (initialised in units of the frame size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from finsta_cli.nn.gtrm import GTrmLayer, edge_softmax


def box_centres(box: Tensor) -> Tensor:
    """(N, 4) xyxy -> (N, 2) centres."""
    return (box[:, :2] + box[:, 2:]) / 2


def predecessors(coref_index: Tensor, num_nodes: int) -> Tensor:
    """(2, C) previous -> next links -> (N,) index of each node's predecessor, -1 when none."""
    pred = torch.full((num_nodes,), -1, dtype=torch.long, device=coref_index.device)
    if coref_index.numel():
        pred[coref_index[1]] = coref_index[0]
    return pred


def same_frame_edges(edge_index: Tensor, frame: Tensor) -> Tensor:
    """(E,) bool: edges between two visual nodes of one frame."""
    source, target = edge_index
    return (frame[source] >= 0) & (frame[source] == frame[target]) & (source != target)


def relative_displacement(
    centre: Tensor, edge_index: Tensor, frame: Tensor, pred: Tensor
) -> Tensor:
    """D_i: (N,) change of each node's position relative to its neighbours since its
    previous occurrence (see the module docstring)."""
    return _displacement(centre, edge_index[:, same_frame_edges(edge_index, frame)], pred)


def _displacement(centre: Tensor, pairs: Tensor, pred: Tensor) -> Tensor:
    """:func:`relative_displacement` over the same-frame (j, i) ``pairs`` (2, S)."""
    num_nodes = centre.shape[0]
    j, i = pairs
    has_both = (pred[i] >= 0) & (pred[j] >= 0)
    i, j = i[has_both], j[has_both]
    now = centre[j] - centre[i]
    before = centre[pred[j]] - centre[pred[i]]
    change = (now - before).norm(dim=1)
    total = scatter(change, i, dim=0, dim_size=num_nodes, reduce="sum")
    count = scatter(torch.ones_like(change), i, dim=0, dim_size=num_nodes, reduce="sum")
    relative = total / count.clamp(min=1)
    has_pred = pred >= 0
    own = torch.zeros_like(relative)
    own[has_pred] = (centre[has_pred] - centre[pred[has_pred]]).norm(dim=1)
    return torch.where(count > 0, relative, own)


@dataclass
class Motion:
    """What STGD reads of a graph's boxes and links, the same in every layer of a pass: made
    once per R-GTrm forward (:meth:`of`), not once per layer.

    Shapes: ``pred`` (N,); ``pairs`` (2, S) same-frame (j, i) edges; ``distance2`` (S,) squared
    centre distance of each pair; ``has_neighbours``, ``has_pred`` (N, 1) bool;
    ``displacement`` (N,) D_i.
    """

    pred: Tensor
    pairs: Tensor
    distance2: Tensor
    has_neighbours: Tensor
    has_pred: Tensor
    displacement: Tensor

    @classmethod
    def of(cls, edge_index: Tensor, box: Tensor, frame: Tensor, coref_index: Tensor) -> Motion:
        num_nodes = box.shape[0]
        centre = box_centres(box)
        pred = predecessors(coref_index, num_nodes)
        pairs = edge_index[:, same_frame_edges(edge_index, frame)]
        j, i = pairs
        has_neighbours = torch.zeros(num_nodes, dtype=torch.bool, device=box.device)
        has_neighbours[i] = True
        return cls(
            pred=pred,
            pairs=pairs,
            distance2=((centre[i] - centre[j]) ** 2).sum(dim=1),
            has_neighbours=has_neighbours.unsqueeze(-1),
            has_pred=(pred >= 0).unsqueeze(-1),
            displacement=_displacement(centre, pairs, pred),
        )


def moving_weight(displacement: Tensor, sigma: Tensor | float) -> Tensor:
    """g = 1 - exp(-D^2 / (2 sigma^2)): 0 for a still node, towards 1 for a moving one."""
    sigma_t = torch.as_tensor(sigma, dtype=displacement.dtype, device=displacement.device)
    return 1 - torch.exp(-(displacement**2) / (2 * sigma_t**2))


class STGDLayer(nn.Module):
    """Spatial-temporal Gaussian differential graph Transformer layer.

    Shapes:
        - x: (N, H); edge_index: (2, E); edge_attr: (E, D_e); box: (N, 4); frame: (N,);
          coref_index: (2, C); ``motion``: the graph's :class:`Motion` when the caller has it
        - output: ((N, H) node states, (N,) moving-ness g)
    """

    def __init__(
        self,
        hidden: int,
        edge_dim: int,
        heads: int = 4,
        dropout: float = 0.0,
        sigma_t: float = 0.05,
        sigma_s: float = 0.2,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        self.attention = GTrmLayer(hidden, edge_dim + 1, heads, dropout)
        self.differential = nn.Linear(2 * hidden, hidden)
        self.log_sigma_t = nn.Parameter(torch.tensor(math.log(sigma_t)))
        self.log_sigma_s = nn.Parameter(torch.tensor(math.log(sigma_s)))
        self.eps = eps

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor,
        box: Tensor,
        frame: Tensor,
        coref_index: Tensor,
        motion: Motion | None = None,
    ) -> tuple[Tensor, Tensor]:
        num_nodes = x.shape[0]
        motion = motion or Motion.of(edge_index, box, frame, coref_index)
        g = moving_weight(motion.displacement, self.log_sigma_t.exp())

        gate = torch.log(self.eps + g).index_select(0, edge_index[0]).unsqueeze(-1)
        attended = self.attention(x, edge_index, torch.cat([edge_attr, gate], dim=1))

        j, i = motion.pairs
        score = -motion.distance2 / (2 * self.log_sigma_s.exp() ** 2)
        weight = edge_softmax(score, i, num_nodes).unsqueeze(-1)
        weighted = weight * x.index_select(0, j)
        neighbourhood = weighted.new_zeros(x.shape).index_add_(0, i, weighted)
        d_spatial = torch.where(motion.has_neighbours, x - neighbourhood, torch.zeros_like(x))
        previous = x.index_select(0, motion.pred.clamp(min=0))
        d_temporal = torch.where(motion.has_pred, x - previous, torch.zeros_like(x))

        injected = g.unsqueeze(-1) * self.differential(torch.cat([d_spatial, d_temporal], dim=1))
        return attended + injected, g
