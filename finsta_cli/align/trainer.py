"""align-train: post-train a host with Finsta (or the host loss alone, the control), in one
process or under torchrun, with atomic checkpoints and exact resume.

Outputs in ``--out RUN``:

- ``checkpoint.pt``: the result. ``distill`` mode: the host alone (eval needs no graphs);
  ``fusion`` mode: the host plus the scene-graph encoders and their vocabularies;
- ``train_state.pt``: everything ``--resume`` needs (model, optimizer, schedule, step, random
  state), rewritten atomically every ``checkpoint_every`` steps;
- ``metrics.jsonl``: one line per logged step (losses, learning rate, samples/s);
- ``config.yaml``, ``manifest.json``, ``failures.jsonl`` (videos left out: they could not be
  decoded, or their DSG files were refused: damaged, another video's, NaN or infinite values).

A non-finite loss or gradient stops the run before the update (exit 1, manifest "failed"), and
weights that are not finite are never saved (see :func:`check_losses`).

The batch order is a pure function of (seed, step): epoch e shuffles the videos with a generator
seeded by (seed, e) and picks one caption per video, so a resumed run sees the same batches, and
with the saved random state it reaches the same weights as an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from finsta_cli import __version__
from finsta_cli.config import StageConfig
from finsta_cli.errors import InputError, NonFiniteError, UsageError
from finsta_cli.io.atomic import atomic_open, atomic_write_json, atomic_write_text
from finsta_cli.io.finite import dumps_json, find_non_finite
from finsta_cli.io.hashing import hash_json
from finsta_cli.io.progress import StageProgress, get_logger

if TYPE_CHECKING:
    import torch

    from finsta_cli.align.data import AlignData
    from finsta_cli.align.model import FinstaModel

log = get_logger("align")


class AlignTrainConfig(StageConfig):
    """Options of ``finsta align-train`` (see docs/align-train.md)."""

    SECTION = "align_train"
    RUNTIME_FIELDS = frozenset(
        {"device", "threads", "checkpoint_every", "log_every", "cache", "allow_download"}
    )
    LATER_FIELDS = frozenset({"text_negatives", "neg_weight", "host_pretrained"})

    host: Literal["tiny", "clip4clip", "lite"] = "tiny"
    temporal: Literal["meanP", "seqTransf"] = "meanP"
    host_options: dict[str, Any] = Field(
        default_factory=dict, description="extra host settings, e.g. frame_size, num_frames"
    )
    host_weights: Path | None = Field(default=None, description="clip4clip: local CLIP weights")
    host_pretrained: str | None = Field(
        default=None, description="clip4clip: an open_clip pretrained tag (openai, ...)"
    )
    allow_download: bool = Field(
        default=False, description="let open_clip download host_pretrained's weights"
    )
    init: Path | None = Field(default=None, description="start from this checkpoint's host")
    objective: Literal["finsta", "host-only"] = "finsta"
    mode: Literal["distill", "fusion"] = "distill"
    split: str = "train"
    steps: int = Field(default=300, ge=1)
    batch_size: int = Field(default=32, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    host_lr: float | None = Field(default=None, gt=0, description="default: lr")
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_steps: int = Field(default=30, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    seed: int = 0
    vtc_weight: float = Field(default=1.0, ge=0)
    osc_weight: float = Field(default=1.0, ge=0)
    ptc_weight: float = Field(default=1.0, ge=0)
    sg_weight: float = Field(default=0.5, ge=0)
    kd_weight: float = Field(default=1.0, ge=0)
    neg_weight: float = Field(default=1.0, ge=0)
    text_negatives: int = Field(
        default=0, ge=0, description="hard-negative captions per caption from its TSG; 0: off"
    )
    osc: bool = True
    ptc: bool = True
    stgd: bool = True
    coref_edges: bool = True
    adverb_nodes: bool = True
    cross_edges: bool = True
    hops: int = Field(default=2, ge=0)
    ptc_negatives: int = Field(default=3, ge=0)
    temperature: float = Field(default=0.07, gt=0)
    hidden: int = Field(default=128, ge=8)
    graph_layers: int = Field(default=2, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    checkpoint_every: int = Field(default=50, ge=1)
    log_every: int = Field(default=10, ge=1)
    device: str = "auto"
    threads: int | None = Field(default=None, ge=1)
    cache: Path | None = Field(default=None, description="frame cache folder")


@dataclass
class TrainResult:
    out: Path
    steps: int
    resumed_from: int
    seconds: float
    samples_per_second: float
    final: dict[str, float]
    counts: dict[str, int]
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "checkpoint": str(self.out / "checkpoint.pt"),
            "steps": self.steps,
            "resumed_from": self.resumed_from,
            "seconds": round(self.seconds, 2),
            "samples_per_second": round(self.samples_per_second, 2),
            "final": {k: round(v, 5) for k, v in self.final.items()},
            "counts": self.counts,
            "failed_videos": len(self.failures),
            "warnings": self.warnings,
        }


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


def _host_config(config: AlignTrainConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"temporal": config.temporal, **config.host_options}
    if config.host == "tiny" and config.dropout is not None:
        out.setdefault("dropout", config.dropout)
    if config.host_weights is not None:
        out["weights"] = str(config.host_weights)
    if config.host_pretrained is not None:
        out["pretrained"] = config.host_pretrained
    return out


def _graph_options(config: AlignTrainConfig) -> Any:
    from finsta_cli.graph import GraphOptions

    return GraphOptions(
        adverb_nodes=config.adverb_nodes,
        temporal_coref=config.coref_edges,
        cross_edges=config.cross_edges,
    )


def _optimizer(model: FinstaModel, config: AlignTrainConfig) -> torch.optim.Optimizer:
    import torch

    host = list(model.host.trainable_parameters())
    groups = []
    for params, lr in ((host, config.host_lr or config.lr), (model.sg_parameters(), config.lr)):
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups.append({"params": decay, "lr": lr, "weight_decay": config.weight_decay})
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return torch.optim.AdamW([g for g in groups if g["params"]], betas=(0.9, 0.98), eps=1e-6)


def _write_manifest(
    out: Path, config: AlignTrainConfig, status: str, started: str, extra: dict[str, Any]
) -> None:
    from finsta_cli.io.stage import utc_now
    from finsta_cli.runtime import package_versions

    payload = {
        "schema_version": "1.0",
        "record": "manifest",
        "tool": "finsta",
        "version": __version__,
        "stage": "align-train",
        "status": status,
        "command": list(sys.argv),
        "started_at": started,
        "finished_at": utc_now() if status != "running" else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "config": config.model_dump(mode="json"),
        "config_hash": hash_json(config.model_dump(mode="json")),
        **extra,
    }
    atomic_write_json(out / "manifest.json", payload)


def save_train_state(
    path: Path,
    model: FinstaModel,
    optimizer: torch.optim.Optimizer,
    step: int,
    config: AlignTrainConfig,
    data: AlignData,
) -> None:
    """Everything --resume needs, as plain tensors, numbers and strings (weights_only loads)."""
    import torch

    payload = {
        "kind": "finsta-train-state",
        "version": 1,
        "step": step,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "rng": torch.get_rng_state(),
        "config_hash": config.output_hash(),
        "node_vocab": json.dumps(data.node_vocab.to_list()),
        "edge_vocab": json.dumps(data.edge_vocab.to_list()),
        "host_config": json.dumps(model.host.host_config(), sort_keys=True),
    }
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)


def built_dsg_frames(dsg: Path | None) -> int | None:
    """The keyframe count a build-dsg folder was built with (its manifest), else None."""
    if dsg is None:
        return None
    try:
        manifest = json.loads((dsg / "manifest.json").read_text(encoding="utf-8"))
        built = manifest["config"] if manifest.get("stage") == "build-dsg" else {}
        frames = built.get("frames") if built.get("fps") is None else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return frames if isinstance(frames, int) and frames > 0 else None


def save_result(
    path: Path,
    model: FinstaModel,
    config: AlignTrainConfig,
    data: AlignData,
    dsg_frames: int | None = None,
) -> None:
    """checkpoint.pt: the host; in fusion mode also the scene-graph encoders (and the keyframe
    count of the training DSGs, so ``eval --with-graphs`` builds test DSGs alike)."""
    from finsta_cli.hosts.factory import save_host

    info: dict[str, Any] = {
        "objective": config.objective,
        "mode": config.mode,
        "steps": config.steps,
        "seed": config.seed,
        "version": __version__,
    }
    if config.mode == "fusion" and dsg_frames is not None:
        info["dsg_frames"] = dsg_frames
    extra: dict[str, Any] = {"finsta": json.dumps(info)}
    if config.mode == "fusion" and model.graphs:
        host_keys = {f"host.{k}" for k in model.host.state_dict()}
        extra["sg"] = {
            k: v.detach().cpu() for k, v in model.state_dict().items() if k not in host_keys
        }
        extra["sg_config"] = json.dumps(model.sg_config)
        extra["node_vocab"] = json.dumps(data.node_vocab.to_list())
        extra["edge_vocab"] = json.dumps(data.edge_vocab.to_list())
        extra["graph_options"] = json.dumps(
            {"adverb_nodes": config.adverb_nodes, "temporal_coref": config.coref_edges,
             "cross_edges": config.cross_edges}
        )  # fmt: skip
    save_host(path, model.host, extra)


def _vocabulary_texts(dataset: Any) -> list[str]:
    """The training split's texts a new host's vocabulary is built from: its captions, and the
    questions, options and answers of its QA items and its action prompts, so that words only
    the tasks use (number words, say) are not [UNK] at evaluation."""
    from finsta_cli.tasks.datasets import ACTION_PROMPT

    texts = [caption.text for caption in dataset.captions]
    for item in [*dataset.qa_mc, *dataset.qa_open]:
        texts += [item.question, item.answer, *(item.options or ())]
    texts += [ACTION_PROMPT.format(label=label) for label in dataset.labels]
    return texts


def run_align_train(
    data_dir: Path,
    out: Path,
    config: AlignTrainConfig,
    *,
    tsg: Path | None = None,
    dsg: Path | None = None,
    hsg: Path | None = None,
    dataset_format: str = "auto",
    resume: bool = False,
    quiet: bool = False,
) -> TrainResult:
    """Train and write the run folder (see the module docstring)."""
    import torch

    from finsta_cli.align.batch import attach_host_frames, collate
    from finsta_cli.align.data import build_align_data, videos_with_captions
    from finsta_cli.align.distributed import close_collective, init_collective
    from finsta_cli.align.model import FinstaModel, LossWeights
    from finsta_cli.hosts.factory import build_host, host_from_payload, load_checkpoint
    from finsta_cli.hosts.frames import load_host_frames
    from finsta_cli.io.faults import failpoint
    from finsta_cli.io.lock import LOCK_STEM, output_lock, remove_stale_temporaries
    from finsta_cli.io.stage import utc_now
    from finsta_cli.runtime import configure_threads, resolve_device
    from finsta_cli.tasks.datasets import load_task_dataset

    finsta = config.objective == "finsta"
    if finsta and (tsg is None or dsg is None or hsg is None):
        raise UsageError(
            "--objective finsta needs --tsg, --dsg and --hsg (parse-text, build-dsg and "
            "build-hsg outputs)",
            hint="or train the control with --objective host-only",
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    state_path = out / "train_state.pt"
    if resume and not state_path.is_file():
        raise UsageError(
            f"--resume: {out} has no train state ({state_path} not found); run without "
            "--resume to start a new run there, or give the --out of the run to continue",
        )
    device = resolve_device(config.device)
    threads = configure_threads(config.threads)
    comm = init_collective(device)
    started = utc_now()
    manifest_started = False  # this run's "running" manifest is written: end it, whatever ends
    restore_determinism = _deterministic_on_cpu(device)
    held = ExitStack()
    try:
        out.mkdir(parents=True, exist_ok=True)
        if comm.is_main:  # one run at a time writes the folder; then its dead runs' leftovers go
            lock = out / LOCK_STEM
            held.enter_context(output_lock(lock, what=f"{out} (align-train)"))
            remove_stale_temporaries(out, held=lock)
        if not resume and state_path.exists() and comm.is_main:
            log.warning("%s exists: starting over (use --resume to continue it)", state_path)
        if comm.is_main and not resume:  # a resumed run writes them once its state agrees
            atomic_write_text(out / "config.yaml", config.to_yaml())
            _write_manifest(out, config, "running", started, {"device": device})
            manifest_started = True
        dataset = load_task_dataset(data_dir, split=config.split, fmt=dataset_format)  # type: ignore[arg-type]
        entries = videos_with_captions(dataset)
        if not entries:
            raise InputError(f"{data_dir}: split {config.split!r} has no captions to train on")
        torch.manual_seed(config.seed)
        if config.init is not None:
            host = host_from_payload(load_checkpoint(config.init), config.init)
        else:
            host = build_host(
                config.host,
                _host_config(config),
                texts=_vocabulary_texts(dataset),
                allow_download=config.allow_download,
            )
        cache = config.cache or out.parent / ".frame-cache"
        with StageProgress("decoding frames", len(entries), quiet=quiet or not comm.is_main) as bar:
            frames = load_host_frames(
                [(vid, path) for vid, path, _ in entries],
                host.num_frames,
                host.frame_size,
                cache,
                progress=bar.advance,
            )
        kept = [(vid, captions) for vid, _, captions in entries if vid in frames.ids]
        # host-only with --tsg: the control arm with the same hard-negative captions.
        negatives_only = not finsta and tsg is not None and config.text_negatives > 0
        data = build_align_data(
            kept,
            tsg_file=tsg if finsta or negatives_only else None,
            dsg_dir=dsg if finsta else None,
            hsg_dir=hsg if finsta else None,
            options=_graph_options(config),
            hops=config.hops,
            ptc_negatives=config.ptc_negatives,
            text_negatives=config.text_negatives,
            negative_graphs=finsta and config.mode == "fusion" and config.text_negatives > 0,
        )
        for warning in data.warnings:
            log.warning("%s", warning)
        # A video whose DSG files were refused (damaged, NaN features) is left out, as one
        # that cannot be decoded: training it without its graph would hide the fault.
        data.videos = [v for v in data.videos if v.video_id not in data.refused]
        failures = {**frames.failures, **data.refused}
        if failures and comm.is_main:
            from finsta_cli.io import JsonlWriter

            with JsonlWriter(out / "failures.jsonl") as writer:
                for video_id, reason in failures.items():
                    writer.write({"id": video_id, "error": reason})
            log.warning("%d video(s) left out (not decodable, or DSG files refused): see %s",
                        len(failures), out / "failures.jsonl")  # fmt: skip
        elif comm.is_main:
            (out / "failures.jsonl").unlink(missing_ok=True)  # an earlier run's
        attach_host_frames(data, frames)
        if device.startswith("cuda"):
            # Page-locked host memory: batches copy to the GPU without a staging copy.
            frames.frames = frames.frames.pin_memory()
        batch_size = min(config.batch_size, len(data.videos))
        if batch_size < 2:
            raise InputError(
                f"{data_dir}: at least 2 videos are needed to train, found {len(data.videos)}"
            )
        if batch_size % comm.world:
            raise UsageError(
                f"batch size {batch_size} is not divisible by the {comm.world} ranks of torchrun"
            )
        weights = LossWeights(
            vtc=config.vtc_weight,
            osc=config.osc_weight if config.osc else 0.0,
            ptc=config.ptc_weight if config.ptc else 0.0,
            sg=config.sg_weight,
            kd=config.kd_weight,
            neg=config.neg_weight,
        )
        model = FinstaModel(
            host,
            num_node_labels=len(data.node_vocab),
            num_edge_labels=len(data.edge_vocab),
            region_dim=data.region_dim,
            hidden=config.hidden,
            layers=config.graph_layers,
            dropout=config.dropout,
            stgd=config.stgd,
            objective=config.objective,
            mode=config.mode,
            weights=weights,
            temperature=config.temperature,
        ).to(device)
        optimizer = _optimizer(model, config)
        base_lrs = [g["lr"] for g in optimizer.param_groups]
        start = 0
        saved: int | None = None  # the step of this run's last train state
        if resume:
            start = saved = _restore(state_path, model, optimizer, config)
            if comm.is_main:
                atomic_write_text(out / "config.yaml", config.to_yaml())
                _write_manifest(out, config, "running", started, {"device": device})
                manifest_started = True
            log.info("resuming %s at step %d", out, start)
        plan = BatchPlan([len(v.captions) for v in data.videos], batch_size, config.seed)
        local = batch_size // comm.world
        metrics_path = out / "metrics.jsonl"
        if comm.is_main:
            _truncate_metrics(metrics_path, start)
        trainable = [p for g in optimizer.param_groups for p in g["params"]]
        last: dict[str, float] = {}
        model.train()
        begin = time.perf_counter()
        samples = 0
        with StageProgress("align-train", config.steps, quiet=quiet or not comm.is_main) as bar:
            bar.advance(start)
            for step in range(start, config.steps):
                picks = plan.batch(step)[comm.rank * local : (comm.rank + 1) * local]
                items = [(data.videos[v], data.videos[v].captions[c]) for v, c in picks]
                batch = collate(items, frames, data, graphs=finsta, hops=config.hops).to(device)
                factor = schedule_factor(step, config.warmup_steps, config.steps)
                for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                    group["lr"] = base * factor
                with torch.autocast(
                    "cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")
                ):
                    losses = model(batch, comm)
                done = step + 1
                # Means over ranks: kd (and so the total) is each rank's share of the global
                # mean; the other losses are the same on every rank. Taken before the update,
                # so that every rank sees a non-finite loss and stops before it reaches the
                # weights.
                here = losses["loss"].device
                values = torch.stack([v.detach().float().to(here) for v in losses.values()])
                values = comm.sum(values) / comm.world
                last = dict(zip(losses, values.tolist(), strict=True))
                batch_ids = [data.videos[v].video_id for v, _ in picks]
                last_good = _last_good(state_path, saved)
                check_losses(done, last, batch_ids, last_good)
                optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                comm.average_gradients(trainable)
                norm = torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
                check_gradients(done, float(norm), model, last_good)
                try:
                    optimizer.step()
                except RuntimeError as exc:  # a learning rate too large for float32 steps
                    if "overflow" not in str(exc):
                        raise
                    raise NonFiniteError(
                        f"step {done}: the update overflows float32 (learning rate "
                        f"{base_lrs[0] * factor:g}): {exc}",
                        hint=f"this step was not saved; {last_good}. Lower --lr",
                    ) from None
                samples += batch_size
                if comm.is_main and (done % config.log_every == 0 or done == config.steps):
                    elapsed = time.perf_counter() - begin
                    row = {"step": done, "lr": round(base_lrs[0] * factor, 8),
                           **{k: round(v, 6) for k, v in last.items()},
                           "samples_per_s": round(samples / max(elapsed, 1e-9), 3)}  # fmt: skip
                    with metrics_path.open("a", encoding="utf-8") as handle:
                        handle.write(dumps_json(row, where=str(metrics_path)) + "\n")
                if done % config.checkpoint_every == 0 or done == config.steps:
                    check_weights(done, model, last_good)  # every rank: they hold the same
                    if comm.is_main:
                        save_train_state(state_path, model, optimizer, done, config, data)
                    saved = done
                    comm.barrier()
                failpoint("align.step")
                bar.advance(1, status=f"loss {last['loss']:.3f}")
        seconds = time.perf_counter() - begin
        if comm.is_main:
            save_result(out / "checkpoint.pt", model, config, data, built_dsg_frames(dsg))
        result = TrainResult(
            out=out,
            steps=config.steps,
            resumed_from=start,
            seconds=seconds,
            samples_per_second=samples / max(seconds, 1e-9),
            final=last,
            counts={
                "videos": len(data.videos),
                "captions": data.num_captions,
                **data.anchor_counts(),
            },
            failures=failures,
            warnings=data.warnings,
        )
        if comm.is_main:
            status = "partial" if failures else "completed"
            _write_manifest(
                out, config, status, started,
                {"device": device, "threads": threads, "seconds": round(seconds, 3),
                 "result": result.to_json()},
            )  # fmt: skip
        return result
    except BaseException as exc:
        if manifest_started:
            from finsta_cli.io.stage import describe_error

            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            extra = {"device": device, "threads": threads, "error": describe_error(exc)}
            _write_manifest(out, config, status, started, extra)
        raise
    finally:
        held.close()
        close_collective(comm)
        restore_determinism()


def _deterministic_on_cpu(device: str) -> Callable[[], None]:
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


def check_losses(step: int, losses: dict[str, float], videos: list[str], last_good: str) -> None:
    """Stop the run at a non-finite loss, naming the terms that are not finite.

    One bad step is not skipped (as AMP's loss scaler skips fp16 overflows): training here runs
    in fp32, or bf16 with fp32's range, so a NaN or infinite loss means bad inputs or diverged
    weights, which the next steps would not repair, and a skipped step would break the exact
    resume (docs/align-train.md).
    """
    total = losses.get("loss", math.nan)
    if math.isfinite(total) and all(math.isfinite(v) for v in losses.values()):
        return
    terms = [f"{name} {value}" for name, value in losses.items()
             if name != "loss" and not math.isfinite(value)]  # fmt: skip
    what = (f"component{'s' if len(terms) > 1 else ''}: {', '.join(terms)}" if terms
            else "every component is finite: their weighted sum overflowed")  # fmt: skip
    shown = ", ".join(videos[:8]) + (", ..." if len(videos) > 8 else "")
    raise NonFiniteError(
        f"step {step}: loss is {total} ({what}); batch videos: {shown}",
        hint=f"nothing of this step was applied; {last_good}. Lower --lr, or check the inputs "
        "of these videos",
    )


def check_gradients(step: int, norm: float, model: torch.nn.Module, last_good: str) -> None:
    """Stop the run when the gradients are not finite (before the optimizer applies them)."""
    if math.isfinite(norm):
        return
    bad = [name for name, p in model.named_parameters()
           if p.grad is not None and not bool(p.grad.isfinite().all())]  # fmt: skip
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    raise NonFiniteError(
        f"step {step}: gradient norm is {norm} (not finite in {shown or 'the gradients'})",
        hint=f"nothing of this step was applied; {last_good}. Lower --lr",
    )


def check_weights(step: int, model: torch.nn.Module, last_good: str) -> None:
    """Refuse to save weights that an update made non-finite (the loss was still finite)."""
    found = find_non_finite(model.state_dict())
    if found is not None:
        raise NonFiniteError(
            f"step {step}: the weights are not finite after the update: {found.describe()}; "
            "not saved",
            hint=f"{last_good}. Lower --lr",
        )


def _last_good(state: Path, step: int | None) -> str:
    if step is None:
        return "this run saved no train state yet"
    return f"the last good train state (step {step}) is kept in {state}"


def _restore(
    path: Path, model: FinstaModel, optimizer: torch.optim.Optimizer, config: AlignTrainConfig
) -> int:
    import torch

    from finsta_cli.hosts.factory import load_checkpoint

    state = load_checkpoint(path)
    if state.get("kind") != "finsta-train-state":
        raise InputError(f"{path}: not an align-train state file")
    if state.get("config_hash") not in config.matching_output_hashes():
        raise UsageError(
            f"{path} was written with other settings: --resume needs the same options",
            hint="start over without --resume, or use another --out",
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"])
    return int(state["step"])


def _truncate_metrics(path: Path, step: int) -> None:
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
