"""``finsta build-hsg`` on real files: synth videos' truth DSGs and parse-text TSGs."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.hsg.evaluate import score_pair
from finsta_cli.hsg.lexicon import load_lexicon
from finsta_cli.io import atomic_write_json, output_path
from finsta_cli.schema import HSG
from finsta_cli.synth.dsg import synth_to_dsg
from finsta_cli.synth.generate import SynthConfig, generate_dataset


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
    assert result.exit_code == 3, result.output
    [failure] = _failures(tmp_path / "o")
    assert failure["source"] == f"{pairs}:1" and failure["id"] == f"{pairs}:1"
    assert failure["reason"] == f"{pairs}:1: a pair needs string fields video_id and text_id"
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


def _build(runner: CliRunner, tsg: Path, dsg: Path, out: Path, *extra: str) -> Result:
    args = ["build-hsg", "--tsg", str(tsg), "--dsg", str(dsg), "--out", str(out), "-q", *extra]
    return runner.invoke(app, args)


def _failures(out: Path) -> list[dict[str, str]]:
    path = out / "failures.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _index(out: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (out / "hsg.jsonl").read_text().splitlines()]


def _bad_tsg_lines(good: dict[str, Any]) -> dict[str, str]:
    """One bad TSG line of each kind, made from a good record, by the reason it must give."""

    def changed(**fields: Any) -> dict[str, Any]:
        return {**copy.deepcopy(good), **fields}

    missing_node = changed()
    missing_node["edges"].append({"source": 0, "target": 99, "type": "agent"})
    outside = changed()
    outside["nodes"][0]["span"] = [0, len(good["text"]) + 5]
    return {
        "agent edge names node 99, which does not exist": json.dumps(missing_node),
        "schema version 2.0, newer than the 1.x": json.dumps(changed(schema_version="2.0")),
        "schema version 0.9, older than the 1.0": json.dumps(changed(schema_version="0.9")),
        "schema_version: String should match pattern": json.dumps(changed(schema_version="abc")),
        "invalid JSON": '{"id": "broken", "text": ',
        "is outside the text": json.dumps(outside),
        # json.dumps writes a lone surrogate as the escape \ud800: valid JSON, not Unicode.
        "not valid Unicode: lone surrogate \\ud800 at text, character 3": json.dumps(
            changed(id="surrogate-text", text="a b\ud800 c", nodes=[], edges=[])
        ),
        "not valid Unicode: lone surrogate \\ud800 at id, character 1": json.dumps(
            changed(id="x\ud800", nodes=[], edges=[])
        ),
    }


def test_each_bad_tsg_line_fails_alone(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    lines = inputs["tsg"].read_text(encoding="utf-8").splitlines()
    bad = _bad_tsg_lines(json.loads(lines[1]))
    tsg = tmp_path / "tsg.jsonl"
    # The good lines (but the one the bad ones were made from) with a bad line after each.
    mixed = [lines[0]]
    for good, bad_line in zip(lines[2:] * 2, bad.values(), strict=False):
        mixed += [bad_line, good]
    tsg.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    out = tmp_path / "hsg"
    result = _build(runner, tsg, inputs["dsg"], out)
    assert result.exit_code == 3, result.output
    assert "internal error" not in result.output
    failures = _failures(out)
    assert len(failures) == len(bad)
    for failure, (reason, line) in zip(
        failures, [(reason, 2 + 2 * k) for k, reason in enumerate(bad)], strict=True
    ):
        assert failure["source"] == f"{tsg}:{line}"
        assert failure["reason"].startswith(f"{tsg}:{line}: ") and reason in failure["reason"]
    # Each caption of the good lines has its HSG; the one the bad lines were made from has none.
    good_ids = {json.loads(line)["id"] for line in [lines[0], *lines[2:]]}
    assert {row["text_id"] for row in _index(out)} == good_ids
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["counts"]["failed"] == len(bad)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("json", "not a readable DSG JSON file"),
        ("schema", "dsg record has schema version 3.0, newer than the 1.x"),
        ("video_id", "holds the DSG of video 'another-video', not of "),
        ("surrogate", "not valid Unicode: lone surrogate \\ud800 at source, character 1"),
    ],
)
def test_a_bad_dsg_file_fails_the_pairs_that_use_it(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path, damage: str, reason: str
) -> None:
    dsg = tmp_path / "dsg"
    shutil.copytree(inputs["dsg"], dsg)
    videos = sorted(path.stem for path in dsg.glob("*.json"))
    target = dsg / f"{videos[0]}.json"
    record = json.loads(target.read_text())
    if damage == "json":
        target.write_text(target.read_text()[:-40])
    elif damage == "schema":
        target.write_text(json.dumps({**record, "schema_version": "3.0"}))
    elif damage == "video_id":
        target.write_text(json.dumps({**record, "video_id": "another-video"}))
    else:
        target.write_text(json.dumps({**record, "source": "v\ud800.mp4"}))
    out = tmp_path / "hsg"
    result = _build(runner, inputs["tsg"], dsg, out)
    assert result.exit_code == 3, result.output
    captions = [json.loads(line)["id"] for line in inputs["tsg"].read_text().splitlines()]
    of_damaged = [c for c in captions if c.startswith(f"{videos[0]}.")]
    failures = _failures(out)
    assert sorted(f["id"] for f in failures) == sorted(f"{videos[0]}--{c}" for c in of_damaged)
    assert all(f["reason"].startswith(f"{target}: ") and reason in f["reason"] for f in failures)
    index = _index(out)
    assert len(index) == len(captions) - len(of_damaged)
    assert videos[0] not in {row["video_id"] for row in index}


def test_duplicate_tsg_ids_first_wins(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    lines = inputs["tsg"].read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    other = json.dumps({**first, "text": first["text"] + " ", "nodes": [], "edges": []})
    tsg = tmp_path / "tsg.jsonl"
    tsg.write_text("\n".join([*lines, lines[0]]) + "\n", encoding="utf-8")
    result = _build(runner, tsg, inputs["dsg"], tmp_path / "same")
    assert result.exit_code == 0, result.output
    assert "1 line(s) repeat an earlier TSG exactly" in result.output
    assert len(_index(tmp_path / "same")) == len(lines)

    tsg.write_text("\n".join([*lines, other]) + "\n", encoding="utf-8")
    out = tmp_path / "other"
    result = _build(runner, tsg, inputs["dsg"], out)
    assert result.exit_code == 3, result.output
    [failure] = _failures(out)
    assert failure["id"] == first["id"] and failure["source"] == f"{tsg}:{len(lines) + 1}"
    assert "again, with other content than at line 1 (which is used)" in failure["reason"]
    [row] = [row for row in _index(out) if row["text_id"] == first["id"]]
    assert HSG.model_validate_json((out / row["path"]).read_text()).tsg.text == first["text"]


def test_pairs_of_a_bad_tsg_line_and_repeated_pairs(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    lines = inputs["tsg"].read_text(encoding="utf-8").splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    tsg = tmp_path / "tsg.jsonl"
    bad = json.dumps({**second, "schema_version": "2.0"})
    tsg.write_text("\n".join([lines[0], bad]) + "\n", encoding="utf-8")
    pairs = tmp_path / "pairs.jsonl"
    rows = [(first["id"].rsplit(".c", 1)[0], first["id"])] * 2
    rows.append((second["id"].rsplit(".c", 1)[0], second["id"]))
    pairs.write_text("".join(json.dumps({"video_id": v, "text_id": t}) + "\n" for v, t in rows))
    out = tmp_path / "hsg"
    result = _build(runner, tsg, inputs["dsg"], out, "--pairs", str(pairs))
    assert result.exit_code == 3, result.output
    assert "1 pair(s) given again were left out" in result.output
    line_failure, pair_failure = _failures(out)
    assert line_failure["id"] == second["id"] and line_failure["source"] == f"{tsg}:2"
    assert pair_failure["reason"].startswith(f"the TSG of {second['id']!r} cannot be used: {tsg}:2")
    assert [row["text_id"] for row in _index(out)] == [first["id"]]


def test_each_bad_line_is_reported_by_one_shard(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    lines = inputs["tsg"].read_text(encoding="utf-8").splitlines()
    bad = list(_bad_tsg_lines(json.loads(lines[1])).values())
    tsg = tmp_path / "tsg.jsonl"
    tsg.write_text("\n".join([*lines, *bad]) + "\n", encoding="utf-8")
    out = tmp_path / "hsg"
    sources = []
    for shard in ("0/2", "1/2"):
        result = _build(runner, tsg, inputs["dsg"], out, "--shard", shard)
        assert result.exit_code in (0, 3), result.output
        failures = out / f"failures.shard-{shard[0]}-of-2.jsonl"
        if failures.is_file():
            sources += [json.loads(row)["source"] for row in failures.read_text().splitlines()]
    assert sorted(sources) == sorted(f"{tsg}:{len(lines) + k}" for k in range(1, len(bad) + 1))
