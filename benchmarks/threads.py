"""One torch thread vs two on this machine as it is now (run it on a quiet machine and on a busy
one): R-GTrm training passes (forward and backward over a batch of HSGs) under OpenMP wait
policies side by side: libgomp's default (spin, then sleep), PASSIVE, and the one finsta_cli
chooses on import from the load it sees.

Each (wait policy, threads) pair runs in its own process (OpenMP reads its wait policy once,
when torch loads it), rounds alternate the order, and each process reports the median of its
passes. Prints the median per pair, the ratio two threads / one under each policy, and the
thread count finsta's default (runtime.default_threads) picks at the time.

    python benchmarks/threads.py --hsg hsg/ --graphs 16 --rounds 3
    python benchmarks/threads.py --graphs 16        # HSGs of a fresh synth set
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WORKER = """
import json, sys, time
import torch  # before finsta_cli: the wait policy is the one this process was started with
from torch_geometric.data import Batch
sys.path.insert(0, {benchmarks!r})
from graph_batch import folder_hsgs
from finsta_cli.graph import LabelVocab, hsg_to_data
from finsta_cli.nn import RGTrm

torch.set_num_threads({threads})
torch.manual_seed(0)
hsgs = folder_hsgs(__import__("pathlib").Path({folder!r}), {graphs})
nodes = LabelVocab.build([n.lemma or n.label for h in hsgs for n in h.tsg.nodes]
                         + [t.label for h in hsgs for t in h.dsg.tracks])
edges = LabelVocab.build([r.predicate for h in hsgs for f in h.dsg.frames for r in f.relations])
batch = Batch.from_data_list([hsg_to_data(h, nodes, edges) for h in hsgs])
model = RGTrm(len(nodes), len(edges), hidden=128, layers=2).train()
times = []
for k in range({passes} + 1):
    start = time.perf_counter()
    out = model(batch)
    (out.node.sum() + out.graph.sum()).backward()
    if k:
        times.append(time.perf_counter() - start)
print(json.dumps(sorted(times)[len(times) // 2]))
"""


def write_synth_hsgs(folder: Path, count: int) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from graph_batch import synth_hsgs

    folder.mkdir(parents=True)
    for k, hsg in enumerate(synth_hsgs(count, 5)):
        (folder / f"{k:05d}.json").write_text(hsg.model_dump_json(), encoding="utf-8")


def policy_env(policy: str) -> dict[str, str]:
    """The OpenMP variables of a ``--policies`` entry: ``unset``, ``PASSIVE``, ``ACTIVE``,
    ``spin=N`` (libgomp's default policy, spinning N times before it sleeps) or ``finsta``
    (none: the worker imports finsta_cli first, which chooses by the load it sees)."""
    if policy in ("unset", "finsta"):
        return {}
    if policy.startswith("spin="):
        return {"GOMP_SPINCOUNT": policy.removeprefix("spin=")}
    return {"OMP_WAIT_POLICY": policy}


def one(policy: str, threads: int, folder: Path, args: argparse.Namespace) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(name, None)
    env.update(policy_env(policy))
    prefix = "import finsta_cli\n" if policy == "finsta" else ""
    code = prefix + WORKER.format(
        benchmarks=str(REPO / "benchmarks"), threads=threads, folder=str(folder),
        graphs=args.graphs, passes=args.passes,
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hsg", type=Path, help="a build-hsg output folder [synth]")
    parser.add_argument("--graphs", type=int, default=16, help="HSGs in the batch")
    parser.add_argument("--passes", type=int, default=5, help="timed passes per process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--policies", nargs="+", default=["unset", "PASSIVE", "finsta"],
        help="OpenMP waiting: unset, PASSIVE, ACTIVE, spin=N (GOMP_SPINCOUNT) or finsta "
        "(finsta_cli's choice on import) [unset PASSIVE finsta]",
    )  # fmt: skip
    args = parser.parse_args()

    from finsta_cli.runtime import default_threads

    pairs = [(policy, threads) for policy in args.policies for threads in (1, 2)]
    times: dict[tuple[str, int], list[float]] = {pair: [] for pair in pairs}
    with tempfile.TemporaryDirectory(prefix="finsta-threads-") as tmp:
        folder = args.hsg
        if folder is None:
            folder = Path(tmp) / "hsg"
            write_synth_hsgs(folder, args.graphs)
        for r in range(args.rounds):
            for policy, threads in pairs if r % 2 == 0 else list(reversed(pairs)):
                seconds = one(policy, threads, folder, args)
                times[(policy, threads)].append(seconds)
                print(f"round {r + 1}: {policy} threads {threads}: "
                      f"{seconds * 1000:.0f} ms", file=sys.stderr)  # fmt: skip
    load = os.getloadavg()[0]
    print(f"R-GTrm training pass over {args.graphs} HSGs, median of {args.rounds} rounds "
          f"(each the median of {args.passes} passes); load average now {load:.1f}")  # fmt: skip
    medians = {pair: statistics.median(values) for pair, values in times.items()}
    for policy in args.policies:
        one_thread, two_threads = medians[(policy, 1)], medians[(policy, 2)]
        ratio = two_threads / one_thread
        print(f"{policy:<12} 1 thread {one_thread * 1000:7.0f} ms   "
              f"2 threads {two_threads * 1000:7.0f} ms   2 / 1: {ratio:.2f}")  # fmt: skip
    print(f"finsta's default thread count now (runtime.default_threads): {default_threads()}")


if __name__ == "__main__":
    main()
