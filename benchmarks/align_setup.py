"""align-train's set-up of the graphs: a first run (DSG/HSG JSON read and converted, the graph
cache written) against a second run (the cache read back), side by side on one synth set.

The timed call is what align-train runs at set-up, :func:`finsta_cli.align.data_cache.
cached_align_data` (frames and the host are not part of it), on the videos and captions of the
chosen splits; modules are imported before timing. Each round uses a fresh cache folder: the
first call builds and stores, the second reads. Prints wall and CPU seconds per call, per 1,000
videos, and the median ratio over the rounds.

    python benchmarks/align_setup.py --root /tmp/setup-bench --videos 1000 --rounds 3
    python benchmarks/align_setup.py --data D/synth --tsg D/tsg.jsonl --dsg D/dsg --hsg D/hsg

Without ``--data`` it renders a synth set under ``--root`` with ground-truth DSGs (as
``benchmarks/align_train.py`` does: synth, parse-text, build-hsg), or reuses one already there.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from align_train import Sources, build_sources


def _entries(data: Path, splits: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    from finsta_cli.align.data import videos_with_captions
    from finsta_cli.datasets import load_task_dataset

    entries = []
    for split in splits:
        dataset = load_task_dataset(data, split=split)
        entries += [(vid, captions) for vid, _, captions in videos_with_captions(dataset)]
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="where a rendered set goes")
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="an existing synth folder")
    parser.add_argument("--tsg", type=Path)
    parser.add_argument("--dsg", type=Path)
    parser.add_argument("--hsg", type=Path)
    parser.add_argument("--splits", default="train,val,test,test_unseen")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from finsta_cli.align.data_cache import cached_align_data
    from finsta_cli.graph import GraphOptions

    torch.set_num_threads(args.threads)
    if args.data is not None:
        sources = Sources(args.data, args.tsg, args.dsg, args.hsg)
    else:
        root = args.root or Path(tempfile.mkdtemp(prefix="align-setup-"))
        if (root / "hsg").is_dir():
            sources = Sources(root / "synth", root / "tsg.jsonl", root / "dsg", root / "hsg")
        else:
            sources = build_sources(root, args.videos, args.seed, "truth")
    entries = _entries(sources.data, args.splits.split(","))
    videos, captions = len(entries), sum(len(c) for _, c in entries)
    print(f"{videos} videos, {captions} captions ({args.splits}), {args.rounds} round(s)")
    ratios: list[float] = []
    per_1000: list[float] = []
    for number in range(1, args.rounds + 1):
        cache = Path(tempfile.mkdtemp(prefix="graph-cache-"))
        times = []
        for expected_hit in (False, True):
            wall, cpu = time.perf_counter(), time.process_time()
            data, hit = cached_align_data(
                cache, entries, tsg_file=sources.tsg, dsg_dir=sources.dsg, hsg_dir=sources.hsg,
                options=GraphOptions(),
            )  # fmt: skip
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
            assert hit == expected_hit and len(data.videos) == videos
        shutil.rmtree(cache)
        (first, first_cpu), (second, second_cpu) = times
        ratios.append(first / second)
        per_1000.append(second * 1000 / videos)
        print(
            f"round {number}: first run {first:.2f} s (CPU {first_cpu:.2f}), second run "
            f"{second:.2f} s (CPU {second_cpu:.2f}): {first / second:.1f}x; second run "
            f"{second * 1000 / videos:.2f} s per 1,000 videos"
        )
    print(
        f"median: first / second {statistics.median(ratios):.1f}x, second run "
        f"{statistics.median(per_1000):.2f} s per 1,000 videos"
    )


if __name__ == "__main__":
    main()
