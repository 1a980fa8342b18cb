"""Streaming JSON Lines: one reader and one writer for every stage (``-`` is stdin/stdout)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

from finsta_cli.errors import InputError
from finsta_cli.io.atomic import atomic_open
from finsta_cli.io.finite import dumps_json

STDIO = "-"
ModelT = TypeVar("ModelT", bound=BaseModel)
Source = str | os.PathLike[str] | IO[str]
# A JSON escape of a UTF-16 surrogate: json.loads joins a valid pair into one character and
# leaves a lone one in the string, where it breaks every UTF-8 write downstream.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class BadInput:
    """An input line or file that cannot be used: a stage records it in failures.jsonl as
    ``{id, source, reason}`` and goes on with the other items."""

    id: str
    source: str
    reason: str

    @classmethod
    def at_line(
        cls, path: str | os.PathLike[str], line: int, reason: str, item_id: object = None
    ) -> BadInput:
        """Line ``line`` of ``path``: its ``source`` is ``FILE:LINE``, its reason starts with it,
        and its ``id`` is ``item_id`` when that is a usable string (else ``FILE:LINE`` too)."""
        where = f"{os.fspath(path)}:{line}"
        if isinstance(item_id, str) and item_id and find_lone_surrogate(item_id) is None:
            return cls(item_id, where, f"{where}: {reason}")
        return cls(where, where, f"{where}: {reason}")


def find_lone_surrogate(value: Any, where: str = "") -> str | None:
    """Where a string in a JSON value holds a lone UTF-16 surrogate (valid JSON, ``"\\ud800"``,
    but not Unicode text, so it cannot be written as UTF-8), or None.

    The answer reads ``lone surrogate \\ud800 at nodes.2.label, character 4``: the surrogate is
    written as its escape, so the answer can go into any message or UTF-8 file.
    """
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found is None:
            return None
        code = ascii(found.group())[1:-1]
        return f"lone surrogate {code} at {where or 'the value'}, character {found.start()}"
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return f"lone surrogate in a key of {where or 'the record'}: {key!a}"
            found_in = find_lone_surrogate(item, f"{where}.{key}" if where else key)
            if found_in is not None:
                return found_in
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found_in = find_lone_surrogate(item, f"{where}.{index}" if where else str(index))
            if found_in is not None:
                return found_in
    return None


def source_name(source: Source) -> str:
    """A printable name for a file path, ``-`` or an open handle."""
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        return "<stdin>" if text == STDIO else text
    return str(getattr(source, "name", "<stream>"))


@contextmanager
def open_text_input(source: Source) -> Iterator[IO[str]]:
    """Open a UTF-8 text input; ``-`` means standard input, an open handle is used as is."""
    if not isinstance(source, str | os.PathLike):
        yield source
        return
    if os.fspath(source) == STDIO:
        yield sys.stdin
        return
    path = Path(source)
    try:
        handle = path.open("r", encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    with handle:
        yield handle


def surrogate_reason(line: str, value: Any) -> str | None:
    """Why a JSON line's decoded ``value`` is refused for a lone surrogate, or None.

    Only ``\\uD800``-``\\uDFFF`` escapes can make one (the file itself is strict UTF-8), so a
    line without such an escape is not searched.
    """
    if "\\u" not in line or _SURROGATE_ESCAPE.search(line) is None:
        return None
    surrogate = find_lone_surrogate(value)
    return None if surrogate is None else f"not valid Unicode: {surrogate}"


def iter_jsonl(
    source: Source,
    *,
    on_error: Callable[[int, str], None] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSONL file, lazily.

    A line that is not a JSON object, or whose strings hold a lone surrogate (``"\\ud800"``:
    valid JSON, but no Unicode text can hold it), raises :class:`InputError` naming the file and
    line, unless ``on_error(line_number, reason)`` is given: then the line is reported there and
    skipped, so the other items go on.
    """
    name = source_name(source)
    with open_text_input(source) as handle:
        try:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                reason: str | None = None
                try:
                    value = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    reason = f"invalid JSON ({exc.msg} at column {exc.colno})"
                else:
                    if not isinstance(value, dict):
                        reason = f"expected a JSON object, found {type(value).__name__}"
                    else:
                        reason = surrogate_reason(line, value)
                if reason is not None:
                    if on_error is None:
                        raise InputError(f"{name}:{line_number}: {reason}")
                    on_error(line_number, reason)
                    continue
                yield line_number, value
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 text ({exc.reason})") from None


def validation_message(exc: ValidationError) -> str:
    """A one-line summary of a pydantic error: ``field.path: message; ...``."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def validate_record(value: Any, model: type[ModelT]) -> ModelT:
    """``value`` as a ``model`` record; any reason it is not one is an :class:`InputError`
    (a :class:`~finsta_cli.errors.SchemaVersionError` for another major version)."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InputError(
            f"not a valid {model.__name__} record: {validation_message(exc)}"
        ) from None


def read_records(source: Source, model: type[ModelT]) -> Iterator[ModelT]:
    """Yield the JSONL records of ``source`` validated as ``model``; errors name file and line.

    Versioned models (see :mod:`finsta_cli.schema`) refuse records of a newer major version.
    """
    name = source_name(source)
    for line_number, value in iter_jsonl(source):
        try:
            yield validate_record(value, model)
        except InputError as exc:
            raise type(exc)(f"{name}:{line_number}: {exc.message}", hint=exc.hint) from None


def to_jsonable(record: BaseModel | Mapping[str, Any]) -> Any:
    """A pydantic model or mapping as plain JSON types."""
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json")
    return dict(record)


class JsonlWriter(AbstractContextManager["JsonlWriter"]):
    """Write records as JSON Lines to a file (atomically, on close) or to stdout (``-``).

    On stdout every line is flushed at once, so the next command of a shell pipeline sees it
    while the stage is still running. A file appears only when the writer closes without error.
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = os.fspath(target)
        self.count = 0
        self._stack = ExitStack()
        self._handle: IO[str] | None = None

    @property
    def is_stdout(self) -> bool:
        return self.target == STDIO

    def __enter__(self) -> JsonlWriter:
        if self.is_stdout:
            self._handle = sys.stdout
        else:
            self._handle = self._stack.enter_context(atomic_open(self.target, "w"))
        return self

    def write(self, record: BaseModel | Mapping[str, Any]) -> None:
        if self._handle is None:
            raise RuntimeError("JsonlWriter.write called outside its with-block")
        where = "standard output" if self.is_stdout else self.target
        self._handle.write(dumps_json(to_jsonable(record), where=where) + "\n")
        if self.is_stdout:
            self._handle.flush()
        self.count += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._handle = None
        return self._stack.__exit__(exc_type, exc, tb)
