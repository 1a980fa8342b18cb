"""parse-text's caption readers: text, JSONL and CSV, each bad line failing alone."""

from __future__ import annotations

from pathlib import Path

from finsta_cli.text.caption_input import iter_captions
from finsta_cli.text.parse_stage import ParseTextConfig


def test_text_reader_numbers_lines_and_isolates_bad_bytes(tmp_path: Path) -> None:
    source = tmp_path / "c.txt"
    source.write_bytes(b"one\r\n\n\xc3\x28 two\nthree")
    items = list(iter_captions(str(source), ParseTextConfig()))
    assert [i.id for i in items] == ["1", "2", "3", "4"]
    assert [i.payload.text for i in items] == ["one", "", "", "three"]
    assert items[2].payload.error is not None and "UTF-8" in items[2].payload.error
    assert items[0].input_hash != items[3].input_hash


def test_jsonl_reader_reports_bad_lines_per_item(tmp_path: Path) -> None:
    source = tmp_path / "c.jsonl"
    source.write_text('{"id": 7, "text": "a"}\n[1]\n{"text": 3}\n\n{"text": "b"}\n')
    items = list(iter_captions(str(source), ParseTextConfig()))
    assert [(i.id, i.payload.error is None) for i in items] == [
        ("7", True), ("2", False), ("3", False), ("5", True),
    ]  # fmt: skip
    assert "expected a JSON object" in str(items[1].payload.error)
    assert "expected a string" in str(items[2].payload.error)


def test_csv_reader_keeps_quoted_newlines_and_flags_bad_bytes(tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_bytes(b'id,caption\na,"two\nlines"\nb,bad \xff\n')
    config = ParseTextConfig(text_field="caption")
    items = list(iter_captions(str(source), config))
    assert [i.id for i in items] == ["a", "b"]
    assert items[0].payload.text == "two\nlines" and items[1].payload.error == "not UTF-8 text"
