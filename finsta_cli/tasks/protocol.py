"""Building the protocol card of an evaluation (:class:`~finsta_cli.schema.protocol.ProtocolCard`):
the data, items, frames, scoring rules, weights, host, graphs and software behind a metrics.json.

The sentences under ``scoring`` say what :mod:`finsta_cli.tasks.metrics` and
:mod:`finsta_cli.tasks.host_eval` compute; the frame sampling rule is the one of
:func:`finsta_cli.hosts.frames.decode_host_frames` (uniform keyframes of
:func:`finsta_cli.video.decode.sample_indices`). A test runs both and checks the card against
what they did, so a change there that the card does not follow fails.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli import __version__
from finsta_cli.io.hashing import hash_file, hash_json
from finsta_cli.schema.protocol import (
    CaptionsPerVideo,
    CheckpointCard,
    DatasetCard,
    FramesCard,
    GraphsCard,
    HostCard,
    ItemCounts,
    ProtocolCard,
    ProtocolMode,
    RuntimeCard,
    SoftwareCard,
    WeightsLoad,
)

if TYPE_CHECKING:
    from finsta_cli.datasets import TaskDataset
    from finsta_cli.hosts.base import HostVLM
    from finsta_cli.hosts.factory import WeightsReport

FRAME_SAMPLING = (
    "{frames} uniform keyframes: the middle frame of each of {frames} equal segments of the "
    "video (a video with fewer frames gives all of them, its last frame repeated to {frames}); "
    "decoded with the longer side at most {size} px, then resized (bilinear, antialiased) to "
    "{size} x {size}, aspect ratio not kept"
)
# Questions about a part of a (long) video (How2QA, VIOLIN): the same rule inside that part.
SEGMENT_SAMPLING = (
    "{frames} uniform keyframes of the question's segment [start, end] s of the video (the "
    "frames shown during it, cut at the video's end; hosts.frames.segment_indices), each "
    "segment embedded on its own as VIDEO@START-END; "
)
# Lists in a host config longer than this (a tiny host's vocabulary) are written as their
# length and hash: the card stays short and still tells two configs apart.
_LONG_LIST = 16
_GIT_TIMEOUT = 3.0


@dataclass(frozen=True)
class EvalRun:
    """What an evaluation ran with, as :func:`run_host_eval` knows it."""

    command: str
    task: str
    data: Path
    dataset: TaskDataset
    fmt: str
    split: str
    finetune: bool
    train_split: str
    checkpoint: Path
    weights: WeightsReport | None
    host: HostVLM
    seed: int
    epochs: int
    device: str
    threads: int | None
    cache: Path | None
    from_cache: int
    video_ids: Sequence[str]
    subtitles: Path | str | None = None


def protocol_mode(command: str, finetune: bool) -> ProtocolMode:
    """finetune when a head is trained first; else the command (zeroshot or eval)."""
    if finetune:
        return "finetune"
    return "zeroshot" if command == "zeroshot" else "eval"


def eval_card(
    run: EvalRun,
    metrics: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]],
    failures: Mapping[str, str],
    embedder_summary: Mapping[str, Any],
) -> ProtocolCard:
    """The card of a retrieval, videoqa or action evaluation; ``metrics`` and ``predictions``
    are the task's (:class:`~finsta_cli.tasks.host_eval.HostEvalResult`)."""
    return ProtocolCard(
        command=run.command,
        mode=protocol_mode(run.command, run.finetune),
        task=run.task,
        dataset=_dataset_card(run),
        items=_items(run.task, metrics, len(run.video_ids), len(failures)),
        scoring=_scoring(run.task, metrics, run.finetune, run.train_split, run.epochs),
        captions_per_video=_captions_per_video(predictions) if run.task == "retrieval" else None,
        frames=_frames_card(run),
        checkpoint=checkpoint_card(run.checkpoint, run.weights),
        host=host_card(run.host),
        graphs=_graphs(embedder_summary),
        seed=run.seed,
        epochs=run.epochs if run.finetune else None,
        software=software_card(),
        runtime=RuntimeCard(device=run.device, threads=run.threads),
    )


def _dataset_card(run: EvalRun) -> DatasetCard:
    dataset = run.dataset
    return DatasetCard(
        path=str(run.data),
        file=str(dataset.source) if dataset.source is not None else None,
        format=dataset.name,
        format_detected=run.fmt == "auto",
        split=run.split,
        train_split=run.train_split if run.finetune else None,
        video_root=str(dataset.video_root) if dataset.video_root is not None else None,
        subtitles=str(run.subtitles) if run.subtitles is not None else None,
    )


