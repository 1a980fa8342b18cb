"""Evaluating a host checkpoint on retrieval, video QA and action recognition, zero-shot or with a
task head fine-tuned on the train split.

- retrieval: text->video and video->text ranks of the host's embeddings (CLIP4Clip's
  multi-sentence protocol), and on datasets with hard negatives (synth) the share of (video, true
  caption, negative) triples where the true caption scores higher, per changed aspect;
- videoqa: multiple choice by scoring "question option" texts against the video (zero-shot) or a
  head over (video, question+option) embeddings trained on the train split (``finetune``);
  open-ended by ranking the candidate answers "question answer" (zero-shot; candidates: every
  answer of the split) or an answer-vocabulary classifier over (video, question) (``finetune``).
  A question about a segment of a long video (How2QA) sees that segment only, embedded under its
  clip id ``VIDEO@START-END``; VIOLIN's statement pairs are 2-option items, reported as
  ``pair_accuracy`` too, and with ``finetune`` each statement is also judged alone by a binary
  head (``statement_accuracy``);
- action: prompts "a video of {label}" (zero-shot) or a linear head on the video embedding.

Fine-tuning trains a head on frozen host embeddings (precomputed once), full batch, seeded.

Every task scores an :class:`~finsta_cli.tasks.embedder.Embedder`'s embeddings: the host's own,
or with ``graphs`` (``eval --with-graphs``) the fused host + scene-graph embeddings of a fusion
checkpoint (:mod:`finsta_cli.tasks.graph_eval`). Videos are decoded and embedded
``video_chunk`` at a time (:func:`~finsta_cli.tasks.embedder.embed_videos`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from finsta_cli.datasets import (
    ACTION_PROMPT,
    DatasetFormat,
    QAItem,
    TaskDataset,
    load_task_dataset,
)
from finsta_cli.errors import InputError, NonFiniteError, UsageError
from finsta_cli.tasks.embedder import (
    Embedder,
    HostEmbedder,
    Scorer,
    VideoEmbeddings,
    embed_videos,
    encode_texts,
)
from finsta_cli.tasks.eval_config import VIDEO_CHUNK
from finsta_cli.tasks.metrics import (
    accuracy,
    accuracy_by_group,
    hard_negative_accuracy,
    normalize_answer,
    retrieval_metrics,
    strip_ranks,
    target_ranks,
    topk_accuracy,
)

if TYPE_CHECKING:
    from finsta_cli.tasks.graph_eval import GraphSources

HostTask = Literal["retrieval", "videoqa", "action"]


@dataclass
class HostEvalResult:
    metrics: dict[str, Any]
    predictions: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def evaluate_retrieval(
    model: Scorer,
    dataset: TaskDataset,
    cache: Path | None = None,
    quiet: bool = False,
    video_chunk: int = VIDEO_CHUNK,
) -> HostEvalResult:
    video_ids, _ = dataset.retrieval_index()
    videos = embed_videos(model, dataset, video_ids, cache, quiet, video_chunk)
    captions = [c for c in dataset.captions if c.video_id in videos]
    if not captions:
        raise InputError(f"{dataset.source}: split {dataset.split!r} has no captions to retrieve")
    video_emb = videos.embeddings
    text_emb = encode_texts(model, [c.text for c in captions])
    caption_video = torch.tensor([videos.position(c.video_id) for c in captions])
    raw = retrieval_metrics(text_emb, video_emb, caption_video)
    metrics: dict[str, Any] = strip_ranks(raw)
    predictions = []
    for caption, rank in zip(captions, raw["ranks_t2v"], strict=True):
        predictions.append({"text_id": caption.text_id, "video_id": caption.video_id,
                            "t2v_rank": int(rank)})  # fmt: skip
    negatives = [n for n in dataset.negatives if n.video_id in videos]
    texts = dataset.caption_texts()
    negatives = [n for n in negatives if n.source_text_id in texts]
    if negatives:
        neg_emb = encode_texts(model, [n.text for n in negatives])
        src_emb = encode_texts(model, [texts[n.source_text_id] for n in negatives])
        vid = videos.rows([n.video_id for n in negatives])
        pos_scores = (vid * src_emb).sum(-1)
        neg_scores = (vid * neg_emb).sum(-1)
        metrics["hard_negatives"] = hard_negative_accuracy(
            pos_scores, neg_scores, [n.aspect for n in negatives]
        )
        for n, p, q in zip(negatives, pos_scores.tolist(), neg_scores.tolist(), strict=True):
            predictions.append({"video_id": n.video_id, "negative": n.text, "aspect": n.aspect,
                                "true_score": round(p, 5), "negative_score": round(q, 5),
                                "correct": p > q})  # fmt: skip
    return HostEvalResult(metrics, predictions, videos.failures)


def _statement(question: str, option: str, subtitles: str | None = None) -> str:
    """The text scored for an answer: the question, the option, then the subtitles when given
    (after them, so that a text tower that cuts long texts keeps the question and option)."""
    text = f"{question.strip()} {option.strip()}" if question.strip() else option.strip()
    return f"{text} {subtitles.strip()}" if subtitles else text


def _question_text(item: QAItem) -> str:
    """A question as the open-ended head reads it: with its subtitles after it, if any."""
    return f"{item.question.strip()} {item.subtitles.strip()}" if item.subtitles else item.question


def _segment_field(item: QAItem) -> dict[str, Any]:
    """A prediction's ``segment`` ([start, end] seconds), for a question that has one."""
    return {} if item.segment is None else {"segment": list(item.segment)}


