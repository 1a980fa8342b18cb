"""The lite host's shipped starting point (``assets/hosts/lite-synth-<temporal>.pt``) and its card.

The demo post-trains this checkpoint instead of initialising the lite host from scratch. It is
the lite host's own layers (projections, motion map, temporal head; the towers stay frozen and
come from their packages) aligned with the host's own loss (``--objective host-only``: no
graphs) on a large synth set of another seed than the demo's (the demo renders seed 0), so the
demo's videos are never seen. Steps, all as the card records them:

    finsta synth --out WORK/synth --videos 5600 --seed 1000 --config WORK/synth.yaml  # 90 % train
    finsta align-train --data WORK/synth --host lite --temporal T --objective host-only \\
        --steps N --seed 0 --threads 1 --device cpu --out WORK/run [--config WORK/host.yaml]
    finsta eval --task retrieval --checkpoint WORK/run/checkpoint.pt --data WORK/synth --split val

then the checkpoint is copied to ``assets/hosts/lite-synth-T.pt`` and the card (data, seed,
steps, training loss, val figures, the commands, the checkpoint's sha256) written beside it as
``lite-synth-T.json``. A step that already ran (its output exists) is not run again.

    python benchmarks/lite_pretrain.py --work /tmp/lite-pre --temporal seqTransf --steps 3000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def finsta(args: list[str], commands: list[str]) -> float:
    """Run one finsta command (recorded in ``commands``); its wall seconds."""
    commands.append("finsta " + shlex.join(args))
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-m", "finsta_cli", *args, "-q"], check=True)
    return time.perf_counter() - begin


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for data and the run")
    parser.add_argument("--videos", type=int, default=5600)
    parser.add_argument("--seed", type=int, default=1000, help="synth seed (the demo's is 0)")
    parser.add_argument("--train-fraction", type=float, default=0.9)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--temporal", choices=("meanP", "seqTransf"), default="seqTransf")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--host-options", default="{}", help="JSON host_options")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--assets", type=Path, default=REPO / "assets" / "hosts")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    commands: list[str] = []
    seconds: dict[str, float] = {}
    synth = work / "synth"
    splits = {"train": args.train_fraction, "val": round(1 - args.train_fraction, 6)}
    (work / "synth.yaml").write_text(json.dumps({"synth": {"splits": splits}}) + "\n")
    seconds["synth"] = finsta(
        ["synth", "--out", str(synth), "--videos", str(args.videos), "--seed", str(args.seed),
         "--workers", str(args.workers), "--config", str(work / "synth.yaml")],
        commands,
    )  # fmt: skip
    run = work / "run"
    host_options = json.loads(args.host_options)
    train = ["align-train", "--data", str(synth), "--host", "lite", "--temporal", args.temporal,
             "--objective", "host-only", "--steps", str(args.steps), "--batch-size",
             str(args.batch_size), "--lr", str(args.lr), "--seed", "0", "--threads",
             str(args.threads), "--device", "cpu", "--cache", str(work / "frame-cache"),
             "--out", str(run)]  # fmt: skip
    if host_options:
        (work / "host.yaml").write_text(
            json.dumps({"align_train": {"host_options": host_options}}) + "\n"
        )
        train += ["--config", str(work / "host.yaml")]
    if not (run / "checkpoint.pt").is_file():
        seconds["align-train"] = finsta(train, commands)
    else:
        commands.append("finsta " + shlex.join(train))
    evaluation = work / "eval-val"
    score = ["eval", "--task", "retrieval", "--checkpoint", str(run / "checkpoint.pt"), "--data",
             str(synth), "--split", "val", "--threads", str(args.threads), "--device", "cpu",
             "--cache", str(work / "frame-cache"), "--out", str(evaluation)]  # fmt: skip
    if not (evaluation / "metrics.json").is_file():
        seconds["eval"] = finsta(score, commands)
    else:
        commands.append("finsta " + shlex.join(score))
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    metrics = json.loads((evaluation / "metrics.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    counts = json.loads((synth / "dataset.json").read_text(encoding="utf-8")).get("splits")
    name = f"lite-synth-{args.temporal}.pt"
    args.assets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "checkpoint.pt", args.assets / name)
    hard = metrics.get("hard_negatives", {})
    card: dict[str, Any] = {
        "checkpoint": name,
        "bytes": (args.assets / name).stat().st_size,
        "sha256": sha256(args.assets / name),
        "host": "lite",
        "host_config": manifest["config"]["host_options"] | {"temporal": args.temporal},
        "what": "the lite host's own layers (projections, motion map, temporal head, "
        "temperature) aligned with its own video-text loss (host-only, no graphs); the frozen "
        "towers (EfficientNet-Lite0, all-MiniLM-L6-v2) are not in the file: they come from "
        "their packages",
        "data": {
            "synth_seed": args.seed,
            "videos": args.videos,
            "splits": counts,
            "note": "the demo renders seed 0: none of these videos",
        },
        "training": {
            "objective": "host-only",
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": 0,
            "seconds": manifest.get("seconds"),
            "final_loss": rows[-1].get("loss") if rows else None,
            "threads": args.threads,
        },
        "val": {
            "videos": metrics.get("num_videos"),
            "captions": metrics.get("num_captions"),
            "t2v_r1": metrics.get("t2v_r1"),
            "t2v_r5": metrics.get("t2v_r5"),
            "v2t_r1": metrics.get("v2t_r1"),
            "hard_negatives": hard.get("accuracy"),
            "per_aspect": {k: v.get("accuracy") for k, v in hard.get("per_aspect", {}).items()},
        },
        "commands": commands,
        "reproduce": f"python benchmarks/lite_pretrain.py --work WORK --temporal {args.temporal} "
        f"--steps {args.steps} --videos {args.videos} --seed {args.seed}"
        + (f" --host-options '{args.host_options}'" if host_options else ""),
        "wall_seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    (args.assets / name).with_suffix(".json").write_text(
        json.dumps(card, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(card["val"], indent=2))


if __name__ == "__main__":
    main()
