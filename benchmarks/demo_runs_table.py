"""The demo's comparison read from its run folders, for seeds whose arms were not all run by
``finsta demo`` (e.g. an arm trained and scored with the CLI into the same folder layout).

Per measure: the seeds that have both the host and the host+Finsta figure, each arm's mean ±
sample standard deviation, the change per seed and its mean, and the fusion arm where it exists:

    python benchmarks/demo_runs_table.py --demo D [--prefix lite-seqTransf]

(``D/runs/seedS/PREFIX-{host,finsta,fusion}/eval-*/metrics.json``, as the demo writes them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from demo_seeds import _summary as summary

from finsta_cli.demo import EVALUATIONS, ROWS


def folder(key: str) -> str:
    """The evaluation folder the demo writes for the task ``key`` of :data:`ROWS`."""
    return f"eval-{key}-{EVALUATIONS[key][1]}"


def get(
    runs: Path, prefix: str, seed: int, arm: str, ev: str, path: tuple[str, ...]
) -> float | None:
    """One figure of one arm's evaluation, None when it was not run."""
    file = runs / f"seed{seed}" / f"{prefix}-{arm}" / ev / "metrics.json"
    if not file.is_file():
        return None
    value = json.loads(file.read_text(encoding="utf-8"))
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, required=True, help="a finsta demo output folder")
    parser.add_argument("--prefix", default="lite-seqTransf", help="run folder prefix")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    runs: Path = args.demo / "runs"
    print("| measure | seeds | host | host+Finsta | change | per seed (change) | fusion + graphs "
          "| change |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, key, path in ROWS:
        ev = folder(key)
        figures = {
            arm: {s: get(runs, args.prefix, s, arm, ev, path) for s in args.seeds}
            for arm in ("host", "finsta", "fusion")
        }
        host, finsta, fusion = figures["host"], figures["finsta"], figures["fusion"]
        seeds = [s for s in args.seeds if host[s] is not None and finsta[s] is not None]
        if not seeds:
            continue
        h = [float(host[s]) for s in seeds]  # type: ignore[arg-type]
        f = [float(finsta[s]) for s in seeds]  # type: ignore[arg-type]
        change = [b - a for a, b in zip(h, f, strict=True)]
        fused = [s for s in seeds if fusion[s] is not None]
        fu = [float(fusion[s]) for s in fused]  # type: ignore[arg-type]
        fch = [float(fusion[s]) - float(host[s]) for s in fused]  # type: ignore[arg-type]
        note = f" (seeds {','.join(map(str, fused))})" if fused and fused != seeds else ""
        cells = [name, ",".join(map(str, seeds)), summary(h), summary(f), summary(change, True),
                 " / ".join(f"{c:+.1f}" for c in change), summary(fu) if fu else "-",
                 (summary(fch, True) + note) if fch else "-"]  # fmt: skip
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