class _PairHead(nn.Module):
    """Scores (video, text) embedding pairs: MLP over [v * t, v, t]. (N, E) x2 -> (N,)."""

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(3 * dim, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, video: Tensor, text: Tensor) -> Tensor:
        return self.mlp(torch.cat([video * text, video, text], dim=-1)).squeeze(-1)


class _ClassHead(nn.Module):
    """Classifies (video[, text]) embeddings. (N, E_in) -> (N, C)."""

    def __init__(self, dim: int, classes: int, hidden: int = 256) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)


@dataclass(frozen=True)
class _Finetuning:
    """The split a task head is fine-tuned on, its videos embedded as the evaluated split's are,
    and the head's full-batch training (``epochs``, seeded)."""

    train: TaskDataset
    cache: Path | None
    quiet: bool
    seed: int
    epochs: int
    video_chunk: int

    def embed(self, model: Scorer, video_ids: Sequence[str]) -> VideoEmbeddings:
        return embed_videos(model, self.train, video_ids, self.cache, self.quiet, self.video_chunk)

    def fit(self, head: nn.Module, loss_fn: Any, lr: float = 3e-3) -> None:
        torch.manual_seed(self.seed)
        for module in head.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
        head.train()
        for _ in range(self.epochs):
            optimizer.zero_grad()
            loss = loss_fn()
            loss.backward()
            optimizer.step()
        head.eval()


def _mc_embeddings(
    model: Scorer, items: Sequence[QAItem], videos: VideoEmbeddings
) -> tuple[Tensor, Tensor, Tensor]:
    """(N, K, E) option texts, (N, E) videos, (N,) answers of multiple-choice items."""
    k = max(len(q.options or ()) for q in items)
    texts = [_statement(q.question, o, q.subtitles) for q in items for o in (q.options or ())]
    flat = encode_texts(model, texts)
    options = flat.new_zeros((len(items), k, flat.shape[1]))
    i = 0
    for row, q in enumerate(items):
        n = len(q.options or ())
        options[row, :n] = flat[i : i + n]
        i += n
    answers = torch.tensor([int(q.answer_index or 0) for q in items])
    return options, videos.rows([q.clip_id for q in items]), answers


