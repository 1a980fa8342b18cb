"""The default detector: frame export for ultralytics, the shipped weights' recall, training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.assets import default_detector_weights
from finsta_cli.errors import InputError
from finsta_cli.synth.detector import (
    DetectorConfig,
    _frame_indices,
    detector_recall,
    export_split,
    train_detector,
    write_data_yaml,
)
from finsta_cli.synth.generate import SynthConfig, generate_dataset


def test_frame_indices_are_spread_and_unique() -> None:
    assert _frame_indices(16, 4) == [0, 5, 10, 15]
    assert _frame_indices(3, 8) == [0, 1, 2]


def test_export_split_writes_decoded_frames_with_their_labels(
    synth_dir: Path, synth_records: list[dict[str, Any]], tmp_path: Path
) -> None:
    info = export_split(synth_dir, tmp_path, "train", 3)
    train = [r for r in synth_records if r["split"] == "train"]
    assert info.videos == len(train) and info.images == 3 * len(train)
    images = sorted((tmp_path / "images" / "train").glob("*.png"))
    labels = sorted((tmp_path / "labels" / "train").glob("*.txt"))
    assert [p.stem for p in images] == [p.stem for p in labels]
    first = train[0]
    t = _frame_indices(first["num_frames"], 3)[1]
    exported = (tmp_path / "labels" / "train" / f"{first['video_id']}_{t:04d}.txt").read_text()
    assert exported == (synth_dir / first["labels"] / f"{t:04d}.txt").read_text()
    assert info.boxes == sum(len(p.read_text().splitlines()) for p in labels)
    data_yaml = write_data_yaml(tmp_path, ["ball", "cube"], "train", "train", None)
    assert "names" in data_yaml.read_text()


def test_a_missing_split_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"val\.jsonl: missing"):
        export_split(tmp_path, tmp_path / "work", "val", 2)


def test_shipped_detector_finds_the_objects_of_a_fresh_video(tmp_path: Path) -> None:
    weights = default_detector_weights()
    if not weights.is_file():
        pytest.skip(f"no detector weights at {weights}: train them with `finsta train-detector`")
    assert weights.stat().st_size <= 8_000_000
    generate_dataset(SynthConfig(videos=4, seed=20261128), tmp_path, quiet=True)
    records = [
        json.loads(line)
        for split in ("train", "val", "test", "test_unseen")
        if (tmp_path / f"{split}.jsonl").is_file()
        for line in (tmp_path / f"{split}.jsonl").read_text().splitlines()
    ]
    assert len(records) == 4
    result = detector_recall(weights, tmp_path, records)
    assert result["objects"] > 50
    assert result["recall"] >= 0.9, result


@pytest.mark.slow
def test_train_detector_end_to_end_for_one_epoch(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_dataset(SynthConfig(videos=16, seed=5), data, quiet=True)
    config = DetectorConfig(epochs=1, frames_per_video=2, eval_frames_per_video=2)
    card = train_detector(config, data, tmp_path / "out")
    weights = tmp_path / "out" / config.name
    assert weights.is_file() and card["bytes"] == weights.stat().st_size <= 8_000_000
    assert set(card["evaluation"]) == {"val", "test_unseen"}
    assert 0.0 <= card["evaluation"]["val"]["map50"] <= 1.0
    assert len(card["epochs"]) == 1
    assert json.loads(weights.with_suffix(".json").read_text())["weights"] == config.name
    # What train-detector writes passes the detector-file checks and loads (build-dsg's loader).
    from finsta_cli.video.weights import check_detector_file, load_yolo

    assert check_detector_file(weights)
    assert load_yolo(weights).task == "detect"


def test_results_without_time_or_with_nan_losses_give_null_not_nan(tmp_path: Path) -> None:
    """The card is strict JSON: a column an older ultralytics does not write, or a loss it
    logged as nan, is null (a bare NaN would make the whole card unreadable JSON)."""
    from finsta_cli.synth.detector import _read_results

    results = tmp_path / "results.csv"
    results.write_text(
        "epoch,train/box_loss,train/cls_loss,metrics/mAP50(B),metrics/mAP50-95(B)\n"
        "1,1.5,nan,0.25,0.125\n",
        encoding="utf-8",
    )
    (row,) = _read_results(results)
    assert row == {"epoch": 1, "map50": 0.25, "map50_95": 0.125, "box_loss": 1.5,
                   "cls_loss": None, "seconds": None}  # fmt: skip
    json.loads(json.dumps(row, allow_nan=False))
