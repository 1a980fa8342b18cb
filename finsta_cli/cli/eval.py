"""``finsta eval --task T``: score predictions against gold and write metrics.json."""

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from finsta_cli.captioning.config import DecodeMethod
from finsta_cli.captioning.metrics import CaptionBackend
from finsta_cli.cli.host_task import (
    HOST_TASKS,
    AllowPartialOpt,
    CacheOpt,
    CheckpointOpt,
    DataOpt,
    DeviceOpt,
    DsgFramesOpt,
    DsgOpt,
    FormatOpt,
    SeedOpt,
    SubtitlesOpt,
    ThreadsOpt,
    TsgOpt,
    VideoChunkOpt,
    VideoRootOpt,
    WithGraphsOpt,
    run_host_task,
)
from finsta_cli.cli.options import (
    ConfigOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    VerboseOpt,
    command,
    given_options,
    print_json,
    with_default,
)
from finsta_cli.datasets.formats import DatasetFormat
from finsta_cli.errors import UsageError
from finsta_cli.tasks.eval_config import EvalConfig as Config


class EvalTask(str, enum.Enum):
    """The evaluation tasks of docs/architecture.md §5; each has its own runner below."""

    tsg = "tsg"
    retrieval = "retrieval"
    videoqa = "videoqa"
    action = "action"
    dsg = "dsg"
    captioning = "captioning"


