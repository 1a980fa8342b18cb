"""``finsta demo``: the main job, end to end on generated input: does Finsta improve the host?

synth (a rendered benchmark) -> parse-text (its captions) -> build-dsg (its videos, with the
shipped detector, at the host's frame count) -> build-hsg (each caption with its video) -> for
each host variant: a starting point, then post-training for the same steps on the same data and
batches twice, with the host's own loss only (host) and with Finsta (host+Finsta, graph-free
afterwards) -> eval on ``test`` (retrieval with hard negatives per type, video QA, action) and
zeroshot on ``test_unseen``, and captioning on ``test`` (a caption head trained on the host's
frame features for ``caption_epochs`` epochs; CIDEr and BLEU-4 x100 in the table, the
nearest-training-caption baseline beside them) -> a table and a PNG chart. For the variants in
``fusion_temporals`` a third arm is post-trained in fusion mode (host + scene-graph encoders, the
same start, data and steps) and its zero-shot tasks (retrieval, zero-shot retrieval on
test_unseen, multiple-choice QA) are evaluated with graphs (the TSGs and DSGs of the pipeline,
so the graphs at test time come from the parser and the detector).

The starting point depends on the host (``DemoPlan.host``):

- ``lite`` (the default): the shipped checkpoint ``assets/hosts/`` (the lite host's own layers,
  aligned with its own loss on 5,040 synth videos of another seed, which the demo never sees;
  its card beside it). No training from scratch inside the demo;
- ``tiny``: trained from scratch with its own loss for ``init_steps`` (the shared
  initialisation of both arms).

Every stage writes its usual outputs under ``--out``; a second run resumes the preprocessing
stages (finished items are skipped) and reuses finished training runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsta_cli.errors import FinstaError, MissingResourceError, UsageError
from finsta_cli.io import JsonlWriter, atomic_write_json
from finsta_cli.io.stage import StageSummary

TEMPORALS = ("meanP", "seqTransf")
HOSTS = ("lite", "tiny")
# The lite demo's splits (relative sizes): 200 test videos, so one video is 0.5 R@1 points.
LITE_SPLITS = (("train", 7.0), ("val", 2.0), ("test", 5.0), ("test_unseen", 2.0))


@dataclass(frozen=True)
class DemoPlan:
    """How big the demo is and which host it runs (:meth:`for_host` gives each host's defaults;
    ``quick`` there is the CI smoke test).

    ``init_steps``: the tiny host's shared initialisation, trained from scratch; 0 for ``lite``,
    whose arms start from ``init`` (None: the shipped checkpoint). ``finsta`` holds the
    align-train options of the Finsta arms (host+Finsta and fusion) beyond the objective.
    ``caption_epochs`` and ``caption_width``: the caption head's epochs and model width (its
    feed-forward layers twice that; the captioning rows, host and host+Finsta arms)."""

    host: str = "tiny"
    videos: int = 400
    splits: tuple[tuple[str, float], ...] | None = None  # None: synth's default split
    init_steps: int = 150
    init: Path | None = None
    steps: int = 150
    batch_size: int = 32
    temporals: tuple[str, ...] = TEMPORALS
    finetune_epochs: int = 300
    caption_epochs: int = 20
    caption_width: int = 128
    fusion_temporals: tuple[str, ...] = ("seqTransf",)
    finsta: tuple[tuple[str, Any], ...] = ()
    lr: float | None = None  # the arms' post-training learning rate; None: align-train's

    @classmethod
    def for_host(cls, host: str = "lite", quick: bool = False) -> DemoPlan:
        if host == "tiny":
            return cls.quick() if quick else cls()
        if host != "lite":
            raise UsageError(f"demo: unknown host {host!r}", hint="choose lite or tiny")
        if quick:
            return cls(host="lite", videos=40, splits=LITE_SPLITS, init_steps=0, steps=15,
                       lr=LITE_LR, batch_size=16, temporals=("seqTransf",), finetune_epochs=100,
                       caption_epochs=3, finsta=LITE_FINSTA)  # fmt: skip
        return cls(host="lite", videos=640, splits=LITE_SPLITS, init_steps=0, steps=LITE_STEPS,
                   lr=LITE_LR, temporals=("seqTransf",), finsta=LITE_FINSTA)  # fmt: skip

    @classmethod
    def quick(cls) -> DemoPlan:
        """The tiny host's smoke run."""
        return cls(videos=40, init_steps=15, steps=15, batch_size=16, temporals=("seqTransf",),
                   finetune_epochs=100, caption_epochs=3)  # fmt: skip

    def arms(self, temporal: str) -> tuple[Arm, ...]:
        """The arms of host variant ``temporal``: host, host+Finsta, and fusion if listed."""
        fusion = (FUSION_ARM,) if temporal in self.fusion_temporals else ()
        return (HOST_ARM, FINSTA_ARM, *fusion)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["init"] = str(self.init) if self.init is not None else None
        out["splits"] = dict(self.splits) if self.splits is not None else None
        out["finsta"] = dict(self.finsta)
        return out


