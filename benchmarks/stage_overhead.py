"""Cost of the stage machinery: StageRun (resume ledger, progress, manifest) vs a bare loop.

Both write the same N small JSON outputs atomically; the ratio bare/stage shows what resume,
failure isolation and bookkeeping cost per item. A second StageRun pass over the same items
measures how fast resume skips finished work.

    python benchmarks/stage_overhead.py --items 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from finsta_cli.config import StageConfig
from finsta_cli.io import (
    StageItem,
    StagePaths,
    StageRun,
    atomic_write_json,
    hash_text,
    output_path,
)


class BenchConfig(StageConfig):
    pass


def items(count: int) -> list[StageItem[str]]:
    return [
        StageItem(id=f"item{i:06d}", input_hash=hash_text(str(i)), payload=str(i))
        for i in range(count)
    ]


def bare(out: Path, work: list[StageItem[str]]) -> float:
    start = time.perf_counter()
    for item in work:
        atomic_write_json(output_path(out, item.id, ".json"), {"value": item.payload})
    return time.perf_counter() - start


def staged(out: Path, work: list[StageItem[str]]) -> float:
    def process(item: StageItem[str]) -> Sequence[Path]:
        path = output_path(out, item.id, ".json")
        atomic_write_json(path, {"value": item.payload})
        return [path]

    start = time.perf_counter()
    with StageRun("bench", StagePaths.for_dir(out), BenchConfig(), quiet=True) as run:
        run.run(work, process)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    work = items(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t_bare = bare(root / "bare", work)
        t_stage = staged(root / "stage", work)
        t_resume = staged(root / "stage", work)
    print(f"items: {args.items}")
    print(f"bare loop:   {args.items / t_bare:9.1f} items/s")
    print(f"StageRun:    {args.items / t_stage:9.1f} items/s")
    print(f"resume pass: {args.items / t_resume:9.1f} items/s (all skipped)")
    print(f"ratio StageRun / bare throughput: {t_bare / t_stage:.2f}")


if __name__ == "__main__":
    main()
