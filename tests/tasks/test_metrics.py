"""Tests of finsta_cli/tasks/metrics.py: retrieval ranks, ties and accuracies computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from finsta_cli.tasks.metrics import (
    accuracy,
    accuracy_by_group,
    hard_negative_accuracy,
    normalize_answer,
    retrieval_metrics,
    retrieval_metrics_from_sim,
    strip_ranks,
    target_ranks,
    topk_accuracy,
)

# 3 captions x 3 videos, caption i belongs to video i.
# t2v: c0 true 0.9 beats all -> 1; c1 true 0.4, 0.5 and 0.6 are higher -> 3; c2 true 0.7, 0.8
# higher -> 2. v2t (columns): v0 0.9 best -> 1; v1 0.4 < 0.8 of c2 -> 2; v2 0.7 best -> 1.
SIM_3 = torch.tensor([[0.9, 0.1, 0.2], [0.5, 0.4, 0.6], [0.3, 0.8, 0.7]])

# 5 captions of 3 videos (two each for v0 and v1).
MULTI_SIM = torch.tensor(
    [
        [0.2, 0.7, 0.0],  # c0 of v0: 0.7 is higher -> rank 2
        [0.9, 0.8, 0.95],  # c1 of v0: 0.95 is higher -> 2
        [0.4, 0.5, 0.1],  # c2 of v1: best -> 1
        [0.8, 0.6, 0.7],  # c3 of v1: 0.8 and 0.7 higher -> 3
        [0.1, 0.2, 0.3],  # c4 of v2: best -> 1
    ]
)
MULTI_VIDEO = torch.tensor([0, 0, 1, 1, 2])


def test_known_ranks_on_a_small_matrix() -> None:
    m = retrieval_metrics_from_sim(SIM_3, torch.tensor([0, 1, 2]))
    assert m["ranks_t2v"] == [1, 3, 2]
    assert m["ranks_v2t"] == [1, 2, 1]
    assert m["t2v_r1"] == pytest.approx(100 / 3)
    assert m["t2v_r5"] == m["t2v_r10"] == 100.0
    assert m["t2v_medr"] == 2.0
    assert m["t2v_meanr"] == pytest.approx(2.0)
    assert m["v2t_r1"] == pytest.approx(200 / 3)
    assert m["v2t_medr"] == 1.0
    assert m["v2t_meanr"] == pytest.approx(4 / 3)
    assert (m["num_captions"], m["num_videos"], m["num_v2t_queries"]) == (3, 3, 3)


def test_identity_similarity_is_perfect() -> None:
    m = retrieval_metrics_from_sim(torch.eye(6), torch.arange(6))
    assert m["t2v_r1"] == m["v2t_r1"] == 100.0
    assert m["t2v_medr"] == m["v2t_meanr"] == 1.0


def test_ties_count_against_the_query() -> None:
    constant = retrieval_metrics_from_sim(torch.full((4, 4), 0.5), torch.arange(4))
    assert constant["ranks_t2v"] == [4, 4, 4, 4]
    assert constant["ranks_v2t"] == [4, 4, 4, 4]
    assert constant["t2v_r1"] == constant["v2t_r1"] == 0.0
    # one tie with the true video: rank 2, not 1
    tied = retrieval_metrics_from_sim(torch.tensor([[0.5, 0.5], [0.1, 0.9]]), torch.tensor([0, 1]))
    assert tied["ranks_t2v"] == [2, 1]
    # the constant model loses to any model that ranks by chance
    assert constant["t2v_meanr"] > 2.5


def test_constant_embeddings_score_worst() -> None:
    text = torch.ones(5, 8)
    video = torch.ones(7, 8)
    m = retrieval_metrics(text, video, torch.tensor([0, 1, 2, 3, 4]))
    assert m["ranks_t2v"] == [7] * 5
    assert m["t2v_r1"] == 0.0 and m["v2t_r1"] == 0.0


def test_nan_scores_rank_last() -> None:
    sim = torch.tensor([[math.nan, 0.1, 0.2], [0.0, 0.9, 0.1], [0.1, 0.2, 0.3]])
    m = retrieval_metrics_from_sim(sim, torch.tensor([0, 1, 2]))
    assert m["ranks_t2v"] == [3, 1, 1]


def test_infinite_scores_rank_like_numbers() -> None:
    sim = torch.tensor([[math.inf, 0.1, -math.inf], [-math.inf, 0.9, math.inf], [0.0, 0.2, 0.3]])
    m = retrieval_metrics_from_sim(sim, torch.tensor([0, 1, 2]))
    assert m["ranks_t2v"] == [1, 2, 1]
    assert m["ranks_v2t"] == [1, 1, 2]


def test_multi_sentence_t2v_and_v2t() -> None:
    m = retrieval_metrics_from_sim(MULTI_SIM, MULTI_VIDEO)
    assert m["ranks_t2v"] == [2, 2, 1, 3, 1]
    assert m["t2v_r1"] == pytest.approx(40.0)
    assert m["t2v_medr"] == 2.0
    assert m["t2v_meanr"] == pytest.approx(1.8)
    # v2t over all captions: v0's best caption is c1 (0.9), nothing of another video >= it -> 1;
    # v1's best is c3 (0.6), beaten by c0 0.7 and c1 0.8 of v0 -> 3;
    # v2's only caption c4 (0.3) is beaten by c1 0.95 and c3 0.7 -> 3
    assert m["ranks_v2t"] == [1, 3, 3]
    assert m["v2t_r1"] == pytest.approx(100 / 3)
    assert m["v2t_medr"] == 3.0
    assert m["v2t_meanr"] == pytest.approx(7 / 3)
    assert m["num_v2t_queries"] == 3


def test_multi_sentence_v2t_over_video_groups() -> None:
    # CLIP4Clip's code: a video's caption group scores its best caption; v1 is beaten only by
    # v0's group (0.8), so rank 2 instead of 3
    m = retrieval_metrics_from_sim(MULTI_SIM, MULTI_VIDEO, v2t_candidates="videos")
    assert m["ranks_v2t"] == [1, 2, 3]
    assert m["ranks_t2v"] == [2, 2, 1, 3, 1]
    captions = retrieval_metrics_from_sim(MULTI_SIM, MULTI_VIDEO)
    assert m["v2t_r1"] == captions["v2t_r1"]  # the two modes always agree at R@1


def test_video_without_caption_is_a_candidate_but_not_a_query() -> None:
    sim = torch.tensor([[0.9, 0.1, 0.95], [0.2, 0.8, 0.1]])
    m = retrieval_metrics_from_sim(sim, torch.tensor([0, 1]))
    assert m["ranks_t2v"] == [2, 1]  # the captionless video 2 outscores c0's own video
    assert m["ranks_v2t"] == [1, 1, None]
    assert m["num_v2t_queries"] == 2
    assert m["v2t_r1"] == 100.0


def test_even_count_median_averages_the_middle_ranks() -> None:
    sim = torch.tensor([[0.9, 0.1], [0.9, 0.1]])  # c1 of v1 ranks 2
    m = retrieval_metrics_from_sim(sim, torch.tensor([0, 1]))
    assert m["ranks_t2v"] == [1, 2]
    assert m["t2v_medr"] == 1.5


@pytest.mark.parametrize("candidates", ["captions", "videos"])
def test_chunked_equals_unchunked_and_embeddings_equal_matrix(candidates: str) -> None:
    generator = torch.Generator().manual_seed(0)
    text = torch.randn(300, 16, generator=generator)
    video = torch.randn(50, 16, generator=generator)
    caption_video = torch.randint(0, 50, (300,), generator=generator)
    full = retrieval_metrics_from_sim(
        torch.nn.functional.normalize(text, dim=-1)
        @ torch.nn.functional.normalize(video, dim=-1).T,
        caption_video,
        v2t_candidates=candidates,  # type: ignore[arg-type]
    )
    from_sim = retrieval_metrics_from_sim(
        torch.nn.functional.normalize(text, dim=-1)
        @ torch.nn.functional.normalize(video, dim=-1).T,
        caption_video,
        chunk=7,
        v2t_candidates=candidates,  # type: ignore[arg-type]
    )
    chunked = retrieval_metrics(
        text * 3.0,
        video,
        caption_video,
        chunk=7,
        v2t_candidates=candidates,  # type: ignore[arg-type]
    )
    assert from_sim == full
    assert chunked["ranks_t2v"] == full["ranks_t2v"]
    assert chunked["ranks_v2t"] == full["ranks_v2t"]
    for key in ("t2v_r1", "t2v_r5", "t2v_r10", "t2v_medr", "t2v_meanr", "v2t_r1", "v2t_medr"):
        assert chunked[key] == pytest.approx(full[key])
    # a random model is far from perfect, so the check above compares real rankings
    assert 0 < full["t2v_r1"] < 20


def test_metric_keys_and_strip_ranks() -> None:
    m = retrieval_metrics_from_sim(SIM_3, torch.tensor([0, 1, 2]))
    for prefix in ("t2v", "v2t"):
        for name in ("r1", "r5", "r10", "medr", "meanr"):
            assert isinstance(m[f"{prefix}_{name}"], float)
    stripped = strip_ranks(m)
    assert "ranks_t2v" not in stripped and "ranks_v2t" not in stripped
    assert stripped["t2v_r1"] == m["t2v_r1"]


def test_retrieval_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="caption_video has 2 entries for 3 captions"):
        retrieval_metrics_from_sim(SIM_3, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="indices"):
        retrieval_metrics_from_sim(SIM_3, torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="text_emb"):
        retrieval_metrics(torch.zeros(3, 4), torch.zeros(3, 5), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="chunk"):
        retrieval_metrics_from_sim(SIM_3, torch.tensor([0, 1, 2]), chunk=0)


def test_hard_negative_accuracy_per_aspect() -> None:
    result = hard_negative_accuracy(
        torch.tensor([0.9, 0.5, 0.3, 0.7, math.nan]),
        torch.tensor([0.1, 0.5, 0.4, 0.2, 0.0]),
        ["spatial", "spatial", "temporal", "object", "object"],
    )
    # wins: yes, tie (no), no, yes, NaN (no)
    assert result["accuracy"] == pytest.approx(40.0)
    assert (result["correct"], result["count"]) == (2, 5)
    assert result["per_aspect"] == {
        "object": {"accuracy": 50.0, "correct": 1, "count": 2},
        "spatial": {"accuracy": 50.0, "correct": 1, "count": 2},
        "temporal": {"accuracy": 0.0, "correct": 0, "count": 1},
    }
    empty = hard_negative_accuracy(torch.zeros(0), torch.zeros(0), [])
    assert empty["accuracy"] is None and empty["count"] == 0
    with pytest.raises(ValueError, match="as many"):
        hard_negative_accuracy(torch.zeros(2), torch.zeros(2), ["spatial"])


def test_topk_accuracy_with_ties_against() -> None:
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.5, 0.5, 0.1], [0.2, 0.3, 0.4]])
    target = torch.tensor([1, 0, 0])
    assert target_ranks(logits, target).tolist() == [1, 2, 3]
    result = topk_accuracy(logits, target, ks=(1, 2, 5))
    assert result["top1"] == pytest.approx(100 / 3)
    assert result["top2"] == pytest.approx(200 / 3)
    assert result["top5"] == 100.0
    constant = topk_accuracy(torch.zeros(4, 10), torch.tensor([0, 3, 5, 9]))
    assert constant == {"top1": 0.0, "top5": 0.0}
    with pytest.raises(ValueError, match="target indices"):
        topk_accuracy(logits, torch.tensor([0, 1, 3]))


def test_accuracy_and_groups() -> None:
    assert accuracy([1, 2, 3, 4], [1, 0, 3, 0]) == 50.0
    assert accuracy(torch.tensor([1, 1]), torch.tensor([1, 1])) == 100.0
    assert accuracy(["red cube", "left"], ["red cube", "right"]) == 50.0
    with pytest.raises(ValueError, match="2 predictions for 3"):
        accuracy([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
    groups = accuracy_by_group(["a", "b", "c", "d"], ["a", "x", "c", "d"], ["CW", "CW", "TN", None])
    assert groups == {
        "CW": {"accuracy": 50.0, "correct": 1, "count": 2},
        "TN": {"accuracy": 100.0, "correct": 1, "count": 1},
        "none": {"accuracy": 100.0, "correct": 1, "count": 1},
    }


def test_normalize_answer() -> None:
    assert normalize_answer("  The Red   cube. ") == "the red cube"
    assert normalize_answer('"Yes!"') == "yes"
    assert normalize_answer("it does not move") == "it does not move"
