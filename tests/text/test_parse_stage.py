"""The parse-text stage library: records equal to validated TSGs, resume, ordered output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.schema import TSG
from finsta_cli.text.parse_stage import ParseTextConfig, factual_line, run_parse_text


def test_factual_line_keeps_one_line_per_caption() -> None:
    assert factual_line("a\tb\nc", "( x )") == "a b c\t( x )"


def test_stage_records_equal_validated_tsgs(tmp_path: Path) -> None:
    source = tmp_path / "c.txt"
    captions = [
        "two men in front of a red car quickly pick up a box and then leave",
        "a woman who is holding an umbrella walks past the shop while it rains",
        "the ball is hit by the man",
        "",
        "clock face on a brick tower next to the old church",
    ]
    source.write_text("\n".join(captions) + "\n")
    out = tmp_path / "tsg.jsonl"
    summary = run_parse_text(str(source), str(out), ParseTextConfig(), quiet=True)
    assert summary.done == len(captions) and summary.exit_code == 0
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert TSG.model_validate(record).model_dump(mode="json") == record


def _jsonl(path: Path, texts: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in texts.items()))
    return path


def test_an_interrupted_rerun_with_other_captions_leaves_no_stale_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsta_cli.text import parse_stage

    v1 = {f"c{i}": f"a red cube slides left of ball {i}" for i in range(40)}
    v2 = {key: f"the green cone moves behind star {i}" for i, key in enumerate(v1)}
    out = tmp_path / "tsg.jsonl"
    run_parse_text(str(_jsonl(tmp_path / "v1.jsonl", v1)), str(out), ParseTextConfig(), quiet=True)
    before = out.read_bytes()
    write_line = parse_stage.OutputWriter.write_line
    written = []

    def interrupted(self: object, line: str) -> None:
        if len(written) == 25:
            raise KeyboardInterrupt
        written.append(line)
        write_line(self, line)  # type: ignore[arg-type]

    v2_path = _jsonl(tmp_path / "v2.jsonl", v2)
    with monkeypatch.context() as patch:
        patch.setattr(parse_stage.OutputWriter, "write_line", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_parse_text(str(v2_path), str(out), ParseTextConfig(batch_size=4), quiet=True)
    assert out.read_bytes() == before
    summary = run_parse_text(str(v2_path), str(out), ParseTextConfig(), quiet=True)
    assert (summary.done, summary.skipped, summary.exit_code) == (40, 0, 0)
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert texts == list(v2.values())
    # Only --max-chars changed, then interrupted: the records cut at 10 chars are never kept.
    with monkeypatch.context() as patch:
        written.clear()
        patch.setattr(parse_stage.OutputWriter, "write_line", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_parse_text(str(v2_path), str(out), ParseTextConfig(max_chars=10), quiet=True)
    run_parse_text(str(v2_path), str(out), ParseTextConfig(), quiet=True)
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == texts


def test_lone_surrogates_and_duplicate_ids_fail_alone(tmp_path: Path) -> None:
    source = tmp_path / "c.jsonl"
    source.write_text(
        '{"id": "a", "text": "a man rides a horse"}\n'
        '{"id": "b", "text": "bad \\ud800 text"}\n'
        '{"id": "c\\udc00", "text": "a dog runs"}\n'
        '{"id": "d", "text": "an emoji \\ud83d\\ude00 is fine"}\n'
        '{"id": "a", "text": "the same id again"}\n'
    )
    out = tmp_path / "tsg.jsonl"
    summary = run_parse_text(str(source), str(out), ParseTextConfig(), quiet=True)
    assert (summary.done, summary.failed, summary.exit_code) == (2, 3, 3)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "d"]
    failures = [
        json.loads(line) for line in (tmp_path / "tsg.failures.jsonl").read_text().splitlines()
    ]
    assert [(f["id"], f["source"]) for f in failures] == [
        ("b", f"{source}:2"), ("c\udc00", f"{source}:3"), ("a", f"{source}:5"),
    ]  # fmt: skip
    assert failures[0]["reason"] == "not valid Unicode: lone surrogate \\ud800 at text, character 4"
    assert failures[1]["reason"] == "not valid Unicode: lone surrogate \\udc00 at id, character 1"
    assert f"duplicate id: {source}:1 has it too" in failures[2]["reason"]


def test_an_unterminated_csv_quote_is_reported_not_swallowed(tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_text('id,text\n1,a cat sleeps\n2,"a man\n3,a dog runs\n4,a bird sings\n')
    out = tmp_path / "tsg.jsonl"
    summary = run_parse_text(str(source), str(out), ParseTextConfig(), quiet=True)
    assert (summary.done, summary.failed) == (1, 1)
    failure = json.loads((tmp_path / "tsg.failures.jsonl").read_text())
    assert failure["source"] == f"{source}:row 2"
    assert "opened on line 3 is never closed: lines 3-5" in failure["reason"]
