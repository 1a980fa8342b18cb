"""``finsta train-parser``: train the learned TSG parser on FACTUAL train captions."""

from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.options import (
    JsonOpt,
    QuietOpt,
    SpacyModelOpt,
    VerboseOpt,
    command,
    print_json,
    with_default,
)
from finsta_cli.text.learned import TrainOptions


@command
def train_parser(
    train: Annotated[
        Path,
        typer.Option(
            "--train", help="FACTUAL CSV (caption,scene_graph) to learn from: the train split."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Model folder to write (weights.pt, config.json).", file_okay=False
        ),
    ],
    dev: Annotated[
        Path | None,
        typer.Option("--dev", help="FACTUAL CSV scored at the end, rules vs learned."),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", min=1, help=with_default("Epochs.", TrainOptions, "epochs")),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="torch threads  [default: all CPUs]"),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help=with_default(
                "How much higher the model must score another option than the rules' choice "
                "to change it.",
                TrainOptions,
                "margin",
            ),
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help=with_default("Random seed.", TrainOptions, "seed")),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Train on the first N rows only  [default: all]"),
    ] = None,
    spacy_model: SpacyModelOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train the learned parser: spaCy parses, the rules propose, a small torch model learns
    which of their choices FACTUAL's annotators make otherwise. Writes OUT/weights.pt and
    OUT/config.json; prints dev Set Match and micro F1 of rules and learned parser."""
    from finsta_cli.io.progress import get_logger, stderr_console
    from finsta_cli.runtime import configure_threads
    from finsta_cli.text.learned import train_learned_parser

    defaults = TrainOptions()
    options = TrainOptions(
        epochs=epochs if epochs is not None else defaults.epochs,
        seed=seed if seed is not None else defaults.seed,
        margin=margin if margin is not None else defaults.margin,
    )
    configure_threads(threads)
    log = get_logger("train-parser")
    summary = train_learned_parser(
        train,
        out,
        dev_csv=dev,
        options=options,
        limit=limit,
        spacy_model=spacy_model,
        log=log.info,
    )
    if json_out:
        print_json(summary.to_json())
        return
    if quiet:
        return
    lines = [
        f"model: {out} ({summary.train_captions} captions, {summary.train_slots} slots, "
        f"{summary.epochs} epochs, {summary.seconds / 60:.1f} min)"
    ]
    for name, score in (("rules", summary.dev_rules), ("learned", summary.dev_learned)):
        if score is not None:
            lines.append(
                f"dev {name:8s} Set Match {score.set_match:5.1f}  micro F1 {score.micro_f1:5.1f}"
            )
    stderr_console().print("\n".join(lines), highlight=False, markup=False)
