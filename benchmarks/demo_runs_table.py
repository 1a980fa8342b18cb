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
import statistics
from pathlib import Path

ROWS: list[tuple[str, str, tuple[str, ...]]] = [
    ("text->video R@1", "eval-retrieval-test", ("t2v_r1",)),
    ("video->text R@1", "eval-retrieval-test", ("v2t_r1",)),
    ("hard negatives: all", "eval-retrieval-test", ("hard_negatives", "accuracy")),
    (
        "hard negatives: temporal",
        "eval-retrieval-test",
        ("hard_negatives", "per_aspect", "temporal", "accuracy"),
    ),
    (
        "hard negatives: spatial",
        "eval-retrieval-test",
        ("hard_negatives", "per_aspect", "spatial", "accuracy"),
    ),
    (
        "hard negatives: attribute",
        "eval-retrieval-test",
        ("hard_negatives", "per_aspect", "attribute", "accuracy"),
    ),
    (
        "hard negatives: object",
        "eval-retrieval-test",
        ("hard_negatives", "per_aspect", "object", "accuracy"),
    ),
    ("QA multiple choice (zero-shot)", "eval-videoqa-test", ("mc_accuracy",)),
    ("QA multiple choice (head)", "eval-videoqa-ft-test", ("mc_accuracy",)),
    ("QA open-ended (head)", "eval-videoqa-ft-test", ("open_accuracy",)),
    ("action top-1 (head)", "eval-action-ft-test", ("top1",)),
    ("zero-shot unseen: text->video R@1", "eval-zeroshot-test_unseen", ("t2v_r1",)),
    (
        "zero-shot unseen: hard negatives",
        "eval-zeroshot-test_unseen",
        ("hard_negatives", "accuracy"),
    ),
]


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


def summary(values: list[float], signed: bool = False) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):{'+' if signed else ''}.1f} ± {std:.1f}"


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
    for name, ev, path in ROWS:
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
