"""``finsta train-parser`` and ``finsta parse-text --parser learned`` end to end on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.schema import TSG
from tests.text.learned.helpers import tiny_rows, write_csv


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-tiny")
    train = write_csv(folder / "train.csv", tiny_rows(0, 20))
    out = folder / "model"
    args = ["train-parser", "--train", str(train), "--out", str(out), "--epochs", "2"]
    result = CliRunner().invoke(app, [*args, "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_train_parser_writes_the_model_and_scores_dev(runner: CliRunner, tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", tiny_rows(0, 20))
    dev = write_csv(tmp_path / "dev.csv", tiny_rows(20, 5))
    out = tmp_path / "model"
    args = ["train-parser", "--train", str(train), "--dev", str(dev), "--out", str(out)]
    result = runner.invoke(app, [*args, "--epochs", "2", "--seed", "3", "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["train_captions"] == 40 and summary["epochs"] == 2 and summary["seed"] == 3
    assert set(summary["dev_rules"]) == {"captions", "set_match", "micro_f1"}
    assert summary["dev_learned"]["captions"] == 10
    assert (out / "weights.pt").is_file() and (out / "config.json").is_file()
    # Without --json the figures go to stderr, readable.
    plain = runner.invoke(app, [*args, "--epochs", "1"])
    assert plain.exit_code == 0 and "Set Match" in plain.output and "micro F1" in plain.output


def test_train_parser_reports_a_bad_train_file(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "train.csv"
    bad.write_text("caption,graph\na,b\n")
    result = runner.invoke(app, ["train-parser", "--train", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "not a FACTUAL CSV" in result.output
    missing = runner.invoke(
        app, ["train-parser", "--train", str(tmp_path / "no.csv"), "--out", str(tmp_path / "m")]
    )
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_parse_text_with_a_learned_model(runner: CliRunner, trained: Path, tmp_path: Path) -> None:
    model = trained
    source = tmp_path / "captions.txt"
    source.write_text("two boys walking\na red bus on the road\n\n")
    out = tmp_path / "tsg.jsonl"
    args = ["parse-text", str(source), "--out", str(out), "--parser", "learned"]
    result = runner.invoke(app, [*args, "--parser-model", str(model), "-q"])
    assert result.exit_code == 0, result.output
    records = [TSG.model_validate_json(line) for line in out.read_text().splitlines()]
    assert [r.text for r in records] == ["two boys walking", "a red bus on the road", ""]


def test_parse_text_missing_or_corrupt_model_is_exit_4(
    runner: CliRunner, trained: Path, tmp_path: Path
) -> None:
    source = tmp_path / "captions.txt"
    source.write_text("a cat on a mat\n")
    out = tmp_path / "tsg.jsonl"
    args = ["parse-text", str(source), "--out", str(out), "--parser", "learned"]
    missing = runner.invoke(app, [*args, "--parser-model", str(tmp_path / "none")])
    assert missing.exit_code == 4
    assert "learned parser file not found" in missing.output and "--parser rules" in missing.output
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    model = trained
    (corrupt / "config.json").write_bytes((model / "config.json").read_bytes())
    (corrupt / "weights.pt").write_bytes((model / "weights.pt").read_bytes()[:100])
    result = runner.invoke(app, [*args, "--parser-model", str(corrupt)])
    assert result.exit_code == 4 and "not a learned parser weights file" in result.output
    assert not out.exists()


def test_parse_text_parser_option_errors(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "captions.txt"
    source.write_text("a cat on a mat\n")
    out = str(tmp_path / "tsg.jsonl")
    wrong = runner.invoke(app, ["parse-text", str(source), "--out", out, "--parser", "neural"])
    assert wrong.exit_code == 2 and "parser" in wrong.output
    model_without = runner.invoke(
        app, ["parse-text", str(source), "--out", out, "--parser-model", str(tmp_path)]
    )
    assert model_without.exit_code == 2 and "--parser learned" in model_without.output
