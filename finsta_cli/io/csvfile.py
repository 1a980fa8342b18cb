"""CSV rows with the line each starts on, refusing a quote that is never closed.

Python's ``csv`` reader (in its default, lenient mode) reads a quote that is never closed as a
field that runs to the end of the file: every row after it disappears into one cell and no error
is raised. :func:`iter_csv_rows` raises :class:`~finsta_cli.errors.InputError` naming the file and
the line of that quote instead. A quote that *is* closed several lines later is valid CSV (a
caption may hold a line break), but it may also be a stray quote that swallowed the rows between,
so each file with such fields gets one warning naming the first and how many there are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from finsta_cli.errors import InputError
from finsta_cli.io.progress import get_logger

log = get_logger("csv")


class _LineCounter:
    """Hands a file's lines to ``csv.reader`` and keeps those of the row being read."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.row_lines: list[str] = []

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.row_lines.append(line)
        return line


def ends_inside_quotes(text: str, delimiter: str = ",", quotechar: str = '"') -> bool:
    """Whether ``text`` (one CSV row as read) ends inside a quoted field, the way the ``csv``
    module's lenient reader parses it: a quote opens a field only at the field's start, ``""``
    inside quotes is a quote, and any other quote closes the field."""
    inside = False
    field_start = True
    position = 0
    while position < len(text):
        char = text[position]
        if inside:
            if char == quotechar:
                if text.startswith(quotechar, position + 1):
                    position += 1  # a doubled quote inside quotes
                else:
                    inside = False
        elif char == quotechar and field_start:
            inside = True
            field_start = False
        else:
            field_start = char in (delimiter, "\r", "\n")
        position += 1
    return inside


def iter_csv_rows(handle: IO[str], name: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, row)`` for each row of a CSV file opened with ``newline=""``; ``line`` is
    the 1-based line the row starts on (a quoted field may span lines).

    A quote never closed raises :class:`InputError` ``NAME:LINE: a quote opened on this line is
    never closed ...`` after the rows before it; ``csv.Error`` becomes an :class:`InputError`
    naming the file and line. Blank lines come as empty rows, as from ``csv.reader``.
    """
    lines = _LineCounter(handle)
    reader = csv.reader(lines)
    start = 1
    spanning: list[int] = []
    last: tuple[int, list[str]] | None = None
    while True:
        lines.row_lines = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"{name}:{start}: not valid CSV ({exc})") from None
        if len(lines.row_lines) > 1:
            spanning.append(start)
        last = (start, lines.row_lines)
        yield start, row
        start = reader.line_num + 1
    if last is not None and ends_inside_quotes("".join(last[1])):
        first, row_lines = last
        end = first + len(row_lines) - 1
        lines_text = f"line {first}" if end == first else f"lines {first}-{end}"
        raise InputError(
            f"{name}:{first}: a quote opened on this line is never closed: the rest of the file "
            f"({lines_text}) would be one field",
            hint='close the quote, or double a quote meant inside a field ("")',
        )
    if spanning:
        log.warning(
            "%s: %d quoted field(s) hold line breaks (first in the row at line %d); if that is "
            "not meant, a stray quote has joined the rows up to its closing quote",
            name,
            len(spanning),
            spanning[0],
        )
