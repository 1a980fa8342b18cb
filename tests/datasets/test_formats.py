"""Tests of finsta_cli/datasets/formats.py: one list of format names, which readers, file
endings and the CLI's ``--format`` choices all follow."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.datasets.formats import CAPTION_FORMATS, FORMAT_FILES, FORMATS
from finsta_cli.datasets.load import READERS


def test_every_format_has_a_reader_and_file_endings() -> None:
    assert set(READERS) == set(FORMATS) - {"auto"}
    assert set(FORMAT_FILES) == set(FORMATS)
    assert FORMATS[0] == CAPTION_FORMATS[0] == "auto"
    assert set(CAPTION_FORMATS) <= set(FORMATS)


@pytest.mark.parametrize(
    ("command", "formats"),
    [("eval", FORMATS), ("zeroshot", FORMATS), ("align-train", CAPTION_FORMATS)],
)
def test_cli_format_choices_are_the_registry(
    runner: CliRunner, command: str, formats: tuple[str, ...]
) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"--format <{'|'.join(formats)}>" in result.output
