"""Evaluation metrics on scores: retrieval ranks and R@K, hard-negative, top-K and QA accuracy.

Pure torch (no model code): callers pass embeddings, similarity matrices or scores and get plain
Python numbers back (percentages 0-100), ready for ``metrics.json``.

**Ranks and ties.** Every rank here is pessimistic: the rank of the right answer is
``1 + (number of OTHER candidates scoring >= it)``. A tie therefore counts against the query,
so a model that gives every candidate the same score gets the worst rank, never the best, and
cannot look good by accident. NaN scores are treated as ``-inf`` (worst).

**Several captions per video** (CLIP4Clip's multi-sentence evaluation): text->video ranks every
caption as a query over all videos; video->text ranks each video by the first of its own
captions in the list of all captions sorted by score, i.e. ``1 + (number of captions of OTHER
videos scoring >= the video's best caption)``. With ``v2t_candidates="videos"`` the candidates
are the videos' caption groups instead (a group scores its best caption, as CLIP4Clip's code
does); both agree when each video has one caption and always agree on R@1. See docs/datasets.md.

Shapes:
    text_emb: [Q, D], video_emb: [V, D], sim: [Q, V] (caption x video),
    caption_video: [Q] (index into the V videos of each caption's own video).
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

V2TCandidates = Literal["captions", "videos"]
RETRIEVAL_KS: tuple[int, ...] = (1, 5, 10)


def _clean(scores: Tensor) -> Tensor:
    """Scores as float32 with NaN replaced by -inf (a NaN never wins); copies only if needed."""
    scores = scores.float()
    # a NaN anywhere makes the sum NaN (so can +inf and -inf together: then a needless copy);
    # cheaper than a full boolean mask
    if scores.numel() and bool(scores.sum().isnan()):
        scores = scores.nan_to_num(nan=-math.inf, posinf=math.inf, neginf=-math.inf)
    return scores


_COUNT_ROWS = 256


def _count_at_least(scores: Tensor, threshold: Tensor, keep: Tensor | None = None) -> Tensor:
    """Per row of ``scores`` [c, N], how many entries are >= ``threshold`` [c] (and ``keep`` [N]).

    Counted ``_COUNT_ROWS`` rows at a time: summing a [c, N] boolean at once would first widen
    it to int64 (8 bytes an entry, twice the float block).
    """
    counts = [torch.zeros(0, dtype=torch.long, device=scores.device)]
    for start in range(0, scores.shape[0], _COUNT_ROWS):
        hits = scores[start : start + _COUNT_ROWS] >= threshold[start : start + _COUNT_ROWS, None]
        if keep is not None:
            hits &= keep[None, :]
        counts.append(hits.sum(dim=1))
    return torch.cat(counts)


def _ranks_of_target(scores: Tensor, target: Tensor) -> Tensor:
    # the true candidate is counted once by >= (x >= x, also for -inf), which is the "1 +"
    return _count_at_least(scores, scores.gather(1, target[:, None]).squeeze(1))


def target_ranks(scores: Tensor, target: Tensor) -> Tensor:
    """Pessimistic 1-based rank of ``target`` in each row of ``scores``.

    ``rank = 1 + #{j != target : scores[j] >= scores[target]}``.

    Shapes: scores [N, C], target [N] (class index per row) -> [N] int64.
    """
    scores = _clean(torch.as_tensor(scores))
    target = torch.as_tensor(target, device=scores.device).long()
    if scores.dim() != 2 or target.dim() != 1 or target.shape[0] != scores.shape[0]:
        raise ValueError(
            f"target_ranks needs scores [N, C] and target [N], got {tuple(scores.shape)} "
            f"and {tuple(target.shape)}"
        )
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= scores.shape[1]):
        raise ValueError(f"target indices must lie in [0, {scores.shape[1]})")
    return _ranks_of_target(scores, target)


def _recall_summary(prefix: str, ranks: Tensor, ks: Sequence[int]) -> dict[str, float]:
    values = ranks.double()
    out = {f"{prefix}_r{k}": 100.0 * float((values <= k).double().mean()) for k in ks}
    out[f"{prefix}_medr"] = _median(values)
    out[f"{prefix}_meanr"] = float(values.mean())
    return out


def _median(values: Tensor) -> float:
    # torch.median returns the lower middle value; the usual median averages the two middles
    ordered = values.sort().values
    middle = ordered.numel() // 2
    if ordered.numel() % 2:
        return float(ordered[middle])
    return float((ordered[middle - 1] + ordered[middle]) / 2)


def _check_caption_video(caption_video: Tensor, queries: int, videos: int) -> Tensor:
    caption_video = torch.as_tensor(caption_video).long().reshape(-1)
    if caption_video.numel() != queries:
        raise ValueError(
            f"caption_video has {caption_video.numel()} entries for {queries} captions"
        )
    if queries == 0 or videos == 0:
        raise ValueError(f"retrieval needs captions and videos (got {queries} and {videos})")
    if int(caption_video.min()) < 0 or int(caption_video.max()) >= videos:
        raise ValueError(f"caption_video indices must lie in [0, {videos})")
    return caption_video


def _v2t_block_ranks(
    block: Tensor, start: int, caption_video: Tensor, videos: int, candidates: V2TCandidates
) -> Tensor:
    """Ranks of videos ``start .. start + c`` from their scores to all captions ``block`` [c, Q].

    Only O(c x Q) memory: the block and one boolean mask of its size.
    """
    rows = block.shape[0]
    mine = ((caption_video >= start) & (caption_video < start + rows)).nonzero().squeeze(1)
    owner = caption_video[mine] - start  # local row of each of these captions
    own_scores = block[owner, mine]
    best = torch.full((rows,), -math.inf, device=block.device)
    best = best.scatter_reduce(0, owner, own_scores, reduce="amax", include_self=True)
    if candidates == "captions":
        # every caption scoring >= the best own caption, minus the video's own such captions
        own_ties = torch.zeros(rows, dtype=torch.long, device=block.device)
        own_ties.scatter_add_(0, owner, (own_scores >= best[owner]).long())
        return 1 + _count_at_least(block, best) - own_ties
    groups = torch.full((rows, videos), -math.inf, device=block.device)
    groups = groups.scatter_reduce(
        1, caption_video[None, :].expand_as(block), block, reduce="amax", include_self=True
    )
    has_text = torch.zeros(videos, dtype=torch.bool, device=block.device)
    has_text[caption_video] = True
    # the video's own group scores exactly ``best`` and is counted once: that is the "1 +"
    return _count_at_least(groups, best, has_text)


def _retrieval(
    t2v_block: Any,
    v2t_block: Any,
    caption_video: Tensor,
    queries: int,
    videos: int,
    chunk: int,
    candidates: V2TCandidates,
    ks: Sequence[int],
) -> dict[str, Any]:
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if candidates not in ("captions", "videos"):
        raise ValueError(f"v2t_candidates must be 'captions' or 'videos', got {candidates!r}")
    t2v = []
    for start in range(0, queries, chunk):
        block = _clean(t2v_block(start, min(start + chunk, queries)))  # [c, V]
        t2v.append(_ranks_of_target(block, caption_video[start : start + chunk]))
        del block  # free it before the next block is computed: one block alive at a time
    ranks_t2v = torch.cat(t2v).cpu()

    has_text = torch.zeros(videos, dtype=torch.bool)
    has_text[caption_video.cpu()] = True
    ranks_v2t = torch.zeros(videos, dtype=torch.long)
    for start in range(0, videos, chunk):
        stop = min(start + chunk, videos)
        block = _clean(v2t_block(start, stop))  # [c, Q]
        ranks_v2t[start:stop] = _v2t_block_ranks(
            block, start, caption_video, videos, candidates
        ).cpu()
        del block
    ranked = ranks_v2t[has_text]

    result: dict[str, Any] = {}
    result.update(_recall_summary("t2v", ranks_t2v, ks))
    result.update(_recall_summary("v2t", ranked, ks))
    result.update(
        {
            "num_captions": queries,
            "num_videos": videos,
            "num_v2t_queries": int(has_text.sum()),
            "v2t_candidates": candidates,
            "ranks_t2v": [int(r) for r in ranks_t2v],
            "ranks_v2t": [
                int(r) if text else None
                for r, text in zip(ranks_v2t.tolist(), has_text.tolist(), strict=True)
            ],
        }
    )
    return result


def retrieval_metrics(
    text_emb: Tensor,
    video_emb: Tensor,
    caption_video: Tensor,
    chunk: int = 4096,
    *,
    v2t_candidates: V2TCandidates = "captions",
    ks: Sequence[int] = RETRIEVAL_KS,
) -> dict[str, Any]:
    """Text<->video retrieval metrics from embeddings, by cosine similarity, in bounded memory.

    Both embeddings are L2-normalised here. Similarities are computed ``chunk`` rows at a time:
    at most ``chunk x V`` (text->video) and ``chunk x Q`` (video->text) scores exist at once, so
    10k x 10k never materialises.

    Returns ``t2v_r1 t2v_r5 t2v_r10`` (percent), ``t2v_medr t2v_meanr``, the same for ``v2t``,
    counts (``num_captions``, ``num_videos``, ``num_v2t_queries``: videos with a caption; a video
    without captions is a text->video candidate but not a video->text query), and the per-query
    ranks ``ranks_t2v`` (one int per caption) and ``ranks_v2t`` (per video, None when it has no
    caption) to write predictions; drop those two lists before writing metrics.json.

    Shapes: text_emb [Q, D], video_emb [V, D], caption_video [Q] (index of each caption's video).
    """
    text = torch.as_tensor(text_emb)
    video = torch.as_tensor(video_emb)
    if text.dim() != 2 or video.dim() != 2 or text.shape[1] != video.shape[1]:
        raise ValueError(
            f"retrieval needs text_emb [Q, D] and video_emb [V, D], got {tuple(text.shape)} "
            f"and {tuple(video.shape)}"
        )
    queries, videos = text.shape[0], video.shape[0]
    caption_video = _check_caption_video(caption_video, queries, videos)
    text = F.normalize(text.float(), dim=-1)
    video = F.normalize(video.to(text.device).float(), dim=-1)
    return _retrieval(
        lambda a, b: text[a:b] @ video.T,
        lambda a, b: video[a:b] @ text.T,
        caption_video.to(text.device),
        queries,
        videos,
        chunk,
        v2t_candidates,
        ks,
    )


def retrieval_metrics_from_sim(
    sim: Tensor,
    caption_video: Tensor,
    chunk: int = 4096,
    *,
    v2t_candidates: V2TCandidates = "captions",
    ks: Sequence[int] = RETRIEVAL_KS,
) -> dict[str, Any]:
    """:func:`retrieval_metrics` for a given similarity matrix ``sim`` [Q captions, V videos].

    The scores are used as they are (no normalisation); same keys, same rank rules.
    """
    sim = torch.as_tensor(sim)
    if sim.dim() != 2:
        raise ValueError(f"sim must be [Q, V], got {tuple(sim.shape)}")
    queries, videos = sim.shape
    caption_video = _check_caption_video(caption_video, queries, videos)
    return _retrieval(
        lambda a, b: sim[a:b],
        lambda a, b: sim[:, a:b].T,
        caption_video.to(sim.device),
        queries,
        videos,
        chunk,
        v2t_candidates,
        ks,
    )


def hard_negative_accuracy(
    pos_scores: Tensor, neg_scores: Tensor, aspects: Sequence[str]
) -> dict[str, Any]:
    """Share of (true caption, hard negative) pairs where the true caption scores STRICTLY higher.

    Pair ``i`` is ``pos_scores[i]`` (the video with the negative's source caption) against
    ``neg_scores[i]`` (the same video with the negative); a tie or a NaN counts as wrong.
    Returns ``{"accuracy": percent, "correct": n, "count": n, "per_aspect": {aspect:
    {"accuracy", "correct", "count"}}}`` (aspects sorted; ``accuracy`` is None when count is 0).
    """
    pos = _clean(torch.as_tensor(pos_scores)).reshape(-1)
    neg = _clean(torch.as_tensor(neg_scores)).reshape(-1)
    if not (pos.numel() == neg.numel() == len(aspects)):
        raise ValueError(
            f"hard_negative_accuracy needs as many positive scores ({pos.numel()}), negative "
            f"scores ({neg.numel()}) and aspects ({len(aspects)})"
        )
    wins = (pos > neg.to(pos.device)).cpu().tolist()
    per_aspect: dict[str, dict[str, Any]] = {}
    for aspect in sorted(set(aspects)):
        picked = [win for win, a in zip(wins, aspects, strict=True) if a == aspect]
        per_aspect[aspect] = _count_summary(sum(picked), len(picked))
    return {**_count_summary(sum(wins), len(wins)), "per_aspect": per_aspect}


def _count_summary(correct: int, count: int) -> dict[str, Any]:
    return {
        "accuracy": 100.0 * correct / count if count else None,
        "correct": int(correct),
        "count": int(count),
    }


def _as_list(values: Sequence[Any] | Tensor) -> list[Any]:
    if isinstance(values, Tensor):
        return values.reshape(-1).tolist()
    return list(values)


def accuracy(pred: Sequence[Any] | Tensor, gold: Sequence[Any] | Tensor) -> float:
    """Percent of positions where ``pred`` equals ``gold`` (labels, indices or strings).

    Strings are compared as they are: normalise open-ended answers with
    :func:`normalize_answer` first. Raises ValueError on empty or unequal-length inputs.
    """
    predicted, expected = _as_list(pred), _as_list(gold)
    if len(predicted) != len(expected):
        raise ValueError(f"accuracy: {len(predicted)} predictions for {len(expected)} gold items")
    if not expected:
        raise ValueError("accuracy of an empty set is undefined")
    correct = sum(1 for p, g in zip(predicted, expected, strict=True) if p == g)
    return 100.0 * correct / len(expected)


def accuracy_by_group(
    pred: Sequence[Any] | Tensor, gold: Sequence[Any] | Tensor, groups: Sequence[Hashable]
) -> dict[str, dict[str, Any]]:
    """Accuracy per group (e.g. per question type): ``{group: {"accuracy", "correct", "count"}}``.

    Groups are keyed by ``str(group)`` and sorted; None is reported as ``"none"``.
    """
    predicted, expected = _as_list(pred), _as_list(gold)
    if not (len(predicted) == len(expected) == len(groups)):
        raise ValueError(
            f"accuracy_by_group: {len(predicted)} predictions, {len(expected)} gold items, "
            f"{len(groups)} groups"
        )
    tally: dict[str, list[int]] = {}
    for p, g, group in zip(predicted, expected, groups, strict=True):
        key = "none" if group is None else str(group)
        counts = tally.setdefault(key, [0, 0])
        counts[0] += int(p == g)
        counts[1] += 1
    return {key: _count_summary(*tally[key]) for key in sorted(tally)}


def topk_accuracy(logits: Tensor, target: Tensor, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Top-K accuracy in percent, ``{"top1": .., "top5": ..}``, with ties counted against.

    A row is right at K when its target's pessimistic rank (:func:`target_ranks`) is <= K, so
    a constant row is right only when K >= the number of classes. Also usable for
    multiple-choice QA: ``logits`` = option scores [N, 5], ``target`` = answer index.

    Shapes: logits [N, C], target [N].
    """
    ranks = target_ranks(torch.as_tensor(logits), torch.as_tensor(target))
    if ranks.numel() == 0:
        raise ValueError("top-k accuracy of an empty set is undefined")
    return {f"top{k}": 100.0 * float((ranks <= k).double().mean()) for k in ks}


_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\s\"'.,;:!?]+|[\s\"'.,;:!?]+$")


def normalize_answer(text: str) -> str:
    """An open-ended answer for exact-match accuracy: lowercase, outer punctuation and quotes
    stripped, runs of whitespace folded to one space ("  The Red cube. " -> "the red cube")."""
    return _SPACE.sub(" ", _EDGE_PUNCT.sub("", text.lower())).strip()


def strip_ranks(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` without the per-query rank lists (what goes into metrics.json)."""
    return {k: v for k, v in metrics.items() if k not in ("ranks_t2v", "ranks_v2t")}
