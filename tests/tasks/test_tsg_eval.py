"""TSG evaluation: metrics on hand-computed cases, prediction readers, and FACTUAL dev targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.tasks.tsg_eval import evaluate_tsg, worst_captions
from finsta_cli.text.tsg_score import aggregate, score_captions

GOLD_CSV = (
    "image_id,region_id,caption,scene_graph\n"
    '1,1,a red car,"( car , is , red )"\n'
    '2,2,a man on a horse,"( man , on , horse ) , ( man , is , tall )"\n'
    "3,3,a pole,( pole )\n"
)


def test_metrics_match_a_hand_computed_case() -> None:
    scores = score_captions(
        ["a", "b", "c"],
        [[("car", "is", "red")], [("man", "on", "horse"), ("man", "is", "tall")], [("pole",)]],
        [[("Car", "is", " red")], [("man", "on", "horse"), ("horse",)], []],
    )
    metrics = aggregate(scores)
    # correct 1 + 1 + 0 = 2 of 4 gold and 3 predicted facts.
    assert metrics.set_match == pytest.approx(100 / 3)
    assert metrics.precision == pytest.approx(200 / 3)
    assert metrics.recall == pytest.approx(50.0)
    assert metrics.micro_f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5) * 100)
    assert metrics.macro_f1 == pytest.approx((1 + 0.5 + 0) / 3 * 100)
    assert [s.index for s in worst_captions(scores, 5)] == [2, 1]


def test_duplicates_count_once_and_empty_matches_empty() -> None:
    scores = score_captions(["x", "y"], [[("a",), ("a",)], []], [[("a",)], []])
    metrics = aggregate(scores)
    assert metrics.set_match == 100 and metrics.macro_f1 == 100 and metrics.gold_facts == 1


def test_factual_lines_and_tsg_jsonl_are_both_read(tmp_path: Path) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text(GOLD_CSV)
    pred = tmp_path / "pred.txt"
    pred.write_text(
        "a red car\t( car , is , red )\na man on a horse\t( man , on , horse )\na pole\t( pole )\n"
    )
    metrics, _ = evaluate_tsg(gold, pred)
    assert metrics.set_match == pytest.approx(200 / 3)
    tsg = {"id": "1", "text": "a red car", "nodes": [
        {"id": 0, "type": "object", "label": "car"},
        {"id": 1, "type": "attribute", "label": "red"},
    ], "edges": [{"source": 0, "target": 1, "type": "has_attribute"}]}  # fmt: skip
    jsonl = tmp_path / "pred.jsonl"
    jsonl.write_text(json.dumps(tsg) + "\n")
    gold.write_text(GOLD_CSV.split("\n", 2)[0] + "\n" + GOLD_CSV.split("\n")[1] + "\n")
    metrics, _ = evaluate_tsg(gold, jsonl)
    assert metrics.set_match == 100


def test_predictions_must_follow_gold(tmp_path: Path) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text(GOLD_CSV)
    short = tmp_path / "short.txt"
    short.write_text("a red car\t( car , is , red )\n")
    with pytest.raises(InputError, match="1 predictions for 3 gold"):
        evaluate_tsg(gold, short)
    shuffled = tmp_path / "shuffled.txt"
    shuffled.write_text("a pole\t\na red car\t\na man on a horse\t\n")
    with pytest.raises(InputError, match="row 1"):
        evaluate_tsg(gold, shuffled)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("split", "set_match", "micro_f1"), [("random", 65, 72), ("length", 60, 70)]
)
def test_rule_parser_reaches_the_targets_on_factual_dev(
    shared_benchmarks: Path, tmp_path: Path, split: str, set_match: float, micro_f1: float
) -> None:
    from typer.testing import CliRunner

    from finsta_cli.cli.app import app

    gold = shared_benchmarks / "factual_tsg" / "data" / "factual_sg" / split / "dev.csv"
    pred = tmp_path / "dev.factual.txt"
    runner = CliRunner()
    parse = ["parse-text", str(gold), "--text-field", "caption", "--format", "factual"]
    assert runner.invoke(app, [*parse, "--out", str(pred), "-q"]).exit_code == 0
    result = runner.invoke(
        app, ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred), "--json"]
    )
    metrics = json.loads(result.stdout)
    assert metrics["captions"] == 1000
    assert metrics["set_match"] >= set_match and metrics["micro_f1"] >= micro_f1, metrics
