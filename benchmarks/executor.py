"""``--executor ray --workers 2`` vs two ``--shard`` processes: the same synth set, side by side.

Renders ``--videos`` synth videos three ways into fresh folders, one after the other in one run:
two ``finsta synth --shard I/2`` processes started together (the Slurm-array recipe on one
machine), ``finsta synth --executor ray --workers 2`` (a local Ray cluster started by the
command), and one plain local process (the reference). For each it prints the wall time of the
whole command (start-up included: Ray's cluster start is part of what a user waits for) and
the render phase (the manifest's ``timings.render`` less ``timings.ray_start``: the items' own
work), and the ratios of
Ray's throughput to the two shards' on both. It checks that the three folders hold the same
files, byte for byte (manifests, resolved configs and ledgers aside).

    python benchmarks/executor.py --videos 24 --rounds 2
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


def _wait(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"{process.args} exited {process.returncode}")


def _render_seconds(out: Path) -> float:
    """The longest render phase among the folder's manifests (the shards ran side by side),
    without the start of the Ray cluster and its actors (``timings.ray_start``)."""
    timings = [json.loads(path.read_text())["timings"] for path in out.glob("manifest*.json")]
    return max(phases["render"] - phases.get("ray_start", 0.0) for phases in timings)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not path.name.startswith((".finsta-", "manifest", "config.yaml", "failures"))
        and not path.name.endswith(".jsonl")  # a shard writes the indexes of its videos only
        and path.name != "dataset.json"
    }


def one_round(root: Path, videos: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    start = time.perf_counter()
    _wait(*(_synth(root / "shards", videos, "--shard", f"{i}/2") for i in range(2)))
    figures["shards_wall"] = time.perf_counter() - start
    figures["shards_render"] = _render_seconds(root / "shards")
    start = time.perf_counter()
    _wait(_synth(root / "ray", videos, "--executor", "ray", "--workers", "2"))
    figures["ray_wall"] = time.perf_counter() - start
    figures["ray_render"] = _render_seconds(root / "ray")
    start = time.perf_counter()
    _wait(_synth(root / "local", videos))
    figures["local_wall"] = time.perf_counter() - start
    figures["local_render"] = _render_seconds(root / "local")
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
    args = parser.parse_args()
    rounds = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="finsta-executor-") as folder:
            figures = one_round(Path(folder), args.videos)
        rounds.append(figures)
        print(f"round {number + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in figures.items()))
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"{args.videos} videos, median of {args.rounds} round(s); files identical in all three")
    for way in ("shards", "ray", "local"):
        wall, render = median[f"{way}_wall"], median[f"{way}_render"]
        print(
            f"  {way:<7} wall {wall:6.2f}s ({args.videos / wall:5.2f} videos/s)  "
            f"render {render:6.2f}s ({args.videos / render:5.2f} videos/s)"
        )
    print(
        "ray / two shards throughput: "
        f"wall {median['shards_wall'] / median['ray_wall']:.2f}x, "
        f"render {median['shards_render'] / median['ray_render']:.2f}x"
    )


if __name__ == "__main__":
    main()
