"""The demo's comparison over seeds: mean and standard deviation of each arm and of the change.

Reads ``demo-seed*.json`` (written by ``finsta demo --out D --seed S``) from a demo folder and
prints one markdown table per host variant: per measure, each arm's mean ± standard deviation
over the seeds (sample standard deviation) and the change against the host, taken per seed
first. This is how the tables of docs/benchmarks.md ("Demo: host vs host+Finsta") are made:

    python benchmarks/demo_seeds.py D            # every demo-seed*.json in D
    python benchmarks/demo_seeds.py D --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ARM_NAMES = {"host": "host", "finsta": "host+Finsta", "fusion": "fusion + graphs"}


def _summary(values: list[float], signed: bool = False) -> str:
    """``mean ± sample standard deviation`` (0 for one value); ``signed``: with its sign."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:{'+' if signed else ''}.1f} ± {std:.1f}"


def tables(comparisons: dict[int, dict[str, dict[str, dict[str, float | None]]]]) -> str:
    seeds = sorted(comparisons)
    first = comparisons[seeds[0]]
    out: list[str] = []
    for variant, rows in first.items():
        arms = [arm for arm in ARM_NAMES if any(arm in row for row in rows.values())]
        header = ["measure"]
        for arm in arms:
            header += [ARM_NAMES[arm]] if arm == "host" else [ARM_NAMES[arm], "change"]
        seed_list = ", ".join(str(s) for s in seeds)
        out.append(f"**{variant}**, mean ± standard deviation over seeds {seed_list} (percent)\n")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for measure in rows:
            cells = [measure]
            host: list[float] | None = None
            for arm in arms:
                values = [comparisons[s][variant][measure].get(arm) for s in seeds]
                if any(v is None for v in values):
                    cells += ["-"] if arm == "host" else ["-", "-"]
                    continue
                known = [float(v) for v in values if v is not None]
                cells.append(_summary(known))
                if arm == "host":
                    host = known
                else:
                    change = [v - h for v, h in zip(known, host, strict=True)] if host else None
                    cells.append(_summary(change, signed=True) if change else "-")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo", type=Path, help="a finsta demo output folder")
    parser.add_argument("--seeds", type=int, nargs="*", help="default: every demo-seed*.json")
    args = parser.parse_args()
    files = {int(p.stem.removeprefix("demo-seed")): p for p in args.demo.glob("demo-seed*.json")
             if p.stem.removeprefix("demo-seed").isdigit()}  # fmt: skip
    seeds = args.seeds if args.seeds else sorted(files)
    missing = [s for s in seeds if s not in files]
    if missing or not seeds:
        raise SystemExit(f"{args.demo}: no demo-seed{{S}}.json for seed(s) {missing or 'any'}")
    comparisons = {s: json.loads(files[s].read_text(encoding="utf-8"))["comparison"] for s in seeds}
    print(tables(comparisons))


if __name__ == "__main__":
    main()
