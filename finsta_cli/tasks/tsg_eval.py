"""TSG parsing evaluation against FACTUAL gold: Set Match and fact-level precision / recall / F1.

Gold is a FACTUAL CSV (``caption,scene_graph``); predictions are either ``parse-text --format
factual`` lines (caption, TAB, facts) or TSG JSONL records (flattened with
:func:`~finsta_cli.text.factual.tsg_to_facts`). Rows pair up by position; a prediction file
with another number of rows, or whose captions differ from gold's, is refused.

The figures and their normalisation are :mod:`finsta_cli.text.tsg_score`'s, shared with the
learned parser's training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from finsta_cli.errors import InputError
from finsta_cli.text.factual import Fact, normalise_text, parse_facts
from finsta_cli.text.tsg_score import CaptionScore, TSGMetrics, aggregate, score_captions


def worst_captions(scores: Sequence[CaptionScore], n: int) -> list[CaptionScore]:
    """The ``n`` captions with the lowest F1 (ties: more wrong facts first, then position)."""
    ranked = sorted(
        (s for s in scores if not s.exact),
        key=lambda s: (s.f1, -len(s.gold ^ s.pred), s.index),
    )
    return ranked[:n]


def read_predictions(path: str | Path) -> list[tuple[str, list[Fact]]]:
    """``(caption, facts)`` per row of a ``--format factual`` file or a TSG JSONL file.

    A JSONL line holding a failure (no ``nodes``) counts as an empty prediction.
    """
    from finsta_cli.io.jsonl import open_text_input, source_name
    from finsta_cli.schema import TSG
    from finsta_cli.text.conventions import load_conventions
    from finsta_cli.text.factual import tsg_to_facts

    name = source_name(path)
    conventions = load_conventions()
    rows: list[tuple[str, list[Fact]]] = []
    with open_text_input(path) as handle:
        try:
            for line_number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\n").rstrip("\r")
                if line.startswith("{"):
                    try:
                        tsg = TSG.model_validate(json.loads(line))
                    except ValueError as exc:
                        raise InputError(
                            f"{name}:{line_number}: not a TSG record ({str(exc).splitlines()[0]})"
                        ) from None
                    facts = tsg_to_facts(
                        tsg,
                        object_names=conventions.object_names,
                        predicate_names=conventions.predicate_names,
                        drop_attribute=conventions.drops_attribute,
                    )
                    rows.append((tsg.text, facts))
                else:
                    caption, _, graph = line.partition("\t")
                    rows.append((caption, parse_facts(graph)))
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 text ({exc.reason})") from None
    return rows


def evaluate_tsg(
    gold_path: str | Path, pred_path: str | Path
) -> tuple[TSGMetrics, list[CaptionScore]]:
    """Score predictions against a FACTUAL gold CSV; rows pair up by position."""
    from finsta_cli.text.factual import read_factual_csv

    gold_rows = read_factual_csv(gold_path)
    pred_rows = read_predictions(pred_path)
    if len(pred_rows) != len(gold_rows):
        raise InputError(
            f"{pred_path}: {len(pred_rows)} predictions for {len(gold_rows)} gold captions in "
            f"{gold_path}",
            hint="predict every gold caption, in order (finsta parse-text GOLD.csv "
            "--text-field caption --format factual)",
        )
    for index, ((gold_caption, _), (pred_caption, _)) in enumerate(
        zip(gold_rows, pred_rows, strict=True)
    ):
        if normalise_text(gold_caption) != normalise_text(pred_caption):
            raise InputError(
                f"{pred_path}: row {index + 1} is for caption {pred_caption!r}, gold has "
                f"{gold_caption!r}",
                hint="predictions must follow the gold file's order",
            )
    scores = score_captions(
        [caption for caption, _ in gold_rows],
        [parse_facts(graph) for _, graph in gold_rows],
        [facts for _, facts in pred_rows],
    )
    return aggregate(scores), scores
