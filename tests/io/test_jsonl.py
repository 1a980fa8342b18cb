"""Streaming JSONL reading and writing, stdin/stdout and error messages."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.io import JsonlWriter, iter_jsonl, read_records
from finsta_cli.schema import TSG
from tests.helpers import repo_env


def test_round_trip_with_models_and_dicts(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(TSG(id="a", text="a dog"))
        writer.write({"id": "b", "text": "ünïcode"})
    assert writer.count == 2
    rows = list(iter_jsonl(path))
    assert [n for n, _ in rows] == [1, 2]
    assert rows[0][1]["record"] == "tsg" and rows[0][1]["schema_version"] == "1.0"
    assert [r.text for r in read_records(path, TSG)] == ["a dog", "ünïcode"]


def test_file_appears_only_when_writer_closes(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    with pytest.raises(KeyError), JsonlWriter(path) as writer:
        writer.write({"x": 1})
        assert not path.exists()
        raise KeyError("stop")
    assert not path.exists()


def test_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n[1, 2]\n{"b": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:3: expected a JSON object"):
        list(iter_jsonl(path))
    errors: list[tuple[int, str]] = []
    good = list(iter_jsonl(path, on_error=lambda n, why: errors.append((n, why))))
    assert good == [(1, {"a": 1})]
    assert errors[1] == (4, "invalid JSON (Expecting value at column 7)")
    assert [n for n, _ in errors] == [3, 4]


def test_missing_file_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file"):
        list(iter_jsonl(tmp_path / "nope.jsonl"))
    raw = tmp_path / "latin.jsonl"
    raw.write_bytes(b'{"a": "\xff"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        list(iter_jsonl(raw))


def test_invalid_record_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "x", "text": "t"}\n{"id": "", "text": "t"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"t.jsonl:2: not a valid TSG record: id"):
        list(read_records(path, TSG))


def test_reads_an_open_stream() -> None:
    rows = list(iter_jsonl(io.StringIO('{"k": 1}\n{"k": 2}\n')))
    assert [v["k"] for _, v in rows] == [1, 2]


def test_stdin_to_stdout_pipeline() -> None:
    code = (
        "from finsta_cli.io import JsonlWriter, iter_jsonl\n"
        "with JsonlWriter('-') as w:\n"
        "    for n, row in iter_jsonl('-'):\n"
        "        w.write({'n': n, **row})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input='{"x": "a"}\n{"x": "b"}\n',
        capture_output=True,
        text=True,
        env=repo_env(),
        check=True,
    )
    assert result.stdout == '{"n": 1, "x": "a"}\n{"n": 2, "x": "b"}\n'


def test_a_lone_surrogate_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    # A pair (an emoji written as two escapes) is one character; a lone half is no text at all.
    path.write_text(
        '{"id": "a", "text": "ok \\ud83d\\ude00"}\n'
        '{"id": "b", "nodes": [{"label": "x\\ud800"}]}\n'
        '{"id": "c", "k\\udfff": 1}\n'
        '{"id": "d", "text": "a \\\\ud800 written out"}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"s.jsonl:2: not valid Unicode: lone surrogate"):
        list(iter_jsonl(path))
    errors: list[tuple[int, str]] = []
    good = list(iter_jsonl(path, on_error=lambda n, why: errors.append((n, why))))
    assert [(n, row["id"]) for n, row in good] == [(1, "a"), (4, "d")]
    assert good[0][1]["text"] == "ok \U0001f600" and good[1][1]["text"] == "a \\ud800 written out"
    assert errors == [
        (2, "not valid Unicode: lone surrogate \\ud800 at nodes.0.label, character 1"),
        (3, "not valid Unicode: lone surrogate in a key of the record: 'k\\udfff'"),
    ]
    assert all(why.isascii() for _, why in errors)