# The lite arms' post-training, chosen on the demo's `val` split (docs/benchmarks.md, "Demo on
# the lite host"): the shipped start already holds most of what 280 training videos can teach,
# and 300 steps at align-train's 1e-3 overfit them (val text->video R@1 53.6 -> 31.3), so a
# short, gentle post-training. The Finsta arms use align-train's defaults beyond the objective
# (TSG-made hard-negative captions did not move the temporal negatives on val).
LITE_STEPS = 150
LITE_LR = 1e-4
LITE_FINSTA: tuple[tuple[str, Any], ...] = ()


@dataclass
class StageResult:
    name: str
    summary: StageSummary | None
    seconds: float


@dataclass
class DemoResult:
    out: Path
    plan: DemoPlan
    seed: int
    stages: list[StageResult] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    chart: Path | None = None

    @property
    def failed(self) -> int:
        return sum(stage.summary.failed for stage in self.stages if stage.summary is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "seed": self.seed,
            "plan": self.plan.to_json(),
            "stages": [
                {
                    **(stage.summary.to_json() if stage.summary is not None else {}),
                    "stage": stage.name,
                    "wall_seconds": round(stage.seconds, 2),
                }
                for stage in self.stages
            ],
            "metrics": self.metrics,
            "comparison": self.comparison,
            "chart": str(self.chart) if self.chart else None,
        }


def _timed(result: DemoResult, name: str, step: Callable[[], StageSummary | None]) -> None:
    start = time.perf_counter()
    summary = step()
    result.stages.append(StageResult(name, summary, time.perf_counter() - start))


def _synth_records(data: Path) -> list[dict[str, Any]]:
    from finsta_cli.synth.records import SPLITS

    records = []
    for split in SPLITS:
        path = data / f"{split}.jsonl"
        if path.is_file():
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return records


def write_captions(records: list[dict[str, Any]], path: Path) -> int:
    """The captions of synth records as JSONL, with ids ``VIDEO.cK`` (build-hsg pairs them)."""
    count = 0
    with JsonlWriter(path) as writer:
        for record in records:
            for k, caption in enumerate(record["captions"]):
                writer.write({"id": f"{record['video_id']}.c{k}", "text": caption["text"]})
                count += 1
    return count


# (row label, task key, path into the metrics) of the comparison table.
_ASPECT = ("hard_negatives", "per_aspect")
ROWS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("text->video R@1", "retrieval", ("t2v_r1",)),
    ("video->text R@1", "retrieval", ("v2t_r1",)),
    ("hard negatives: all", "retrieval", ("hard_negatives", "accuracy")),
    ("hard negatives: spatial", "retrieval", (*_ASPECT, "spatial", "accuracy")),
    ("hard negatives: temporal", "retrieval", (*_ASPECT, "temporal", "accuracy")),
    ("hard negatives: attribute", "retrieval", (*_ASPECT, "attribute", "accuracy")),
    ("hard negatives: object", "retrieval", (*_ASPECT, "object", "accuracy")),
    ("QA multiple choice (zero-shot)", "videoqa", ("mc_accuracy",)),
    ("QA multiple choice (head)", "videoqa-ft", ("mc_accuracy",)),
    ("QA open-ended (head)", "videoqa-ft", ("open_accuracy",)),
    ("action top-1 (head)", "action-ft", ("top1",)),
    ("zero-shot unseen: text->video R@1", "zeroshot", ("t2v_r1",)),
    ("zero-shot unseen: hard negatives", "zeroshot", ("hard_negatives", "accuracy")),
    ("captioning CIDEr x100 (head)", "captioning-ft", ("cider",)),
    ("captioning BLEU-4 x100 (head)", "captioning-ft", ("bleu_4",)),
    ("captioning CIDEr x100 (nearest caption)", "captioning-ft", ("baseline", "cider")),
)  # fmt: skip
# Rows whose metrics are fractions (pycocoevalcap's scale), shown x100 as papers print them.
SCALED = frozenset({"captioning-ft"})
# The evaluations of an arm: (task, split, fine-tune).
EVALUATIONS: dict[str, tuple[str, str, bool]] = {
    "retrieval": ("retrieval", "test", False),
    "videoqa": ("videoqa", "test", False),
    "videoqa-ft": ("videoqa", "test", True),
    "action-ft": ("action", "test", True),
    "zeroshot": ("retrieval", "test_unseen", False),
    "captioning-ft": ("captioning", "test", True),
}


