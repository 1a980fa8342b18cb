"""Batches of align-train: frames and texts for the host, graphs for the scene-graph encoders, and
the OSC / PTC anchors with their candidate regions as sparse pooling weights.

A candidate region is a weighted mean of DSG node states: ``cand_index`` (K,) says which
candidate each of K (node, weight) entries belongs to, ``cand_node`` (K,) the node's row in the
batch's DSG ``Batch``, ``cand_weight`` (K,) its weight. Anchors are rows of the TSG ``Batch``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from finsta_cli.align.data import (
    AlignData,
    CaptionGraphs,
    VideoGraphs,
    empty_dsg_graph,
    empty_text_graph,
)
from finsta_cli.hosts.frames import FrameSet


@dataclass
class Anchors:
    """Anchors (A,) TSG rows with positives (A,) into C candidates given as sparse weights."""

    anchor: Tensor
    positive: Tensor
    cand_index: Tensor
    cand_node: Tensor
    cand_weight: Tensor
    num_candidates: int

    @classmethod
    def empty(cls) -> Anchors:
        z = torch.zeros(0, dtype=torch.long)
        return cls(z, z, z, z, torch.zeros(0), 0)

    @classmethod
    def pack(
        cls, rows: list[tuple[int, int]], entries: list[tuple[Tensor, Tensor, int]], count: int
    ) -> Anchors:
        """From (TSG row, positive candidate) ``rows`` and (nodes, weights, candidate)
        ``entries`` of ``count`` candidates."""
        if not rows:
            return cls.empty()
        return cls(
            anchor=torch.tensor([r for r, _ in rows], dtype=torch.long),
            positive=torch.tensor([c for _, c in rows], dtype=torch.long),
            cand_index=torch.cat(
                [torch.full((len(n),), c, dtype=torch.long) for n, _, c in entries]
            ),
            cand_node=torch.cat([n for n, _, _ in entries]),
            cand_weight=torch.cat([w for _, w, _ in entries]),
            num_candidates=count,
        )


@dataclass
class AlignBatch:
    frames: Tensor  # (B, T, S, S, 3) uint8
    texts: list[str]
    tsg: Batch | None = None
    dsg: Batch | None = None
    hsg: Batch | None = None
    # DSGs then HSGs in one batch: both go through the same R-GTrm in one pass.
    space_time: Batch | None = None
    hsg_source: Tensor | None = None  # (N_hsg,) rows of cat([TSG inputs, DSG inputs])
    has_tsg: Tensor | None = None  # (B,) bool
    has_dsg: Tensor | None = None
    has_hsg: Tensor | None = None
    osc: Anchors = field(default_factory=Anchors.empty)
    ptc: Anchors = field(default_factory=Anchors.empty)
    # Hard-negative captions and the batch row (video and caption) each one is a negative of.
    negative_texts: list[str] = field(default_factory=list)
    negative_owner: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    negative_tsg: Batch | None = None  # their TSGs, in fusion mode

    @property
    def size(self) -> int:
        return len(self.texts)

    def to(self, device: str) -> AlignBatch:
        def move(x: object) -> object:
            return x.to(device) if hasattr(x, "to") else x

        for name in ("frames", "tsg", "dsg", "hsg", "space_time", "hsg_source", "has_tsg",
                     "has_dsg", "has_hsg", "negative_owner", "negative_tsg"):  # fmt: skip
            setattr(self, name, move(getattr(self, name)))
        for anchors in (self.osc, self.ptc):
            for name in ("anchor", "positive", "cand_index", "cand_node", "cand_weight"):
                setattr(anchors, name, getattr(anchors, name).to(device))
        return self


def attach_host_frames(data: AlignData, frames: FrameSet) -> None:
    """Give every DSG node ``host_frame``: the host frame nearest to the node's frame."""
    for video in data.videos:
        if video.dsg is None or video.video_id not in frames.ids:
            continue
        indices = frames.indices[frames.position(video.video_id)]
        numbers = video.dsg.frame_number
        distance = (numbers.view(-1, 1) - indices.view(1, -1)).abs()
        video.dsg.host_frame = distance.argmin(dim=1) if numbers.numel() else numbers.clone()


def _region_entries(
    hops: Tensor, frames: Tensor, interval: tuple[int, int] | None, max_hops: int
) -> tuple[Tensor, Tensor]:
    """Rows and weights 2^-hop of a region (``interval`` restricts it to frame positions)."""
    keep = hops <= max_hops
    if interval is not None:
        keep &= (frames >= interval[0]) & (frames <= interval[1])
    rows = keep.nonzero().flatten()
    return rows, torch.pow(0.5, hops[rows].float())


