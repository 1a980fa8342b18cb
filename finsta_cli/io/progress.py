"""The one progress display and log set-up: rich, on stderr, silent when not a terminal or quiet."""

from __future__ import annotations

import logging
from types import TracebackType

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

LOGGER_NAME = "finsta"
_stderr_console: Console | None = None


def stderr_console() -> Console:
    """The shared rich console on stderr (stdout is kept for machine-readable output)."""
    global _stderr_console
    if _stderr_console is None:
        _stderr_console = Console(stderr=True)
    return _stderr_console


def setup_logging(*, verbose: bool = False, quiet: bool = False) -> logging.Logger:
    """Configure the ``finsta`` logger: INFO by default, DEBUG with -v, WARNING with -q."""
    logger = logging.getLogger(LOGGER_NAME)
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logger.setLevel(level)
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(
            console=stderr_console(), show_time=False, show_path=False, markup=False
        )
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``finsta`` logger or one of its children."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


class ItemsPerSecondColumn(ProgressColumn):
    """Items finished per second (over every worker, since the driver counts them all)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.1f} items/s", style="progress.data.speed")


class StageProgress:
    """A progress bar for a stage; a no-op when quiet or when stderr is not a terminal."""

    def __init__(self, description: str, total: int | None = None, *, quiet: bool = False):
        console = stderr_console()
        self.enabled = not quiet and console.is_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                ItemsPerSecondColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total, status="")

    def __enter__(self) -> StageProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def advance(self, steps: int = 1, *, status: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            if status is None:
                self._progress.advance(self._task, steps)
            else:
                self._progress.update(self._task, advance=steps, status=status)

    def set_total(self, total: int | None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
