"""Batches of align-train: OSC anchors whose positive regions hold their linked track, PTC
regions restricted to their intervals, the HSG's node sources, and host frames of DSG nodes."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from finsta_cli.align.batch import AlignBatch, Anchors, attach_host_frames, collate
from finsta_cli.align.data import (
    AlignData,
    CaptionGraphs,
    VideoGraphs,
    build_align_data,
    videos_with_captions,
)
from finsta_cli.datasets import load_task_dataset
from finsta_cli.graph import GraphOptions
from finsta_cli.graph.convert import NODE_TYPES
from finsta_cli.hosts.frames import FrameSet
from tests.align.fixtures import AlignSet

HOPS = 1


@pytest.fixture(scope="module")
def data(align_set: AlignSet) -> AlignData:
    dataset = load_task_dataset(align_set.data, split="train")
    videos = [(vid, captions) for vid, _, captions in videos_with_captions(dataset)]
    return build_align_data(
        videos, tsg_file=align_set.tsg, dsg_dir=align_set.dsg, hsg_dir=align_set.hsg,
        options=GraphOptions(), hops=HOPS, ptc_negatives=2,
    )  # fmt: skip


def _frames(data: AlignData, count: int = 4) -> FrameSet:
    """Blank frames; frame numbers spread over each video's DSG frames."""
    ids = [v.video_id for v in data.videos]
    indices = []
    for video in data.videos:
        assert video.dsg is not None
        numbers = video.dsg.frame_number.unique()
        picks = torch.linspace(0, len(numbers) - 1, count).round().long()
        indices.append(numbers[picks])
    return FrameSet(
        ids=ids,
        frames=torch.zeros((len(ids), count, 32, 32, 3), dtype=torch.uint8),
        indices=torch.stack(indices),
        lengths=torch.full((len(ids),), 30),
    )


def _items(data: AlignData) -> list[tuple[VideoGraphs, CaptionGraphs]]:
    """One caption with PTC anchors per video where there is one, else its first."""
    items = []
    for video in data.videos:
        caption = next((c for c in video.captions if c.ptc), video.captions[0])
        items.append((video, caption))
    return items


def _candidate(anchors: Anchors, index: int) -> tuple[list[int], list[float]]:
    keep = anchors.cand_index == index
    return anchors.cand_node[keep].tolist(), anchors.cand_weight[keep].tolist()


@pytest.fixture(scope="module")
def batch(data: AlignData) -> tuple[AlignBatch, list[tuple[VideoGraphs, CaptionGraphs]]]:
    attach_host_frames(data, _frames(data))
    items = _items(data)[:4]
    return collate(items, _frames(data), data, graphs=True, hops=HOPS), items


def test_host_only_batch_has_frames_and_texts_only(data: AlignData) -> None:
    items = _items(data)[:3]
    out = collate(items, _frames(data), data, graphs=False, hops=HOPS)
    assert out.frames.shape == (3, 4, 32, 32, 3) and out.texts == [c.text for _, c in items]
    assert out.tsg is None and out.dsg is None and out.osc.num_candidates == 0


def test_graph_batches_line_up_with_items(batch: tuple[AlignBatch, list]) -> None:  # type: ignore[type-arg]
    out, items = batch
    assert out.tsg is not None and out.dsg is not None and out.hsg is not None
    assert out.tsg.num_graphs == out.dsg.num_graphs == out.hsg.num_graphs == len(items)
    assert out.dsg.num_nodes == sum(v.dsg.num_nodes for v, _ in items)
    assert out.has_tsg is not None and out.has_tsg.all()
    assert out.has_dsg is not None and out.has_dsg.all()
    assert out.has_hsg is not None and out.has_hsg.all()


