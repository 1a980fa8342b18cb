"""``--executor ray --workers 2`` vs two ``--shard`` processes: the same stage, side by side.

Runs a stage over ``--videos`` synth videos three ways into fresh folders, one after the other
in one run: two ``--shard I/2`` processes started together (the Slurm-array recipe on one
machine), ``--executor ray --workers 2`` (a local Ray cluster started by the command), and one
plain local process (the reference). ``--stage synth`` renders the videos; ``--stage
build-dsg`` renders them once, then builds their graphs (``--frames`` keyframes each, the
shipped synth detector on the CPU). For each way it prints the wall time of the whole command
(start-up included: Ray's cluster start is part of what a user waits for) and the work phase
(synth: the manifest's ``timings.render``; build-dsg: its ``seconds``; both less
``timings.ray_start``: the items' own work, detector loading included), and the ratios of
Ray's throughput to the two shards' on both. It checks that the three folders hold the same
files, byte for byte (manifests, resolved configs and ledgers aside).

    python benchmarks/executor.py --videos 24 --rounds 2
    python benchmarks/executor.py --stage build-dsg --videos 24 --frames 8
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env


def _synth(out: Path, videos: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "finsta_cli", "synth", "--out", str(out)]
    command += ["-n", str(videos), "--seed", "0", "-q", *extra]
    return subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL)


def _build_dsg(videos: Path, frames: int) -> Callable[..., subprocess.Popen[bytes]]:
    """A stage like :func:`_synth`: build-dsg over the synth videos in ``videos``."""

    def start(out: Path, _: int, *extra: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "finsta_cli", "build-dsg", str(videos), "--out", str(out)]
        command += ["--frames", str(frames), "--device", "cpu", "-q", *extra]
        return subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL)

    return start


def _wait(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"{process.args} exited {process.returncode}")


def _work_seconds(out: Path) -> float:
    """The longest work phase among the folder's manifests (the shards ran side by side),
    without the start of the Ray cluster and its actors (``timings.ray_start``)."""
    manifests = [json.loads(path.read_text()) for path in out.glob("manifest*.json")]
    return max(
        manifest["timings"].get("render", manifest["seconds"])
        - manifest["timings"].get("ray_start", 0.0)
        for manifest in manifests
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not path.name.startswith((".finsta-", "manifest", "config.yaml", "failures"))
        and not path.name.endswith(".jsonl")  # a shard writes the indexes of its videos only
        and path.name != "dataset.json"
    }


def one_round(root: Path, videos: int, stage: str, frames: int) -> dict[str, float]:
    run = _synth
    if stage == "build-dsg":
        _wait(_synth(root / "data", videos))
        run = _build_dsg(root / "data" / "videos", frames)
    figures: dict[str, float] = {}
    start = time.perf_counter()
    _wait(*(run(root / "shards", videos, "--shard", f"{i}/2") for i in range(2)))
    figures["shards_wall"] = time.perf_counter() - start
    figures["shards_work"] = _work_seconds(root / "shards")
    start = time.perf_counter()
    _wait(run(root / "ray", videos, "--executor", "ray", "--workers", "2"))
    figures["ray_wall"] = time.perf_counter() - start
    figures["ray_work"] = _work_seconds(root / "ray")
    start = time.perf_counter()
    _wait(run(root / "local", videos))
    figures["local_wall"] = time.perf_counter() - start
    figures["local_work"] = _work_seconds(root / "local")
    local, shards, ray = (_files(root / name) for name in ("local", "shards", "ray"))
    if not local.keys() == shards.keys() == ray.keys() or any(
        local[name] != shards[name] or local[name] != ray[name] for name in local
    ):
        raise SystemExit("the three runs wrote different files")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--stage", choices=("synth", "build-dsg"), default="synth")
    parser.add_argument("--frames", type=int, default=8, help="build-dsg: keyframes per video")
    args = parser.parse_args()
    rounds = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="finsta-executor-") as folder:
            figures = one_round(Path(folder), args.videos, args.stage, args.frames)
        rounds.append(figures)
        print(f"round {number + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in figures.items()))
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(
        f"{args.stage}, {args.videos} videos, median of {args.rounds} round(s); "
        "files identical in all three"
    )
    for way in ("shards", "ray", "local"):
        wall, work = median[f"{way}_wall"], median[f"{way}_work"]
        print(
            f"  {way:<7} wall {wall:6.2f}s ({args.videos / wall:5.2f} videos/s)  "
            f"work {work:6.2f}s ({args.videos / work:5.2f} videos/s)"
        )
    print(
        "ray / two shards throughput: "
        f"wall {median['shards_wall'] / median['ray_wall']:.2f}x, "
        f"work {median['shards_work'] / median['ray_work']:.2f}x"
    )


if __name__ == "__main__":
    main()
