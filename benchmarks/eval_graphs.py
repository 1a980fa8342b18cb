"""``finsta eval --task videoqa --with-graphs`` against the same eval host-only, side by side.

Each arm is its own ``python -m finsta_cli eval`` process on the same checkpoint, split, frame
cache and threads; a first host-only run (not timed) fills the frame cache. Rounds alternate
which arm runs first. Prints each run's wall and CPU seconds (the child's own rusage: user +
system) and the median ratio with graphs / host-only of both. ``--videos N`` evaluates the
first N videos of the split (a folder of symbolic links with the split's file cut to N lines).
``--before SRC`` adds the two with-graphs arms (first run, parses kept) run with the finsta_cli
of another checkout (e.g. the main one), for a before / after.

The with-graphs eval keeps its parses in the frame cache folder (``tsg-parses/``): the "with
graphs" arm starts each time without them (first run: every statement parsed) and is followed at
once by "with graphs, parses kept" (a second eval of the same statements, e.g. another
checkpoint on the same split), reported apart. The script deletes ``CACHE/tsg-parses`` before
each of the other arms: give ``--cache`` a folder whose kept parses can go (default: a new one).

    python benchmarks/eval_graphs.py --checkpoint RUN/checkpoint.pt --data D/synth \\
        --split test_unseen --videos 40 --tsg D/tsg.jsonl --dsg D/dsg --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def subset(data: Path, split: str, videos: int, root: Path) -> Path:
    """A synth folder with the first ``videos`` lines of ``split`` (the rest linked)."""
    out = root / "data"
    out.mkdir(parents=True)
    for entry in data.iterdir():
        if entry.name != f"{split}.jsonl":
            (out / entry.name).symlink_to(entry.resolve())
    lines = (data / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:videos]
    (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def run(command: list[str], src: Path) -> tuple[float, float, dict[str, object]]:
    """Wall and CPU seconds of one eval process, and its JSON summary."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile() as stdout:
        start = time.perf_counter()
        # cwd too: ``python -m`` puts the working folder first on sys.path.
        process = subprocess.Popen(command, stdout=stdout, env=env, cwd=src)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(command)}")
        stdout.seek(0)
        summary = json.loads(stdout.read().decode("utf-8"))
    return wall, usage.ru_utime + usage.ru_stime, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a fusion checkpoint")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--videos", type=int, default=None)
    parser.add_argument("--tsg", type=Path, required=True)
    parser.add_argument("--dsg", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="frame cache folder")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--before", type=Path, default=None, help="another checkout's root")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="eval-graphs-"))
    data = subset(args.data, args.split, args.videos, work) if args.videos else args.data
    cache = args.cache or work / "frame-cache"
    base = [sys.executable, "-m", "finsta_cli", "eval", "--task", "videoqa",
            "--checkpoint", str(args.checkpoint), "--data", str(data), "--split", args.split,
            "--cache", str(cache), "--threads", str(args.threads), "--json", "-q"]  # fmt: skip
    graphs = ["--with-graphs", "--tsg", str(args.tsg), "--dsg", str(args.dsg)]
    arms: dict[str, tuple[list[str], Path]] = {
        "host-only": (base, REPO),
        "with graphs": ([*base, *graphs], REPO),
        "with graphs, parses kept": ([*base, *graphs], REPO),
    }
    groups = [["host-only"], ["with graphs", "with graphs, parses kept"]]  # kept: right after
    if args.before is not None:
        arms["with graphs, before"] = ([*base, *graphs], args.before)
        arms["with graphs, parses kept, before"] = ([*base, *graphs], args.before)
        groups.append(["with graphs, before", "with graphs, parses kept, before"])
    run([*base, "--out", str(work / "warm")], REPO)  # fills the frame cache
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
    metrics: dict[str, object] = {}
    predictions: dict[str, str] = {}  # the last round's, by arm
    for number in range(args.rounds):
        order = [n for g in (groups if number % 2 == 0 else groups[::-1]) for n in g]
        for name in order:
            command, src = arms[name]
            if not name.startswith("with graphs, parses kept"):  # the others parse anew
                shutil.rmtree(cache / "tsg-parses", ignore_errors=True)
            out = work / f"{name.replace(' ', '-').replace(',', '')}-{number}"
            wall, cpu, summary = run([*command, "--out", str(out)], src)
            figures[name].append((wall, cpu))
            metrics[name] = {k: summary.get(k) for k in ("mc_accuracy", "open_accuracy")}
            predictions[name] = (out / "predictions.jsonl").read_text(encoding="utf-8")
            print(f"round {number + 1}, {name}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
    host = figures["host-only"]
    for name in arms:
        if name == "host-only":
            continue
        wall = statistics.median(g[0] / h[0] for g, h in zip(figures[name], host, strict=True))
        cpu = statistics.median(g[1] / h[1] for g, h in zip(figures[name], host, strict=True))
        print(f"{name} / host-only: wall {wall:.2f}x, CPU {cpu:.2f}x (median of rounds)")
    print("metrics:", json.dumps(metrics))
    graph_arms = [name for name in arms if name != "host-only"]
    same = len({json.dumps(metrics[n], sort_keys=True) + predictions[n] for n in graph_arms})
    print("with graphs: the same metrics and predictions in every arm:", same == 1)


if __name__ == "__main__":
    main()
