"""Reading ``torch.save`` files without running code from them: weights_only loads, clean refusals;
and writing them atomically (:func:`save_torch_file`).

Every ``.pt`` file finsta reads goes through :func:`load_torch_file`: ``torch.load`` with
``weights_only=True``, which rebuilds tensors and plain containers and refuses any other pickled
global instead of importing and calling it. A caller may allow a few more globals (the model
layers of a detector checkpoint, :mod:`finsta_cli.video.weights`) for that one load; torch's
process-wide allow-list is set to exactly those during the load and restored afterwards, so what
one load allowed (or what a library registered) never widens another.

torch's refusal text is a paragraph with ANSI codes and the advice to retry with
``weights_only=False``, which would run the file's code; :func:`torch_error_reason` turns it into
one line naming what was refused.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from finsta_cli.errors import FinstaError, InputError

PLAIN_TENSORS = "the file carries pickled objects, not plain tensors"
NOT_TORCH_TEXT = "not a torch.save file: it starts with text"
_TEXT_PROBE = 64  # bytes read to tell a text file
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GLOBAL = re.compile(r"\bGLOBAL ([\w.]+)")
# Lines of torch's weights_only error that are advice, not the reason.
_ADVICE = (
    "Weights only load failed",
    "(1)",
    "(2)",
    "Check the documentation",
    "Please file an issue",
    "Re-running",
)


class RefusedFileError(InputError):
    """A file refused because reading it would need pickled objects outside the allowed ones."""

    def __init__(self, message: str, *, offending: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.offending = offending


def refused_global(exc: BaseException) -> str | None:
    """The pickled global (``module.name``) that torch's weights_only unpickler refused, if any."""
    found = _GLOBAL.search(_ANSI.sub("", str(exc)))
    return found.group(1) if found else None


def torch_error_reason(exc: BaseException) -> str:
    """One clean line (at most 200 characters) saying why a file could not be loaded: no ANSI
    codes, no advice to load it with ``weights_only=False``."""
    name = refused_global(exc)
    if name is not None:
        return f"{name} is not allowed"
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith(_ADVICE)]
    line = (kept or lines or [""])[0].removeprefix("WeightsUnpickler error:").strip()
    return line[:200] or type(exc).__name__


@contextmanager
def only_allowed_globals(entries: Sequence[Any] = ()) -> Iterator[None]:
    """Within the block, torch's weights_only loads accept its own defaults plus ``entries``
    (objects, or ``(object, "module.name")`` pairs) and nothing else; the process-wide allow-list
    is restored on exit."""
    import torch.serialization as serialization

    if not hasattr(serialization, "get_safe_globals"):  # torch < 2.5: no user allow-list to scope
        if entries:
            raise RuntimeError("allowing extra globals for one load needs torch >= 2.5")
        yield
        return
    before = serialization.get_safe_globals()
    serialization.clear_safe_globals()
    try:
        if entries:
            serialization.add_safe_globals(list(entries))
        yield
    finally:
        serialization.clear_safe_globals()
        if before:
            serialization.add_safe_globals(before)


def load_torch_file(
    path: Path,
    *,
    unreadable: str,
    map_location: str = "cpu",
    allowed: Sequence[Any] = (),
    refusal: str = PLAIN_TENSORS,
    refusal_hint: str | None = "re-save the tensors alone, e.g. "
    "torch.save(model.state_dict(), path)",
) -> Any:
    """``torch.load(path, weights_only=True)``, allowing ``allowed`` globals for this load only.

    A file that needs any other global is refused, never executed: :class:`RefusedFileError`
    ``"<path>: refused: <refusal> (<module.name>)"``. A damaged, missing or foreign file raises
    :class:`InputError` ``"<path>: <unreadable> (<reason>)"``.
    """
    import torch

    try:
        with only_allowed_globals(allowed):
            return torch.load(path, map_location=map_location, weights_only=True)
    except FinstaError:
        raise
    except pickle.UnpicklingError as exc:
        name = refused_global(exc)
        if name is not None:
            raise RefusedFileError(
                f"{path}: refused: {refusal} ({name})", offending=name, hint=refusal_hint
            ) from None
        raise InputError(f"{path}: {unreadable} ({_unreadable_reason(path, exc)})") from None
    except FileNotFoundError:
        raise InputError(f"{path}: {unreadable} (no such file)") from None
    except Exception as exc:  # a damaged archive raises many kinds: all mean "not readable"
        raise InputError(f"{path}: {unreadable} ({_unreadable_reason(path, exc)})") from None


def _unreadable_reason(path: Path, exc: BaseException) -> str:
    """Why a file that is not refused could not be loaded: in words for a text file (torch's
    own reason there is the first byte it could not read, e.g. ``101`` for ``e``)."""
    if _starts_with_text(path):
        return NOT_TORCH_TEXT
    return torch_error_reason(exc)


def _starts_with_text(path: Path) -> bool:
    """Whether the file's first bytes are printable UTF-8 text (a ``torch.save`` file starts
    with a zip header or a pickle's protocol byte, neither of which is)."""
    try:
        with path.open("rb") as file:
            head = file.read(_TEXT_PROBE)
    except OSError:
        return False
    if not head:
        return False
    text = head.decode("utf-8", errors="ignore")
    if len(text.encode("utf-8")) < len(head) - 3:  # only a character cut at the end may go
        return False
    return all(char.isprintable() or char in "\t\n\r" for char in text)


def save_torch_file(path: Path, payload: Any) -> None:
    """``torch.save`` ``payload`` to ``path`` atomically (:func:`~finsta_cli.io.atomic.atomic_open`:
    readers see the old file or the complete new one)."""
    import torch

    from finsta_cli.io.atomic import atomic_open

    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)
