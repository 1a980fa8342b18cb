"""Exit codes and the error types that the CLI maps onto them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes shared by every finsta command (DESIGN §2)."""

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
