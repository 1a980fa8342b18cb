"""Captioning on a demo's synth data: the caption head trained on each arm's host (host and
host+Finsta) against the nearest-training-caption baseline, over post-training and head seeds.

Reads a ``finsta demo --out D`` folder (its ``synth/`` and ``runs/seed*/*-{host,finsta}``
checkpoints); for each checkpoint the frame features of the train and test splits are computed
once, then one head per ``--head-seeds`` is trained on them and scored (pycocoevalcap when Java
is here). Prints a markdown table (mean ± sample standard deviation over every run of an arm)
and writes every run's scores to ``--out``:

    python benchmarks/captioning.py D --head-seeds 0 1 2 --epochs 30 --out captioning.json

``--arms host`` / ``--arms finsta`` run one arm (two processes can share the work);
``--summarise A.json B.json`` prints the table of runs written before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

ARMS = {"host": "host", "finsta": "host+Finsta"}
SHOWN = ("cider", "bleu_4", "meteor", "rouge_l")


def _runs(demo: Path, seeds: list[int] | None, arms: list[str]) -> list[tuple[int, str, Path]]:
    """(post-training seed, arm, checkpoint) of the demo's host and host+Finsta arms."""
    found = []
    for folder in sorted(demo.glob("runs/seed*")):
        seed = int(folder.name.removeprefix("seed"))
        if seeds is not None and seed not in seeds:
            continue
        for arm in arms:
            for run in sorted(folder.glob(f"*-{arm}")):
                if (run / "checkpoint.pt").is_file():
                    found.append((seed, arm, run / "checkpoint.pt"))
    return found


def _summary(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} ± {std:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path, nargs="?")
    parser.add_argument("--arms", nargs="+", choices=tuple(ARMS), default=list(ARMS))
    parser.add_argument("--width", type=int, default=None, help="caption_head.width")
    parser.add_argument("--lr", type=float, default=None, help="caption_head.lr")
    parser.add_argument("--summarise", type=Path, nargs="+", default=None)
    parser.add_argument("--post-seeds", type=int, nargs="*", default=None)
    parser.add_argument("--head-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--decode", choices=("greedy", "beam"), default="beam")
    parser.add_argument("--split", default="test")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--metrics", default="auto", choices=("auto", "pycocoevalcap", "python"))
    parser.add_argument("--out", type=Path, default=Path("captioning.json"))
    args = parser.parse_args()
    if args.summarise:
        runs = [row for path in args.summarise for row in json.loads(path.read_text("utf-8"))]
        print(_table(runs))
        return

    from finsta_cli.captioning.finetune import (
        CaptionSettings,
        caption_from_features,
        host_frame_features,
    )
    from finsta_cli.captioning.metrics import score_captions
    from finsta_cli.datasets import load_task_dataset
    from finsta_cli.hosts.factory import load_host
    from finsta_cli.runtime import configure_threads

    configure_threads(args.threads)
    data = args.demo / "synth"
    train = load_task_dataset(data, split="train")
    test = load_task_dataset(data, split=args.split)
    train_captions, references = train.captions_by_video(), test.captions_by_video()
    from finsta_cli.captioning.config import CaptionHeadConfig

    sizes: dict[str, Any] = {}
    if args.width is not None:  # the feed-forward layers scale with it
        sizes = {"width": args.width, "ff_width": 2 * args.width}
    if args.lr is not None:
        sizes["lr"] = args.lr
    head_config = CaptionHeadConfig(**sizes)
    settings = CaptionSettings(head=head_config, epochs=args.epochs, decode=args.decode)
    rows: list[dict[str, Any]] = []
    for post_seed, arm, checkpoint in _runs(args.demo, args.post_seeds, args.arms):
        begin = time.perf_counter()
        host = load_host(checkpoint)
        train_f = host_frame_features(host, train, list(train_captions), args.cache, True)
        test_f = host_frame_features(host, test, list(references), args.cache, True)
        featured = time.perf_counter() - begin
        print(f"seed {post_seed} {arm}: features in {featured:.0f} s", flush=True)
        base = None  # the baseline depends on the features only: scored once
        for head_seed in args.head_seeds:
            start = time.perf_counter()
            run = caption_from_features(train_f, test_f, train_captions, references, settings,
                                        seed=head_seed)  # fmt: skip
            trained = time.perf_counter() - start
            head = score_captions(run.references, run.predictions, backend=args.metrics)
            if base is None:
                base = score_captions(run.references, run.baseline, backend=args.metrics)
            rows.append({"post_seed": post_seed, "arm": arm, "head_seed": head_seed,
                         "epochs": args.epochs, "width": head_config.width,
                         "lr": head_config.lr, "decode": args.decode,
                         "train_videos": len(train_captions), "videos": len(references),
                         "checkpoint": str(checkpoint), "head": head.to_json(),
                         "baseline": base.to_json(), "loss_last": run.train_losses[-1],
                         "feature_seconds": round(featured, 1),
                         "train_decode_seconds": round(trained, 1)})  # fmt: skip
            print(f"seed {post_seed} {arm} head {head_seed}: CIDEr {100 * head.cider:.1f} "
                  f"(baseline {100 * base.cider:.1f}), {trained:.0f} s", flush=True)  # fmt: skip
            args.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(_table(rows))


def _table(rows: list[dict[str, Any]]) -> str:
    """Markdown: each arm's scores x100, mean ± sd over its runs, and the baseline's."""
    first = rows[0]
    out = [f"{first['train_videos']} training videos, {first['videos']} test videos; "
           f"{first['epochs']} epochs, width {first['width']}, lr {first.get('lr')}, "
           f"{first.get('decode', 'beam')}; x100, mean ± sd over runs\n",
           "| arm | runs | " + " | ".join(SHOWN) + " | baseline cider | baseline bleu_4 |",
           "|---" * (len(SHOWN) + 4) + "|"]  # fmt: skip
    for arm, name in ARMS.items():
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        cells = []
        for key in SHOWN:
            values = [r["head"][key] for r in mine if r["head"][key] is not None]
            cells.append(_summary([100 * v for v in values]) if values else "-")
        for key in ("cider", "bleu_4"):
            cells.append(_summary([100 * r["baseline"][key] for r in mine]))
        out.append(f"| {name} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