@command
def eval_command(
    ctx: typer.Context,
    task: Annotated[EvalTask, typer.Option("--task", help="What to evaluate.")],
    gold: Annotated[
        Path | None,
        typer.Option(
            "--gold",
            help="Gold file (tsg: a FACTUAL CSV with caption,scene_graph; dsg: a synth folder or "
            "split file, a folder of DSG records, or Something-Else's annotations.json; "
            "captioning: a JSONL of video_id, captions, or a dataset with captions read with "
            "--format and --split).",
        ),
    ] = None,
    pred: Annotated[
        Path | None,
        typer.Option(
            "--pred",
            help="Predictions (tsg: parse-text --format factual lines, or TSG JSONL, in gold's "
            "order; captioning: a JSONL of video_id, caption).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Where to write metrics JSON [default: PRED with .metrics.json]."
        ),
    ] = None,
    errors: Annotated[
        int | None,
        typer.Option(
            "--errors",
            min=0,
            help=with_default("Show the N worst items with gold vs prediction.", Config, "errors"),
        ),
    ] = None,
    ignore_labels: Annotated[
        bool,
        typer.Option(
            "--ignore-labels",
            help="dsg: match objects by their boxes alone (class-agnostic recall and precision).",
        ),
    ] = False,
    caption_metrics: Annotated[
        CaptionBackend | None,
        typer.Option(
            "--caption-metrics",
            help=with_default(
                "captioning: pycocoevalcap (the reference; needs Java), python (no METEOR, an "
                "approximate PTB tokenizer) or auto (pycocoevalcap when it and Java are here).",
                Config,
                "caption_metrics",
            ),
        ),
    ] = None,
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split", help=with_default("Split to evaluate.", Config, "split", none="test")
        ),
    ] = None,
    dataset_format: FormatOpt = "auto",
    video_root: VideoRootOpt = None,
    subtitles: SubtitlesOpt = None,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune",
            help="videoqa/action: train the task head on --train-split first (host frozen); "
            "captioning: train a caption head on --train-split, caption --split and score it "
            "(with the nearest-training-caption baseline).",
        ),
    ] = False,
    train_split: Annotated[
        str | None,
        typer.Option(
            "--train-split",
            help=with_default("Split the head is trained on.", Config, "train_split"),
        ),
    ] = None,
    allow_partial: AllowPartialOpt = False,
    decode: Annotated[
        DecodeMethod | None,
        typer.Option(
            "--decode", help=with_default("captioning --finetune: decoding.", Config, "decode")
        ),
    ] = None,
    beam: Annotated[
        int | None,
        typer.Option("--beam", min=1, help=with_default("captioning: beam size.", Config, "beam")),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            min=1,
            help=with_default("captioning --finetune: the head's epochs.", Config, "epochs"),
        ),
    ] = None,
    train_host: Annotated[
        bool,
        typer.Option(
            "--train-host",
            help="captioning --finetune: train the host with the head (without it the host is "
            "frozen, its features computed once). Head sizes: --set caption_head.width=...",
        ),
    ] = False,
    with_graphs: WithGraphsOpt = False,
    tsg: TsgOpt = None,
    dsg: DsgOpt = None,
    dsg_frames: DsgFramesOpt = None,
    cache: CacheOpt = None,
    video_chunk: VideoChunkOpt = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Evaluate a task: tsg/dsg score predictions against gold (--gold, --pred); retrieval,
    videoqa and action evaluate a checkpoint's host on a dataset (--checkpoint, --data) and
    write metrics.json and predictions.jsonl to --out; with --with-graphs, a fusion-mode
    checkpoint's host + scene-graph embeddings; captioning scores predicted captions (--pred)
    against reference captions (--gold) with BLEU-1..4, METEOR, ROUGE-L and CIDEr-D, and with
    --finetune trains a caption head on a checkpoint's host (--checkpoint, --data), captions
    --split and scores it beside the nearest-training-caption baseline."""
    from finsta_cli.config import load_config

    resolved = load_config(Config, config, given_options(ctx, Config), set_ or ())
    captioner = {"--decode": decode, "--beam": beam, "--epochs": epochs,
                 "--train-host": train_host or None}  # fmt: skip
    if task is EvalTask.captioning and resolved.finetune:
        if gold is not None or pred is not None:
            raise UsageError(
                "eval --task captioning --finetune captions --data itself: not with --gold/--pred"
            )
        if resolved.with_graphs or any(value is not None for value in (tsg, dsg, dsg_frames)):
            raise UsageError(
                "--with-graphs, --tsg, --dsg and --dsg-frames do not apply to captioning: the "
                "head reads the host's frame features"
            )
        _finetune_captioning(
            resolved, checkpoint=checkpoint, data=data, dataset_format=dataset_format,
            video_root=video_root, out=out, json_out=json_out, quiet=quiet,
        )  # fmt: skip
        return
    given = [name for name, value in captioner.items() if value is not None]
    if given:
        raise UsageError(f"{', '.join(given)} apply to eval --task captioning --finetune")
    if task.value in HOST_TASKS:
        run_host_task(
            task.value, resolved, checkpoint=checkpoint, data=data,
            split=resolved.split or "test", dataset_format=dataset_format,
            video_root=video_root, finetune=resolved.finetune, train_split=resolved.train_split,
            out=out, json_out=json_out, quiet=quiet, command_name="eval", tsg=tsg, dsg=dsg,
            subtitles=subtitles,
        )  # fmt: skip
        return
    host_only = (tsg, dsg, dsg_frames, video_chunk)
    flags = resolved.with_graphs or resolved.allow_partial
    if flags or any(value is not None for value in host_only):
        raise UsageError(
            f"--with-graphs, --allow-partial, --tsg, --dsg, --dsg-frames and --video-chunk apply "
            f"to retrieval, videoqa and action, not to eval --task {task.value}"
        )
    runner = _RUNNERS.get(task)
    if runner is None:
        raise UsageError(
            f"eval --task {task.value} is not available in this finsta yet",
            hint="available: " + ", ".join(t.value for t in _RUNNERS),
        )
    if resolved.ignore_labels and task is not EvalTask.dsg:
        raise UsageError(f"--ignore-labels applies to eval --task dsg, not --task {task.value}")
    if resolved.caption_metrics != "auto" and task is not EvalTask.captioning:
        raise UsageError(f"--caption-metrics applies to eval --task captioning, not {task.value}")
    options: dict[str, Any] = {}
    if task is EvalTask.dsg:
        options = {"ignore_labels": resolved.ignore_labels}
    elif task is EvalTask.captioning:
        options = {
            "split": resolved.split or "test",
            "dataset_format": dataset_format,
            "backend": resolved.caption_metrics,
        }
    payload = runner(gold=gold, pred=pred, errors=resolved.errors, **options)
    from finsta_cli.tasks.protocol import scoring_card

    payload["protocol"] = scoring_card(
        task.value, Path(payload["gold"]), Path(payload["pred"]), payload,
        ignore_labels=resolved.ignore_labels, dataset_format=dataset_format,
    ).to_json()  # fmt: skip
    target = out if out is not None else _default_out(pred)
    from finsta_cli.io.atomic import atomic_write_json, atomic_write_text

    atomic_write_json(target, payload)
    atomic_write_text(target.with_name(target.stem + ".config.yaml"), resolved.to_yaml())
    payload = {**payload, "metrics_file": str(target)}
    if json_out:
        print_json(payload)
    elif not quiet:
        _print_human(payload)


def _finetune_captioning(
    resolved: Config,
    *,
    checkpoint: Path | None,
    data: Path | None,
    dataset_format: DatasetFormat,
    video_root: Path | None,
    out: Path | None,
    json_out: bool,
    quiet: bool,
) -> None:
    """Train a caption head on the host of ``checkpoint``, caption and score the split, write
    ``OUT/metrics.json``, ``predictions.jsonl``, ``caption_head.pt`` and ``config.yaml``."""
    from finsta_cli.captioning.finetune import (
        CaptionSettings,
        run_caption_eval,
        write_caption_eval,
    )
    from finsta_cli.io.atomic import atomic_write_text

    if checkpoint is None or data is None:
        raise UsageError("eval --task captioning --finetune needs --checkpoint and --data")
    split = resolved.split or "test"
    settings = CaptionSettings(
        head=resolved.caption_head, epochs=resolved.epochs, decode=resolved.decode,
        beam=resolved.beam, train_host=resolved.train_host,
        metrics_backend=resolved.caption_metrics,
    )  # fmt: skip
    target = out if out is not None else checkpoint.parent / f"eval-captioning-{split}"
    result = run_caption_eval(
        checkpoint, data, split=split, train_split=resolved.train_split, fmt=dataset_format,
        video_root=video_root, settings=settings, cache=resolved.cache, device=resolved.device,
        threads=resolved.threads, seed=resolved.seed, quiet=quiet,
        video_chunk=resolved.video_chunk, allow_partial=resolved.allow_partial,
    )  # fmt: skip
    write_caption_eval(result, target)
    atomic_write_text(target / "config.yaml", resolved.to_yaml())
    metrics = result.metrics
    if json_out:
        print_json({**metrics, "out": str(target)})
    elif not quiet:
        base = metrics["baseline"]
        typer.echo(
            f"eval captioning on {split} ({metrics['videos']} videos): CIDEr "
            f"{100 * metrics['cider']:.1f}, BLEU-4 {100 * metrics['bleu_4']:.1f} (x100); "
            f"nearest training caption: CIDEr {100 * base['cider']:.1f}, BLEU-4 "
            f"{100 * base['bleu_4']:.1f}"
        )
        typer.echo(f"metrics: {target / 'metrics.json'}")
    if result.run.failures:
        raise typer.Exit(3)


def _default_out(pred: Path | None) -> Path:
    if pred is None:
        return Path("metrics.json")
    return pred.with_name(pred.stem + ".metrics.json")


def _require(value: Path | None, option: str, task: str) -> Path:
    if value is None:
        raise UsageError(f"eval --task {task} needs {option}")
    return value


def _eval_tsg(*, gold: Path | None, pred: Path | None, errors: int) -> dict[str, Any]:
    from finsta_cli.tasks.tsg_eval import evaluate_tsg, worst_captions
    from finsta_cli.text.factual import format_facts

    gold_path = _require(gold, "--gold GOLD.csv", "tsg")
    pred_path = _require(pred, "--pred PRED", "tsg")
    metrics, scores = evaluate_tsg(gold_path, pred_path)
    payload = {**metrics.to_json(), "gold": str(gold_path), "pred": str(pred_path)}
    if errors:
        payload["errors"] = [
            {
                "row": score.index + 1,
                "caption": score.caption,
                "f1": round(100 * score.f1, 2),
                "gold": format_facts(sorted(score.gold)),
                "pred": format_facts(sorted(score.pred)),
                "missing": format_facts(sorted(score.gold - score.pred)),
                "extra": format_facts(sorted(score.pred - score.gold)),
            }
            for score in worst_captions(scores, errors)
        ]
    return payload


def _eval_dsg(
    *, gold: Path | None, pred: Path | None, errors: int, ignore_labels: bool = False
) -> dict[str, Any]:
    from finsta_cli.tasks.dsg_eval import evaluate_dsg

    gold_path = _require(
        gold,
        "--gold SYNTH_DIR (or split .jsonl, a folder of DSG .json, or Something-Else's "
        "annotations.json)",
        "dsg",
    )
    pred_path = _require(pred, "--pred BUILD_DSG_OUT_DIR", "dsg")
    metrics, scores = evaluate_dsg(gold_path, pred_path, ignore_labels=ignore_labels)
    payload = {**metrics.to_json(), "gold": str(gold_path), "pred": str(pred_path)}
    if errors:
        worst = sorted(scores, key=lambda s: (s.idf1, s.video_id))[:errors]
        payload["worst_videos"] = [
            {"video_id": s.video_id, "idf1": round(s.idf1, 4), "missing": s.missing} for s in worst
        ]
    return payload


def _eval_captioning(
    *,
    gold: Path | None,
    pred: Path | None,
    errors: int,
    split: str,
    dataset_format: DatasetFormat,
    backend: CaptionBackend,
) -> dict[str, Any]:
    from finsta_cli.captioning.evaluate import (
        evaluate_captions,
        read_caption_gold,
        read_caption_predictions,
    )

    if errors:
        raise UsageError("--errors applies to eval --task tsg and dsg, not captioning")
    gold_path = _require(
        gold, "--gold GOLD (a JSONL of video_id, captions, or a dataset)", "captioning"
    )
    pred_path = _require(pred, "--pred PRED.jsonl (video_id, caption)", "captioning")
    references = read_caption_gold(gold_path, split, dataset_format)
    evaluation = evaluate_captions(references, read_caption_predictions(pred_path), backend)
    return {
        "task": "captioning",
        **evaluation.to_json(),
        "references": sum(len(texts) for texts in references.references.values()),
        "gold": str(gold_path),
        "gold_file": str(references.source),
        "gold_format": references.format,
        "split": split,
        "pred": str(pred_path),
    }


_RUNNERS: dict[EvalTask, Callable[..., dict[str, Any]]] = {
    EvalTask.tsg: _eval_tsg,
    EvalTask.dsg: _eval_dsg,
    EvalTask.captioning: _eval_captioning,
}

# Shown x100 in the table, as papers print them (metrics.json keeps pycocoevalcap's scale).
_CAPTION_METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider")


def _print_human(payload: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"eval --task {payload.get('task')}", show_header=False)
    for key, value in payload.items():
        if key in _CAPTION_METRICS and payload.get("task") == "captioning":
            shown = "unavailable (needs Java)" if value is None else f"{100 * value:.2f}"
            table.add_row(f"{key} (x100)", shown)
        elif key != "errors" and not isinstance(value, list | dict):
            table.add_row(key, str(value))
    for group, counts in payload.get("by_group", {}).items():
        table.add_row(f"recall ({group})", f"{counts['recall']} ({counts['matched']} of "
                      f"{counts['gold_objects']})")  # fmt: skip
    console.print(table)
    for error in payload.get("errors", []):
        console.print(f"[bold]row {error['row']}[/] (F1 {error['f1']}): {error['caption']}")
        console.print(f"  gold: {error['gold']}", markup=False, highlight=False)
        console.print(f"  pred: {error['pred']}", markup=False, highlight=False)