def collate(
    items: list[tuple[VideoGraphs, CaptionGraphs]],
    frames: FrameSet,
    data: AlignData,
    *,
    graphs: bool,
    hops: int,
) -> AlignBatch:
    """One batch of (video, caption) items."""
    clip = torch.stack([frames.frames[frames.position(v.video_id)] for v, _ in items])
    batch = AlignBatch(frames=clip, texts=[c.text for _, c in items])
    owners = [row for row, (_, caption) in enumerate(items) for _ in caption.negatives]
    batch.negative_texts = [text for _, caption in items for text in caption.negatives]
    batch.negative_owner = torch.tensor(owners, dtype=torch.long)
    # Fusion mode: every negative has its TSG (build_align_data parses them all).
    negative_tsgs = [g for _, caption in items for g in caption.negative_tsgs]
    if graphs and negative_tsgs:
        batch.negative_tsg = Batch.from_data_list(negative_tsgs)
    if not graphs:
        return batch
    tsgs: list[Data] = []
    dsgs: list[Data] = []
    hsgs: list[Data] = []
    hsg_source: list[Tensor] = []
    osc_rows: list[tuple[int, int]] = []  # (TSG row, candidate)
    osc_entries: list[tuple[Tensor, Tensor, int]] = []
    ptc_rows: list[tuple[int, int]] = []
    ptc_entries: list[tuple[Tensor, Tensor, int]] = []
    tsg_offset = dsg_offset = 0
    osc_count = ptc_count = 0
    # Candidates of OSC: every track of every video in the batch.
    for video, caption in items:
        tsg = caption.tsg if caption.tsg is not None else empty_text_graph(False)
        dsg = video.dsg if video.dsg is not None else empty_dsg_graph(data.region_dim)
        tsgs.append(tsg)
        dsgs.append(dsg)
        track_candidate: dict[int, int] = {}
        for track, track_hops in sorted(video.track_hops.items()):
            rows, weights = _region_entries(track_hops, dsg.frame, None, hops)
            osc_entries.append((rows + dsg_offset, weights, osc_count))
            track_candidate[track] = osc_count
            osc_count += 1
        if caption.hsg is not None and video.dsg is not None:
            hsgs.append(caption.hsg)
            n_text = int(caption.hsg.text_rows)
            text_part = torch.arange(n_text) + tsg_offset
            visual_part = torch.arange(dsg.num_nodes) + dsg_offset
            hsg_source.append(torch.cat([text_part, -1 - visual_part]))
            for row, track in caption.osc:
                osc_rows.append((row + tsg_offset, track_candidate[track]))
            for anchor in caption.ptc:
                hops_of_args = torch.stack([video.track_hops[t] for t in anchor.tracks]).amin(0)
                ptc_rows.append((anchor.node + tsg_offset, ptc_count))
                for interval in [anchor.positive, *anchor.negatives]:
                    rows, weights = _region_entries(hops_of_args, dsg.frame, interval, hops)
                    ptc_entries.append((rows + dsg_offset, weights, ptc_count))
                    ptc_count += 1
        else:
            hsgs.append(empty_text_graph(True))
        tsg_offset += tsg.num_nodes
        dsg_offset += dsg.num_nodes
    batch.tsg = Batch.from_data_list(tsgs)
    batch.dsg = Batch.from_data_list(dsgs)
    batch.hsg = Batch.from_data_list(hsgs)
    batch.space_time = Batch.from_data_list([_core(g) for g in [*dsgs, *hsgs]])
    # Visual rows are stored as -1 - row so the model can shift them past the TSG rows.
    source = torch.cat(hsg_source) if hsg_source else torch.zeros(0, dtype=torch.long)
    batch.hsg_source = torch.where(source >= 0, source, tsg_offset + (-1 - source))
    batch.has_tsg = torch.tensor([c.tsg is not None and c.tsg.num_nodes > 0 for _, c in items])
    batch.has_dsg = torch.tensor([v.dsg is not None and v.dsg.num_nodes > 0 for v, _ in items])
    batch.has_hsg = torch.tensor([c.hsg is not None and v.dsg is not None for v, c in items])
    batch.osc = Anchors.pack(osc_rows, osc_entries, osc_count)
    batch.ptc = Anchors.pack(ptc_rows, ptc_entries, ptc_count)
    return batch


_CORE_FIELDS = ("node_type", "label", "box", "frame", "track", "span", "edge_index", "edge_type",
                "edge_label", "edge_weight", "coref_index")  # fmt: skip


def _core(graph: Data) -> Data:
    """The fields the encoders read (DSG and HSG graphs carry different extras)."""
    return Data(num_nodes=graph.num_nodes, **{name: graph[name] for name in _CORE_FIELDS})
