"""The alignment model: pooling host features onto graph nodes (spans, boxes, regions), the
losses it returns per objective and weight, and bf16 autocast (the CUDA path, run on the CPU)."""

from __future__ import annotations

import math

import pytest
import torch

from finsta_cli.align.batch import AlignBatch, Anchors, attach_host_frames, collate
from finsta_cli.align.data import AlignData, build_align_data, videos_with_captions
from finsta_cli.align.losses import (
    anchor_info_nce,
    negative_distillation,
    reversed_video_loss,
    similarity_distillation,
    symmetric_info_nce,
)
from finsta_cli.align.model import FinstaModel, LossWeights, box_pool, region_pool, span_pool
from finsta_cli.datasets import load_task_dataset
from finsta_cli.graph import GraphOptions
from finsta_cli.hosts import build_host
from finsta_cli.hosts.base import HostVLM, TextFeatures, VideoFeatures
from finsta_cli.hosts.frames import load_host_frames
from tests.align.fixtures import AlignSet


def test_span_pool_averages_the_tokens_of_a_span() -> None:
    # "red cube moves": tokens [CLS], red (0-3), cube (4-8), moves (9-14).
    token = torch.arange(8.0).view(1, 4, 2)
    offsets = torch.tensor([[[-1, -1], [0, 3], [4, 8], [9, 14]]])
    text = TextFeatures(token, torch.ones(1, 4, dtype=torch.bool), offsets, torch.zeros(1, 2))
    span = torch.tensor([[0, 8], [5, 7], [9, 14], [-1, -1], [20, 25]])
    out = span_pool(text, span, torch.zeros(5, dtype=torch.long))
    assert out[0].tolist() == [3.0, 4.0]  # red + cube
    assert out[1].tolist() == [4.0, 5.0]  # inside "cube"
    assert out[2].tolist() == [6.0, 7.0]
    assert out[3].tolist() == [0.0, 0.0] and out[4].tolist() == [0.0, 0.0]  # no span, no token


def test_box_pool_takes_the_patches_inside_the_box() -> None:
    patch = torch.arange(8.0).view(1, 1, 4, 2)  # one frame, 2 x 2 patches
    video = VideoFeatures(patch[:, :, 0], torch.zeros(1, 2), patch=patch, patch_grid=(2, 2))
    boxes = torch.tensor(
        [[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 0.5], [0.6, 0.6, 0.65, 0.65], [0.0, 0.0, 1.0, 1.0]]
    )
    zeros = torch.zeros(4, dtype=torch.long)
    out = box_pool(video, boxes, zeros, zeros)
    assert out[0].tolist() == [0.0, 1.0]  # the top-left patch
    assert out[1].tolist() == [1.0, 2.0]  # the top row
    assert out[2].tolist() == [6.0, 7.0]  # no centre inside: the nearest patch
    assert out[3].tolist() == [3.0, 4.0]  # all four
    no_patches = VideoFeatures(torch.ones(1, 1, 2), torch.zeros(1, 2))
    assert box_pool(no_patches, boxes[:1], zeros[:1], zeros[:1]).tolist() == [[1.0, 1.0]]


def test_region_pool_weighted_means() -> None:
    nodes = torch.tensor([[1.0], [3.0], [5.0]])
    anchors = Anchors(
        anchor=torch.tensor([0]), positive=torch.tensor([0]),
        cand_index=torch.tensor([0, 0, 1]), cand_node=torch.tensor([0, 1, 2]),
        cand_weight=torch.tensor([1.0, 0.5, 1.0]), num_candidates=2,
    )  # fmt: skip
    assert region_pool(nodes, anchors).flatten().tolist() == pytest.approx([5 / 3, 5.0])
    assert region_pool(nodes, Anchors.empty()).shape == (0, 1)


def test_losses_prefer_matching_pairs() -> None:
    x = torch.eye(3)
    assert float(symmetric_info_nce(x, x, 10.0)) < float(symmetric_info_nce(x, x.flip(0), 10.0))
    anchors = torch.tensor([[1.0, 0.0]])
    candidates = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    good = anchor_info_nce(anchors, candidates, torch.tensor([0]), 0.1)
    bad = anchor_info_nce(anchors, candidates, torch.tensor([1]), 0.1)
    assert float(good) < 1e-3 < float(bad)
    empty = anchor_info_nce(torch.zeros(0, 2), candidates, torch.zeros(0, dtype=torch.long), 0.1)
    assert float(empty) == 0.0