def test_osc_positive_region_contains_the_linked_track(batch: tuple[AlignBatch, list]) -> None:  # type: ignore[type-arg]
    out, items = batch
    assert out.tsg is not None and out.dsg is not None
    # Every track of every video is a candidate.
    assert out.osc.num_candidates == sum(len(v.track_hops) for v, _ in items)
    expected = [(video, row, track) for video, caption in items for row, track in caption.osc]
    assert len(expected) == out.osc.anchor.shape[0] > 0
    tsg_offset = dsg_offset = 0
    k = 0
    for video, caption in items:
        assert caption.tsg is not None and video.dsg is not None
        for row, track in caption.osc:
            anchor, positive = int(out.osc.anchor[k]), int(out.osc.positive[k])
            assert anchor == tsg_offset + row
            assert int(out.tsg.node_type[anchor]) == NODE_TYPES["object"]
            nodes, weights = _candidate(out.osc, positive)
            weight = dict(zip(nodes, weights, strict=True))
            on_track = (video.dsg.track == track).nonzero().flatten() + dsg_offset
            assert on_track.numel() > 0
            assert all(weight.get(int(n)) == 1.0 for n in on_track)  # hop 0 weighs 1
            assert all(int(out.dsg.track[n]) == track for n, w in weight.items() if w == 1.0)
            assert all(w == 0.5 for n, w in weight.items() if int(out.dsg.track[n]) != track)
            assert all(int(out.dsg.batch[n]) == int(out.tsg.batch[anchor]) for n in nodes)
            k += 1
        tsg_offset += caption.tsg.num_nodes
        dsg_offset += video.dsg.num_nodes


def test_ptc_regions_stay_inside_their_intervals(batch: tuple[AlignBatch, list]) -> None:  # type: ignore[type-arg]
    out, items = batch
    assert out.tsg is not None and out.dsg is not None
    anchors = [(video, anchor) for video, caption in items for anchor in caption.ptc]
    assert len(anchors) == out.ptc.anchor.shape[0] > 0
    assert out.ptc.num_candidates == sum(1 + len(a.negatives) for _, a in anchors)
    candidate = 0
    for k, (_, anchor) in enumerate(anchors):
        assert int(out.ptc.positive[k]) == candidate  # the positive, then its hard negatives
        assert int(out.tsg.node_type[out.ptc.anchor[k]]) == NODE_TYPES["predicate"]
        for interval in [anchor.positive, *anchor.negatives]:
            nodes, _ = _candidate(out.ptc, candidate)
            for n in nodes:
                assert interval[0] <= int(out.dsg.frame[n]) <= interval[1]
            if interval == anchor.positive:
                args = [int(out.dsg.track[n]) for n in nodes]
                assert set(anchor.tracks) & set(args)  # the arguments are in their region
            candidate += 1


def test_hsg_sources_point_at_matching_rows(batch: tuple[AlignBatch, list]) -> None:  # type: ignore[type-arg]
    out, _ = batch
    assert out.tsg is not None and out.dsg is not None and out.hsg is not None
    assert out.hsg_source is not None and out.hsg_source.shape[0] == out.hsg.num_nodes
    text = out.hsg_source < out.tsg.num_nodes
    assert torch.equal(out.hsg.node_type[text], out.tsg.node_type[out.hsg_source[text]])
    visual = out.hsg_source[~text] - out.tsg.num_nodes
    assert torch.equal(out.hsg.box[~text], out.dsg.box[visual])
    assert (out.hsg.node_type[~text] == NODE_TYPES["visual"]).all()


def test_dsg_nodes_get_the_nearest_host_frame(data: AlignData) -> None:
    frames = _frames(data)
    attach_host_frames(data, frames)
    for video in data.videos:
        dsg: Data = video.dsg  # type: ignore[assignment]
        indices = frames.indices[frames.position(video.video_id)]
        for number, host_frame in zip(dsg.frame_number.tolist(), dsg.host_frame.tolist(),
                                      strict=True):  # fmt: skip
            distances = (indices - number).abs()
            assert distances[host_frame] == distances.min()
