"""align-train's step loop: the batch plan, the learning-rate schedule, the optimizer, one step
(forward, checks, backward, update) and what it logs and saves along the way.

The batch order is a pure function of (seed, step): epoch e shuffles the videos with a generator
seeded by (seed, e) and picks one caption per video, so a resumed run sees the same batches, and
with the saved random state it reaches the same weights as an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from finsta_cli.align.checkpoint import save_train_state
from finsta_cli.align.checks import check_gradients, check_losses, check_weights, last_good
from finsta_cli.errors import NonFiniteError
from finsta_cli.io.atomic import atomic_write_text
from finsta_cli.io.finite import dumps_json
from finsta_cli.io.progress import StageProgress

if TYPE_CHECKING:
    import torch

    from finsta_cli.align.config import AlignTrainConfig
    from finsta_cli.align.data import AlignData
    from finsta_cli.align.distributed import Collective
    from finsta_cli.align.model import FinstaModel
    from finsta_cli.hosts.frames import FrameSet


def schedule_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to 1, then cosine decay to 0 at ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class BatchPlan:
    """Which (video, caption) pairs form global batch ``step``: a function of (seed, step)."""

    def __init__(self, caption_counts: list[int], batch_size: int, seed: int) -> None:
        self.counts = caption_counts
        self.batch_size = batch_size
        self.seed = seed
        self.per_epoch = max(1, len(caption_counts) // batch_size)

    def batch(self, step: int) -> list[tuple[int, int]]:
        import torch

        epoch, index = divmod(step, self.per_epoch)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.counts), generator=generator).tolist()
        picks = torch.randint(0, 1 << 30, (len(self.counts),), generator=generator).tolist()
        chosen = order[index * self.batch_size : (index + 1) * self.batch_size]
        return [(v, picks[v] % self.counts[v]) for v in chosen]


def build_optimizer(model: FinstaModel, config: AlignTrainConfig) -> torch.optim.Optimizer:
    """AdamW over the host (``host_lr``) and the scene-graph encoders (``lr``); no weight decay
    on biases and norms."""
    import torch

    host = list(model.host.trainable_parameters())
    groups = []
    for params, lr in ((host, config.host_lr or config.lr), (model.sg_parameters(), config.lr)):
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups.append({"params": decay, "lr": lr, "weight_decay": config.weight_decay})
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return torch.optim.AdamW([g for g in groups if g["params"]], betas=(0.9, 0.98), eps=1e-6)


def deterministic_on_cpu(device: str) -> Callable[[], None]:
    """On the CPU, make torch pick deterministic kernels for the run; return the undo.

    With more than one thread, the backward of advanced indexing (``x[index]``, as the graph
    encoders gather node features) accumulates in an order that depends on thread timing, so
    two runs, or a killed-and-resumed one and an uninterrupted one, differed in the last bits
    (measured: 2.8e-7 after 8 steps with 2 threads). The deterministic kernel sorts the index
    first. ``warn_only``: an op without a deterministic kernel warns instead of failing the
    run. CUDA is left as it is (its deterministic mode needs cuBLAS settings and is slower).
    """
    import torch

    if not device.startswith("cpu"):
        return lambda: None
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    return lambda: torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def truncate_metrics(path: Path, step: int) -> None:
    """Keep only rows up to ``step`` (a resumed run rewrites the rest)."""
    if not path.exists():
        return
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                rows.append(line)
        except json.JSONDecodeError:
            continue
    atomic_write_text(path, "".join(row + "\n" for row in rows))


@dataclass
class StepLoop:
    """This rank's steps of a run: each takes its slice of the planned global batch, stops at a
    non-finite loss or gradient before the update, logs every ``log_every`` steps (main rank)
    and saves the train state every ``checkpoint_every`` steps.

    ``base_lrs``: the optimizer groups' peak learning rates, read before a resumed state
    overwrites the groups' current ones. ``saved``: the step of this run's last train state.
    """

    model: FinstaModel
    optimizer: torch.optim.Optimizer
    base_lrs: list[float]
    data: AlignData
    frames: FrameSet
    config: AlignTrainConfig
    comm: Collective
    device: str
    batch_size: int
    graphs: bool  # batches carry the scene graphs (the finsta objective)
    out: Path
    saved: int | None = None
    last: dict[str, float] = field(default_factory=dict)  # the last step's losses
    samples: int = 0  # trained in this process (all ranks)

    @property
    def state_path(self) -> Path:
        return self.out / "train_state.pt"

    @property
    def metrics_path(self) -> Path:
        return self.out / "metrics.jsonl"

    def run(self, start: int, *, quiet: bool) -> float:
        """Steps ``start`` to ``config.steps``; the seconds they took."""
        from finsta_cli.io.faults import failpoint

        config = self.config
        plan = BatchPlan([len(v.captions) for v in self.data.videos], self.batch_size, config.seed)
        if self.comm.is_main:
            truncate_metrics(self.metrics_path, start)
        self.model.train()
        begin = time.perf_counter()
        with StageProgress("align-train", config.steps, quiet=quiet) as bar:
            bar.advance(start)
            for step in range(start, config.steps):
                self.step(step, plan, begin)
                failpoint("align.step")
                bar.advance(1, status=f"loss {self.last['loss']:.3f}")
        return time.perf_counter() - begin

    def step(self, step: int, plan: BatchPlan, begin: float) -> None:
        """One optimizer step on global batch ``step`` (``begin``: when the loop began)."""
        import torch

        from finsta_cli.align.batch import collate

        config, comm, videos = self.config, self.comm, self.data.videos
        local = self.batch_size // comm.world
        picks = plan.batch(step)[comm.rank * local : (comm.rank + 1) * local]
        items = [(videos[v], videos[v].captions[c]) for v, c in picks]
        batch = collate(items, self.frames, self.data, graphs=self.graphs, hops=config.hops)
        batch = batch.to(self.device)
        factor = schedule_factor(step, config.warmup_steps, config.steps)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.startswith("cuda")):
            losses = self.model(batch, comm)
        done = step + 1
        # Means over ranks: kd (and so the total) is each rank's share of the global mean; the
        # other losses are the same on every rank. Taken before the update, so that every rank
        # sees a non-finite loss and stops before it reaches the weights.
        here = losses["loss"].device
        values = torch.stack([v.detach().float().to(here) for v in losses.values()])
        values = comm.sum(values) / comm.world
        self.last = dict(zip(losses, values.tolist(), strict=True))
        kept = last_good(self.state_path, self.saved)
        check_losses(done, self.last, [videos[v].video_id for v, _ in picks], kept)
        trainable = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        comm.average_gradients(trainable)
        norm = torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
        check_gradients(done, float(norm), self.model, kept)
        lr = self.base_lrs[0] * factor
        try:
            self.optimizer.step()
        except RuntimeError as exc:  # a learning rate too large for float32 steps
            if "overflow" not in str(exc):
                raise
            raise NonFiniteError(
                f"step {done}: the update overflows float32 (learning rate {lr:g}): {exc}",
                hint=f"this step was not saved; {kept}. Lower --lr",
            ) from None
        self.samples += self.batch_size
        if comm.is_main and (done % config.log_every == 0 or done == config.steps):
            self._log(done, lr, time.perf_counter() - begin)
        if done % config.checkpoint_every == 0 or done == config.steps:
            check_weights(done, self.model, kept)  # every rank: they hold the same
            if comm.is_main:
                save_train_state(
                    self.state_path, self.model, self.optimizer, done, config, self.data
                )
            self.saved = done
            comm.barrier()

    def _log(self, done: int, lr: float, elapsed: float) -> None:
        row = {"step": done, "lr": round(lr, 8), **{k: round(v, 6) for k, v in self.last.items()},
               "samples_per_s": round(self.samples / max(elapsed, 1e-9), 3)}  # fmt: skip
        with self.metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(dumps_json(row, where=str(self.metrics_path)) + "\n")