@dataclass(frozen=True)
class Arm:
    """One post-training arm: ``name`` (its run folder ``TEMPORAL-NAME``, its column of the
    table), its align-train ``options`` beyond the ones all arms share, ``finsta`` (a Finsta arm:
    also the plan's Finsta options, trained with the pipeline's TSGs, DSGs and HSGs), the
    ``evaluations`` it runs (keys of :data:`EVALUATIONS`) and whether they are scored with graphs
    (host + scene-graph embeddings, from the pipeline's TSGs and DSGs)."""

    name: str
    options: tuple[tuple[str, Any], ...]
    finsta: bool
    evaluations: tuple[str, ...] = tuple(EVALUATIONS)
    scored_with_graphs: bool = False


HOST_ARM = Arm("host", (("objective", "host-only"),), finsta=False)
FINSTA_ARM = Arm("finsta", (("objective", "finsta"),), finsta=True)
# Fusion mode (host + scene-graph encoders), for the variants in DemoPlan.fusion_temporals; it
# runs the zero-shot evaluations (no task head is trained on fused embeddings here).
FUSION_ARM = Arm(
    "fusion",
    (("objective", "finsta"), ("mode", "fusion")),
    finsta=True,
    evaluations=("retrieval", "videoqa", "zeroshot"),
    scored_with_graphs=True,
)


