"""Exit codes and the error types that the CLI maps onto them."""

from __future__ import annotations

import errno
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes shared by every finsta command (docs/architecture.md §2)."""

    OK = 0
    FATAL = 1
    USAGE = 2
    PARTIAL = 3
    MISSING_RESOURCE = 4


class FinstaError(Exception):
    """An error with a message meant for the user; the CLI prints it without a traceback."""

    exit_code: ExitCode = ExitCode.FATAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the hint when the error crosses a process boundary (a worker's result).
        return (_rebuild_error, (type(self), self.message, self.hint))


def _rebuild_error(kind: type[FinstaError], message: str, hint: str | None) -> FinstaError:
    return kind(message, hint=hint)


class UsageError(FinstaError):
    """Bad options or configuration: exit code 2."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A configuration file or option that does not fit the stage's config model."""


class InputError(FinstaError):
    """An input file that cannot be read or does not hold what it should (names the file)."""


class SchemaVersionError(InputError):
    """An artifact written by a newer finsta with an incompatible (major) schema version."""


class NonFiniteError(InputError):
    """A NaN or infinite number where finite ones are needed: in a tensor file read or about to
    be written, a training loss, an embedding or a metric bound for JSON (exit code 1)."""


class MissingResourceError(FinstaError):
    """A model, weights file, package or device that is needed but absent: exit code 4."""

    exit_code = ExitCode.MISSING_RESOURCE


class StorageFullError(FinstaError):
    """The disk or quota is full: every later write would fail too, so the run stops."""


_QUOTA = getattr(errno, "EDQUOT", None)  # not defined on every platform


def storage_full_error(error: BaseException, where: str | None = None) -> StorageFullError | None:
    """A :class:`StorageFullError` naming the file for a "no space left" / quota error, else None.

    ``where`` is the output being written when the error does not carry a file name.
    """
    if not isinstance(error, OSError) or error.errno not in (errno.ENOSPC, _QUOTA):
        return None
    path = error.filename or where
    reason = "disk quota exceeded" if error.errno == _QUOTA else "no space left on device"
    return StorageFullError(
        f"{path}: {reason}" if path else reason,
        hint="free some space (or write --out elsewhere) and run the same command again: "
        "finished items are kept and skipped",
    )
