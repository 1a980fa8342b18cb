"""Benchmark: peak memory of `finsta eval --task retrieval` on a small and a large test split.

    .venv/bin/python benchmarks/eval_memory.py --work /tmp/eval-memory            # 200 vs 2,000
    .venv/bin/python benchmarks/eval_memory.py --work /tmp/eval-memory --video-chunk 64

Renders a small synth set (`finsta synth`, 24 videos at 128 px) and post-trains a tiny host on
it for a few steps (`align-train --objective host-only`, the default tiny host: 8 frames of
96 px, 221 KB of frames per video). Then it writes two synth-format splits of --small and
--large videos that re-use the rendered files under new ids: record k is a copy of rendered
record k mod 24 (its captions and hard negatives) with `video_id` `ID-k` and `video` the same
mp4. Without `--cache` every id is decoded and encoded as a video of its own, so the work and
the per-video data grow with the split as for distinct files. Each split is evaluated in its
own `python -m finsta_cli eval` process (`--threads 1`, CPU); its peak resident memory is read
from `os.wait4`. The peak of the same run varies by some tens of MiB (allocator), so each split
is evaluated --repeats times (alternating) and the medians are compared. Prints every peak, the
median of each split, their ratio and the seconds of each run.

The work folder is reused: the rendered set, the checkpoint and the splits are made once. Set
PYTHONPATH to measure another checkout's finsta (the eval runs see this process's environment).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RENDERED = 24


def finsta(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "finsta_cli", *args], check=True)


def prepare(work: Path) -> tuple[Path, list[dict[str, object]]]:
    """The rendered synth folder and its records, and a post-trained tiny-host checkpoint."""
    data = work / "synth"
    if not (data / "dataset.json").is_file():
        finsta("synth", "--out", str(data), "--videos", str(RENDERED), "--size", "128", "-q")
    records: list[dict[str, object]] = []
    for split in ("train", "val", "test", "test_unseen"):
        with (data / f"{split}.jsonl").open(encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    checkpoint = work / "host" / "checkpoint.pt"
    if not checkpoint.is_file():
        finsta("align-train", "--data", str(data), "--out", str(checkpoint.parent),
               "--objective", "host-only", "--steps", "20", "--threads", "1",
               "--device", "cpu", "--seed", "0", "-q")  # fmt: skip
    return checkpoint, records


def write_split(work: Path, data: Path, records: list[dict[str, object]], videos: int) -> Path:
    """A synth folder whose test split has ``videos`` ids over the rendered files."""
    folder = work / f"split-{videos}"
    target = folder / "test.jsonl"
    if target.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.json").write_text((data / "dataset.json").read_text(encoding="utf-8"))
    with target.open("w", encoding="utf-8") as handle:
        for k in range(videos):
            record = dict(records[k % len(records)])
            source = str(record["video_id"])
            record["video"] = str(data / str(record.get("video") or f"videos/{source}.mp4"))
            record["video_id"] = f"{source}-{k}"
            handle.write(json.dumps(record) + "\n")
    return folder


def measure(checkpoint: Path, split: Path, out: Path, chunk: int | None) -> tuple[int, float]:
    """Peak RSS (bytes) and seconds of one eval run in its own process."""
    command = [sys.executable, "-m", "finsta_cli", "eval", "--task", "retrieval",
               "--checkpoint", str(checkpoint), "--data", str(split), "--split", "test",
               "--out", str(out), "--threads", "1", "--device", "cpu", "-q"]  # fmt: skip
    if chunk is not None:
        command += ["--video-chunk", str(chunk)]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"eval on {split} exited {process.returncode}")
    return usage.ru_maxrss * 1024, seconds  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for data and runs")
    parser.add_argument("--small", type=int, default=200, help="videos of the small split")
    parser.add_argument("--large", type=int, default=2000, help="videos of the large split")
    parser.add_argument("--video-chunk", type=int, help="eval --video-chunk [eval's default]")
    parser.add_argument("--repeats", type=int, default=3, help="runs per split [3]")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    checkpoint, records = prepare(args.work)
    splits = {n: write_split(args.work, args.work / "synth", records, n)
              for n in (args.small, args.large)}  # fmt: skip
    suffix = "" if args.video_chunk is None else f"-chunk{args.video_chunk}"
    peaks: dict[int, list[float]] = {n: [] for n in splits}
    rows: dict[int, dict[str, object]] = {}
    for _ in range(args.repeats):
        for videos, split in splits.items():
            out = args.work / f"eval-{videos}{suffix}"
            rss, seconds = measure(checkpoint, split, out, args.video_chunk)
            metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
            peaks[videos].append(round(rss / 2**20, 1))
            rows[videos] = {"num_videos": metrics["num_videos"],
                            "num_captions": metrics["num_captions"], "seconds": round(seconds, 1),
                            "peak_rss_mib": peaks[videos]}  # fmt: skip
            print(f"{videos:>6} videos: peak RSS {peaks[videos][-1]:8.1f} MiB, {seconds:6.1f} s, "
                  f"{metrics['num_captions']} captions", flush=True)  # fmt: skip
    median = {n: statistics.median(p) for n, p in peaks.items()}
    ratio = median[args.large] / median[args.small]
    print(
        f"median peak RSS: {args.small} videos {median[args.small]:.1f} MiB, {args.large} "
        f"videos {median[args.large]:.1f} MiB; ratio {ratio:.2f} (goal: at most 1.2)"
    )
    print(json.dumps({"video_chunk": args.video_chunk, "runs": rows, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