def _lookup(metrics: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def _train(
    data: Path, out: Path, config: Any, *, graphs: tuple[Path, Path, Path] | None, quiet: bool
) -> None:
    from finsta_cli.align.trainer import run_align_train

    if (out / "checkpoint.pt").is_file() and (out / "manifest.json").is_file():
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        written = manifest.get("config")
        completed = manifest.get("status") == "completed" and isinstance(written, dict)
        if completed and config.matches_dump(written):
            return
    tsg, dsg, hsg = graphs if graphs is not None else (None, None, None)
    resume = (out / "train_state.pt").is_file()  # a run the demo had begun: continue it
    run_align_train(data, out, config, tsg=tsg, dsg=dsg, hsg=hsg, quiet=quiet, resume=resume)


def _evaluate(
    arm: Arm,
    checkpoint: Path,
    data: Path,
    cache: Path,
    plan: DemoPlan,
    seed: int,
    quiet: bool,
    graphs: tuple[Path, Path],
) -> dict[str, dict[str, Any]]:
    """The arm's evaluations; ``graphs`` (TSG file, DSG folder) score an arm that is scored with
    graphs with its host + scene-graph embeddings."""
    from finsta_cli.tasks.graph_eval import GraphSources
    from finsta_cli.tasks.host_eval import run_host_eval, write_host_eval

    sources = (
        GraphSources(work=checkpoint.parent / "graphs", tsg=graphs[0], dsg=graphs[1])
        if arm.scored_with_graphs
        else None
    )
    out: dict[str, dict[str, Any]] = {}
    for name in arm.evaluations:
        task, split, finetune = EVALUATIONS[name]
        if task == "captioning":
            out[name] = _caption(checkpoint, data, cache, plan, seed, quiet, name, split)
            continue
        try:
            # Zero-shot open-ended QA is in no row of the table (its head is): left out, as it
            # scores every question against every answer (minutes with the lite host).
            result = run_host_eval(
                checkpoint, data, task,  # type: ignore[arg-type]
                split=split, finetune=finetune, cache=cache, seed=seed,
                epochs=plan.finetune_epochs, quiet=quiet, graphs=sources, open_ended=finetune,
            )  # fmt: skip
        except FinstaError as exc:  # e.g. a split too small to hold a video: say so, go on
            out[name] = {"error": exc.message}
            continue
        write_host_eval(result, checkpoint.parent / f"eval-{name}-{split}")
        out[name] = result.metrics
    return out


def _caption(
    checkpoint: Path,
    data: Path,
    cache: Path,
    plan: DemoPlan,
    seed: int,
    quiet: bool,
    name: str,
    split: str,
) -> dict[str, Any]:
    """``eval --task captioning --finetune`` of the arm's host: a caption head trained for
    ``plan.caption_epochs`` on the train split's frame features, scored on ``split``."""
    from finsta_cli.captioning.config import CaptionHeadConfig
    from finsta_cli.captioning.finetune import (
        CaptionSettings,
        run_caption_eval,
        write_caption_eval,
    )

    head = CaptionHeadConfig(width=plan.caption_width, ff_width=2 * plan.caption_width)
    settings = CaptionSettings(head=head, epochs=plan.caption_epochs)
    try:
        result = run_caption_eval(
            checkpoint, data, split=split, settings=settings,
            cache=cache, seed=seed, quiet=quiet,
        )  # fmt: skip
    except FinstaError as exc:
        return {"error": exc.message}
    write_caption_eval(result, checkpoint.parent / f"eval-{name}-{split}")
    return result.metrics


def lite_checkpoint(temporal: str) -> Path:
    """The shipped starting point of the lite host with ``temporal`` (see assets/hosts/)."""
    from finsta_cli.assets import default_lite_checkpoint

    path = default_lite_checkpoint(temporal)
    if not path.is_file():
        raise MissingResourceError(
            f"the lite host's shipped checkpoint {path} is missing",
            hint="reinstall finsta from its repository (assets/hosts/), set $FINSTA_ASSETS, "
            "or pass the demo --init CHECKPOINT",
        )
    return path


def run_demo(
    out: Path,
    *,
    plan: DemoPlan | None = None,
    seed: int = 0,
    quiet: bool = False,
    chart: bool = True,
) -> DemoResult:
    """Run the whole pipeline under ``out`` (see the module docstring)."""
    from finsta_cli.align.config import AlignTrainConfig
    from finsta_cli.hsg.build import BuildHSGConfig, run_build_hsg
    from finsta_cli.hsg.evaluate import score_hsg_folder
    from finsta_cli.synth.generate import SynthConfig, generate_dataset
    from finsta_cli.tasks.dsg_eval import evaluate_dsg
    from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text
    from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

    plan = plan or DemoPlan.for_host("lite")
    starts: dict[str, Path] = {}
    if plan.host == "lite" and not plan.init_steps:  # checked before anything runs
        starts = {t: plan.init or lite_checkpoint(t) for t in plan.temporals}
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=out, plan=plan, seed=seed)
    data, tsg, dsg, hsg = out / "synth", out / "tsg.jsonl", out / "dsg", out / "hsg"
    cache = out / "runs" / ".frame-cache"
    # The data stay the same across seeds (seed 0); the seed changes the training runs.
    synth = SynthConfig(videos=plan.videos, seed=0)
    if plan.splits is not None:
        synth = SynthConfig(videos=plan.videos, seed=0, splits=dict(plan.splits))
    _timed(result, "synth", lambda: generate_dataset(synth, data, quiet=quiet))
    records = _synth_records(data)
    write_captions(records, out / "captions.jsonl")
    _timed(
        result,
        "parse-text",
        lambda: run_parse_text(
            str(out / "captions.jsonl"), str(tsg), ParseTextConfig(), quiet=quiet
        ),
    )
    host_frames = 8  # the hosts' frame count: one DSG frame per host frame
    _timed(
        result,
        "build-dsg",
        lambda: run_build_dsg(
            [data / "videos"], dsg, BuildDSGConfig(frames=host_frames), quiet=quiet
        ),
    )
    _timed(result, "build-hsg", lambda: run_build_hsg(tsg, dsg, hsg, BuildHSGConfig(), quiet=quiet))
    dsg_metrics, _ = evaluate_dsg(data, dsg)
    result.metrics["dsg"] = dsg_metrics.to_json()
    result.metrics["hsg"] = score_hsg_folder(hsg, records).to_json()
    result.metrics["splits"] = {
        split: sum(1 for r in records if r.get("split") == split)
        for split in ("train", "val", "test", "test_unseen")
    }
    prefix = "" if plan.host == "tiny" else f"{plan.host}-"  # the tiny demo's folders as before
    runs = out / "runs" / f"seed{seed}"
    evaluations: dict[str, dict[str, dict[str, Any]]] = {}
    # Named in full so that runs of a host without motion channels are not reused.
    host_options = {"num_frames": host_frames, "motion": True}
    finsta_options = dict(plan.finsta)
    for temporal in plan.temporals:
        common = {"host": plan.host, "temporal": temporal, "batch_size": plan.batch_size,
                  "seed": seed, "cache": cache, "host_options": host_options}  # fmt: skip
        post = {"lr": plan.lr} if plan.lr is not None else {}  # the arms', not the tiny init's
        if temporal in starts:
            start = starts[temporal]
        else:
            init = runs / f"{prefix}{temporal}-init"
            init_config = AlignTrainConfig(objective="host-only", steps=plan.init_steps, **common)
            _timed(result, f"{temporal}: host init", lambda c=init_config, o=init: _train(  # type: ignore[misc]
                data, o, c, graphs=None, quiet=quiet))  # fmt: skip
            start = init / "checkpoint.pt"
        table: dict[str, dict[str, float | None]] = {label: {} for label, _, _ in ROWS}
        for arm in plan.arms(temporal):
            run = runs / f"{prefix}{temporal}-{arm.name}"
            config = AlignTrainConfig(
                **dict(arm.options),
                steps=plan.steps,
                init=start,
                **common,
                **post,
                **(finsta_options if arm.finsta else {}),
            )
            graphs = (tsg, dsg, hsg) if arm.finsta else None
            _timed(result, f"{temporal}: align-train {arm.name}",
                   lambda c=config, o=run, g=graphs: _train(data, o, c, graphs=g, quiet=quiet))  # type: ignore[misc]  # fmt: skip
            begin = time.perf_counter()
            scores = _evaluate(arm, run / "checkpoint.pt", data, cache, plan, seed, quiet,
                               graphs=(tsg, dsg))  # fmt: skip
            evaluations[f"{temporal}-{arm.name}"] = scores
            stage = f"{temporal}: eval {arm.name}" + (
                " (with graphs)" if arm.scored_with_graphs else ""
            )
            result.stages.append(StageResult(stage, None, time.perf_counter() - begin))
            for label, task, path in ROWS:
                value = _lookup(scores.get(task, {}), path)
                if value is not None and task in SCALED:
                    value = round(100 * value, 2)
                table[label][arm.name] = value
        result.comparison[temporal] = table
    result.metrics["evaluations"] = evaluations
    if chart:
        result.chart = write_chart(result, out / f"demo-seed{seed}.png")
    atomic_write_json(out / f"demo-seed{seed}.json", result.to_json())
    atomic_write_json(out / "demo.json", result.to_json())
    return result


