"""The TSG score: Set Match and fact-level precision / recall / F1 of predicted FACTUAL facts.

One implementation for evaluation (``finsta eval --task tsg``, :mod:`finsta_cli.tasks.tsg_eval`)
and for the learned parser's training (its dev figures). Fact sets are normalised the same on
both sides (:func:`~finsta_cli.text.factual.fact_set`: lowercase, whitespace folded, no
lemmatisation).

- Set Match: the share (x100) of captions whose de-duplicated fact set equals gold's exactly;
- micro P / R / F1: fact counts summed over captions (x100);
- macro F1: per-caption F1 averaged (x100; a caption with no gold and no predicted facts is 100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from finsta_cli.text.factual import Fact, fact_set


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

    def headline_json(self) -> dict[str, Any]:
        """The two figures train-parser reports, with the number of captions."""
        return {
            "captions": self.captions,
            "set_match": round(self.set_match, 2),
            "micro_f1": round(self.micro_f1, 2),
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
