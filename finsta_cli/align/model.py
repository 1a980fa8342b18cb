"""The Finsta alignment model: a host plus the scene-graph encoders, and its training losses.

The scene-graph encoders sit on the host's own features: a TSG node's input is the host's token
features pooled over the node's character span; a DSG node's input is the host's patch features
pooled inside the node's box in the nearest host frame, next to the detector's region features.
So the contrasts between the graphs (OSC, PTC) train the host's token and patch features too,
and distillation pulls the host's pooled features and embeddings towards the graph encoders'
outputs (stop-gradient on the graph side). See docs/align-train.md for the equations.

Losses (each weighted by the config; off = weight 0):

- ``vtc``: the host's symmetric video-text InfoNCE (in ``fusion`` mode also on the fused
  embeddings, host + graph);
- ``osc``: TSG object vs the k-hop region of its linked DSG track (negatives: every other track
  of the batch);
- ``ptc``: TSG predicate vs the region of its arguments over the interval the video shows it
  (hard negatives: other intervals of the same video; other anchors' regions);
- ``sg``: graph-level InfoNCE between TSG and DSG embeddings (trains the graph embeddings that
  distillation targets);
- ``neg``: each video against its caption and each hard-negative caption made from the
  caption's TSG (events in the other order, directions and relation arguments swapped:
  finsta_cli/align/negatives.py), so the host must read order and direction;
- ``rev`` (off by default): each caption against its video and the same frames played
  backwards (:func:`~finsta_cli.align.losses.reversed_video_loss`), so the video embedding must
  keep the order of events and the direction of motion;
- ``kd``: 1 - cos between projected host features and the graph encoders' features, on token
  spans (TSG nodes), boxes (DSG nodes), and pooled embeddings (text / TSG, video / DSG,
  video+text / HSG).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from finsta_cli.align.batch import AlignBatch, Anchors
from finsta_cli.align.config import AlignMode, Objective
from finsta_cli.align.distributed import Collective
from finsta_cli.align.losses import (
    anchor_info_nce,
    cosine_distance_sum,
    hard_negative_loss,
    negative_distillation,
    reversed_video_loss,
    similarity_distillation,
    symmetric_info_nce,
)
from finsta_cli.hosts.base import HostVLM, TextFeatures, VideoFeatures
from finsta_cli.nn.gtrm import GraphEncoderOutput, GTrm
from finsta_cli.nn.rgtrm import RGTrm

if TYPE_CHECKING:
    from torch_geometric.data import Batch


@dataclass(frozen=True)
class LossWeights:
    vtc: float = 1.0
    osc: float = 1.0
    ptc: float = 1.0
    sg: float = 0.5
    kd: float = 1.0
    neg: float = 1.0
    rev: float = 0.0
    kd_rank: float = 0.0


def span_pool(text: TextFeatures, span: Tensor, graph: Tensor) -> Tensor:
    """Host token features averaged over each node's span. Shapes: span (N, 2), graph (N,) ->
    (N, D); zeros for nodes without a span or whose span covers no token."""
    if span.shape[0] == 0:
        return text.token.new_zeros((0, text.token.shape[-1]))
    offsets = text.offsets[graph]  # (N, L, 2)
    start, end = span[:, :1], span[:, 1:]
    inside = (offsets[..., 0] < end) & (offsets[..., 1] > start) & text.mask[graph]
    inside &= (offsets[..., 0] >= 0) & (span[:, :1] >= 0)
    weight = inside.float()
    weight = weight / weight.sum(dim=1, keepdim=True).clamp(min=1.0)
    # index_select, not text.token[graph]: its backward is one index_add (the backward of
    # advanced indexing sorts the index first under align-train's deterministic kernels).
    return torch.einsum("nl,nld->nd", weight, text.token.index_select(0, graph))


def box_pool(video: VideoFeatures, box: Tensor, host_frame: Tensor, graph: Tensor) -> Tensor:
    """Host patch features averaged over the patches whose centres fall in each node's box (the
    patch nearest the box centre when none does); the frame feature for hosts without patches.
    Shapes: box (N, 4), host_frame (N,), graph (N,) -> (N, D)."""
    if box.shape[0] == 0:
        return video.frame.new_zeros((0, video.frame.shape[-1]))
    frame_row = graph * video.frame.shape[1] + host_frame  # row in the (B * T) frames
    if video.patch is None or video.patch_grid is None:
        return video.frame.flatten(0, 1).index_select(0, frame_row)
    rows, cols = video.patch_grid
    ys = (torch.arange(rows, device=box.device, dtype=box.dtype) + 0.5) / rows
    xs = (torch.arange(cols, device=box.device, dtype=box.dtype) + 0.5) / cols
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack([cx.flatten(), cy.flatten()], dim=1)  # (P, 2)
    inside = (
        (centres[None, :, 0] >= box[:, None, 0])
        & (centres[None, :, 0] <= box[:, None, 2])
        & (centres[None, :, 1] >= box[:, None, 1])
        & (centres[None, :, 1] <= box[:, None, 3])
    ).float()
    middle = torch.stack([(box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2], dim=1)
    nearest = torch.cdist(middle, centres).argmin(dim=1)
    fallback = F.one_hot(nearest, centres.shape[0]).float()
    empty = inside.sum(dim=1, keepdim=True) == 0
    weight = torch.where(empty, fallback, inside)
    weight = weight / weight.sum(dim=1, keepdim=True)
    patches = video.patch.flatten(0, 1).index_select(0, frame_row)  # (N, P, D)
    return torch.einsum("np,npd->nd", weight, patches)


def region_pool(node: Tensor, anchors: Anchors) -> Tensor:
    """(N, H) node states -> (C, H) weighted means of each candidate's entries."""
    if anchors.num_candidates == 0:
        return node.new_zeros((0, node.shape[-1]))
    weighted = node.index_select(0, anchors.cand_node) * anchors.cand_weight.unsqueeze(-1)
    total = scatter(weighted, anchors.cand_index, dim=0, dim_size=anchors.num_candidates)
    norm = scatter(anchors.cand_weight, anchors.cand_index, dim=0, dim_size=anchors.num_candidates)
    return total / norm.clamp(min=1e-6).unsqueeze(-1)