def evaluate_videoqa(
    model: Scorer,
    dataset: TaskDataset,
    train: TaskDataset | None = None,
    *,
    cache: Path | None = None,
    quiet: bool = False,
    seed: int = 0,
    epochs: int = 300,
    video_chunk: int = VIDEO_CHUNK,
    open_ended: bool = True,
) -> HostEvalResult:
    """Multiple-choice and open-ended accuracy (see the module docstring). ``open_ended``
    False leaves the open-ended questions out: zero-shot, each is scored against every
    candidate answer (questions x answers texts to encode: minutes for a pretrained text
    tower on a few thousand questions)."""
    if not open_ended:
        dataset = dataclasses.replace(dataset, qa_open=[])
    if not dataset.qa_mc and not dataset.qa_open:
        raise InputError(f"{dataset.source}: split {dataset.split!r} has no questions")
    video_ids = list(dict.fromkeys(q.clip_id for q in [*dataset.qa_mc, *dataset.qa_open]))
    embedded = embed_videos(model, dataset, video_ids, cache, quiet, video_chunk)
    tuning = None if train is None else _Finetuning(train, cache, quiet, seed, epochs, video_chunk)
    metrics: dict[str, Any] = {"finetuned": train is not None}
    predictions: list[dict[str, Any]] = []
    mc = [q for q in dataset.qa_mc if q.clip_id in embedded and q.options]
    if mc:
        mc_metrics, mc_predictions = _multiple_choice(model, mc, embedded, tuning)
        metrics.update(mc_metrics)
        predictions += mc_predictions
        if dataset.name == "violin":
            # each item is a (true, false) statement pair: right when the true one scores higher
            metrics["pair_accuracy"] = mc_metrics["mc_accuracy"]
            metrics["pair_count"] = mc_metrics["mc_count"]
            if tuning is not None:
                statement_metrics, statement_predictions = _statements(model, mc, embedded, tuning)
                metrics.update(statement_metrics)
                predictions += statement_predictions
    opened = [q for q in dataset.qa_open if q.clip_id in embedded]
    if opened:
        open_metrics, open_predictions = _open_ended(model, opened, embedded, tuning)
        metrics.update(open_metrics)
        predictions += open_predictions
    return HostEvalResult(metrics, predictions, embedded.failures)


