"""CSV rows with their line numbers; a quote that is never closed is an error, not one cell."""

from __future__ import annotations

import io
import logging

import pytest

from finsta_cli.errors import InputError
from finsta_cli.io.csvfile import ends_inside_quotes, iter_csv_rows


def _rows(text: str) -> list[tuple[int, list[str]]]:
    return list(iter_csv_rows(io.StringIO(text, newline=""), "f.csv"))


def test_rows_carry_the_line_they_start_on() -> None:
    text = 'id,text\na,"two\nlines"\n\nb,"say ""hi"""\nc,x"y\n'
    assert _rows(text) == [
        (1, ["id", "text"]),
        (2, ["a", "two\nlines"]),
        (4, []),
        (5, ["b", 'say "hi"']),
        (6, ["c", 'x"y']),
    ]


def test_an_unterminated_quote_names_file_and_line() -> None:
    # The csv module alone reads rows 3-4 into the text of row 2, without a word.
    with pytest.raises(InputError, match=r"f.csv:2: a quote opened on this line is never closed"):
        _rows('id,text\na,"hello\nb,world\nc,again\n')
    with pytest.raises(InputError, match=r"f.csv:3: .*the rest of the file \(line 3\)"):
        _rows('id,text\na,b\nc,"no end')


def test_a_quoted_line_break_is_read_with_one_counted_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        rows = _rows('id,text\na,"one\ntwo"\nb,"three\nfour"\nc,five\n')
    assert [line for line, _ in rows] == [1, 2, 4, 6]
    [warning] = [r.getMessage() for r in caplog.records]
    assert "f.csv: 2 quoted field(s) hold line breaks (first in the row at line 2)" in warning


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ('a,"b', True),
        ('a,"b"', False),
        ('a,"b""', True),
        ('a,"b"""', False),
        ('a,b"c', False),
        ('a,"b"c,"d', True),
        ('"a\nb",c', False),
    ],
)
def test_ends_inside_quotes(text: str, inside: bool) -> None:
    assert ends_inside_quotes(text) is inside
