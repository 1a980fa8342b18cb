"""Where an align-train step's time goes: phases of a finsta step and a host-only step, and the
operators torch.profiler sees in them.

Builds a synth set (as benchmarks/align_train.py does, or takes --data --tsg --dsg --hsg), sets
up align-train's model and step loop for each objective, runs ``--warm`` untimed steps, then
times ``--steps`` steps phase by phase (collate, forward, backward, optimizer) in both arms,
alternating which goes first, and reports the median seconds of each phase. The forward is split
by module (host, TSG encoder, R-GTrm over DSGs and HSGs) with forward hooks that open a
``record_function`` range, so torch.profiler's table shows each module's own total. Finally it
profiles a few finsta steps with torch.profiler and prints the operators by self CPU time.

    python benchmarks/profile_step.py --videos 24 --batch-size 8 --steps 10 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from align_train import Sources, build_sources

PHASES = ("collate", "forward", "backward", "optimizer")


def build_loop(objective: str, sources: Sources, out: Path, args: argparse.Namespace) -> Any:
    """align-train's step loop for ``objective``, set up as the command does."""
    from finsta_cli.align.config import AlignTrainConfig
    from finsta_cli.align.trainer import _AlignTrainRun

    config = AlignTrainConfig(
        objective=objective,
        host_options={"frame_size": args.frame_size, "num_frames": args.num_frames},
        steps=args.warm + args.steps,
        batch_size=args.batch_size,
        threads=args.threads,
        device="cpu",
        seed=args.seed,
        cache=out.parent / "frame-cache",
    )
    run = _AlignTrainRun(sources.data, out, config, resume=False, quiet=True)
    run.setup()
    host, frames, data = run.load_data("auto", tsg=sources.tsg, dsg=sources.dsg, hsg=sources.hsg)
    loop = run.build_model(host, frames, data)
    loop.model.train()
    return run, loop


def module_ranges(model: Any) -> list[Any]:
    """Forward hooks that wrap the host's encoders and the graph encoders in profiler ranges."""
    import torch

    handles = []
    named = [("host", model.host)]
    if model.graphs:
        named += [("tsg_encoder", model.tsg_encoder), ("dsg_encoder", model.dsg_encoder)]
    for name, module in named:
        ranges: list[Any] = []

        def enter(_module: Any, _inputs: Any, name: str = name, ranges: list[Any] = ranges) -> None:
            scope = torch.profiler.record_function(f"## {name}")
            scope.__enter__()
            ranges.append(scope)

        def leave(_module: Any, _inputs: Any, _output: Any, ranges: list[Any] = ranges) -> None:
            ranges.pop().__exit__(None, None, None)

        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    return handles


def timed_step(loop: Any, plan: Any, step: int) -> dict[str, float]:
    """One optimizer step of ``loop``, phase by phase (the step of StepLoop without its checks,
    logging and saving)."""
    import torch

    from finsta_cli.align.batch import collate

    times: dict[str, float] = {}
    start = time.perf_counter()
    videos = loop.data.videos
    items = [(videos[v], videos[v].captions[c]) for v, c in plan.batch(step)]
    batch = collate(items, loop.frames, loop.data, graphs=loop.graphs, hops=loop.config.hops)
    times["collate"] = time.perf_counter() - start
    start = time.perf_counter()
    losses = loop.model(batch, loop.comm)
    times["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    loop.optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    times["backward"] = time.perf_counter() - start
    start = time.perf_counter()
    torch.nn.utils.clip_grad_norm_(loop.model.parameters(), loop.config.grad_clip)
    loop.optimizer.step()
    times["optimizer"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="dataset folder [a fresh synth set]")
    parser.add_argument("--tsg", type=Path)
    parser.add_argument("--dsg", type=Path)
    parser.add_argument("--hsg", type=Path)
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per arm")
    parser.add_argument("--warm", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frame-size", type=int, default=96)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--profile-steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=20, help="operators listed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    from finsta_cli.align.loop import BatchPlan

    with tempfile.TemporaryDirectory(prefix="finsta-profile-") as tmp:
        root = Path(tmp)
        if args.data is None:
            print(f"building a synth set of {args.videos} videos ...", file=sys.stderr)
            sources = build_sources(root / "set", args.videos, args.seed, "truth")
        else:
            sources = Sources(args.data, args.tsg, args.dsg, args.hsg)
        arms = {}
        for objective in ("host-only", "finsta"):
            arms[objective] = build_loop(objective, sources, root / objective, args)
        plans = {
            name: BatchPlan([len(v.captions) for v in loop.data.videos], loop.batch_size, args.seed)
            for name, (_, loop) in arms.items()
        }
        for name, (_, loop) in arms.items():
            for step in range(args.warm):
                timed_step(loop, plans[name], step)
        times: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in arms}
        for k in range(args.steps):
            order = list(arms) if k % 2 == 0 else list(reversed(arms))
            for name in order:
                phases = timed_step(arms[name][1], plans[name], args.warm + k)
                for phase, seconds in phases.items():
                    times[name][phase].append(seconds)
                times[name]["step"].append(sum(phases.values()))

        print(f"threads {torch.get_num_threads()}, batch {args.batch_size}, tiny host "
              f"{args.frame_size} px x {args.num_frames} frames, "
              f"median of {args.steps} steps (ms)")  # fmt: skip
        print(f"{'phase':<10}" + "".join(f"{name:>12}" for name in arms) + f"{'ratio':>8}")
        for phase in (*PHASES, "step"):
            medians = [statistics.median(times[name][phase]) * 1000 for name in arms]
            ratio = medians[1] / medians[0] if medians[0] else float("nan")
            print(f"{phase:<10}" + "".join(f"{m:>12.1f}" for m in medians) + f"{ratio:>8.2f}")
        host_step = statistics.median(times["host-only"]["step"])
        finsta_step = statistics.median(times["finsta"]["step"])
        ratio = host_step / finsta_step
        print(f"samples/s ratio finsta / host-only (median step times): {ratio:.3f}")

        _, loop = arms["finsta"]
        handles = module_ranges(loop.model)
        first = args.warm + args.steps
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for step in range(first, first + args.profile_steps):
                timed_step(loop, plans["finsta"], step)
        for handle in handles:
            handle.remove()
        averages = prof.key_averages()
        print(f"\nfinsta step, {args.profile_steps} steps under torch.profiler: module ranges "
              "(forward only, CPU total ms per step)")  # fmt: skip
        for event in averages:
            if event.key.startswith("## "):
                per_step = event.cpu_time_total / 1000 / args.profile_steps
                print(f"  {event.key[3:]:<14} {per_step:8.1f}")
        print(averages.table(sort_by="self_cpu_time_total", row_limit=args.top))
        for _, (run, _) in arms.items():
            run.close()


if __name__ == "__main__":
    main()