def _frames_card(run: EvalRun) -> FramesCard:
    host = run.host
    return FramesCard(
        per_video=host.num_frames,
        size=host.frame_size,
        sampling=frame_sampling(run.dataset, host.num_frames, host.frame_size),
        cache=str(run.cache) if run.cache is not None else None,
        from_cache=run.from_cache,
        decoded=len(run.video_ids) - run.from_cache,
    )


def caption_card(run: EvalRun, metrics: Mapping[str, Any]) -> ProtocolCard:
    """The card of ``eval --task captioning --finetune``: a caption head trained on
    ``run.train_split``'s captions over the host's frame features, decoding ``run.split``."""
    dataset = run.dataset
    decode = metrics.get("decode") or {}
    train = metrics.get("train") or {}
    scoring = {
        **caption_scoring(metrics),
        "head": "a Transformer encoder-decoder over the host's frame features, trained with "
        f"teacher forcing on {run.train_split}'s captions for {run.epochs} epochs (host "
        f"{'trained with it' if train.get('train_host') else 'frozen'})",
        "decoding": ", ".join(f"{k} {v}" for k, v in decode.items()),
        "baseline": "nearest training caption: the caption of the training video whose host "
        "video embedding is closest (cosine), scored the same way",
    }
    return ProtocolCard(
        command=run.command,
        mode="finetune",
        task="captioning",
        dataset=_dataset_card(run),
        items=ItemCounts(
            videos=int(metrics.get("videos", 0)),
            failed_videos=int(metrics.get("failed_videos", 0)),
            references=sum(len(texts) for texts in dataset.captions_by_video().values()),
        ),
        scoring=scoring,
        frames=_frames_card(run),
        checkpoint=checkpoint_card(run.checkpoint, run.weights),
        host=host_card(run.host),
        seed=run.seed,
        epochs=run.epochs,
        software=software_card(),
        runtime=RuntimeCard(device=run.device, threads=run.threads),
    )


# How eval --task captioning scores (captioning.metrics: coco-caption's definitions).
CAPTION_SCORING = {
    "pairing": "each gold video's one predicted caption is scored against all its reference "
    "captions; a gold video without a prediction is an error, predictions for videos not in "
    "the gold split are left out (counted: unknown_predictions), an empty one scores zero",
    "bleu": "BLEU-1..4 over the corpus as coco-caption computes it: clipped n-gram counts "
    "summed over videos, brevity penalty from the reference length closest to each prediction",
    "meteor": "METEOR 1.5 (pycocoevalcap's jar), mean over videos; not reported without Java",
    "rouge_l": "ROUGE-L: LCS F-measure (beta 1.2) against each reference, the best one kept, "
    "mean over videos",
    "cider": "CIDEr-D: TF-IDF weighted n-grams 1-4 (document frequencies over the gold "
    "references), clipped, Gaussian length penalty (sigma 6), x10, mean over videos",
    "scale": "metrics.json keeps pycocoevalcap's scale (0-1; CIDEr-D as it returns it); the "
    "table shows x100",
}


def caption_scoring(metrics: Mapping[str, Any]) -> dict[str, str]:
    """:data:`CAPTION_SCORING` with the tokenizer and route the scores came from."""
    return {
        **CAPTION_SCORING,
        "tokenizer": str(metrics.get("tokenizer", "")),
        "backend": str(metrics.get("backend", "")),
    }


def scoring_card(
    task: str,
    gold: Path,
    pred: Path,
    metrics: Mapping[str, Any],
    *,
    ignore_labels: bool = False,
    dataset_format: str = "auto",
) -> ProtocolCard:
    """The card of ``eval --task tsg``, ``dsg`` or ``captioning`` with ``--gold/--pred``:
    predictions scored against gold (no model, frames or seed: the fields that do not apply are
    left out)."""
    if task == "captioning":
        dataset = DatasetCard(
            path=str(gold), file=_text(metrics.get("gold_file")),
            format=str(metrics.get("gold_format", dataset_format)),
            format_detected=dataset_format == "auto", split=_text(metrics.get("split")),
        )  # fmt: skip
        items = ItemCounts(
            videos=int(metrics.get("videos", 0)), references=int(metrics.get("references", 0))
        )
        scoring = caption_scoring(metrics)
    elif task == "tsg":
        dataset = DatasetCard(path=str(gold), format="factual", format_detected=False)
        items = ItemCounts(captions=int(metrics.get("captions", 0)))
        scoring = {
            "rows": "gold and prediction rows pair up by position (captions must agree)",
            "set_match": "share of captions whose fact set equals gold's exactly",
            "facts": "precision, recall and F1 over FACTUAL facts (triples of the graph): micro "
            "over all facts, macro the mean per caption",
            "normalisation": str(metrics.get("normalisation", "")),
        }
    else:
        dataset = DatasetCard(path=str(gold), format=_dsg_gold_format(gold), format_detected=True)
        items = ItemCounts(
            videos=int(metrics.get("videos", 0)),
            frames=int(metrics.get("frames", 0)),
            missing_predictions=int(metrics.get("missing_predictions", 0)),
        )
        labels = "of any labels (--ignore-labels)" if ignore_labels else "of the same label"
        scoring = {
            "frames": "scored on the frames the prediction sampled; a gold video without a "
            "prediction counts as entirely missed",
            "objects": "recall and precision at IoU 0.5: per frame a one-to-one (Hungarian) "
            f"assignment between gold and predicted objects {labels}",
            "idf1": "2 IDTP / (gold objects + predicted objects), IDTP the frame matches kept "
            "by the best one-to-one map of gold to predicted tracks",
            "relations": "accuracy: share of gold relations between matched objects whose "
            "predicate the prediction states (either direction); precision: share of "
            "predicted relations with a gold predicate that gold states",
        }
    return ProtocolCard(
        command="eval",
        mode="eval",
        task=task,
        dataset=dataset,
        predictions=str(pred),
        items=items,
        scoring=scoring,
        software=software_card(),
    )


