"""parse-text's input: captions read from a text, JSONL or CSV file or stdin, one item each.

Input formats (``auto`` picks by suffix; stdin is JSONL when its first line starts with ``{``):

- ``text``: one caption per line; the id is the line number; an empty line is a caption with
  an empty graph;
- ``jsonl``: one object per line, caption under ``text_field``, id under ``id_field`` (the
  line number when absent); blank lines are skipped;
- ``csv``: a header row, caption in column ``text_field``, id in ``id_field`` (the row number,
  1 = first data row, when the column is absent). FACTUAL's CSVs read with
  ``--text-field caption``.

Lines are decoded one by one: undecodable bytes, a JSON error or a missing field fail that item
only (the stage lists it in ``failures.jsonl``, exit 3) and the others go on.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from finsta_cli.errors import InputError
from finsta_cli.io.hashing import hash_text
from finsta_cli.io.jsonl import STDIO, surrogate_reason
from finsta_cli.io.stage import StageItem

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


class CaptionFields(Protocol):
    """What the reader reads of the stage's config (a ``ParseTextConfig``)."""

    @property
    def input_format(self) -> str: ...

    @property
    def id_field(self) -> str: ...

    @property
    def text_field(self) -> str: ...


@dataclass
class CaptionInput:
    """A caption read from the input, or why its line could not be read (``error``)."""

    text: str
    error: str | None = None


def _input_format(source: str, config: CaptionFields, first_line: bytes) -> str:
    if config.input_format != "auto":
        return config.input_format
    if source == STDIO:
        return "jsonl" if first_line.lstrip().startswith(b"{") else "text"
    suffix = Path(source).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "text"


def _open_binary(source: str) -> IO[bytes]:
    if source == STDIO:
        return sys.stdin.buffer
    path = Path(source)
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"


def _strip_newline(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def iter_captions(source: str, config: CaptionFields) -> Iterator[StageItem[CaptionInput]]:
    """Stream the input's items, lazily, each with its id and input hash."""
    name = "<stdin>" if source == STDIO else source
    handle = _open_binary(source)
    try:
        kind: str | None = config.input_format if config.input_format != "auto" else None
        if kind is None and source != STDIO:
            kind = _input_format(source, config, b"")
        if kind == "csv":
            yield from _csv_items(handle, name, config)
            return
        first = handle.readline()
        if kind is None:  # stdin: JSONL when its first line is an object
            kind = _input_format(source, config, first)
        lines = itertools.chain([first] if first else [], handle)
        for line_number, raw in enumerate(lines, start=1):
            where = f"{name}:{line_number}"
            text, error = _decode(raw)
            if text is not None:
                text = _strip_newline(text).rstrip("\r")
            if kind == "text":
                item_id = str(line_number)
                if error is not None or text is None:
                    yield StageItem(item_id, hash_text(repr(raw)), CaptionInput("", error), where)
                else:
                    yield StageItem(item_id, hash_text(text), CaptionInput(text), where)
                continue
            if text is not None and not text.strip():
                continue
            yield _jsonl_item(text, error, line_number, where, config)
    finally:
        if source != STDIO:
            handle.close()


def _jsonl_item(
    text: str | None, error: str | None, line_number: int, where: str, config: CaptionFields
) -> StageItem[CaptionInput]:
    fallback_id = str(line_number)
    if error is not None or text is None:
        return StageItem(fallback_id, hash_text(where), CaptionInput("", error), where)
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON ({exc.msg} at column {exc.colno})"
        return StageItem(fallback_id, hash_text(text), CaptionInput("", reason), where)
    if not isinstance(value, dict):
        reason = f"expected a JSON object, found {type(value).__name__}"
        return StageItem(fallback_id, hash_text(text), CaptionInput("", reason), where)
    raw_id = value.get(config.id_field)
    item_id = str(raw_id) if raw_id not in (None, "") else fallback_id
    not_unicode = surrogate_reason(text, value)
    if not_unicode is not None:
        return StageItem(item_id, hash_text(where), CaptionInput("", not_unicode), where)
    caption = value.get(config.text_field)
    if not isinstance(caption, str):
        reason = (
            f"no '{config.text_field}' field"
            if caption is None
            else f"'{config.text_field}' is {type(caption).__name__}, expected a string"
        )
        return StageItem(item_id, hash_text(text), CaptionInput("", reason), where)
    return StageItem(item_id, hash_text(caption), CaptionInput(caption), where)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _csv_items(
    handle: IO[bytes], name: str, config: CaptionFields
) -> Iterator[StageItem[CaptionInput]]:
    # surrogateescape keeps undecodable bytes visible per row instead of failing the file.
    text_stream = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
    # strict: a quote left open fails at the end of the file instead of swallowing every row
    # after it into one caption; a stray quote after a quoted field fails that row alone.
    # (io.csvfile.iter_csv_rows, which the dataset readers use, refuses the whole file instead:
    # here each row is an item that fails alone.)
    reader = csv.reader(text_stream, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{name}: not valid CSV ({exc})") from None
    if header is None:
        return
    header = [column.strip() for column in header]
    if config.text_field not in header:
        raise InputError(
            f"{name}: no column '{config.text_field}' (columns: {', '.join(header)})",
            hint="name the caption column with --text-field",
        )
    text_column = header.index(config.text_field)
    id_column = header.index(config.id_field) if config.id_field in header else None
    row_number = 0
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_number += 1
            where = f"{name}:row {row_number}"
            reason = str(exc)
            if reason == "unexpected end of data":
                reason = (
                    f"a quoted field opened on line {first_line} is never closed: lines "
                    f"{first_line}-{reader.line_num} (the end of the file) were read into it"
                )
            yield StageItem(str(row_number), hash_text(where), CaptionInput("", reason), where)
            continue
        row_number += 1
        where = f"{name}:row {row_number}"
        item_id = str(row_number)
        if id_column is not None and id_column < len(row) and row[id_column].strip():
            item_id = row[id_column].strip()
        if text_column >= len(row):
            reason = f"row has {len(row)} columns, no '{config.text_field}'"
            yield StageItem(item_id, hash_text(where), CaptionInput("", reason), where)
            continue
        caption = row[text_column]
        if _has_surrogates(caption) or _has_surrogates(item_id):
            reason = "not UTF-8 text"
            yield StageItem(item_id, hash_text(repr(caption)), CaptionInput("", reason), where)
            continue
        yield StageItem(item_id, hash_text(caption), CaptionInput(caption), where)
    text_stream.detach()
