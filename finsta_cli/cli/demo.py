"""``finsta demo``: the whole pipeline on generated input, host vs host+Finsta."""

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from finsta_cli.cli.options import JsonOpt, QuietOpt, VerboseOpt, command, print_json
from finsta_cli.demo import DemoPlan
from finsta_cli.errors import ExitCode

# The plans behind the defaults --help shows.
_LITE, _TINY = DemoPlan.for_host("lite"), DemoPlan.for_host("tiny")


@command
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "demo_out"
    ),
    quick: Annotated[
        bool,
        typer.Option("--quick", help="A small smoke run (40 videos, seqTransf only, ~1 min)."),
    ] = False,
    host: Annotated[
        Literal["lite", "tiny"],
        typer.Option(
            "--host",
            help="lite: pretrained towers, post-training the shipped checkpoint; tiny: trained "
            "from scratch.",
        ),
    ] = "lite",
    videos: Annotated[
        int | None,
        typer.Option(
            "--videos",
            min=8,
            help=f"Synth videos to render  [default: lite {_LITE.videos}, tiny {_TINY.videos}]",
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=1,
            help="Post-training steps of each arm  "
            f"[default: lite {_LITE.steps}, tiny {_TINY.steps}]",
        ),
    ] = None,
    init_steps: Annotated[
        int | None,
        typer.Option(
            "--init-steps",
            min=1,
            help="tiny: steps of the shared initialisation from scratch  "
            f"[default: {_TINY.init_steps}]",
        ),
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            exists=True,
            dir_okay=False,
            help="lite: start the arms from this checkpoint  "
            "[default: the shipped one, assets/hosts/]",
        ),
    ] = None,
    no_chart: Annotated[bool, typer.Option("--no-chart", help="Do not write the PNG.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Render a synth set, build its graphs, post-train a host with and without Finsta (same
    start, data, batches and steps), evaluate both, and compare them."""
    from finsta_cli.demo import DemoPlan, run_demo
    from finsta_cli.errors import UsageError

    if host == "lite" and init_steps is not None:
        raise UsageError(
            "--init-steps applies to --host tiny: the lite host starts from its shipped "
            "checkpoint (or --init)"
        )
    if host == "tiny" and init is not None:
        raise UsageError("--init applies to --host lite: the tiny host is trained from scratch")
    plan = DemoPlan.for_host(host, quick=quick)
    changes: dict[str, Any] = {"videos": videos, "steps": steps, "init_steps": init_steps,
                               "init": init}  # fmt: skip
    plan = dataclasses.replace(plan, **{k: v for k, v in changes.items() if v is not None})
    result = run_demo(out, plan=plan, seed=seed, quiet=quiet, chart=not no_chart)
    if json_out:
        print_json(result.to_json())
    elif not quiet:
        _print(result)
    raise typer.Exit(int(ExitCode.PARTIAL if result.failed else ExitCode.OK))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _print(result: Any) -> None:
    console = Console()
    stages = Table(title=f"finsta demo -> {result.out}")
    for column in ("stage", "items done", "skipped", "failed", "seconds"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for stage in result.stages:
        s = stage.summary
        done, skipped, failed = ("", "", "") if s is None else (s.done, s.skipped, s.failed)
        stages.add_row(stage.name, str(done), str(skipped), str(failed), f"{stage.seconds:.1f}")
    console.print(stages)
    dsg, hsg = result.metrics["dsg"], result.metrics["hsg"]
    scores = Table(title="scene graphs against the synth ground truth")
    scores.add_column("measure")
    scores.add_column("value", justify="right")
    for key in ("recall", "precision", "idf1", "relation_accuracy", "motion_accuracy"):
        scores.add_row(f"build-dsg {key.replace('_', ' ')}", f"{dsg[key]:.3f}")
    for kind in ("object_edges", "predicate_edges"):
        for key in ("precision", "recall"):
            scores.add_row(f"build-hsg {kind.replace('_', ' ')} {key}", f"{hsg[kind][key]:.3f}")
    console.print(scores)
    for temporal, table in result.comparison.items():
        view = Table(
            title=f"{result.plan.host} host ({temporal}): host vs host+Finsta, synth (percent)"
        )
        fusion = any("fusion" in arms for arms in table.values())
        columns = ["measure", "host", "host+Finsta", "change"]
        columns += ["fusion + graphs", "change"] if fusion else []
        for column in columns:
            view.add_column(column, justify="left" if column == "measure" else "right")
        for label, arms in table.items():
            host = arms.get("host")
            row = [label, _fmt(host)]
            for arm in ("finsta", "fusion") if fusion else ("finsta",):
                value = arms.get(arm)
                change = None if host is None or value is None else value - host
                row += [_fmt(value), "-" if change is None else f"{change:+.1f}"]
            view.add_row(*row)
        console.print(view)
        if fusion:
            console.print(
                "fusion + graphs: Finsta in fusion mode, scored with host + scene-graph "
                "embeddings (graphs from parse-text and build-dsg at test time); no task heads"
            )
    test = result.metrics.get("splits", {}).get("test")
    if test:
        console.print(
            f"test: {test} videos (one video = {100 / test:.1f} R@1 points); zero-shot unseen: "
            f"{result.metrics['splits'].get('test_unseen', 0)} videos"
        )
    if result.chart is not None:
        console.print(f"chart: {result.chart}")
