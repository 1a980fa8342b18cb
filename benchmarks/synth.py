"""Benchmark: `finsta synth` rendering throughput, one worker vs two, side by side in one run.

    .venv/bin/python benchmarks/synth.py --videos 2000          # the issue's goal: < 10 min
    .venv/bin/python benchmarks/synth.py --videos 100 --project 2000

Renders the same dataset (same seed) with --workers 1 and with --workers 2 into temporary
folders, checks that both give identical annotations, and prints seconds, videos/s, frames/s,
the two-worker speed-up, and the time projected for --project videos (linear in the count: each
video is independent) against the 10-minute goal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from finsta_cli.synth.generate import SynthConfig, generate_dataset
from finsta_cli.synth.records import SPLITS

GOAL_SECONDS = 600.0


def render(videos: int, workers: int, seed: int, root: Path) -> tuple[float, int, Path]:
    out = root / f"workers{workers}"
    start = time.perf_counter()
    summary = generate_dataset(
        SynthConfig(videos=videos, seed=seed, workers=workers), out, quiet=True
    )
    seconds = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{summary.failed} videos failed; see {summary.failures}")
    frames = 0
    for split in SPLITS:
        index = out / f"{split}.jsonl"
        if index.is_file():
            frames += sum(json.loads(line)["num_frames"] for line in index.open())
    return seconds, frames, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--project", type=int, default=2000, help="project the time to N videos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the rendered folders here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="finsta-bench-synth-"))
    try:
        rows = []
        for workers in (1, 2):
            seconds, frames, out = render(args.videos, workers, args.seed, root)
            rows.append((workers, seconds, frames, out))
        same = all(
            (rows[0][3] / f"{s}.jsonl").read_bytes() == (rows[1][3] / f"{s}.jsonl").read_bytes()
            for s in SPLITS
            if (rows[0][3] / f"{s}.jsonl").is_file()
        )
        print(f"finsta synth, {args.videos} videos, seed {args.seed}, {os.cpu_count()} CPUs")
        print(f"{'workers':>8} {'seconds':>9} {'videos/s':>9} {'frames/s':>9} {'projected':>10}")
        for workers, seconds, frames, _ in rows:
            projected = seconds * args.project / args.videos
            print(
                f"{workers:>8} {seconds:>9.1f} {args.videos / seconds:>9.2f} "
                f"{frames / seconds:>9.1f} {projected / 60:>8.1f}m"
            )
        one, two = rows[0][1], rows[1][1]
        projected = two * args.project / args.videos
        print(f"speed-up with 2 workers: {one / two:.2f}x; identical annotations: {same}")
        note = "measured" if args.project == args.videos else "projected linearly"
        print(
            f"N={args.project} with 2 workers: {projected / 60:.1f} min ({note}), "
            f"{projected / GOAL_SECONDS:.2f}x the 10-minute goal"
        )
        if args.keep:
            shutil.copytree(root, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