def _dsg_gold_format(gold: Path) -> str:
    """Which gold ``tasks.dsg_eval.read_gold`` reads at ``gold`` (by its files' names)."""
    from finsta_cli.tasks.dsg_eval import SOMETHING_ELSE_FILE

    if (gold / "annotations").is_dir() or gold.suffix.lower() == ".jsonl":
        return "synth"
    if gold.name == SOMETHING_ELSE_FILE or (gold / SOMETHING_ELSE_FILE).is_file():
        return "something-else"
    return "dsg"


def frame_sampling(dataset: TaskDataset, frames: int, size: int) -> str:
    """The sampling rule in words: :data:`FRAME_SAMPLING`, within each question's segment when
    the dataset's questions are about segments (:data:`SEGMENT_SAMPLING`)."""
    rule = FRAME_SAMPLING.format(frames=frames, size=size)
    if not dataset.segments():
        return rule
    whole = rule.split(": ", 1)[1]  # the decoding and resizing part of the whole-video rule
    return SEGMENT_SAMPLING.format(frames=frames) + whole.split("; ", 1)[1]


def cached_videos(
    dataset: TaskDataset, video_ids: Sequence[str], cache: Path | None, frames: int, size: int
) -> int:
    """How many of ``video_ids`` have a frame cache entry for (``frames``, ``size``) now
    (asked before the evaluation: those are read from the cache, the others decoded)."""
    from finsta_cli.hosts.frames import frame_cache_key

    if cache is None:
        return 0
    found = 0
    segments = dataset.segments()  # clip id -> (video id, segment) of segment questions
    for video_id in video_ids:
        source, segment = segments.get(video_id, (video_id, None))
        ref = dataset.videos.get(source)
        path = ref.path if ref is not None else None
        try:
            if path is not None and path.is_file():
                key = frame_cache_key(path, frames, size, segment)
                found += (cache / f"{key}.pt").is_file()
        except OSError:  # a file that vanished: it is decoded (and fails) as usual
            continue
    return found


def checkpoint_card(path: Path, weights: WeightsReport | None = None) -> CheckpointCard:
    """The checkpoint by content (sha256 of its bytes) and how its weights fit."""
    load = WeightsLoad(**weights.to_json()) if weights is not None else None
    return CheckpointCard(
        path=str(path), sha256=hash_file(path), bytes=path.stat().st_size, load=load
    )


def host_card(host: HostVLM) -> HostCard:
    return HostCard(
        name=host.name, config=_summarised(host.host_config()), embed_dim=host.embed_dim
    )


def software_card() -> SoftwareCard:
    """finsta's version and, when its package is a git checkout, the commit and whether
    tracked files differ from it; torch's and Python's versions."""
    import torch

    commit, dirty = source_revision()
    return SoftwareCard(
        finsta=__version__,
        git_commit=commit,
        git_dirty=dirty,
        torch=str(torch.__version__),
        python=platform.python_version(),
    )


