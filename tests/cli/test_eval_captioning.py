"""``finsta eval --task captioning``: gold and prediction files through the CLI (caption JSONL,
MSR-VTT and synth gold), metrics.json, the counted warnings, the errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from finsta_cli.captioning.metrics import java_available, pycocoevalcap_available
from finsta_cli.cli.app import app
from tests.datasets.helpers import write_jsonl
from tests.helpers import REPO, repo_env

GOLD = [
    {"video_id": "v1", "captions": ["A man is cooking food in a kitchen.", "someone cooks a meal"]},
    {"video_id": "v2", "captions": ["a dog runs on the beach", "a brown dog is running"]},
    {"video_id": "v3", "captions": ["two kids play football outside"]},
]
PRED = [
    {"video_id": "v1", "caption": "a man cooks food in a kitchen"},
    {"video_id": "v2", "caption": "a dog is running on a beach"},
    {"video_id": "v3", "caption": "kids play football"},
]


def _files(tmp_path: Path, pred: list[Any] = PRED, gold: list[Any] = GOLD) -> tuple[Path, Path]:
    return write_jsonl(tmp_path / "gold.jsonl", gold), write_jsonl(tmp_path / "pred.jsonl", pred)


def _eval(runner: CliRunner, gold: Path, pred: Path, *extra: str) -> Any:
    args = ["eval", "--task", "captioning", "--gold", str(gold), "--pred", str(pred)]
    return runner.invoke(app, [*args, "--caption-metrics", "python", *extra])


def test_exact_predictions_score_the_maximum(runner: CliRunner, tmp_path: Path) -> None:
    # Each prediction is one of its video's references; the videos share no words, so every
    # n-gram's idf is log(3) and CIDEr-D is 10 (its maximum) when the other references agree too.
    gold = [
        {"video_id": "a", "captions": ["a red car drives fast"]},
        {"video_id": "b", "captions": ["two kids play with water"]},
        {"video_id": "c", "captions": ["the chef slices fresh onions"]},
    ]
    pred = [{"video_id": r["video_id"], "caption": r["captions"][0].upper()} for r in gold]
    gold_path, pred_path = _files(tmp_path, pred, gold)
    result = _eval(runner, gold_path, pred_path, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for name in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l"):
        assert payload[name] == pytest.approx(1.0), name
    assert payload["cider"] == pytest.approx(10.0)
    assert payload["meteor"] is None and payload["meteor_impl"] is None
    assert payload["backend"] == "python" and payload["videos"] == 3


def test_metrics_file_config_and_table(runner: CliRunner, tmp_path: Path) -> None:
    gold, pred = _files(tmp_path)
    result = _eval(runner, gold, pred)
    assert result.exit_code == 0, result.output
    assert "bleu_4 (x100)" in result.stdout and "unavailable (needs Java)" in result.stdout
    written = json.loads((tmp_path / "pred.metrics.json").read_text())
    assert set(written) >= {"bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider",
                            "videos", "tokenizer", "meteor_impl", "backend", "gold", "pred",
                            "scale"}  # fmt: skip
    assert written["videos"] == 3 and 0 < written["bleu_4"] < written["bleu_1"] < 1
    assert written["unknown_predictions"] == 0 and written["empty_predictions"] == 0
    card = written["protocol"]
    assert card["task"] == "captioning" and card["predictions"] == str(pred)
    assert card["dataset"]["format"] == "jsonl" and card["items"]["videos"] == 3
    assert card["items"]["references"] == written["references"] >= 3
    assert "CIDEr-D" in card["scoring"]["cider"] and card["scoring"]["backend"] == "python"
    assert "idf1" not in card["scoring"]  # not the dsg card
    config = yaml.safe_load((tmp_path / "pred.metrics.config.yaml").read_text())
    assert config["caption_metrics"] == "python"


def test_unknown_and_empty_predictions_are_counted(runner: CliRunner, tmp_path: Path) -> None:
    pred = [*PRED[:2], {"video_id": "v3", "caption": "  "}, {"video_id": "v9", "caption": "x"}]
    gold, pred_path = _files(tmp_path, pred)
    out = tmp_path / "m.json"
    result = _eval(runner, gold, pred_path, "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["unknown_predictions"] == 1 and payload["empty_predictions"] == 1
    assert payload["videos"] == 3
    assert "'v9' (first on line 4)" in result.stderr
    assert "1 empty predicted caption(s), scored as empty (zero): 'v3' (first on line 3)" in (
        " ".join(result.stderr.split())
    )
    # The empty caption scores zero: below the same set with v3 predicted.
    (tmp_path / "full").mkdir()
    full = _eval(runner, *_files(tmp_path / "full"), "--json")
    assert json.loads(full.stdout)["rouge_l"] > payload["rouge_l"]


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        (PRED[:2], "no prediction for 1 of the 3 gold videos"),
        ([*PRED, PRED[0]], "pred.jsonl:4: video 'v1' is predicted again (first on line 1)"),
        ([*PRED[:2], {"video_id": "v3"}], "pred.jsonl:3: missing 'caption'"),
        ([*PRED[:2], {"video_id": "v3", "caption": 3}], "'caption' must be a string"),
        ([*PRED[:2], {"caption": "x"}], "pred.jsonl:3: missing 'video_id'"),
        ([], "no predictions in it"),
    ],
)
def test_prediction_errors(runner: CliRunner, tmp_path: Path, pred: Any, message: str) -> None:
    gold, pred_path = _files(tmp_path, pred)
    result = _eval(runner, gold, pred_path)
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ([{"video_id": "v1", "captions": ["a man", ""]}], "gold.jsonl:1: caption 1 must be a "),
        ([{"video_id": "v1", "question": "what?", "answer": "x"}], "no captions in split"),
    ],
)
def test_gold_errors(runner: CliRunner, tmp_path: Path, gold: Any, message: str) -> None:
    gold_path, pred = _files(tmp_path, PRED[:1], gold)
    result = _eval(runner, gold_path, pred)
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())


def test_usage_errors(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gold, pred = _files(tmp_path)
    no_pred = runner.invoke(app, ["eval", "--task", "captioning", "--gold", str(gold)])
    assert no_pred.exit_code == 2 and "needs --pred" in no_pred.stderr
    tsg = runner.invoke(app, ["eval", "--task", "tsg", "--gold", str(gold), "--pred", str(pred),
                              "--caption-metrics", "python"])  # fmt: skip
    assert tsg.exit_code == 2 and "--caption-metrics applies to" in tsg.stderr
    errors = _eval(runner, gold, pred, "--errors", "3")
    assert errors.exit_code == 2
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH
    args = ["eval", "--task", "captioning", "--gold", str(gold), "--pred", str(pred)]
    missing = runner.invoke(app, [*args, "--caption-metrics", "pycocoevalcap"])
    assert missing.exit_code == 4 and "java on PATH" in missing.stderr
    auto = runner.invoke(app, [*args, "--json"])
    assert auto.exit_code == 0, auto.output
    assert json.loads(auto.stdout)["backend"] == "python"
    assert "METEOR" in auto.stderr  # the no-Java warning


def test_msrvtt_gold(runner: CliRunner, tmp_path: Path) -> None:
    records = [
        {"video_id": "video1", "caption": "a man is cooking"},
        {"video_id": "video1", "caption": "a person cooks food"},
        {"video_id": "video2", "caption": "a dog runs"},
    ]
    gold = tmp_path / "msrvtt_test.json"
    gold.write_text(json.dumps(records))
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {"video_id": "video1", "caption": "a man cooks"},
            {"video_id": "video2", "caption": "a dog"},
        ],
    )
    result = _eval(runner, gold, pred, "--format", "msrvtt", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["videos"] == 2


def test_synth_gold(runner: CliRunner, tmp_path: Path) -> None:
    from finsta_cli.synth.generate import SynthConfig, generate_dataset

    synth = tmp_path / "synth"
    generate_dataset(SynthConfig(videos=6, seed=1), synth, quiet=True)
    rows = [json.loads(line) for line in (synth / "val.jsonl").read_text().splitlines()]
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"video_id": r["video_id"], "caption": r["captions"][0]["text"]} for r in rows],
    )
    result = _eval(runner, synth, pred, "--split", "val", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["videos"] == len(rows) and payload["bleu_1"] == pytest.approx(1.0)
    assert payload["split"] == "val"


@pytest.mark.slow
@pytest.mark.skipif(
    not (java_available() and pycocoevalcap_available()), reason="needs pycocoevalcap and java"
)
def test_pycocoevalcap_route_keeps_stdout_json(tmp_path: Path) -> None:
    gold, pred = _files(tmp_path)
    args = [sys.executable, "-m", "finsta_cli", "eval", "--task", "captioning", "--gold",
            str(gold), "--pred", str(pred), "--json"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, env=repo_env(), cwd=REPO)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # nothing but the JSON on stdout
    assert payload["backend"] == "pycocoevalcap" and 0 < payload["meteor"] < 1
    assert "PTBTokenizer" not in done.stderr


@pytest.mark.shared
def test_msrvtt_1ka_gold_from_shared_benchmarks(
    runner: CliRunner, shared_benchmarks: Path, tmp_path: Path
) -> None:
    gold = shared_benchmarks / "msrvtt_1ka" / "msrvtt_test_1k.json"
    records = json.loads(gold.read_text())
    # Each video predicted with the next video's caption: a real but wrong caption set.
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"video_id": r["video_id"], "caption": records[(i + 1) % len(records)]["caption"]}
         for i, r in enumerate(records)],
    )  # fmt: skip
    result = _eval(runner, gold, pred, "--format", "msrvtt", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["videos"] == 1000 and payload["unknown_predictions"] == 0
    assert 0 < payload["bleu_4"] < payload["bleu_1"] < 1 and 0 < payload["cider"] < 0.5
