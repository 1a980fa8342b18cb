"""Benchmark: `finsta embed` of 1,000 synth videos, timed, and checked against `finsta eval`.

    .venv/bin/python benchmarks/embed.py --work /tmp/embed-bench              # 1,000 videos
    .venv/bin/python benchmarks/embed.py --work /tmp/embed-bench --videos 200 --threads 2

Renders a synth set of --videos videos, all in its test split (`finsta synth --set
'splits={test: 1.0}'`), and post-trains the default tiny host (8 frames of 96 px) for 20 steps
on a small separate synth set (`align-train --objective host-only`). Then, each in its own
process: `finsta embed --data SET --split test` (the videos and their captions; no frame cache,
so every video is decoded), the same command again (a resumed run: nothing left to do), and
`finsta eval --task retrieval` on the same split. Last, in this process, the embeddings eval
scores are computed with eval's own calls (`embed_videos`, `encode_texts` of a `HostEmbedder`)
and compared with the exported files (`torch.equal`), and the retrieval metrics computed from
the exported files are compared with eval's metrics.json. Prints one JSON object: seconds of
each run, rows, the comparisons and the metrics.

The work folder is reused: the sets and the checkpoint are made once. Set PYTHONPATH to measure
another checkout's finsta.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KEYS = ("t2v_r1", "t2v_r5", "t2v_r10", "t2v_medr", "t2v_meanr", "v2t_r1", "v2t_r5", "v2t_medr",
        "num_captions", "num_videos")  # fmt: skip


def finsta(*args: str) -> float:
    """Run a finsta command in its own process; its wall-clock seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "finsta_cli", *args], check=True)
    return time.perf_counter() - start


def prepare(work: Path, videos: int) -> tuple[Path, Path]:
    """The synth set (all videos in its test split) and a post-trained tiny-host checkpoint."""
    data = work / f"synth-{videos}"
    if not (data / "test.jsonl").is_file():
        finsta("synth", "--out", str(data), "--videos", str(videos), "--set",
               "splits={test: 1.0}", "-q")  # fmt: skip
    train = work / "synth-train"
    if not (train / "dataset.json").is_file():
        finsta("synth", "--out", str(train), "--videos", "24", "-q")
    checkpoint = work / "host" / "checkpoint.pt"
    if not checkpoint.is_file():
        finsta("align-train", "--data", str(train), "--out", str(checkpoint.parent),
               "--objective", "host-only", "--steps", "20", "--threads", "1",
               "--device", "cpu", "--seed", "0", "-q")  # fmt: skip
    return data, checkpoint


def compare(data: Path, checkpoint: Path, out: Path, metrics: Path, threads: int) -> dict[str, Any]:
    """The exported files against eval's embeddings (computed here with ``threads`` threads, as
    the runs were: another thread count may round a matrix product otherwise) and its metrics."""
    import torch

    from finsta_cli.datasets import load_task_dataset
    from finsta_cli.hosts.factory import load_host
    from finsta_cli.runtime import configure_threads
    from finsta_cli.tasks.embedder import HostEmbedder, embed_videos, encode_texts
    from finsta_cli.tasks.metrics import retrieval_metrics

    videos = torch.load(out / "video_embeddings.pt", weights_only=True)
    texts = torch.load(out / "text_embeddings.pt", weights_only=True)
    video_ids = [json.loads(line)["id"] for line in (out / "video_ids.jsonl").open()]
    text_ids = [json.loads(line)["id"] for line in (out / "text_ids.jsonl").open()]
    configure_threads(threads)
    dataset = load_task_dataset(data, "test")
    host = HostEmbedder(load_host(checkpoint))
    gallery, caption_video = dataset.retrieval_index()
    start = time.perf_counter()
    expected = embed_videos(host, dataset, gallery, None, quiet=True)
    expected_texts = encode_texts(host, [c.text for c in dataset.captions])
    seconds = time.perf_counter() - start
    row = {video_id: i for i, video_id in enumerate(video_ids)}
    owner = torch.tensor([row[text_id.rsplit(".c", 1)[0]] for text_id in text_ids])
    ours = retrieval_metrics(texts, videos, owner)
    reference = json.loads(metrics.read_text(encoding="utf-8"))
    return {
        "ids_equal": video_ids == expected.ids
        and text_ids == [c.text_id for c in dataset.captions],
        "caption_video_equal": owner.tolist() == caption_video,
        "video_embeddings_equal": bool(torch.equal(videos, expected.embeddings)),
        "text_embeddings_equal": bool(torch.equal(texts, expected_texts)),
        "max_abs_difference": float((videos - expected.embeddings).abs().max()),
        "metrics_equal": {k: ours[k] for k in KEYS} == {k: reference[k] for k in KEYS},
        "metrics": {k: ours[k] for k in KEYS},
        "in_process_embedding_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    data, checkpoint = prepare(args.work, args.videos)
    out, evaluated = args.work / "embed", args.work / "eval"
    shutil.rmtree(out, ignore_errors=True)
    common = ["--checkpoint", str(checkpoint), "--data", str(data), "--split", "test",
              "--threads", str(args.threads), "--device", "cpu", "-q"]  # fmt: skip
    embed_seconds = finsta("embed", *common, "--out", str(out))
    resume_seconds = finsta("embed", *common, "--out", str(out))
    eval_seconds = finsta("eval", "--task", "retrieval", *common, "--out", str(evaluated))
    report = {
        "videos": args.videos,
        "threads": args.threads,
        "embed_seconds": round(embed_seconds, 1),
        "embed_resumed_seconds": round(resume_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        **compare(data, checkpoint, out, evaluated / "metrics.json", args.threads),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
