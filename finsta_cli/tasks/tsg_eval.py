"""TSG parsing evaluation against FACTUAL gold: Set Match and fact-level precision / recall / F1.

Gold is a FACTUAL CSV (``caption,scene_graph``); predictions are either ``parse-text --format
factual`` lines (caption, TAB, facts) or TSG JSONL records (flattened with
:func:`~finsta_cli.text.factual.tsg_to_facts`). Rows pair up by position; a prediction file
with another number of rows, or whose captions differ from gold's, is refused.

Normalisation (the same on both sides): lowercase, whitespace folded, no lemmatisation.
- Set Match: the share (x100) of captions whose de-duplicated fact set equals gold's exactly;
- micro P / R / F1: fact counts summed over captions (x100);
- macro F1: per-caption F1 averaged (x100; a caption with no gold and no predicted facts is 100).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finsta_cli.errors import InputError
from finsta_cli.text.factual import Fact, fact_set, normalise_text, parse_facts


@dataclass(frozen=True)
class CaptionScore:
    """One caption's gold and predicted fact sets and its F1."""

    index: int
    caption: str
    gold: frozenset[Fact]
    pred: frozenset[Fact]

    @property
    def correct(self) -> int:
        return len(self.gold & self.pred)

    @property
    def f1(self) -> float:
        if not self.gold and not self.pred:
            return 1.0
        denominator = len(self.gold) + len(self.pred)
        return 2 * self.correct / denominator if denominator else 0.0

    @property
    def exact(self) -> bool:
        return self.gold == self.pred


@dataclass(frozen=True)
class TSGMetrics:
    """Corpus-level figures, in percent."""

    captions: int
    set_match: float
    precision: float
    recall: float
    micro_f1: float
    macro_f1: float
    gold_facts: int
    pred_facts: int
    correct_facts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "task": "tsg",
            "captions": self.captions,
            "set_match": round(self.set_match, 2),
            "precision": round(self.precision, 2),
            "recall": round(self.recall, 2),
            "micro_f1": round(self.micro_f1, 2),
            "macro_f1": round(self.macro_f1, 2),
            "gold_facts": self.gold_facts,
            "pred_facts": self.pred_facts,
            "correct_facts": self.correct_facts,
            "normalisation": "lowercase, whitespace folded, no lemmatisation",
        }


def score_captions(
    captions: Sequence[str],
    gold: Sequence[Sequence[Fact]],
    pred: Sequence[Sequence[Fact]],
) -> list[CaptionScore]:
    if not len(captions) == len(gold) == len(pred):
        raise ValueError("captions, gold and predictions must have the same length")
    return [
        CaptionScore(index, caption, fact_set(g), fact_set(p))
        for index, (caption, g, p) in enumerate(zip(captions, gold, pred, strict=True))
    ]


def aggregate(scores: Sequence[CaptionScore]) -> TSGMetrics:
    n = len(scores)
    gold_total = sum(len(s.gold) for s in scores)
    pred_total = sum(len(s.pred) for s in scores)
    correct = sum(s.correct for s in scores)
    precision = correct / pred_total if pred_total else 0.0
    recall = correct / gold_total if gold_total else 0.0
    micro = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TSGMetrics(
        captions=n,
        set_match=100 * sum(s.exact for s in scores) / n if n else 0.0,
        precision=100 * precision,
        recall=100 * recall,
        micro_f1=100 * micro,
        macro_f1=100 * sum(s.f1 for s in scores) / n if n else 0.0,
        gold_facts=gold_total,
        pred_facts=pred_total,
        correct_facts=correct,
    )


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
