"""The one TSG score: train-parser's dev figures are the eval task's on the same predictions."""

from __future__ import annotations

import csv
from pathlib import Path

from finsta_cli.tasks.tsg_eval import evaluate_tsg
from finsta_cli.text.conventions import load_conventions
from finsta_cli.text.learned.training import evaluate_parser
from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text
from finsta_cli.text.parser import load_nlp
from finsta_cli.text.tsg_score import aggregate, score_captions

ROWS = [
    ("a red car on the road", "( car , is , red ) , ( car , on , road )"),
    ("two dogs running on the grass", "( dogs , is , 2 ) , ( dogs , run on , grass )"),
    ("a man holding a cup", "( man , hold , cup )"),
    ("the sky", "( sky , is , blue ) , ( sky , is , clear )"),
]


def test_headline_has_the_figures_train_parser_reports() -> None:
    scores = score_captions(
        ["a", "b"], [[("car", "is", "red")], [("pole",)]], [[("car", "is", "red")], []]
    )
    assert aggregate(scores).headline_json() == {
        "captions": 2,
        "set_match": 50.0,
        "micro_f1": 66.67,
    }


def test_dev_figures_of_the_rules_equal_finsta_eval_tsg(tmp_path: Path) -> None:
    gold = tmp_path / "dev.csv"
    with gold.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "region_id", "caption", "scene_graph"])
        writer.writerows([i, i, caption, graph] for i, (caption, graph) in enumerate(ROWS))
    docs = list(load_nlp().pipe(caption for caption, _ in ROWS))
    dev = evaluate_parser(None, docs, ROWS, load_conventions())
    predictions = tmp_path / "pred.txt"
    config = ParseTextConfig(format="factual", text_field="caption")
    run_parse_text(str(gold), str(predictions), config, quiet=True)
    metrics, _ = evaluate_tsg(gold, predictions)
    assert dev == metrics
    # A case where every figure says something (precision and recall apart).
    assert 0 < dev.micro_f1 < 100 and dev.precision != dev.recall
