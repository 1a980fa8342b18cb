"""Long-form video QA end to end: ``finsta eval --task videoqa --format how2qa|violin`` with the
session's tiny host on one long mp4 made of the synth videos with gaps between, each question
about its video's segment; what the host sees of a segment is that video."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.datasets import load_task_dataset
from finsta_cli.hosts.factory import load_host
from finsta_cli.tasks.embedder import embed_videos
from tests.align.fixtures import SPLITS, AlignSet, align_set  # noqa: F401
from tests.datasets.helpers import read_jsonl, write_jsonl
from tests.hosts.long_video import write_long_mp4

GAP_SECONDS = 8  # grey between two synth videos: 12 videos of 3 s make 2.6 minutes


@dataclass(frozen=True)
class LongSet:
    root: Path
    videos: Path  # the folder holding long.mp4
    segments: dict[str, tuple[float, float]]  # synth video id -> its segment of long.mp4
    how2qa: Path
    how2qa_rows: int
    violin: Path
    subtitles: Path


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def long_set(align_set: AlignSet, tmp_path_factory: pytest.TempPathFactory) -> LongSet:
    root = tmp_path_factory.mktemp("long-qa")
    (root / "videos").mkdir()
    records = align_set.records()
    fps = int(records[0]["fps"])
    segments: dict[str, tuple[float, float]] = {}

    def frames() -> Any:
        position = 0
        for record in records:
            video = _frames(align_set.data / record["video"])
            grey = np.full_like(video[0], 128)
            for _ in range(GAP_SECONDS * fps):
                yield grey
            position += GAP_SECONDS * fps
            segments[record["video_id"]] = (position / fps, (position + len(video)) / fps)
            yield from video
            position += len(video)

    write_long_mp4(root / "videos" / "long.mp4", frames(), fps)
    # How2QA's release rows: video, [start:end], three wrong answers, question, answer
    rows = []
    for split in SPLITS:
        for q in load_task_dataset(align_set.data, split).qa_mc:
            wrong = [o for o in q.options or () if o != q.answer][:3]
            start, end = segments[q.video_id]
            rows.append(["long", f"[{start:g}:{end:g}]", *wrong, q.question, q.answer])
    how2qa = root / "how2qa_test.csv"
    with how2qa.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    # VIOLIN (VALUE's JSONL): each video's caption is true of its segment, the next one's false
    captions: dict[str, str] = {}
    for split in SPLITS:
        for caption in load_task_dataset(align_set.data, split).captions:
            captions.setdefault(caption.video_id, caption.text)
    ids = list(captions)
    lines = []
    for k, video_id in enumerate(ids):
        ts = "{:g}-{:g}".format(*segments[video_id])
        false = captions[ids[(k + 1) % len(ids)]]
        lines += [
            {"paired_id": k, "vid_name": "long", "statement": captions[video_id], "answer": 1,
             "ts": ts},
            {"paired_id": k, "vid_name": "long", "statement": false, "answer": 0, "ts": ts},
        ]  # fmt: skip
    violin = write_jsonl(root / "violin_test.jsonl", lines)
    (root / "violin").mkdir()  # a folder of VALUE's splits, for --finetune
    write_jsonl(root / "violin" / "violin_train.jsonl", lines)
    write_jsonl(root / "violin" / "violin_test.jsonl", lines)
    subtitles = root / "subtitles.json"
    spoken = [{"text": f"now the {r['objects'][0]['shape']}", "start": segments[r["video_id"]][0],
               "end": segments[r["video_id"]][1]} for r in records]  # fmt: skip
    subtitles.write_text(json.dumps({"long": spoken}), encoding="utf-8")
    return LongSet(root, root / "videos", segments, how2qa, len(rows), violin, subtitles)


def _eval(
    runner: CliRunner, align_set: AlignSet, data: Path, fmt: str, out: Path, *extra: str
) -> Any:
    args = ["eval", "--task", "videoqa", "--format", fmt, "--data", str(data), "--video-root",
            str(data.parent / "videos"), "--checkpoint", str(align_set.checkpoint), "--out",
            str(out), "--cache", str(out / "cache"), "--threads", "1", "--device", "cpu",
            "--json", *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_how2qa_on_a_long_video(
    runner: CliRunner, align_set: AlignSet, long_set: LongSet, tmp_path: Path
) -> None:
    result = _eval(runner, align_set, long_set.how2qa, "how2qa", tmp_path / "h")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["mc_count"] == long_set.how2qa_rows > 20 and metrics["failed_videos"] == 0
    predictions = read_jsonl(tmp_path / "h" / "predictions.jsonl")
    spans = {tuple(s) for s in long_set.segments.values()}
    assert len(predictions) == long_set.how2qa_rows
    assert all(p["video_id"] == "long" and tuple(p["segment"]) in spans for p in predictions)
    # one cache entry per segment (12 videos' segments), none for the whole video
    assert len(list((tmp_path / "h" / "cache").glob("*.pt"))) == len(spans)
    frames = metrics["protocol"]["frames"]
    assert "question's segment" in frames["sampling"] and frames["decoded"] == len(spans)
    assert metrics["protocol"]["dataset"].get("subtitles") is None
    # a second run reads each segment's frames from the cache, and its card says so
    again = json.loads(_eval(runner, align_set, long_set.how2qa, "how2qa", tmp_path / "h").stdout)
    assert again["protocol"]["frames"]["from_cache"] == len(spans)
    assert again["protocol"]["frames"]["decoded"] == 0


def test_a_segment_is_embedded_as_its_video(align_set: AlignSet, long_set: LongSet) -> None:
    host = load_host(align_set.checkpoint, torch.device("cpu"))
    how2qa = load_task_dataset(long_set.how2qa, "test", video_root=long_set.videos)
    clips = how2qa.segments()
    by_video = {v: k for k, (_, segment) in clips.items()
                for v, s in long_set.segments.items() if s == segment}  # fmt: skip
    order = [v for v in long_set.segments if v in by_video]
    segment_emb = embed_videos(host, how2qa, [by_video[v] for v in order], None, True).embeddings
    synth = load_task_dataset(align_set.data, "train")
    for split in SPLITS[1:]:
        synth.videos.update(load_task_dataset(align_set.data, split).videos)
    video_emb = embed_videos(host, synth, order, None, True).embeddings
    similarity = segment_emb @ video_emb.t()
    # the same frames (the segment's keyframes are the video's), re-encoded once
    assert bool((similarity.diagonal() > 0.95).all())
    assert similarity.argmax(dim=1).tolist() == list(range(len(order)))


def test_violin_pairs_on_a_long_video_with_subtitles(
    runner: CliRunner, align_set: AlignSet, long_set: LongSet, tmp_path: Path
) -> None:
    plain = _eval(runner, align_set, long_set.violin, "violin", tmp_path / "v")
    assert plain.exit_code == 0, plain.output
    metrics = json.loads(plain.stdout)
    assert metrics["pair_count"] == len(long_set.segments) == metrics["mc_count"]
    assert metrics["pair_accuracy"] == metrics["mc_accuracy"]
    subtitled = _eval(runner, align_set, long_set.violin, "violin", tmp_path / "s",
                      "--subtitles", str(long_set.subtitles))  # fmt: skip
    assert subtitled.exit_code == 0, subtitled.output
    subtitled_metrics = json.loads(subtitled.stdout)
    assert subtitled_metrics["pair_count"] == len(long_set.segments)
    assert subtitled_metrics["protocol"]["dataset"]["subtitles"] == str(long_set.subtitles)
    # each pair's statements are scored with the subtitles of its segment after them
    items = load_task_dataset(long_set.violin, "test", subtitles=long_set.subtitles).qa_mc
    assert [q.subtitles for q in items] == [f"now the {r['objects'][0]['shape']}"
                                            for r in align_set.records()]  # fmt: skip
    refused = _eval(runner, align_set, long_set.violin, "violin", tmp_path / "r",
                    "--subtitles", "dataset")  # fmt: skip
    assert refused.exit_code == 1 and "has no subtitles of its own" in refused.output


def test_violin_statements_judged_alone_by_a_finetuned_head(
    runner: CliRunner, align_set: AlignSet, long_set: LongSet, tmp_path: Path
) -> None:
    out = tmp_path / "f"
    result = _eval(runner, align_set, long_set.root / "violin", "violin", out, "--finetune")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["finetuned"] is True and metrics["pair_count"] == len(long_set.segments)
    statements = [p for p in read_jsonl(out / "predictions.jsonl") if p["kind"] == "statement"]
    assert metrics["statement_count"] == len(statements) == 2 * len(long_set.segments)
    assert sum(p["answer"] for p in statements) == len(long_set.segments)  # one true per pair
    share = 100.0 * sum(p["correct"] for p in statements) / len(statements)
    assert metrics["statement_accuracy"] == pytest.approx(share)
    # judged on the statements it was trained on, the head must have learnt them (chance: 50)
    assert metrics["statement_accuracy"] >= 75


def test_refusals(
    runner: CliRunner,
    align_set: AlignSet,
    long_set: LongSet,
    fusion_checkpoint: Path,
    tmp_path: Path,
) -> None:
    retrieval = runner.invoke(app, ["eval", "--task", "retrieval", "--data", str(align_set.data),
                                    "--checkpoint", str(align_set.checkpoint), "--subtitles",
                                    str(long_set.subtitles)])  # fmt: skip
    assert retrieval.exit_code == 2 and "--subtitles applies to --task videoqa" in retrieval.output
    graphs = runner.invoke(app, ["eval", "--task", "videoqa", "--format", "how2qa", "--data",
                                 str(long_set.how2qa), "--video-root", str(long_set.videos),
                                 "--checkpoint", str(fusion_checkpoint), "--with-graphs",
                                 "--out", str(tmp_path / "g")])  # fmt: skip
    assert graphs.exit_code == 2, graphs.output
    assert "questions are about segments of the videos" in graphs.output
