"""Reading annotation files (JSON, CSV) and their fields; errors name the file and the place."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from finsta_cli.errors import InputError
from finsta_cli.io.csvfile import iter_csv_rows


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Read ``path`` in this block: a missing file, one that is not UTF-8 text or cannot be read
    raises an :class:`InputError` that names it and the reason."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Every ``(line, fields)`` of a CSV file, header included (a quote never closed raises:
    :func:`~finsta_cli.io.csvfile.iter_csv_rows`)."""
    with reading(path), path.open(encoding="utf-8-sig", newline="") as handle:
        return list(iter_csv_rows(handle, str(path)))


def load_json(path: Path) -> Any:
    """The parsed JSON of ``path``; a missing, unreadable or invalid file raises."""
    with reading(path):
        text = path.read_text(encoding="utf-8-sig")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
        ) from None


def read_csv(
    path: Path,
    required: Sequence[str],
    on_error: Callable[[int, str], None] | None = None,
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header of a CSV file and an iterator of ``(line, row)``; missing columns raise, and so
    does a quote that is never closed (:func:`~finsta_cli.io.csvfile.iter_csv_rows`). A row
    with another number of fields than the header raises too, unless ``on_error(line,
    reason)`` is given: then it is reported there and skipped."""
    rows = csv_rows(path)
    if not rows:
        raise InputError(f"{path}: empty file, expected a CSV header")
    header = [name.strip() for name in rows[0][1]]
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header is {','.join(header)}"
        )

    def iterate() -> Iterator[tuple[int, dict[str, str]]]:
        for line, row in rows[1:]:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                reason = f"{len(row)} fields where the header has {len(header)}"
                if on_error is None:
                    raise InputError(f"{path}:{line}: {reason}")
                on_error(line, reason)
                continue
            yield line, dict(zip(header, row, strict=True))

    return header, iterate()


def text_field(record: Mapping[str, Any], key: str, where: str) -> str:
    """``record[key]`` as stripped text (a string or a number); missing, empty or other raises."""
    value = record.get(key)
    if value is None:
        raise InputError(f"{where}: missing {key!r}")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{where}: {key!r} must be a string, found {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise InputError(f"{where}: {key!r} is empty")
    return text


def as_index(value: Any, size: int, where: str, what: str) -> int:
    """``value`` as an index in ``0..size-1`` (an int or a digit string); anything else raises."""
    try:
        index = int(str(value).strip()) if not isinstance(value, bool) else -1
    except ValueError:
        index = -1
    if not 0 <= index < size:
        raise InputError(f"{where}: {what} {value!r} is not an index in 0..{size - 1}")
    return index


def json_objects(
    value: Any,
    path: Path,
    what: str,
    on_error: Callable[[str, str], None] | None = None,
    item_name: str = "item {}",
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``value`` checked to be a JSON list of objects (``what`` names them in the error), as
    (index, object) pairs. An item that is not an object raises (``item_name`` says where:
    ``"item {}"`` or e.g. ``"sentences[{}]"``), unless ``on_error(item, reason)`` is given
    (``item`` that name, filled in): then it is reported there and skipped, and the other items
    are read."""
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a JSON list of {what}, found {type(value).__name__}")
    for i, item in enumerate(value):
        if isinstance(item, dict):
            yield i, item
            continue
        reason = f"expected an object, found {type(item).__name__}"
        if on_error is None:
            raise InputError(f"{path}: {item_name.format(i)}: {reason}")
        on_error(item_name.format(i), reason)
