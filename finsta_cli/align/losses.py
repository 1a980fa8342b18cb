"""Losses of align-train: symmetric InfoNCE (the host's video-text contrast), anchor-vs-candidate
InfoNCE (OSC and PTC), hard-negative captions, cosine distillation, and the distillation of the
fused model's match distributions into the host's.

Shapes: embeddings (B, E); anchors (A, H) with candidates (C, H) and the positive's index (A,).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def symmetric_info_nce(text: Tensor, video: Tensor, scale: Tensor | float) -> Tensor:
    """CLIP's loss: the i-th text and i-th video are positives, the rest of the batch negatives."""
    if text.shape[0] == 0:
        return text.sum() * 0.0
    logits = F.normalize(text, dim=-1) @ F.normalize(video, dim=-1).t() * scale
    target = torch.arange(text.shape[0], device=text.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def hard_negative_loss(
    text: Tensor, video: Tensor, negative: Tensor, owner: Tensor, scale: Tensor | float
) -> Tensor:
    """Each video against its own caption and one hard-negative caption: the cross-entropy of
    picking the caption, softplus(s_neg - s_pos) with s = cos * scale. ``negative`` (K, E) are
    negatives of the batch rows ``owner`` (K,)."""
    if negative.shape[0] == 0:
        return negative.sum() * 0.0
    v = F.normalize(video[owner], dim=-1)
    positive = (F.normalize(text[owner], dim=-1) * v).sum(-1) * scale
    wrong = (F.normalize(negative, dim=-1) * v).sum(-1) * scale
    return F.softplus(wrong - positive).mean()


def reversed_video_loss(
    text: Tensor, video: Tensor, backwards: Tensor, scale: Tensor | float
) -> Tensor:
    """Each caption against its video and the same video played backwards (``backwards``: the
    embeddings of the frames in reverse order): softplus(s_back - s_fwd), s = cos * scale. A
    caption that says what happens first, or which way something moves, is wrong for the
    reversed video, so the embeddings must keep the order the frames show."""
    if text.shape[0] == 0:
        return text.sum() * 0.0
    t = F.normalize(text, dim=-1)
    forward = (t * F.normalize(video, dim=-1)).sum(-1) * scale
    back = (t * F.normalize(backwards, dim=-1)).sum(-1) * scale
    return F.softplus(back - forward).mean()


def anchor_info_nce(
    anchors: Tensor, candidates: Tensor, positive: Tensor, temperature: float
) -> Tensor:
    """Each anchor against every candidate; ``positive`` (A,) indexes its positive."""
    if anchors.shape[0] == 0 or candidates.shape[0] == 0:
        return anchors.sum() * 0.0 + candidates.sum() * 0.0
    logits = F.normalize(anchors, dim=-1) @ F.normalize(candidates, dim=-1).t() / temperature
    return F.cross_entropy(logits, positive)


def cosine_distance_sum(student: Tensor, teacher: Tensor) -> Tensor:
    """Sum over rows of 1 - cos(student, stop-gradient teacher)."""
    if student.shape[0] == 0:
        return student.sum() * 0.0
    return (1 - F.cosine_similarity(student, teacher.detach(), dim=-1)).sum()


def similarity_distillation(
    text: Tensor, video: Tensor, teacher_text: Tensor, teacher_video: Tensor, scale: Tensor | float
) -> Tensor:
    """The batch's text->video and video->text match distributions of the student (``text``,
    ``video``) pulled towards the teacher's (stop-gradient): KL(teacher || student) of the
    softmax over each row and each column of the cosine similarities times ``scale``, the two
    directions averaged. Shapes: all (B, E)."""
    if text.shape[0] == 0:
        return text.sum() * 0.0
    student = F.normalize(text, dim=-1) @ F.normalize(video, dim=-1).t() * scale
    with torch.no_grad():
        teacher = F.normalize(teacher_text, dim=-1) @ F.normalize(teacher_video, dim=-1).t() * scale
    loss = text.new_zeros(())
    for s, t in ((student, teacher), (student.t(), teacher.t())):
        loss = loss + F.kl_div(
            F.log_softmax(s, dim=-1), F.log_softmax(t, dim=-1), log_target=True,
            reduction="batchmean",
        )  # fmt: skip
    return loss / 2


def negative_distillation(
    student: tuple[Tensor, Tensor, Tensor],
    teacher: tuple[Tensor, Tensor, Tensor],
    owner: Tensor,
    scale: Tensor | float,
) -> Tensor:
    """Each video's choice between its caption and one hard-negative caption, the student's
    pulled towards the teacher's (stop-gradient): the mean over negatives of the KL between the
    two-way softmaxes of (s(v, t), s(v, n)), s = cos * scale. ``student`` and ``teacher`` are
    (text (B, E), video (B, E), negative (K, E)); ``owner`` (K,) the batch row of each negative."""
    if owner.shape[0] == 0:
        return student[0].sum() * 0.0

    def logits(text: Tensor, video: Tensor, negative: Tensor) -> Tensor:
        v = F.normalize(video[owner], dim=-1)
        positive = (F.normalize(text[owner], dim=-1) * v).sum(-1)
        wrong = (F.normalize(negative, dim=-1) * v).sum(-1)
        return torch.stack([positive, wrong], dim=-1) * scale

    with torch.no_grad():
        target = F.log_softmax(logits(*teacher), dim=-1)
    return F.kl_div(
        F.log_softmax(logits(*student), dim=-1), target, log_target=True, reduction="batchmean"
    )
