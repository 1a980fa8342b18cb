"""Finsta's ablation switches on the demo's protocol: which part carries the change.

Reads a ``finsta demo`` output folder (its synth data, TSGs, DSGs and HSGs, and the host and
host+Finsta runs of one seed), post-trains the same start with the same data, seed, steps and
learning rate once per switch (``--no-ptc``, ``--no-osc``, ``--no-stgd``, ``--no-coref-edges``,
``--no-adverb-nodes``, ``--no-cross-edges``), scores each on ``test`` (retrieval with hard
negatives) and ``test_unseen`` (zero-shot retrieval), and prints one markdown table beside the
demo's own host and host+Finsta arms:

    python benchmarks/demo_ablations.py --demo D --seed 0 [--host lite] [--only no-ptc ...]

A switch whose run and evaluations exist is not run again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SWITCHES = ("no-ptc", "no-osc", "no-stgd", "no-coref-edges", "no-adverb-nodes", "no-cross-edges")


def finsta(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "finsta_cli", *args, "-q"], check=True)


def scores(run: Path) -> dict[str, float | None]:
    """The table's figures of one run folder (``eval-retrieval-test``, ``eval-zeroshot-...``)."""
    out: dict[str, float | None] = {}
    test = run / "eval-retrieval-test" / "metrics.json"
    unseen = run / "eval-zeroshot-test_unseen" / "metrics.json"
    if not unseen.is_file():
        unseen = run / "eval-retrieval-test_unseen" / "metrics.json"
    if test.is_file():
        m = json.loads(test.read_text(encoding="utf-8"))
        aspects = m.get("hard_negatives", {}).get("per_aspect", {})
        out["t2v R@1"] = m.get("t2v_r1")
        out["v2t R@1"] = m.get("v2t_r1")
        out["hard negatives"] = m.get("hard_negatives", {}).get("accuracy")
        for aspect in ("temporal", "spatial", "attribute", "object"):
            out[aspect] = aspects.get(aspect, {}).get("accuracy")
    if unseen.is_file():
        out["zero-shot unseen t2v R@1"] = json.loads(unseen.read_text(encoding="utf-8"))["t2v_r1"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, required=True, help="a finsta demo output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", choices=("lite", "tiny"), default="lite")
    parser.add_argument("--temporal", default="seqTransf")
    parser.add_argument("--only", nargs="*", choices=SWITCHES, help="default: every switch")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    demo: Path = args.demo
    prefix = "" if args.host == "tiny" else f"{args.host}-"
    runs = demo / "runs" / f"seed{args.seed}"
    reference = runs / f"{prefix}{args.temporal}-finsta"
    config = json.loads((reference / "manifest.json").read_text(encoding="utf-8"))["config"]
    cache = demo / "runs" / ".frame-cache"
    data = demo / "synth"
    rows: dict[str, dict[str, float | None]] = {
        "host only": scores(runs / f"{prefix}{args.temporal}-host"),
        "host+Finsta (all parts)": scores(reference),
    }
    seconds: dict[str, float] = {}
    for switch in args.only or SWITCHES:
        out = runs.parent / f"ablations-seed{args.seed}" / f"{prefix}{args.temporal}-{switch}"
        begin = time.perf_counter()
        if not (out / "checkpoint.pt").is_file():
            finsta(["align-train", "--data", str(data), "--tsg", str(demo / "tsg.jsonl"),
                    "--dsg", str(demo / "dsg"), "--hsg", str(demo / "hsg"),
                    "--init", str(config["init"]), "--temporal", args.temporal,
                    "--steps", str(config["steps"]), "--batch-size", str(config["batch_size"]),
                    "--lr", str(config["lr"]), "--seed", str(args.seed), f"--{switch}",
                    "--threads", str(args.threads), "--device", "cpu", "--cache", str(cache),
                    "--out", str(out)])  # fmt: skip
        for task, split, name in (
            ("eval", "test", "eval-retrieval-test"),
            ("zeroshot", "test_unseen", "eval-zeroshot-test_unseen"),
        ):
            if not (out / name / "metrics.json").is_file():
                finsta([task, "--task", "retrieval", "--checkpoint", str(out / "checkpoint.pt"),
                        "--data", str(data), "--split", split, "--cache", str(cache),
                        "--threads", str(args.threads), "--device", "cpu", "--seed",
                        str(args.seed), "--out", str(out / name)])  # fmt: skip
        seconds[switch] = time.perf_counter() - begin
        rows[f"host+Finsta --{switch}"] = scores(out)
    columns = [
        "t2v R@1", "v2t R@1", "hard negatives", "temporal", "spatial", "attribute", "object",
        "zero-shot unseen t2v R@1",
    ]  # fmt: skip
    print(f"| {args.host} {args.temporal}, seed {args.seed} | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        cells: list[Any] = [row.get(c) for c in columns]
        text = ["-" if v is None else f"{v:.1f}" for v in cells]
        print(f"| {name} | " + " | ".join(text) + " |")
    print(json.dumps({k: round(v, 1) for k, v in seconds.items()}))


if __name__ == "__main__":
    main()
