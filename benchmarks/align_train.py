"""align-train throughput and memory: ``--objective host-only`` (the control) vs ``finsta``.

Both objectives train the same host on the same synth data, batches and steps, each in its own
``python -m finsta_cli align-train`` process, so the peak RSS of each is its own (``os.wait4``
gives the rusage of one child). samples/s is align-train's own figure: training steps only,
without start-up and frame decoding (a first, untimed host-only step fills the frame cache).
Prints both and the overhead ratio finsta / host-only samples/s.

    python benchmarks/align_train.py --videos 24 --steps 30 --batch-size 8 --threads 2
    python benchmarks/align_train.py --host lite --no-feature-cache --steps 10 --threads 1
    python benchmarks/align_train.py --data D --tsg T --dsg G --hsg H --device cuda --batch-size 32

``--host lite`` trains the demo's host (the shipped lite checkpoint, seqTransf: pretrained
EfficientNet-Lite0 and MiniLM towers, frozen, under small trainable heads). Its towers' outputs
are memoised per clip and text, so after the first epoch a step does not run them;
``--no-feature-cache`` turns both feature caches off in both arms (``FINSTA_FEATURE_CACHE_MB=0``,
``FINSTA_FEATURE_DISK_CACHE_MB=0``), so every step of either arm runs the towers' forward.

Without --data it renders a synth set (ground-truth DSGs, or ``--dsg-source detector`` for
build-dsg's, with region features) in a temporary folder; with --data give --tsg, --dsg and
--hsg too (parse-text, build-dsg and build-hsg outputs). ``--rounds R`` runs R rounds,
alternating which objective goes first, and reports the median per-round ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Sources:
    data: Path
    tsg: Path
    dsg: Path
    hsg: Path


@dataclass
class RunFigures:
    objective: str
    samples_per_second: float
    train_seconds: float
    wall_seconds: float
    peak_rss_mib: float
    final: dict[str, float]


def _finsta(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "finsta_cli", *args], check=True, env=_env())


FEATURE_CACHES_OFF = {"FINSTA_FEATURE_CACHE_MB": "0", "FINSTA_FEATURE_DISK_CACHE_MB": "0"}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def build_sources(root: Path, videos: int, seed: int, dsg_source: str) -> Sources:
    """A synth set with its TSGs, DSGs and HSGs under ``root``."""
    from finsta_cli.demo import write_captions
    from finsta_cli.io import output_path
    from finsta_cli.synth.dsg import synth_to_dsg

    data = root / "synth"
    _finsta("synth", "--out", str(data), "--videos", str(videos), "--seed", str(seed), "-q")
    records = [
        json.loads(line)
        for split in ("train", "val", "test", "test_unseen")
        for line in (data / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    write_captions(records, root / "captions.jsonl")
    tsg, dsg, hsg = root / "tsg.jsonl", root / "dsg", root / "hsg"
    _finsta("parse-text", str(root / "captions.jsonl"), "--out", str(tsg), "-q")
    if dsg_source == "detector":
        _finsta("build-dsg", str(data / "videos"), "--out", str(dsg), "--frames", "8", "-q")
    else:
        dsg.mkdir(parents=True)
        for record in records:
            graph = synth_to_dsg(record)
            output_path(dsg, graph.video_id, ".json").write_text(graph.model_dump_json(), "utf-8")
    _finsta("build-hsg", "--tsg", str(tsg), "--dsg", str(dsg), "--out", str(hsg), "-q")
    return Sources(data, tsg, dsg, hsg)


def train(
    objective: str,
    sources: Sources,
    config: Path,
    out: Path,
    steps: int | None = None,
    env: dict[str, str] | None = None,
) -> RunFigures:
    """One align-train process; its samples/s, wall time and peak RSS."""
    command = [sys.executable, "-m", "finsta_cli", "align-train", "--data", str(sources.data),
               "--out", str(out), "--config", str(config), "--objective", objective,
               "--tsg", str(sources.tsg), "--dsg", str(sources.dsg), "--hsg", str(sources.hsg),
               "--json", "-q"]  # fmt: skip
    if steps is not None:
        command += ["--steps", str(steps)]
    stdout = out.with_suffix(".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with stdout.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, env=_env(env))
        # wait4, not wait: the rusage of this child alone (its own peak RSS).
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"align-train --objective {objective} failed ({process.returncode})")
    payload: dict[str, Any] = json.loads(stdout.read_text(encoding="utf-8"))
    return RunFigures(
        objective=objective,
        samples_per_second=float(payload["samples_per_second"]),
        train_seconds=float(payload["seconds"]),
        wall_seconds=wall,
        peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        final={k: v for k, v in payload["final"].items() if "anchors" not in k},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="dataset folder [a fresh synth set]")
    parser.add_argument("--tsg", type=Path)
    parser.add_argument("--dsg", type=Path)
    parser.add_argument("--hsg", type=Path)
    parser.add_argument("--videos", type=int, default=24, help="synth videos when no --data")
    parser.add_argument("--dsg-source", choices=("truth", "detector"), default="truth")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda [cpu]")
    parser.add_argument("--host", choices=("tiny", "lite"), default="tiny")
    parser.add_argument(
        "--no-feature-cache", action="store_true", help="lite: run the towers every step"
    )
    parser.add_argument("--frame-size", type=int, default=96, help="tiny host frames (px)")
    parser.add_argument("--num-frames", type=int, default=8, help="tiny host frames per video")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    given = [args.tsg, args.dsg, args.hsg]
    if args.data is not None and any(p is None for p in given):
        parser.error("--data needs --tsg, --dsg and --hsg")

    with tempfile.TemporaryDirectory(prefix="finsta-bench-") as tmp:
        root = Path(tmp)
        if args.data is None:
            print(f"building a synth set of {args.videos} videos ...", file=sys.stderr)
            sources = build_sources(root / "set", args.videos, args.seed, args.dsg_source)
        else:
            sources = Sources(args.data, args.tsg, args.dsg, args.hsg)
        config = root / "config.yaml"
        settings: dict[str, Any] = {
            "host_options": {"frame_size": args.frame_size, "num_frames": args.num_frames},
            "steps": args.steps, "batch_size": args.batch_size, "threads": args.threads,
            "device": args.device, "seed": args.seed, "checkpoint_every": args.steps,
            "log_every": args.steps, "cache": str(root / "frame-cache"),
        }  # fmt: skip
        if args.host == "lite":
            from finsta_cli.demo import lite_checkpoint

            settings.update(
                host="lite", temporal="seqTransf", init=str(lite_checkpoint("seqTransf"))
            )
            del settings["host_options"]  # the checkpoint's
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        env = FEATURE_CACHES_OFF if args.no_feature_cache else None
        train("host-only", sources, config, root / "runs" / "warm-up", steps=1, env=env)
        rounds: list[dict[str, RunFigures]] = []
        for r in range(args.rounds):
            order = ("host-only", "finsta") if r % 2 == 0 else ("finsta", "host-only")
            figures = {}
            for objective in order:
                print(f"round {r + 1}: {objective} ...", file=sys.stderr)
                figures[objective] = train(
                    objective, sources, config, root / "runs" / f"{r}-{objective}", env=env
                )
            rounds.append(figures)

    ratios = [f["finsta"].samples_per_second / f["host-only"].samples_per_second for f in rounds]
    summary = {
        "host": args.host, "feature_cache": not args.no_feature_cache,
        "steps": args.steps, "batch_size": args.batch_size, "threads": args.threads,
        "device": args.device, "frame_size": args.frame_size, "num_frames": args.num_frames,
        "dsg_source": args.dsg_source if args.data is None else str(args.dsg),
        "rounds": [{k: vars(v) for k, v in f.items()} for f in rounds],
        "ratio_samples_per_s": statistics.median(ratios),
        "ratio_peak_rss": statistics.median(
            f["finsta"].peak_rss_mib / f["host-only"].peak_rss_mib for f in rounds
        ),
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    host = (
        f"tiny host {args.frame_size} px x {args.num_frames} frames"
        if args.host == "tiny"
        else "lite host (seqTransf checkpoint), feature caches "
        + ("off" if args.no_feature_cache else "on")
    )
    print(f"steps {args.steps}, batch {args.batch_size}, threads {args.threads}, "
          f"device {args.device}, {host}, "
          f"DSGs: {summary['dsg_source']}")  # fmt: skip
    print(f"{'objective':<10} {'samples/s':>10} {'train s':>8} {'wall s':>8} {'peak RSS':>10}")
    for r, figures in enumerate(rounds):
        for f in figures.values():
            print(f"{f.objective:<10} {f.samples_per_second:>10.2f} {f.train_seconds:>8.1f} "
                  f"{f.wall_seconds:>8.1f} {f.peak_rss_mib:>7.0f} MiB"
                  + (f"   (round {r + 1})" if args.rounds > 1 else ""))  # fmt: skip
    print(f"overhead ratio finsta / host-only samples/s: {summary['ratio_samples_per_s']:.3f}"
          + (f" (median of {args.rounds} rounds: "
             + ", ".join(f"{x:.3f}" for x in ratios) + ")" if args.rounds > 1 else ""))  # fmt: skip
    print(f"peak RSS ratio finsta / host-only: {summary['ratio_peak_rss']:.2f}")


if __name__ == "__main__":
    main()
