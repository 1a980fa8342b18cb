"""The lite host against the tiny host on the lite demo's protocol (issue #16: "this host alone
beats the tiny host on every demo figure").

Runs the tiny demo (its own initialisation from scratch, then host and host+Finsta arms) on the
lite demo's data (the same synth seed, 640 videos and splits: 200 test videos) into ``--out``,
then prints, per demo measure, the host-only arm of both hosts (mean ± standard deviation over
the seeds) from ``demo-seed*.json`` of both folders:

    finsta demo --out L --seed S                      # the lite demo, for each seed
    python benchmarks/demo_tiny_vs_lite.py --lite L --out T --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from demo_seeds import _summary as summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lite", type=Path, required=True, help="a lite finsta demo folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the tiny demo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arm", default="host", choices=("host", "finsta"))
    args = parser.parse_args()
    from finsta_cli.demo import DemoPlan, run_demo

    lite = DemoPlan.for_host("lite")
    plan = dataclasses.replace(
        DemoPlan.for_host("tiny"),
        videos=lite.videos,
        splits=lite.splits,
        temporals=lite.temporals,
        fusion_temporals=(),
    )
    tables: dict[str, dict[str, list[float]]] = {"lite": {}, "tiny": {}}
    for seed in args.seeds:
        if not (args.out / f"demo-seed{seed}.json").is_file():
            run_demo(args.out, plan=plan, seed=seed, quiet=True, chart=False)
    for seed in args.seeds:
        if not (args.lite / f"demo-seed{seed}.json").is_file():
            raise SystemExit(f"{args.lite}: no demo-seed{seed}.json: run finsta demo --seed {seed}")
        for host, folder in (("lite", args.lite), ("tiny", args.out)):
            result = json.loads((folder / f"demo-seed{seed}.json").read_text(encoding="utf-8"))
            for rows in result["comparison"].values():
                for measure, arms in rows.items():
                    if arms.get(args.arm) is not None:
                        tables[host].setdefault(measure, []).append(float(arms[args.arm]))
    seeds = ", ".join(str(s) for s in args.seeds)
    print(f"{args.arm} arm, mean ± standard deviation over seeds {seeds} (percent)\n")
    print("| measure | tiny | lite | lite - tiny |")
    print("|---|---|---|---|")
    for measure, tiny in tables["tiny"].items():
        ours = tables["lite"].get(measure)
        if not ours or len(ours) != len(tiny):
            continue
        change = [a - b for a, b in zip(ours, tiny, strict=True)]
        print(f"| {measure} | {summary(tiny)} | {summary(ours)} | {summary(change)} |")


if __name__ == "__main__":
    main()
