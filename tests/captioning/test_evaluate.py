"""Tests of finsta_cli/captioning/evaluate.py: gold and prediction files read, paired and
scored; the counted cases and the errors (the CLI's are in tests/cli/test_eval_captioning.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.captioning.evaluate import (
    evaluate_captions,
    read_caption_gold,
    read_caption_predictions,
)
from finsta_cli.errors import InputError
from tests.datasets.helpers import write_jsonl


def test_gold_lines_add_captions_and_predictions_pair(tmp_path: Path) -> None:
    gold_path = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"video_id": "a", "captions": ["a man is cooking"]},
            {"video_id": "b", "caption": "a dog runs"},
            {"video_id": "a", "caption": "someone cooks"},  # a second line adds a reference
        ],
    )
    gold = read_caption_gold(gold_path)
    assert gold.references == {"a": ["a man is cooking", "someone cooks"], "b": ["a dog runs"]}
    assert gold.format == "jsonl" and gold.split == "test"
    pred_path = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"video_id": "b", "caption": " a dog runs "}, {"video_id": "a", "caption": ""},
         {"video_id": "z", "caption": "extra"}],
    )  # fmt: skip
    predictions = read_caption_predictions(pred_path)
    assert predictions.captions == {"b": "a dog runs", "a": "", "z": "extra"}
    assert predictions.lines == {"b": 1, "a": 2, "z": 3}
    evaluation = evaluate_captions(gold, predictions, backend="python")
    assert evaluation.unknown_predictions == ["z"] and evaluation.empty_predictions == ["a"]
    assert evaluation.scores.videos == 2
    # b is exact, a is empty: ROUGE-L is the mean of 1 and 0.
    assert evaluation.scores.rouge_l == pytest.approx(0.5)
    payload = evaluation.to_json()
    assert payload["unknown_predictions"] == 1 and payload["empty_predictions"] == 1


def test_missing_predictions_name_the_files(tmp_path: Path) -> None:
    gold = read_caption_gold(
        write_jsonl(
            tmp_path / "gold.jsonl", [{"video_id": f"v{i}", "caption": "x"} for i in range(7)]
        )
    )
    predictions = read_caption_predictions(
        write_jsonl(tmp_path / "pred.jsonl", [{"video_id": "v0", "caption": "x"}])
    )
    with pytest.raises(InputError) as error:
        evaluate_captions(gold, predictions, backend="python")
    message = str(error.value)
    assert "pred.jsonl: no prediction for 6 of the 7 gold videos of" in message
    assert "gold.jsonl (split 'test'): 'v1', 'v2', 'v3', 'v4', 'v5' ..." in message


def test_prediction_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_caption_predictions(tmp_path / "absent.jsonl")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"video_id": "a", "caption": "x"}\nnot json\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        read_caption_predictions(bad_json)
