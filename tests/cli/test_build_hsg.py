"""``finsta build-hsg`` on real files: synth videos' truth DSGs and parse-text TSGs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.data.synth import SynthConfig, generate_dataset
from finsta_cli.data.synth_dsg import synth_to_dsg
from finsta_cli.hsg.evaluate import score_pair
from finsta_cli.hsg.lexicon import load_lexicon
from finsta_cli.io import atomic_write_json, output_path
from finsta_cli.schema import HSG


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hsg")
    generate_dataset(SynthConfig(videos=6, seed=21), root / "synth", quiet=True)
    records = [
        json.loads(line) for line in (root / "synth" / "train.jsonl").read_text().splitlines()
    ]
    with (root / "captions.jsonl").open("w") as captions:
        for record in records:
            dsg = synth_to_dsg(record)
            atomic_write_json(
                output_path(root / "dsg", dsg.video_id, ".json"), dsg.model_dump(mode="json")
            )
            for k, caption in enumerate(record["captions"]):
                captions.write(
                    json.dumps({"id": f"{record['video_id']}.c{k}", "text": caption["text"]}) + "\n"
                )
    result = CliRunner().invoke(
        app, ["parse-text", str(root / "captions.jsonl"), "--out", str(root / "tsg.jsonl"), "-q"]
    )
    assert result.exit_code == 0, result.output
    (root / "records.json").write_text(json.dumps(records))
    return {"root": root, "tsg": root / "tsg.jsonl", "dsg": root / "dsg"}


def test_build_hsg_pairs_captions_with_their_videos(
    runner: CliRunner, inputs: dict[str, Path]
) -> None:
    out = inputs["root"] / "hsg"
    result = runner.invoke(
        app,
        [
            "build-hsg",
            "--tsg",
            str(inputs["tsg"]),
            "--dsg",
            str(inputs["dsg"]),
            "--out",
            str(out),
            "--json",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    captions = inputs["tsg"].read_text().count("\n")
    assert summary["done"] == captions and summary["failed"] == 0
    index = [json.loads(line) for line in (out / "hsg.jsonl").read_text().splitlines()]
    assert len(index) == captions
    records = {r["video_id"]: r for r in json.loads((inputs["root"] / "records.json").read_text())}
    lexicon = load_lexicon()
    correct = predicted = 0
    for row in index:
        hsg = HSG.model_validate_json((out / row["path"]).read_text())
        assert hsg.video_id == row["video_id"] and hsg.text_id.startswith(hsg.video_id)
        record = records[hsg.video_id]
        score = score_pair(
            hsg, record, record["captions"][int(hsg.text_id.rsplit(".c", 1)[1])], lexicon
        )
        correct += score.objects.correct
        predicted += score.objects.predicted
    assert predicted > captions and correct / predicted > 0.8
    again = runner.invoke(
        app,
        [
            "build-hsg",
            "--tsg",
            str(inputs["tsg"]),
            "--dsg",
            str(inputs["dsg"]),
            "--out",
            str(out),
            "--json",
            "-q",
        ],
    )
    assert json.loads(again.stdout)["skipped"] == captions


def test_explicit_pairs_and_missing_inputs_are_failures(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    first = json.loads(inputs["tsg"].read_text().splitlines()[0])
    video = first["id"].rsplit(".c", 1)[0]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"video_id": video, "text_id": first["id"]}) + "\n"
        + json.dumps({"video_id": "no-such-video", "text_id": first["id"]}) + "\n"
        + json.dumps({"video_id": video, "text_id": "no-such-caption"}) + "\n"
    )  # fmt: skip
    out = tmp_path / "hsg"
    result = runner.invoke(
        app,
        [
            "build-hsg",
            "--tsg",
            str(inputs["tsg"]),
            "--dsg",
            str(inputs["dsg"]),
            "--out",
            str(out),
            "--pairs",
            str(pairs),
            "-q",
        ],
    )
    assert result.exit_code == 3
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    reasons = sorted(f["reason"] for f in failures)
    assert "no DSG for this video" in reasons[0] + reasons[1]
    assert any("no TSG with id 'no-such-caption'" in r for r in reasons)
    assert (out / f"{video}--{first['id']}.json").is_file()


def test_bad_pairs_file_and_dsg_folder(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"video_id": "a"}\n')
    result = runner.invoke(
        app,
        [
            "build-hsg",
            "--tsg",
            str(inputs["tsg"]),
            "--dsg",
            str(inputs["dsg"]),
            "--out",
            str(tmp_path / "o"),
            "--pairs",
            str(pairs),
        ],
    )
    assert result.exit_code == 1 and "pairs.jsonl:1: a pair needs string fields" in result.output
    result = runner.invoke(
        app,
        [
            "build-hsg",
            "--tsg",
            str(inputs["tsg"]),
            "--dsg",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "is not a folder of build-dsg outputs" in result.output
