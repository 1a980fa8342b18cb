"""The progress display: items per second over every worker."""

from __future__ import annotations

import time
from io import StringIO

from rich.console import Console
from rich.progress import Progress

from finsta_cli.io.progress import ItemsPerSecondColumn


def test_items_per_second_column_shows_the_rate_once_items_finish() -> None:
    column = ItemsPerSecondColumn()
    progress = Progress(column, console=Console(file=StringIO()))
    task = progress.add_task("stage", total=10)
    assert column.render(progress.tasks[0]).plain == ""  # nothing finished yet
    for _ in range(3):
        time.sleep(0.05)
        progress.advance(task)
    rate = column.render(progress.tasks[0]).plain
    assert rate.endswith(" items/s") and 5.0 < float(rate.split()[0]) < 40.0