@pytest.fixture(scope="module")
def parts(align_set: AlignSet) -> tuple[HostVLM, AlignData, AlignBatch]:
    dataset = load_task_dataset(align_set.data, split="train")
    entries = videos_with_captions(dataset)
    torch.manual_seed(0)
    texts = [text for _, _, captions in entries for _, text in captions]
    host = build_host("tiny", {"frame_size": 32, "num_frames": 4, "dropout": 0.0}, texts=texts)
    frames = load_host_frames([(v, p) for v, p, _ in entries], 4, 32, align_set.cache)
    data = build_align_data(
        [(v, c) for v, _, c in entries], tsg_file=align_set.tsg, dsg_dir=align_set.dsg,
        hsg_dir=align_set.hsg, options=GraphOptions(),
    )  # fmt: skip
    attach_host_frames(data, frames)
    items = [(video, video.captions[0]) for video in data.videos[:4]]
    return host, data, collate(items, frames, data, graphs=True, hops=2)


def _model(parts: tuple[HostVLM, AlignData, AlignBatch], **options: object) -> FinstaModel:
    host, data, _ = parts
    torch.manual_seed(1)
    return FinstaModel(
        host, num_node_labels=len(data.node_vocab), num_edge_labels=len(data.edge_vocab),
        region_dim=data.region_dim, hidden=32, dropout=0.0, **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_host_only_objective_has_the_host_loss_only(
    parts: tuple[HostVLM, AlignData, AlignBatch],
) -> None:
    model = _model(parts, objective="host-only")
    losses = model(parts[2])
    assert set(losses) == {"vtc", "loss"} and torch.equal(losses["loss"], losses["vtc"])
    assert model.sg_parameters() == []


def test_weights_make_the_total(parts: tuple[HostVLM, AlignData, AlignBatch]) -> None:
    weights = LossWeights(vtc=1.0, osc=0.0, ptc=2.0, sg=0.5, kd=0.25)
    losses = _model(parts, weights=weights)(parts[2])
    assert {"vtc", "osc", "ptc", "sg", "kd", "osc_anchors", "ptc_anchors"} <= set(losses)
    total = losses["vtc"] + 2.0 * losses["ptc"] + 0.5 * losses["sg"] + 0.25 * losses["kd"]
    assert torch.allclose(losses["loss"], total)
    assert float(losses["osc_anchors"]) > 0  # OSC is computed, and weighs nothing


def test_reversed_video_loss_prefers_the_video_as_it_plays() -> None:
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    video = torch.tensor([[1.0, 0.1], [0.1, 1.0]])
    backwards = torch.tensor([[0.1, 1.0], [1.0, 0.1]])
    good = reversed_video_loss(text, video, backwards, 10.0)
    assert float(good) < float(reversed_video_loss(text, backwards, video, 10.0))
    cos = torch.nn.functional.cosine_similarity
    expected = torch.nn.functional.softplus(10 * (cos(text, backwards) - cos(text, video))).mean()
    assert torch.allclose(good, expected)
    assert float(reversed_video_loss(text, video, video, 10.0)) == pytest.approx(math.log(2))


@pytest.mark.parametrize("objective", ["host-only", "finsta"])
def test_reverse_weight_adds_the_backwards_video_loss(
    parts: tuple[HostVLM, AlignData, AlignBatch], objective: str
) -> None:
    host, _, batch = parts
    model = _model(parts, objective=objective, weights=LossWeights(rev=0.5))
    losses = model(batch)
    assert "rev" in losses and math.isfinite(float(losses["rev"].detach()))
    parts_sum = sum(losses[name] * w for name, w in (("vtc", 1.0), ("osc", 1.0), ("ptc", 1.0),
                    ("sg", 0.5), ("kd", 1.0), ("neg", 1.0)) if name in losses)  # fmt: skip
    assert torch.allclose(losses["loss"], parts_sum + 0.5 * losses["rev"])
    host.eval()
    with torch.no_grad():  # the loss compares the embeddings of the frames and of their reverse
        forward = host.encode_video(batch.frames).embedding
        backwards = host.encode_video(batch.frames.flip(1)).embedding
        text = host.encode_text(batch.texts).embedding
    host.train()
    scale = host.logit_scale.exp().clamp(max=100.0)
    model.eval()
    with torch.no_grad():
        again = model(batch)["rev"]
    model.train()
    assert torch.allclose(again, reversed_video_loss(text, forward, backwards, scale), atol=1e-5)
    assert "rev" not in _model(parts, objective=objective)(batch)


def test_similarity_distillation_is_zero_at_the_teacher_and_pulls_towards_it() -> None:
    torch.manual_seed(0)
    text, video = torch.randn(5, 8), torch.randn(5, 8)
    teacher_t, teacher_v = torch.randn(5, 8), torch.randn(5, 8)
    assert float(similarity_distillation(text, video, text, video, 10.0)) == pytest.approx(
        0, abs=1e-6
    )
    student = text.clone().requires_grad_(True)
    loss = similarity_distillation(student, video, teacher_t, teacher_v, 10.0)
    assert float(loss.detach()) > 0
    loss.backward()
    # A small step against the gradient moves the student's rankings towards the teacher's.
    assert student.grad is not None
    stepped = (student - 0.05 * student.grad).detach()
    assert float(similarity_distillation(stepped, video, teacher_t, teacher_v, 10.0)) < float(
        loss.detach()
    )
    # The teacher's side gets no gradient.
    t = teacher_t.clone().requires_grad_(True)
    similarity_distillation(text.requires_grad_(True), video, t, teacher_v, 10.0).backward()
    assert t.grad is None


def test_negative_distillation_matches_the_teachers_choice() -> None:
    torch.manual_seed(0)
    text, video, negative = torch.randn(4, 8), torch.randn(4, 8), torch.randn(6, 8)
    owner = torch.tensor([0, 0, 1, 2, 3, 3])
    same = negative_distillation((text, video, negative), (text, video, negative), owner, 10.0)
    assert float(same) == pytest.approx(0, abs=1e-6)
    # A teacher that prefers the caption by far: the student is pulled to prefer it too.
    teacher = (video.clone(), video, -video[owner])
    student = text.clone().requires_grad_(True)
    loss = negative_distillation((student, video, negative), teacher, owner, 10.0)
    loss.backward()
    assert student.grad is not None and float(loss.detach()) > 0
    stepped = (student - 0.05 * student.grad).detach()
    after = negative_distillation((stepped, video, negative), teacher, owner, 10.0)
    assert float(after) < float(loss.detach())
    empty = negative_distillation((text, video, negative[:0]), teacher, owner[:0], 10.0)
    assert float(empty) == 0


@pytest.mark.parametrize("mode", ["distill", "fusion"])
def test_rank_distillation_adds_the_fused_teacher(
    parts: tuple[HostVLM, AlignData, AlignBatch], mode: str
) -> None:
    """kd_rank: the host's rankings against host + graphs' (in distill mode the fused contrast
    that trains the teacher is added too); the teacher's embeddings get no gradient from it."""
    batch = parts[2]
    model = _model(parts, mode=mode, weights=LossWeights(kd_rank=2.0))
    losses = model(batch)
    assert {"kd_rank", "vtc_fused"} <= set(losses) and float(losses["kd_rank"]) >= 0
    named = (("vtc", 1.0), ("osc", 1.0), ("ptc", 1.0), ("sg", 0.5), ("kd", 1.0), ("neg", 1.0),
             ("vtc_fused", 1.0), ("neg_fused", 1.0))  # fmt: skip
    parts_sum = sum(losses[name] * w for name, w in named if name in losses)
    assert torch.allclose(losses["loss"], parts_sum + 2.0 * losses["kd_rank"])
    model.zero_grad()
    losses["kd_rank"].backward()
    # Its gradient reaches the host's projections, not the graph encoders (the teacher's side).
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in model.sg_parameters())
    assert any(
        p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.host.parameters()
    )
    plain = _model(parts, mode=mode)(batch)
    assert "kd_rank" not in plain and ("vtc_fused" in plain) == (mode == "fusion")


@pytest.mark.parametrize("mode", ["distill", "fusion"])
def test_bf16_autocast_gives_finite_losses_and_gradients(
    parts: tuple[HostVLM, AlignData, AlignBatch], mode: str
) -> None:
    model = _model(parts, mode=mode)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model(parts[2])
    losses["loss"].backward()
    assert all(math.isfinite(float(v.detach())) for v in losses.values())
    assert ("vtc_fused" in losses) == (mode == "fusion")
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 100 and all(torch.isfinite(g).all() for g in grads)
    model.zero_grad()
