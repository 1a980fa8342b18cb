"""Graph encoder throughput: batched (torch-geometric Batch) vs one graph at a time.

Builds HSGs of finsta synth videos (ground-truth DSGs, captions parsed by parse-text, the rule
matcher's cross edges), then runs the R-GTrm encoder (with STGD) over the same graphs batched and
one at a time, in one run, and prints graphs/s of both and the ratio.

    python benchmarks/graph_batch.py --graphs 1000 --batch 128
    python benchmarks/graph_batch.py --hsg hsg/ --device cuda   # HSGs of build-hsg, on a GPU

With ``--hsg`` the graphs are the HSGs of a build-hsg output folder (repeated in order up to
``--graphs`` when there are fewer), so no synth set, spaCy or decoding is needed. On CUDA each
timing ends with a device synchronise.
--threads defaults to finsta's default (runtime.default_threads: the cores other processes
leave idle); finsta_cli is imported before torch so that OpenMP's threads wait passively, as in
finsta's commands (with OpenMP's default spinning, 2 threads on 2 busy cores were 30x slower per
graph under a load of 6; see benchmarks/threads.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# isort: off
import finsta_cli  # noqa: F401  (first: it sets OMP_WAIT_POLICY before torch loads OpenMP)
import torch
from torch_geometric.data import Batch
# isort: on

from finsta_cli.graph import LabelVocab, hsg_to_data
from finsta_cli.hsg import RuleMatcher, build_hsg, load_lexicon
from finsta_cli.nn import RGTrm
from finsta_cli.runtime import configure_threads
from finsta_cli.synth.dsg import synth_to_dsg
from finsta_cli.text.parser import parse_texts


def synth_hsgs(count: int, seed: int) -> list:  # type: ignore[type-arg]
    videos = max(4, count // 3)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "synth"
        subprocess.run(
            [sys.executable, "-m", "finsta_cli", "synth", "--out", str(data), "--videos",
             str(videos), "--seed", str(seed), "-q"],
            check=True,
        )  # fmt: skip
        records = [
            json.loads(line)
            for split in ("train", "val", "test", "test_unseen")
            for line in (data / f"{split}.jsonl").read_text().splitlines()
        ]
    captions = [(r, k, c["text"]) for r in records for k, c in enumerate(r["captions"])]
    captions = (captions * (1 + count // max(1, len(captions))))[:count]
    tsgs = parse_texts([text for _, _, text in captions])
    matcher = RuleMatcher(load_lexicon())
    hsgs = []
    for (record, k, _), tsg in zip(captions, tsgs, strict=True):
        tsg = tsg.model_copy(update={"id": f"{record['video_id']}.c{k}"})
        hsgs.append(build_hsg(tsg, synth_to_dsg(record), matcher))
    return hsgs


def folder_hsgs(folder: Path, count: int) -> list:  # type: ignore[type-arg]
    from finsta_cli.schema import HSG

    paths = sorted(p for p in folder.glob("*.json") if p.name not in ("manifest.json",))
    hsgs = []
    for path in paths:
        try:
            hsgs.append(HSG.model_validate_json(path.read_bytes()))
        except ValueError:
            continue  # not an HSG record (an index or another artifact)
    if not hsgs:
        raise SystemExit(f"{folder}: no HSG records (*.json written by build-hsg)")
    return (hsgs * (1 + count // len(hsgs)))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads [idle CPUs]")
    parser.add_argument("--hsg", type=Path, help="a build-hsg output folder instead of synth")
    parser.add_argument("--device", default="cpu", help="cpu or cuda [cpu]")
    args = parser.parse_args()
    threads = configure_threads(args.threads or None)
    device = torch.device(args.device)
    torch.manual_seed(0)
    hsgs = folder_hsgs(args.hsg, args.graphs) if args.hsg else synth_hsgs(args.graphs, args.seed)
    nodes = LabelVocab.build(
        [n.lemma or n.label for h in hsgs for n in h.tsg.nodes]
        + [t.label for h in hsgs for t in h.dsg.tracks]
    )
    edges = LabelVocab.build(
        [e.preposition for h in hsgs for e in h.tsg.edges if e.preposition]
        + [r.predicate for h in hsgs for f in h.dsg.frames for r in f.relations]
        + [e.visual_predicate for h in hsgs for e in h.cross_edges if e.visual_predicate]
    )
    graphs = [hsg_to_data(h, nodes, edges).to(device) for h in hsgs]
    model = RGTrm(len(nodes), len(edges), hidden=128, layers=2).to(device).eval()
    n_nodes = sum(g.num_nodes for g in graphs)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with torch.no_grad():
        for warm in (graphs[:1], graphs[: args.batch]):  # warm-up of both paths
            model(Batch.from_data_list(warm))
        sync()
        start = time.perf_counter()
        for k in range(0, len(graphs), args.batch):
            model(Batch.from_data_list(graphs[k : k + args.batch]))
        sync()
        batched = time.perf_counter() - start
        start = time.perf_counter()
        for graph in graphs:
            model(graph)
        sync()
        single = time.perf_counter() - start
    print(f"graphs: {len(graphs)} HSGs, {n_nodes / len(graphs):.0f} nodes each on average")
    print(f"device: {device}, threads: {threads}, batch size {args.batch}")
    print(f"batched:        {len(graphs) / batched:8.1f} graphs/s")
    print(f"one at a time:  {len(graphs) / single:8.1f} graphs/s")
    print(f"ratio batched / one at a time: {single / batched:.1f}x")


if __name__ == "__main__":
    main()
