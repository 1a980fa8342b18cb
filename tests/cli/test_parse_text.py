"""``finsta parse-text`` end to end on real files: formats, bad lines, resume, shards, stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_text_file_with_empty_and_undecodable_lines(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "captions.txt"
    source.write_bytes(b"a man riding a horse\n\nbad \xff\xfe bytes\nthe cup is on the table\n")
    out = tmp_path / "tsg.jsonl"
    result = runner.invoke(app, ["parse-text", str(source), "--out", str(out), "--json", "-q"])
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["done"] == 3 and summary["failed"] == 1
    records = read_jsonl(out)
    assert [r["id"] for r in records] == ["1", "2", "4"]  # line numbers, input order
    assert records[1]["text"] == "" and records[1]["nodes"] == []  # empty line: empty graph
    assert {n["label"] for n in records[0]["nodes"]} >= {"man", "horse", "ride"}
    failures = read_jsonl(tmp_path / "tsg.failures.jsonl")
    assert failures[0]["id"] == "3" and "not UTF-8" in str(failures[0]["reason"])
    assert str(source) + ":3" == failures[0]["source"]
    manifest = json.loads((tmp_path / "tsg.manifest.json").read_text())
    assert manifest["stage"] == "parse-text" and manifest["status"] == "partial"


def test_jsonl_fields_and_factual_format(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "caps.jsonl"
    rows = [{"vid": "v1", "caption": "two dogs on a bed"}, {"caption": "a red car"}]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    out = tmp_path / "facts.txt"
    args = ["parse-text", str(source), "--out", str(out), "--id-field", "vid"]
    result = runner.invoke(app, [*args, "--text-field", "caption", "--format", "factual"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "two dogs on a bed\t( dogs , is , 2 ) , ( dogs , on , bed )"
    assert lines[1] == "a red car\t( car , is , red )"


def test_csv_input_uses_the_named_column(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "gold.csv"
    source.write_text('image_id,caption,scene_graph\n1,"a cat, on a mat","( cat , on , mat )"\n')
    out = tmp_path / "tsg.jsonl"
    args = ["parse-text", str(source), "--out", str(out), "--text-field", "caption"]
    assert runner.invoke(app, args).exit_code == 0
    (record,) = read_jsonl(out)
    assert record["id"] == "1" and record["text"] == "a cat, on a mat"
    missing = runner.invoke(app, ["parse-text", str(source), "--out", str(out)])
    assert missing.exit_code == 1 and "no column 'text'" in missing.output


def test_stdin_to_stdout_streams_records(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["parse-text", "-", "--out", "-", "--format", "factual"],
        input="a man holds a knife\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "a man holds a knife\t( man , hold , knife )\n"
    as_jsonl = runner.invoke(
        app, ["parse-text", "-", "--out", "-"], input='{"id": "k", "text": "a dog"}\n'
    )
    assert json.loads(as_jsonl.stdout)["id"] == "k"


def test_resume_skips_finished_items_and_keeps_the_output(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "captions.txt"
    source.write_text("a man riding a horse\na cup on a table\na dog\n")
    out = tmp_path / "tsg.jsonl"
    args = ["parse-text", str(source), "--out", str(out), "--json", "-q"]
    first = json.loads(runner.invoke(app, args).stdout)
    content = out.read_text()
    second = json.loads(runner.invoke(app, args).stdout)
    assert (first["done"], second["done"], second["skipped"]) == (3, 0, 3)
    assert out.read_text() == content
    source.write_text("a man riding a horse\na cat under a table\na dog\n")  # line 2 changed
    third = json.loads(runner.invoke(app, args).stdout)
    assert (third["done"], third["skipped"]) == (1, 2)
    assert [r["text"] for r in read_jsonl(out)][1] == "a cat under a table"
    forced = json.loads(runner.invoke(app, [*args, "--force"]).stdout)
    assert forced["done"] == 3


def test_shards_split_items_and_limit_bounds_them(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "captions.txt"
    source.write_text("".join(f"a dog number {n}\n" for n in range(10)))
    ids: list[str] = []
    for index in range(2):
        out = tmp_path / f"part{index}.jsonl"
        args = ["parse-text", str(source), "--out", str(out), "--shard", f"{index}/2"]
        assert runner.invoke(app, args).exit_code == 0
        ids += [str(r["id"]) for r in read_jsonl(out)]
    assert sorted(ids, key=int) == [str(n) for n in range(1, 11)]
    limited = tmp_path / "limited.jsonl"
    runner.invoke(app, ["parse-text", str(source), "--out", str(limited), "--limit", "3"])
    assert len(read_jsonl(limited)) == 3


def test_a_megabyte_line_is_cut(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "big.txt"
    source.write_text("a dog " * 180_000 + "\na cat\n")  # ~1 MB first line
    out = tmp_path / "tsg.jsonl"
    result = runner.invoke(app, ["parse-text", str(source), "--out", str(out)])
    assert result.exit_code == 0
    records = read_jsonl(out)
    assert len(str(records[0]["text"])) == 10_000 and records[1]["text"] == "a cat"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.txt", "--out", "x.jsonl"], "no such file"),
        (["in.txt", "--out", "x.jsonl", "--format", "xml"], "format"),
        (["in.txt", "--out", "-", "--json"], "--json and --out -"),
    ],
)
def test_bad_usage_names_the_problem(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
    message: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("a dog\n")
    result = runner.invoke(app, ["parse-text", *args])
    assert result.exit_code in (1, 2)
    assert message in result.output