def _multiple_choice(
    model: Scorer,
    mc: Sequence[QAItem],
    embedded: VideoEmbeddings,
    tuning: _Finetuning | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The metrics and predictions of multiple-choice questions: each option scored against the
    video (``tuning`` None) or by a head fine-tuned on ``tuning``'s split."""
    options, videos, answers = _mc_embeddings(model, mc, embedded)
    if tuning is None:
        scores = (options * videos.unsqueeze(1)).sum(-1)
    else:
        scores = _finetune_mc(model, tuning, options.shape[-1])(videos, options)
    valid = torch.tensor([[j < len(q.options or ()) for j in range(options.shape[1])]
                          for q in mc])  # fmt: skip
    scores = scores.masked_fill(~valid, float("-inf"))
    picked = scores.argmax(dim=1)
    # Ties count against, as in retrieval: an answer is right only when it scores above
    # every other option. (Options the host cannot tell apart, e.g. words outside a tiny
    # host's vocabulary, score the same; argmax would credit the first option.)
    correct = (target_ranks(scores, answers) == 1).tolist()
    tied = (scores == scores.max(dim=1, keepdim=True).values).sum(dim=1) > 1
    metrics = {
        "mc_accuracy": accuracy(correct, [True] * len(mc)),
        "mc_count": len(mc),
        "mc_tied": int(tied.sum()),
        "mc_by_type": accuracy_by_group(correct, [True] * len(mc), [q.qtype for q in mc]),
    }
    predictions = [
        {"qa_id": q.qa_id, "video_id": q.video_id, **_segment_field(q), "kind": "mc",
         "qtype": q.qtype, "predicted": p, "answer": q.answer_index, "tied": tie,
         "correct": right}
        for q, p, right, tie in zip(mc, picked.tolist(), correct, tied.tolist(), strict=True)
    ]  # fmt: skip
    return metrics, predictions


def _statement_embeddings(
    model: Scorer, items: Sequence[QAItem], videos: VideoEmbeddings
) -> tuple[Tensor, Tensor, Tensor]:
    """Every option of ``items`` as a statement on its own: (M, E) texts, (M, E) videos and
    (M,) float truth (1 for the item's answer, 0 for the others)."""
    texts = [_statement(q.question, o, q.subtitles) for q in items for o in (q.options or ())]
    clips = [q.clip_id for q in items for _ in (q.options or ())]
    truth = [float(j == q.answer_index) for q in items for j in range(len(q.options or ()))]
    return encode_texts(model, texts), videos.rows(clips), torch.tensor(truth)


def _statements(
    model: Scorer,
    items: Sequence[QAItem],
    embedded: VideoEmbeddings,
    tuning: _Finetuning,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """VIOLIN's per-statement entailment: a binary head over (video, statement) embeddings,
    trained on ``tuning``'s statements, judges each statement alone (true when its logit is
    positive); ``statement_accuracy`` is the share judged right."""
    train = [q for q in tuning.train.qa_mc if q.options]
    if not train:
        raise InputError(f"{tuning.train.source}: split {tuning.train.split!r} has no statements")
    trained = tuning.embed(model, list(dict.fromkeys(q.clip_id for q in train)))
    train = [q for q in train if q.clip_id in trained]
    texts, videos, truth = _statement_embeddings(model, train, trained)
    head = _PairHead(texts.shape[1])
    tuning.fit(head, lambda: F.binary_cross_entropy_with_logits(head(videos, texts), truth))
    texts, videos, truth = _statement_embeddings(model, items, embedded)
    with torch.no_grad():
        judged = (head(videos, texts) > 0).tolist()
    gold = [bool(t) for t in truth.tolist()]
    right = [j == g for j, g in zip(judged, gold, strict=True)]
    where = [(q, k) for q in items for k in range(len(q.options or ()))]
    metrics = {"statement_accuracy": accuracy(right, [True] * len(right)),
               "statement_count": len(right)}  # fmt: skip
    predictions = [
        {"qa_id": q.qa_id, "video_id": q.video_id, **_segment_field(q), "kind": "statement",
         "option": k, "predicted": j, "answer": g, "correct": ok}
        for (q, k), j, g, ok in zip(where, judged, gold, right, strict=True)
    ]  # fmt: skip
    return metrics, predictions


def _open_ended(
    model: Scorer,
    opened: Sequence[QAItem],
    embedded: VideoEmbeddings,
    tuning: _Finetuning | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The metrics and predictions of open-ended questions: the candidate answers ranked
    (``tuning`` None; candidates: every answer of the split) or an answer-vocabulary classifier
    fine-tuned on ``tuning``'s split."""
    videos = embedded.rows([q.clip_id for q in opened])
    open_tied = [False] * len(opened)
    if tuning is None:
        candidates = sorted({normalize_answer(q.answer) for q in opened})
        guesses, open_tied = _rank_answers(model, opened, videos, candidates)
    else:
        guesses = _finetune_open(model, tuning, opened, videos)
    gold = [normalize_answer(q.answer) for q in opened]
    # A tie at the top counts against, as for multiple choice.
    right = [g == a and not t for g, a, t in zip(guesses, gold, open_tied, strict=True)]
    metrics = {
        "open_accuracy": accuracy(right, [True] * len(opened)),
        "open_count": len(opened),
        "open_tied": sum(open_tied),
        "open_by_type": accuracy_by_group(right, [True] * len(opened), [q.qtype for q in opened]),
    }
    predictions = [
        {"qa_id": q.qa_id, "video_id": q.video_id, **_segment_field(q), "kind": "open",
         "qtype": q.qtype, "predicted": g, "answer": q.answer, "tied": tie, "correct": ok}
        for q, g, ok, tie in zip(opened, guesses, right, open_tied, strict=True)
    ]  # fmt: skip
    return metrics, predictions


def _rank_answers(
    model: Scorer, items: Sequence[QAItem], videos: Tensor, candidates: Sequence[str]
) -> tuple[list[str], list[bool]]:
    """The best-scoring candidate answer of each question, and whether others tie with it."""
    guesses, tied = [], []
    for q, video in zip(items, videos, strict=True):
        scores = (
            encode_texts(model, [_statement(q.question, a, q.subtitles) for a in candidates])
            @ video
        )
        guesses.append(candidates[int(scores.argmax())])
        tied.append(int((scores == scores.max()).sum()) > 1)
    return guesses, tied


def _finetune_mc(model: Scorer, tuning: _Finetuning, dim: int) -> Any:
    """A (video, option) pair head trained on ``tuning``'s multiple-choice questions: a
    function (N, E) videos x (N, K, E) options -> (N, K) scores."""
    train = tuning.train
    items = [q for q in train.qa_mc if q.options]
    if not items:
        raise InputError(f"{train.source}: split {train.split!r} has no multiple-choice questions")
    embedded = tuning.embed(model, list(dict.fromkeys(q.clip_id for q in items)))
    items = [q for q in items if q.clip_id in embedded]
    options, videos, answers = _mc_embeddings(model, items, embedded)
    head = _PairHead(dim)

    def score(v: Tensor, o: Tensor) -> Tensor:
        n, k, e = o.shape
        return head(v.unsqueeze(1).expand(n, k, e).reshape(n * k, e), o.reshape(n * k, e)).view(
            n, k
        )

    tuning.fit(head, lambda: F.cross_entropy(score(videos, options), answers))

    def apply(v: Tensor, o: Tensor) -> Tensor:
        with torch.no_grad():
            return score(v, o)

    return apply


def _finetune_open(
    model: Scorer,
    tuning: _Finetuning,
    items: Sequence[QAItem],
    videos: Tensor,
    vocabulary: int = 1000,
) -> list[str]:
    """The answers to ``items`` of a classifier over the ``vocabulary`` most common answers of
    ``tuning``'s open-ended questions, trained on them."""
    train = tuning.train
    train_items = list(train.qa_open)
    if not train_items:
        raise InputError(f"{train.source}: split {train.split!r} has no open-ended questions")
    counts = Counter(normalize_answer(q.answer) for q in train_items)
    answers = [a for a, _ in counts.most_common(vocabulary)]
    index = {a: i for i, a in enumerate(answers)}
    embedded = tuning.embed(model, list(dict.fromkeys(q.clip_id for q in train_items)))
    train_items = [q for q in train_items if q.clip_id in embedded
                   and normalize_answer(q.answer) in index]  # fmt: skip
    tv = embedded.rows([q.clip_id for q in train_items])
    tq = encode_texts(model, [_question_text(q) for q in train_items])
    target = torch.tensor([index[normalize_answer(q.answer)] for q in train_items])
    head = _ClassHead(3 * tv.shape[1], len(answers))
    tuning.fit(head, lambda: F.cross_entropy(head(torch.cat([tv * tq, tv, tq], 1)), target))
    q = encode_texts(model, [_question_text(item) for item in items])
    with torch.no_grad():
        logits = head(torch.cat([videos * q, videos, q], 1))
    return [answers[int(i)] for i in logits.argmax(dim=1)]


def evaluate_action(
    model: Scorer,
    dataset: TaskDataset,
    train: TaskDataset | None = None,
    *,
    cache: Path | None = None,
    quiet: bool = False,
    seed: int = 0,
    epochs: int = 300,
    prompt: str = ACTION_PROMPT,
    video_chunk: int = VIDEO_CHUNK,
) -> HostEvalResult:
    if not dataset.actions:
        raise InputError(f"{dataset.source}: split {dataset.split!r} has no action labels")
    labels = list(dataset.labels) or sorted({a.label for a in dataset.actions})
    if train is not None:
        labels = list(dict.fromkeys([*train.labels, *labels]))
    index = {label: i for i, label in enumerate(labels)}
    embedded = embed_videos(
        model, dataset, [a.video_id for a in dataset.actions], cache, quiet, video_chunk
    )
    items = [a for a in dataset.actions if a.video_id in embedded]
    videos = embedded.rows([a.video_id for a in items])
    target = torch.tensor([index[a.label] for a in items])
    if train is None:
        prompts = encode_texts(
            model, [prompt.format(label=lab.replace("_", " ")) for lab in labels]
        )
        logits = videos @ prompts.t()
    else:
        head = _finetune_action(
            model, _Finetuning(train, cache, quiet, seed, epochs, video_chunk), index
        )
        with torch.no_grad():
            logits = head(videos)
    metrics: dict[str, Any] = {
        "finetuned": train is not None,
        **topk_accuracy(logits, target, ks=(1, min(5, len(labels)))),
        "count": len(items),
        "classes": len(labels),
    }
    predicted = logits.argmax(dim=1).tolist()
    # The gold label's pessimistic rank (what top1/top5 count) and the five best labels: on a
    # set of a few real clips, how far off each one is says more than a 0 or 100 % top-1.
    ranks = target_ranks(logits, target).tolist()
    # A stable sort breaks ties by label order, as argmax does for ``predicted``.
    order = torch.sort(logits, dim=1, descending=True, stable=True).indices
    best = order[:, : min(5, len(labels))].tolist()
    predictions = [
        {"video_id": a.video_id, "predicted": labels[p], "label": a.label,
         "correct": labels[p] == a.label, "rank": rank, "top5": [labels[j] for j in top]}
        for a, p, rank, top in zip(items, predicted, ranks, best, strict=True)
    ]  # fmt: skip
    return HostEvalResult(metrics, predictions, embedded.failures)


def _finetune_action(model: Scorer, tuning: _Finetuning, index: dict[str, int]) -> nn.Module:
    """A linear-probe head (N, E) -> (N, len(index)) trained on ``tuning``'s action labels."""
    items = list(tuning.train.actions)
    trained = tuning.embed(model, [a.video_id for a in items])
    items = [a for a in items if a.video_id in trained]
    videos = trained.rows([a.video_id for a in items])
    target = torch.tensor([index[a.label] for a in items])
    head = _ClassHead(videos.shape[1], len(index))
    tuning.fit(head, lambda: F.cross_entropy(head(videos), target))
    return head


def run_host_eval(
    checkpoint: Path,
    data: Path,
    task: HostTask,
    *,
    split: str,
    fmt: DatasetFormat = "auto",
    video_root: Path | None = None,
    subtitles: Path | str | None = None,
    finetune: bool = False,
    train_split: str = "train",
    cache: Path | None = None,
    device: str = "auto",
    threads: int | None = None,
    seed: int = 0,
    epochs: int = 300,
    quiet: bool = False,
    graphs: GraphSources | None = None,
    video_chunk: int = VIDEO_CHUNK,
    open_ended: bool = True,
    allow_partial: bool = False,
    command: str = "eval",
) -> HostEvalResult:
    """Load the host of ``checkpoint`` and evaluate it on ``task`` (module docstring);
    ``subtitles``: videoqa's subtitles file, or ``"dataset"`` for the dataset's own, given to
    the text side (:func:`~finsta_cli.datasets.longform.attach_subtitles`);
    ``open_ended``: videoqa also scores the open-ended questions (see :func:`evaluate_videoqa`);
    ``epochs``: full-batch epochs of a fine-tuned head; ``video_chunk``: videos decoded at a
    time. With ``graphs``, evaluate a fusion checkpoint's fused host + scene-graph embeddings
    (:mod:`finsta_cli.tasks.graph_eval`). ``allow_partial``: host weights that fit only in part
    are loaded where they fit (``hosts.factory.load_weights``). The metrics carry the protocol
    card (:mod:`finsta_cli.tasks.protocol`; ``command``: the command that ran it)."""
    from finsta_cli.runtime import configure_threads, resolve_device
    from finsta_cli.tasks.protocol import EvalRun, cached_videos, eval_card

    if video_chunk < 1:
        raise UsageError(f"--video-chunk must be at least 1 (got {video_chunk})")
    if allow_partial and graphs is not None:
        raise UsageError("--allow-partial applies to a host checkpoint: not with --with-graphs")
    thread_count = configure_threads(threads)
    resolved = resolve_device(device)
    weights = None
    # The checkpoint is loaded before the dataset is read: a wrong one is refused first.
    if graphs is None:
        from finsta_cli.hosts.factory import load_host_reporting

        host, weights = load_host_reporting(checkpoint, resolved, allow_partial=allow_partial)
        embedder: Embedder = HostEmbedder(host)
        dataset, train = _task_splits(
            data, task, split, fmt, video_root, finetune, train_split, subtitles
        )
    else:
        from finsta_cli.tasks.graph_eval import (
            check_sources,
            load_fusion_model,
            prepare_fusion_embedder,
        )

        check_sources(graphs)
        from finsta_cli.hosts.factory import WeightsReport

        fusion = load_fusion_model(checkpoint, resolved)  # refuses a host-only checkpoint
        host, weights = fusion.model.host, WeightsReport()  # its weights fit whole, or refused
        dataset, train = _task_splits(
            data, task, split, fmt, video_root, finetune, train_split, subtitles
        )
        splits = [dataset] if train is None else [dataset, train]
        if any(d.segments() for d in splits):
            raise UsageError(
                f"{dataset.source}: its questions are about segments of the videos, and "
                "--with-graphs scores scene graphs of whole videos",
                hint="evaluate without --with-graphs",
            )
        embedder = prepare_fusion_embedder(
            checkpoint, fusion, graphs, splits, [task_video_ids(d, task) for d in splits],
            device=resolved, threads=threads, quiet=quiet, cache=cache,
        )  # fmt: skip
    scored = dataset if open_ended else dataclasses.replace(dataset, qa_open=[])
    video_ids = task_video_ids(scored, task)
    run = EvalRun(
        command=command, task=task, data=data, dataset=dataset, fmt=fmt, split=split,
        finetune=finetune, train_split=train_split, checkpoint=checkpoint, weights=weights,
        host=host, seed=seed, epochs=epochs, device=resolved, threads=thread_count, cache=cache,
        from_cache=cached_videos(dataset, video_ids, cache, host.num_frames, host.frame_size),
        video_ids=video_ids, subtitles=subtitles,
    )  # fmt: skip
    try:
        result = evaluate_task(
            task, embedder, dataset, train, cache=cache, quiet=quiet, seed=seed, epochs=epochs,
            video_chunk=video_chunk, open_ended=open_ended,
        )  # fmt: skip
    except NonFiniteError as exc:  # NaN embeddings: name the checkpoint that gave them
        raise NonFiniteError(f"{checkpoint}: {exc.message}", hint=exc.hint) from None
    summary = embedder.summary()
    card = eval_card(run, result.metrics, result.predictions, result.failures, summary)
    result.metrics = {
        "task": task,
        "checkpoint": str(checkpoint),
        "data": str(data),
        "split": split,
        **result.metrics,
        "failed_videos": len(result.failures),
        **summary,
        "protocol": card.to_json(),
    }
    return result


def _task_splits(
    data: Path,
    task: HostTask,
    split: str,
    fmt: DatasetFormat,
    video_root: Path | None,
    finetune: bool,
    train_split: str,
    subtitles: Path | str | None = None,
) -> tuple[TaskDataset, TaskDataset | None]:
    """The evaluated split, and with ``finetune`` the split its task head trains on (each
    with ``subtitles`` attached when given)."""
    dataset = load_task_dataset(
        data,
        split=split,
        fmt=fmt,
        video_root=video_root,
        subtitles=subtitles,
    )
    if not finetune:
        return dataset, None
    if task == "retrieval":
        raise UsageError(
            "retrieval has no task head to fine-tune",
            hint="fine-tune the host itself with finsta align-train --objective host-only",
        )
    train = load_task_dataset(
        data,
        split=train_split,
        fmt=fmt,
        video_root=video_root,
        subtitles=subtitles,
    )
    return dataset, train


def evaluate_task(
    task: HostTask,
    model: Scorer,
    dataset: TaskDataset,
    train: TaskDataset | None = None,
    *,
    cache: Path | None = None,
    quiet: bool = False,
    seed: int = 0,
    epochs: int = 300,
    video_chunk: int = VIDEO_CHUNK,
    open_ended: bool = True,
) -> HostEvalResult:
    """:func:`evaluate_retrieval`, :func:`evaluate_videoqa` or :func:`evaluate_action`
    (``train``: the split a task head is fine-tuned on; None: zero-shot)."""
    if task == "retrieval":
        return evaluate_retrieval(model, dataset, cache, quiet, video_chunk)
    if task == "videoqa":
        return evaluate_videoqa(
            model, dataset, train, cache=cache, quiet=quiet, seed=seed, epochs=epochs,
            video_chunk=video_chunk, open_ended=open_ended,
        )  # fmt: skip
    return evaluate_action(
        model, dataset, train, cache=cache, quiet=quiet, seed=seed, epochs=epochs,
        video_chunk=video_chunk,
    )  # fmt: skip


def task_video_ids(dataset: TaskDataset, task: HostTask) -> list[str]:
    """The videos ``task`` embeds from ``dataset`` (before decoding), in dataset order."""
    if task == "retrieval":
        return dataset.retrieval_index()[0]
    if task == "videoqa":
        return list(dict.fromkeys(q.clip_id for q in [*dataset.qa_mc, *dataset.qa_open]))
    return list(dict.fromkeys(a.video_id for a in dataset.actions))


def write_host_eval(result: HostEvalResult, out: Path) -> None:
    """``out/metrics.json`` and ``out/predictions.jsonl`` (atomic)."""
    from finsta_cli.io import JsonlWriter
    from finsta_cli.io.atomic import atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "metrics.json", result.metrics)
    with JsonlWriter(out / "predictions.jsonl") as writer:
        for row in result.predictions:
            writer.write(row)
    if result.failures:
        with JsonlWriter(out / "failures.jsonl") as writer:
            for video_id, reason in result.failures.items():
                writer.write({"id": video_id, "error": reason})


def summary_line(metrics: dict[str, Any]) -> str:
    keys = ("t2v_r1", "v2t_r1", "mc_accuracy", "open_accuracy", "top1")
    parts = [f"{k} {metrics[k]:.1f}" for k in keys if isinstance(metrics.get(k), int | float)]
    hard = metrics.get("hard_negatives")
    if isinstance(hard, dict) and hard.get("accuracy") is not None:
        parts.append(f"hard-negative {hard['accuracy']:.1f}")
    return ", ".join(parts) or "no metrics"