def source_revision(package_dir: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout whose top folder holds ``package_dir`` (default:
    finsta_cli's); (None, None) when it is not one, git is absent or slow (never raises)."""
    import finsta_cli

    package = (package_dir or Path(finsta_cli.__file__).parent).resolve()
    root = package.parent
    top = _git(root, "rev-parse", "--show-toplevel")
    commit = _git(root, "rev-parse", "HEAD")
    # An installed copy inside some other repository (a venv in a checkout) is not that
    # repository's code: the package must sit at the top of the checkout.
    if top is None or commit is None or Path(top).resolve() != root:
        return None, None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # a read never takes git's lock
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _summarised(config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, list) and len(value) > _LONG_LIST:
            out[key] = {"items": len(value), "sha256": hash_json(value)}
        elif isinstance(value, Mapping):
            out[key] = _summarised(value)
        else:
            out[key] = value
    return out


def _items(task: str, metrics: Mapping[str, Any], videos: int, failed: int) -> ItemCounts:
    counts = ItemCounts(videos=videos - failed, failed_videos=failed)
    if task == "retrieval":
        hard = metrics.get("hard_negatives")
        counts.captions = int(metrics.get("num_captions", 0))
        counts.hard_negatives = int(hard["count"]) if isinstance(hard, Mapping) else None
    elif task == "videoqa":
        counts.questions_mc = int(metrics.get("mc_count", 0))
        counts.questions_open = int(metrics.get("open_count", 0))
    else:
        counts.actions = int(metrics.get("count", 0))
        counts.classes = int(metrics.get("classes", 0))
    return counts


def _captions_per_video(predictions: Sequence[Mapping[str, Any]]) -> CaptionsPerVideo | None:
    per_video = Counter(p["video_id"] for p in predictions if "t2v_rank" in p)
    if not per_video:
        return None
    counts = list(per_video.values())
    return CaptionsPerVideo(
        min=min(counts), max=max(counts), mean=round(sum(counts) / len(counts), 4)
    )


_RANK = (
    "ranks are pessimistic: 1 + the number of other candidates scoring >= the right one, so a "
    "tie counts against; R@K is the share of queries with rank <= K (percent), medr and meanr "
    "the median and mean rank"
)


def _scoring(
    task: str, metrics: Mapping[str, Any], finetune: bool, train_split: str, epochs: int
) -> dict[str, str]:
    """How each figure of ``task`` is computed (tasks.metrics, tasks.host_eval), in words."""
    head = f"trained on split {train_split!r} ({epochs} full-batch epochs, seeded; host frozen)"
    if task == "retrieval":
        videos, captions = metrics.get("num_videos"), metrics.get("num_captions")
        scoring = {
            "similarity": "cosine of the L2-normalised text and video embeddings",
            "text_to_video": f"every caption is a query against the split's {videos} "
            "video(s); its rank is 1 + the number of other videos scoring >= its own video",
            "ranks": _RANK,
        }
        if metrics.get("v2t_candidates", "captions") == "captions":
            scoring["video_to_text"] = (
                f"every video with a caption is a query against all {captions} caption(s); its "
                "rank is 1 + the number of captions of other videos scoring >= its best-scoring "
                "own caption (CLIP4Clip's multi-sentence protocol)"
            )
        else:
            scoring["video_to_text"] = (
                "every video with a caption is a query against the videos' caption groups, a "
                "group scoring its best caption; its rank is 1 + the number of other groups "
                "scoring >= its own"
            )
        if isinstance(metrics.get("hard_negatives"), Mapping):
            scoring["hard_negatives"] = (
                "share of (video, true caption, negative caption) triples where the true "
                "caption scores strictly higher, per changed aspect"
            )
        return scoring
    if task == "videoqa":
        if finetune:
            mc = f"a pair head (MLP over [v * t, v, t]) scores each option, {head}"
            opened = f"a classifier over the training split's most common answers, {head}"
        else:
            mc = "each option scored as the text 'QUESTION OPTION' against the video embedding"
            opened = (
                "every answer of the split is a candidate, scored as 'QUESTION ANSWER' against "
                "the video embedding; answers compared after normalisation"
            )
        return {
            "multiple_choice": mc + "; right only when the answer scores above every other "
            "option (a tie counts against)",
            "open_ended": opened + "; right only when the top answer is the gold one, alone",
        }
    if finetune:
        action = f"a head (MLP) on the video embedding, {head}"
    else:
        action = "the video embedding scored against the prompts 'a video of LABEL'"
    return {
        "action": action + "; top-K: the gold label's pessimistic rank <= K (ties count "
        "against) over all classes"
    }


def _graphs(summary: Mapping[str, Any]) -> GraphsCard:
    if not summary.get("with_graphs"):
        return GraphsCard(used=False)
    frames = summary.get("graphs_dsg_frames")
    return GraphsCard(
        used=True,
        tsg=_text(summary.get("graphs_tsg")),
        dsg=_text(summary.get("graphs_dsg")),
        dsg_frames=frames if isinstance(frames, int) else None,
        missing_text=summary.get("graphs_missing_text"),
        missing_video=summary.get("graphs_missing_video"),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
