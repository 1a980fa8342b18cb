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
weights that are not finite are never saved (:mod:`finsta_cli.align.checks`).

A run goes through four phases (:class:`_AlignTrainRun`): setup (the folder, its lock, the
"running" manifest), data (the dataset, the host, its frames and the graphs), model (the Finsta
model and its optimizer, restored on --resume), the step loop (:mod:`finsta_cli.align.loop`),
then the finish (``checkpoint.pt``, :mod:`finsta_cli.align.checkpoint`, and the manifest).
"""

from __future__ import annotations

import json
import platform
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli import __version__
from finsta_cli.align.checkpoint import built_dsg_frames, restore_train_state, save_result
from finsta_cli.align.config import AlignTrainConfig
from finsta_cli.align.loop import StepLoop, build_optimizer, deterministic_on_cpu
from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.atomic import atomic_write_json, atomic_write_text
from finsta_cli.io.hashing import hash_json
from finsta_cli.io.progress import StageProgress, get_logger
from finsta_cli.schema.manifest import RunStatus, TrainManifest

if TYPE_CHECKING:
    from finsta_cli.align.data import AlignData
    from finsta_cli.datasets import CaptionFormat
    from finsta_cli.hosts.base import HostVLM
    from finsta_cli.hosts.frames import FrameSet

log = get_logger("align")


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
    init: dict[str, Any] | None = None  # --init: the file, its hash and how its weights fit

    def to_json(self) -> dict[str, Any]:
        init = {} if self.init is None else {"init": self.init}
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
            **init,
        }


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


def _write_manifest(
    out: Path, config: AlignTrainConfig, status: RunStatus, started: str, **fields: Any
) -> None:
    """``manifest.json``: this run's :class:`TrainManifest` (``fields``: device, threads,
    seconds, result or error, as far as the run got)."""
    from finsta_cli.io.stage import utc_now
    from finsta_cli.runtime import package_versions

    dumped = config.model_dump(mode="json")
    manifest = TrainManifest(
        version=__version__,
        stage="align-train",
        status=status,
        command=list(sys.argv),
        started_at=started,
        finished_at=utc_now() if status != "running" else None,
        python=platform.python_version(),
        platform=platform.platform(),
        packages=package_versions(),
        config=dumped,
        config_hash=hash_json(dumped),
        **fields,
    )
    atomic_write_json(out / "manifest.json", manifest.to_json())


def _vocabulary_texts(dataset: Any) -> list[str]:
    """The training split's texts a new host's vocabulary is built from: its captions, and the
    questions, options and answers of its QA items and its action prompts, so that words only
    the tasks use (number words, say) are not [UNK] at evaluation."""
    from finsta_cli.datasets import ACTION_PROMPT

    texts = [caption.text for caption in dataset.captions]
    for item in [*dataset.qa_mc, *dataset.qa_open]:
        texts += [item.question, item.answer, *(item.options or ())]
    texts += [ACTION_PROMPT.format(label=label) for label in dataset.labels]
    return texts


def _init_host(
    config: AlignTrainConfig, path: Path, texts: list[str]
) -> tuple[HostVLM, dict[str, Any]]:
    """--init's host, and what the result records of it (path, sha256, how its weights fit).

    A finsta checkpoint rebuilds its own host; a plain state dict (every value a tensor) is
    loaded into the host ``config`` builds (``--host`` and its options, as without --init).
    Weights that fit only in part are refused unless ``config.allow_partial``."""
    import torch

    from finsta_cli.hosts.factory import (
        CHECKPOINT_KIND,
        build_host,
        load_checkpoint,
        load_weights,
        restore_host,
    )
    from finsta_cli.io.hashing import hash_file

    payload = load_checkpoint(path)
    plain = payload.get("kind") != CHECKPOINT_KIND and all(
        isinstance(value, torch.Tensor) for value in payload.values()
    )
    if plain and payload:
        host = build_host(
            config.host, _host_config(config), texts=texts, allow_download=config.allow_download
        )
        report = load_weights(
            host, payload, path, what="weights", target=f"the {config.host} host (--host)",
            allow_partial=config.allow_partial,
        )  # fmt: skip
        kind = "state_dict"
    else:
        host, report = restore_host(payload, path, allow_partial=config.allow_partial)
        kind = "checkpoint"
    record = {"path": str(path), "kind": kind, "sha256": hash_file(path), **report.to_json()}
    if kind == "checkpoint":
        # A checkpoint rebuilds the host it was trained with: host options asked for here that
        # differ from it are not applied, which must not pass unnoticed.
        stored = json.loads(str(payload.get("host_config", "{}")))
        ignored = {
            key: value for key, value in config.host_options.items() if stored.get(key) != value
        }
        if ignored:
            record["ignored_host_options"] = ignored
            log.warning(
                "%s is a finsta checkpoint and rebuilds its own host: host option(s) %s not "
                "applied (it has %s); to change them, start from a plain state dict of the host",
                path,
                ", ".join(f"{key}={value!r}" for key, value in ignored.items()),
                ", ".join(f"{key}={stored.get(key)!r}" for key in ignored),
            )
    return host, record


def run_align_train(
    data_dir: Path,
    out: Path,
    config: AlignTrainConfig,
    *,
    tsg: Path | None = None,
    dsg: Path | None = None,
    hsg: Path | None = None,
    dataset_format: CaptionFormat = "auto",
    resume: bool = False,
    quiet: bool = False,
) -> TrainResult:
    """Train and write the run folder (see the module docstring)."""
    _check_arguments(out, config, tsg=tsg, dsg=dsg, hsg=hsg, resume=resume)
    run = _AlignTrainRun(data_dir, out, config, resume=resume, quiet=quiet)
    try:
        run.setup()
        host, frames, data = run.load_data(dataset_format, tsg=tsg, dsg=dsg, hsg=hsg)
        loop = run.build_model(host, frames, data)
        start = run.restore(loop) if resume else 0
        seconds = loop.run(start, quiet=quiet or not run.comm.is_main)
        return run.finish(loop, start, seconds, built_dsg_frames(dsg))
    except BaseException as exc:
        run.end(exc)
        raise
    finally:
        run.close()


def _check_arguments(
    out: Path,
    config: AlignTrainConfig,
    *,
    tsg: Path | None,
    dsg: Path | None,
    hsg: Path | None,
    resume: bool,
) -> None:
    """The usage errors found before anything is written."""
    if config.objective == "finsta" and (tsg is None or dsg is None or hsg is None):
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


class _AlignTrainRun:
    """One align-train run in ``out``, phase by phase; ``end`` and ``close`` whatever ends it.

    Only the main rank writes the folder's files (metrics, states, checkpoint, manifest)."""

    def __init__(
        self, data_dir: Path, out: Path, config: AlignTrainConfig, *, resume: bool, quiet: bool
    ) -> None:
        from finsta_cli.align.distributed import init_collective
        from finsta_cli.io.stage import utc_now
        from finsta_cli.runtime import configure_threads, resolve_device

        self.data_dir, self.out, self.config = data_dir, out, config
        self.resume, self.quiet = resume, quiet
        self.finsta = config.objective == "finsta"
        self.state_path = out / "train_state.pt"
        self.device = resolve_device(config.device)
        self.threads = configure_threads(config.threads)
        self.comm = init_collective(self.device)
        self.started = utc_now()
        self.manifest_started = False  # this run's "running" manifest is written: end it
        self.failures: dict[str, str] = {}  # videos left out: id -> why
        self.init: dict[str, Any] | None = None  # --init: what was loaded (TrainResult.init)
        self._restore_determinism = deterministic_on_cpu(self.device)
        self._held = ExitStack()

    def setup(self) -> None:
        """The folder and its lock; a new run's config.yaml and "running" manifest."""
        from finsta_cli.io.lock import LOCK_STEM, output_lock, remove_stale_temporaries

        out = self.out
        out.mkdir(parents=True, exist_ok=True)
        # One run at a time writes the folder; then its dead runs' leftovers go.
        if self.comm.is_main:
            lock = out / LOCK_STEM
            self._held.enter_context(output_lock(lock, what=f"{out} (align-train)"))
            remove_stale_temporaries(out, held=lock)
        if not self.resume and self.state_path.exists() and self.comm.is_main:
            log.warning("%s exists: starting over (use --resume to continue it)", self.state_path)
        if self.comm.is_main and not self.resume:  # a resumed run writes them once its state agrees
            self._start_manifest()

    def load_data(
        self,
        dataset_format: CaptionFormat,
        *,
        tsg: Path | None,
        dsg: Path | None,
        hsg: Path | None,
    ) -> tuple[HostVLM, FrameSet, AlignData]:
        """The split's videos and captions, the host (new, or --init's), its frames of each
        video and the training graphs; the videos left out go to failures.jsonl."""
        import torch

        from finsta_cli.align.batch import attach_host_frames
        from finsta_cli.align.data import build_align_data, videos_with_captions
        from finsta_cli.align.data_cache import cached_align_data
        from finsta_cli.datasets import load_task_dataset
        from finsta_cli.hosts.factory import build_host
        from finsta_cli.hosts.frames import load_host_frames

        config, finsta, out = self.config, self.finsta, self.out
        dataset = load_task_dataset(self.data_dir, split=config.split, fmt=dataset_format)
        entries = videos_with_captions(dataset)
        if not entries:
            raise InputError(f"{self.data_dir}: split {config.split!r} has no captions to train on")
        torch.manual_seed(config.seed)
        if config.init is not None:
            host, self.init = _init_host(config, config.init, _vocabulary_texts(dataset))
        else:
            host = build_host(
                config.host,
                _host_config(config),
                texts=_vocabulary_texts(dataset),
                allow_download=config.allow_download,
            )
        cache = config.cache or out.parent / ".frame-cache"
        quiet = self.quiet or not self.comm.is_main
        with StageProgress("decoding frames", len(entries), quiet=quiet) as bar:
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
        sources: dict[str, Any] = {
            "tsg_file": tsg if finsta or negatives_only else None,
            "dsg_dir": dsg if finsta else None,
            "hsg_dir": hsg if finsta else None,
        }
        settings: dict[str, Any] = {
            "options": _graph_options(config),
            "hops": config.hops,
            "ptc_negatives": config.ptc_negatives,
            "text_negatives": config.text_negatives,
            # The negatives' own TSGs: fusion mode scores them fused, and so does the teacher
            # of rank distillation.
            "negative_graphs": finsta
            and (config.mode == "fusion" or config.rank_kd_weight > 0)
            and config.text_negatives > 0,
        }
        if any(source is not None for source in sources.values()):
            # The graphs of a second run with the same inputs: one file, no JSON or graph walk.
            graph_cache = config.graph_cache or out.parent / ".graph-cache"
            data, hit = cached_align_data(graph_cache, kept, **sources, **settings)
            log.info("graphs %s %s", "read from" if hit else "cached in", graph_cache)
        else:
            data = build_align_data(kept, **sources, **settings)
        for warning in data.warnings:
            log.warning("%s", warning)
        # A video whose DSG files were refused (damaged, NaN features) is left out, as one
        # that cannot be decoded: training it without its graph would hide the fault.
        data.videos = [v for v in data.videos if v.video_id not in data.refused]
        self.failures = {**frames.failures, **data.refused}
        self._write_failures()
        attach_host_frames(data, frames)
        if self.device.startswith("cuda"):
            # Page-locked host memory: batches copy to the GPU without a staging copy.
            frames.frames = frames.frames.pin_memory()
        return host, frames, data

    def _write_failures(self) -> None:
        if not self.comm.is_main:
            return
        path = self.out / "failures.jsonl"
        if not self.failures:
            path.unlink(missing_ok=True)  # an earlier run's
            return
        from finsta_cli.io import JsonlWriter

        with JsonlWriter(path) as writer:
            for video_id, reason in self.failures.items():
                writer.write({"id": video_id, "error": reason})
        log.warning("%d video(s) left out (not decodable, or DSG files refused): see %s",
                    len(self.failures), path)  # fmt: skip

    def build_model(self, host: HostVLM, frames: FrameSet, data: AlignData) -> StepLoop:
        """The Finsta model around ``host``, its optimizer, and the step loop that trains it."""
        from finsta_cli.align.model import FinstaModel, LossWeights

        config, comm = self.config, self.comm
        batch_size = min(config.batch_size, len(data.videos))
        if batch_size < 2:
            raise InputError(
                f"{self.data_dir}: at least 2 videos are needed to train, found {len(data.videos)}"
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
            rev=config.reverse_weight,
            kd_rank=config.rank_kd_weight,
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
        ).to(self.device)
        optimizer = build_optimizer(model, config)
        return StepLoop(
            model=model,
            optimizer=optimizer,
            base_lrs=[g["lr"] for g in optimizer.param_groups],
            data=data,
            frames=frames,
            config=config,
            comm=comm,
            device=self.device,
            batch_size=batch_size,
            graphs=self.finsta,
            out=self.out,
        )

    def restore(self, loop: StepLoop) -> int:
        """--resume: the saved state into the loop's model and optimizer; the step it is at."""
        start = restore_train_state(self.state_path, loop.model, loop.optimizer, self.config)
        loop.saved = start
        if self.comm.is_main:
            self._start_manifest()
        log.info("resuming %s at step %d", self.out, start)
        return start

    def finish(
        self, loop: StepLoop, start: int, seconds: float, dsg_frames: int | None
    ) -> TrainResult:
        """checkpoint.pt and the final manifest (main rank); the result."""
        if self.comm.is_main:
            save_result(self.out / "checkpoint.pt", loop.model, self.config, loop.data, dsg_frames)
        data = loop.data
        result = TrainResult(
            out=self.out,
            steps=self.config.steps,
            resumed_from=start,
            seconds=seconds,
            samples_per_second=loop.samples / max(seconds, 1e-9),
            final=loop.last,
            counts={
                "videos": len(data.videos),
                "captions": data.num_captions,
                **data.anchor_counts(),
            },
            failures=self.failures,
            warnings=data.warnings,
            init=self.init,
        )
        if self.comm.is_main:
            status: RunStatus = "partial" if self.failures else "completed"
            _write_manifest(
                self.out, self.config, status, self.started, device=self.device,
                threads=self.threads, seconds=round(seconds, 3), result=result.to_json(),
            )  # fmt: skip
        return result

    def _start_manifest(self) -> None:
        atomic_write_text(self.out / "config.yaml", self.config.to_yaml())
        _write_manifest(self.out, self.config, "running", self.started, device=self.device)
        self.manifest_started = True

    def end(self, exc: BaseException) -> None:
        """A run that raised: its manifest says failed or interrupted, and why."""
        if not self.manifest_started:
            return
        from finsta_cli.io.stage import describe_error

        status: RunStatus = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        _write_manifest(
            self.out, self.config, status, self.started, device=self.device,
            threads=self.threads, error=describe_error(exc),
        )  # fmt: skip

    def close(self) -> None:
        """Release the lock, the collective and the deterministic-kernels setting."""
        from finsta_cli.align.distributed import close_collective

        self._held.close()
        close_collective(self.comm)
        self._restore_determinism()