def write_chart(result: DemoResult, path: Path) -> Path | None:
    """A grouped bar chart of host vs host+Finsta per measure and host variant (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib comes with ultralytics; without it, no chart
        return None
    temporals = list(result.comparison)
    if not temporals:
        return None
    labels = [label for label, _, _ in ROWS]
    fig, axes = plt.subplots(1, len(temporals), figsize=(7 * len(temporals), 6), squeeze=False)
    for ax, temporal in zip(axes[0], temporals, strict=True):
        table = result.comparison[temporal]
        ys = range(len(labels))
        bars = [(HOST_ARM.name, "#9e9e9e", "host"), (FINSTA_ARM.name, "#1f77b4", "host + Finsta")]
        if any(FUSION_ARM.name in row for row in table.values()):
            bars.append((FUSION_ARM.name, "#ff7f0e", "fusion, with graphs"))
        height = 0.8 / len(bars)
        for k, (arm, colour, name) in enumerate(bars):
            offset = (k - (len(bars) - 1) / 2) * height
            values = [table[label].get(arm) or 0.0 for label in labels]
            ax.barh([y + offset for y in ys], values, height=height, color=colour, label=name)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        # CIDEr x100 may pass 100.
        highest = max((v or 0.0 for row in table.values() for v in row.values()), default=0.0)
        ax.set_xlim(0, max(100.0, highest * 1.05))
        ax.set_xlabel("percent (captioning: x100)")
        ax.set_title(f"{result.plan.host} host, {temporal}")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"finsta demo (synth test / test_unseen, seed {result.seed})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    from finsta_cli.io.atomic import atomic_open

    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    plt.close(fig)
    return path