def fuse(host: Tensor, graph: Tensor) -> Tensor:
    """Fusion mode's embedding of a text or a video: normalize(host embedding) +
    normalize(its scene graph's embedding), not normalised again (the contrast does that).

    Shapes: ``host`` (N, E), ``graph`` (N, E) -> (N, E).
    """
    return F.normalize(host, dim=-1) + F.normalize(graph, dim=-1)


class FinstaModel(nn.Module):
    """A host with Finsta's scene-graph encoders and heads (see the module docstring)."""

    def __init__(
        self,
        host: HostVLM,
        *,
        num_node_labels: int,
        num_edge_labels: int,
        region_dim: int,
        hidden: int = 128,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
        stgd: bool = True,
        objective: Objective = "finsta",
        mode: AlignMode = "distill",
        weights: LossWeights | None = None,
        temperature: float = 0.07,
    ) -> None:
        super().__init__()
        self.host = host
        self.objective: Objective = objective
        self.mode: AlignMode = mode
        self.weights = weights or LossWeights()
        self.temperature = temperature
        self.region_dim = region_dim
        d, e = host.feature_dim, host.embed_dim
        self.sg_config: dict[str, Any] = {
            "num_node_labels": num_node_labels, "num_edge_labels": num_edge_labels,
            "region_dim": region_dim, "hidden": hidden, "layers": layers, "heads": heads,
            "dropout": dropout, "stgd": stgd, "temperature": temperature,
        }  # fmt: skip
        self.graphs = objective == "finsta"
        if not self.graphs:
            return
        self.tsg_encoder = GTrm(
            num_node_labels, num_edge_labels, hidden, layers, heads, dropout=dropout, region_dim=d
        )
        # One R-GTrm for DSGs and HSGs: both are space-time graphs with the same node types.
        self.dsg_encoder = RGTrm(
            num_node_labels,
            num_edge_labels,
            hidden,
            layers,
            heads,
            dropout=dropout,
            region_dim=region_dim + d,
            stgd=stgd,
        )
        self.osc_text, self.osc_region = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.ptc_text, self.ptc_region = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.sg_text, self.sg_video = nn.Linear(hidden, e), nn.Linear(hidden, e)
        self.kd_token, self.kd_patch = nn.Linear(d, hidden), nn.Linear(d, hidden)
        self.kd_text, self.kd_video = nn.Linear(e, hidden), nn.Linear(e, hidden)
        self.kd_cross = nn.Linear(2 * e, hidden)

    @classmethod
    def for_fusion_checkpoint(cls, host: HostVLM, sg_config: Mapping[str, Any]) -> FinstaModel:
        """The model a fusion checkpoint's weights load into: ``sg_config`` as the model wrote
        it (:attr:`sg_config`; a missing optional key takes the default of its time). Raises
        KeyError, TypeError or ValueError on a damaged one."""
        return cls(
            host,
            num_node_labels=int(sg_config["num_node_labels"]),
            num_edge_labels=int(sg_config["num_edge_labels"]),
            region_dim=int(sg_config["region_dim"]),
            hidden=int(sg_config["hidden"]),
            layers=int(sg_config["layers"]),
            heads=int(sg_config.get("heads", 4)),
            dropout=float(sg_config.get("dropout", 0.0)),
            stgd=bool(sg_config.get("stgd", True)),
            objective="finsta",
            mode="fusion",
            temperature=float(sg_config.get("temperature", 0.07)),
        )

    def sg_parameters(self) -> list[nn.Parameter]:
        host = {id(p) for p in self.host.parameters()}
        return [p for p in self.parameters() if id(p) not in host]

    def fused_text_embeddings(
        self, text: TextFeatures, tsg: Batch | None = None, rows: Tensor | None = None
    ) -> Tensor:
        """The fused text embeddings of ``fusion`` mode: normalize(host embedding) +
        normalize(sg_text(GTrm(TSG))), the TSG's node inputs the host's token features pooled
        over each node's span (written to ``tsg.region``). Not normalised again (the contrast
        does that). Texts without a TSG keep their normalised host embedding alone.

        Shapes: ``text`` of B texts, ``tsg`` a batch of G graphs, ``rows`` (G,) the text each
        graph belongs to (default: graph i is text i's) -> (B, E).
        """
        fused = F.normalize(text.embedding, dim=-1)
        if tsg is None:
            return fused
        owner = torch.arange(fused.shape[0], device=fused.device) if rows is None else rows
        tsg.region = span_pool(text, tsg.span, owner[tsg.batch])
        graph = self.sg_text(self.tsg_encoder(tsg).graph)
        return fused.index_put((owner,), fused[owner] + F.normalize(graph, dim=-1))

    def fused_video_embeddings(
        self, video: VideoFeatures, dsg: Batch | None = None, rows: Tensor | None = None
    ) -> Tensor:
        """The fused video embeddings of ``fusion`` mode: normalize(host embedding) +
        normalize(sg_video(R-GTrm(DSG))), the DSG's node inputs the detector's region features
        (``dsg.region``, when the model reads them) next to the host's patch features pooled in
        each node's box in frame ``dsg.host_frame`` (written to ``dsg.region``). Not normalised
        again. Videos without a DSG keep their normalised host embedding alone.

        Shapes: ``video`` of B videos, ``dsg`` a batch of G graphs, ``rows`` (G,) the video each
        graph belongs to (default: graph i is video i's) -> (B, E).
        """
        fused = F.normalize(video.embedding, dim=-1)
        if dsg is None:
            return fused
        owner = torch.arange(fused.shape[0], device=fused.device) if rows is None else rows
        patch = box_pool(video, dsg.box, dsg.host_frame, owner[dsg.batch])
        dsg.region = torch.cat([dsg.region, patch], dim=1) if self.region_dim else patch
        graph = self.sg_video(self.dsg_encoder(dsg).graph)
        return fused.index_put((owner,), fused[owner] + F.normalize(graph, dim=-1))

    def forward(self, batch: AlignBatch, collective: Collective | None = None) -> dict[str, Tensor]:
        """The weighted total loss under ``"loss"`` and each part under its name."""
        comm = collective or Collective()
        video = self.host.encode_video(batch.frames)
        text = self.host.encode_text(batch.texts)
        scale = self.host.logit_scale.exp().clamp(max=100.0)
        all_text, all_video = comm.gather(text.embedding), comm.gather(video.embedding)
        losses: dict[str, Tensor] = {"vtc": symmetric_info_nce(all_text, all_video, scale)}
        negative: TextFeatures | None = None
        if batch.negative_texts and self.weights.neg:
            negative = self.host.encode_text(batch.negative_texts)
            losses["neg"] = hard_negative_loss(
                text.embedding, video.embedding, negative.embedding, batch.negative_owner, scale
            )
        if self.weights.rev:
            backwards = self.host.encode_video(batch.frames.flip(1))
            losses["rev"] = reversed_video_loss(
                text.embedding, video.embedding, backwards.embedding, scale
            )
        if self.graphs and batch.tsg is not None:
            losses.update(self._graph_losses(batch, video, text, scale, comm, negative))
        w = self.weights
        total = w.vtc * losses["vtc"]
        parts = (("osc", w.osc), ("ptc", w.ptc), ("sg", w.sg), ("kd", w.kd), ("neg", w.neg),
                 ("rev", w.rev), ("kd_rank", w.kd_rank))  # fmt: skip
        for name, weight in parts:
            if name in losses and weight:
                total = total + weight * losses[name]
        if "vtc_fused" in losses:
            total = total + w.vtc * losses["vtc_fused"]
        if "neg_fused" in losses:
            total = total + w.neg * losses["neg_fused"]
        losses["loss"] = total
        return losses

    def _graph_losses(
        self,
        batch: AlignBatch,
        video: VideoFeatures,
        text: TextFeatures,
        scale: Tensor,
        comm: Collective,
        negative: TextFeatures | None = None,
    ) -> dict[str, Tensor]:
        assert batch.tsg is not None and batch.dsg is not None and batch.hsg is not None
        assert batch.hsg_source is not None
        tsg, dsg = batch.tsg, batch.dsg
        # Node inputs from the host.
        token_in = span_pool(text, tsg.span, tsg.batch)
        patch_in = box_pool(video, dsg.box, dsg.host_frame, dsg.batch)
        tsg.region = token_in
        # DSG inputs: the detector's region features (the batch's ``region``) next to the host's.
        dsg_in = torch.cat([dsg.region, patch_in], dim=1) if self.region_dim else patch_in
        text_rows = torch.cat([token_in.new_zeros(token_in.shape[0], self.region_dim), token_in], 1)
        hsg_region = torch.cat([text_rows, dsg_in], dim=0).index_select(0, batch.hsg_source)
        t_out = self.tsg_encoder(tsg)
        # DSGs and HSGs in one pass of the shared R-GTrm: the recurrence over frames is a
        # Python loop, so one pass over 2B graphs costs about what one over B graphs does.
        space_time = batch.space_time
        assert space_time is not None
        space_time.region = torch.cat([dsg_in, hsg_region], dim=0)
        both_out = self.dsg_encoder(space_time)
        n_dsg, b = dsg.num_nodes, batch.size
        d_out = GraphEncoderOutput(node=both_out.node[:n_dsg], graph=both_out.graph[:b])
        h_out = GraphEncoderOutput(node=both_out.node[n_dsg:], graph=both_out.graph[b:])
        out: dict[str, Tensor] = {}
        # OSC and PTC: anchors and candidates gathered over ranks.
        for name, anchors, text_head, region_head in (
            ("osc", batch.osc, self.osc_text, self.osc_region),
            ("ptc", batch.ptc, self.ptc_text, self.ptc_region),
        ):
            anchor = comm.gather(text_head(t_out.node.index_select(0, anchors.anchor)))
            candidates = comm.gather(region_head(region_pool(d_out.node, anchors)))
            positive = comm.gather_index(anchors.positive, anchors.num_candidates)
            out[name] = anchor_info_nce(anchor, candidates, positive, self.temperature)
            out[f"{name}_anchors"] = torch.tensor(float(anchor.shape[0]))
        # Graph-level contrast between the TSG and DSG embeddings of the same pair.
        assert batch.has_tsg is not None and batch.has_dsg is not None
        assert batch.has_hsg is not None
        both = batch.has_tsg & batch.has_dsg
        sg_text = self.sg_text(t_out.graph)
        sg_video = self.sg_video(d_out.graph)
        out["sg"] = symmetric_info_nce(
            comm.gather(sg_text[both]), comm.gather(sg_video[both]), 1.0 / self.temperature
        )
        # Distillation: local sums over the global count (gradients are averaged over ranks).
        has_span = (tsg.span[:, 0] >= 0) & batch.has_tsg[tsg.batch]
        cross = torch.cat([video.embedding, text.embedding], dim=1)
        parts = [
            (self.kd_token(token_in[has_span]), t_out.node[has_span]),
            (self.kd_patch(patch_in), d_out.node),
            (self.kd_text(text.embedding[batch.has_tsg]), t_out.graph[batch.has_tsg]),
            (self.kd_video(video.embedding[batch.has_dsg]), d_out.graph[batch.has_dsg]),
            (self.kd_cross(cross[batch.has_hsg]), h_out.graph[batch.has_hsg]),
        ]
        kd = token_in.new_zeros(())
        for student, teacher in parts:
            count = comm.sum(torch.tensor(float(student.shape[0]), device=kd.device))
            if float(count) > 0:
                kd = kd + cosine_distance_sum(student, teacher) * comm.world / count
        out["kd"] = kd / len(parts)
        if self.mode == "fusion" or self.weights.kd_rank:
            # The graph embeddings above already went through the encoders: fuse them as
            # fused_text_embeddings / fused_video_embeddings do, without a second pass.
            fused_t = fuse(text.embedding, sg_text)
            fused_v = fuse(video.embedding, sg_video)
            all_fused_t, all_fused_v = comm.gather(fused_t), comm.gather(fused_v)
            out["vtc_fused"] = symmetric_info_nce(all_fused_t, all_fused_v, scale)
        fused_n: Tensor | None = None
        neg_tsg = batch.negative_tsg
        fusing = self.mode == "fusion" or self.weights.kd_rank
        if fusing and negative is not None and neg_tsg is not None:
            # The negatives' fused embeddings: host text + their own TSGs' embeddings.
            fused_n = self.fused_text_embeddings(negative, neg_tsg)
            out["neg_fused"] = hard_negative_loss(
                fused_t, fused_v, fused_n, batch.negative_owner, scale
            )
        if self.weights.kd_rank:
            # The host alone learns to rank the batch, and each video's caption against its
            # hard negatives, as host + graphs do (the teacher's side stop-gradient); in
            # distill mode the fused contrasts above train that teacher.
            out["kd_rank"] = similarity_distillation(
                comm.gather(text.embedding), comm.gather(video.embedding),
                all_fused_t, all_fused_v, scale,
            )  # fmt: skip
            if negative is not None and fused_n is not None:
                out["kd_rank"] = out["kd_rank"] + negative_distillation(
                    (text.embedding, video.embedding, negative.embedding),
                    (fused_t, fused_v, fused_n), batch.negative_owner, scale,
                )  # fmt: skip
        return out
