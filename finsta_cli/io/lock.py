"""Advisory locks on output folders, and the clean-up of temporary files that dead runs left.

Two runs writing the same outputs would interleave their ledgers and logs and lose records, so
every stage takes an exclusive lock on a small hidden file beside its outputs before it writes
anything (:func:`output_lock`). The lock is the operating system's (``flock``): it goes away with
the process that held it, so a run killed with SIGKILL never leaves a stale lock. The file's text
names the holder (pid, host, start time, command), and a second run that finds the lock taken
exits with that in its message.

A killed run can leave the hidden temporary files of :func:`~finsta_cli.io.atomic.atomic_open`
behind (``.NAME.XXXXXXXX.tmp``). :func:`remove_stale_temporaries` deletes them on the next start,
but only when no run holds any lock of that folder (shards may share one folder, and a live
shard's temporary file must not be touched).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from finsta_cli.errors import FinstaError
from finsta_cli.io.progress import get_logger

LOCK_STEM = ".finsta-lock"
# atomic_open's temporary files: "." + target name + "." + mkstemp's 8 random characters + ".tmp"
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
log = get_logger("lock")

try:  # POSIX; elsewhere runs are not locked (documented)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class OutputLockedError(FinstaError):
    """Another live run holds the lock on the same outputs."""


def holder_info(command: Sequence[str] | None = None) -> dict[str, Any]:
    """Who is running: pid, host, start time (UTC) and command line."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(command if command is not None else sys.argv),
    }


def _describe_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        command = " ".join(str(part) for part in info.get("command", []))
        return f"pid {info['pid']} on {info['host']}, started {info['started_at']}" + (
            f": {command}" if command else ""
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def _try_lock(handle: IO[str]) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def output_lock(path: str | os.PathLike[str], *, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    ``what`` names the outputs in the error a second run gets, e.g. ``"sgs/ (build-dsg)"``.
    """
    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        if not _try_lock(handle):
            raise OutputLockedError(
                f"{what} is being written by another finsta run ({_describe_holder(lock_path)})",
                hint=f"wait for it to finish, or write to another folder; the lock is {lock_path}",
            )
        # The holder's description, for the message of a run that finds the lock taken.
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder_info(), ensure_ascii=True) + "\n")
        handle.flush()
        try:
            yield
        finally:
            with suppress(OSError):  # an idle lock is empty, so finished runs' folders are alike
                handle.seek(0)
                handle.truncate()
    finally:
        handle.close()  # releases the lock; the file stays (removing it would race another run)


def folder_is_idle(folder: Path, held: Path | None = None) -> bool:
    """Whether no run holds a lock in ``folder``, other than ``held`` (ours)."""
    if fcntl is None:  # pragma: no cover - Windows: cannot tell, so never clean up
        return False
    for lock_path in folder.glob(f"{LOCK_STEM}*"):
        if held is not None and lock_path == held:
            continue
        try:
            handle = lock_path.open("r", encoding="utf-8")
        except OSError:
            continue
        with handle:
            if not _try_lock(handle):
                return False
    return True


def remove_stale_temporaries(
    folder: Path, *, held: Path | None = None, names: Sequence[str] | None = None
) -> int:
    """Delete atomic-write temporaries that dead runs left in ``folder`` (recursively).

    Only when :func:`folder_is_idle`; ``names`` limits it to the temporaries of those target
    file names (a stage writing one file in a shared folder). Returns how many were removed.
    """
    if not folder.is_dir() or not folder_is_idle(folder, held):
        return 0
    removed = 0
    candidates = (
        [path for name in names for path in folder.glob(f".{glob_escape(name)}.*.tmp")]
        if names is not None
        else folder.rglob(".*.tmp")
    )
    for path in candidates:
        if _TEMPORARY.match(path.name) and path.is_file():
            with suppress(OSError):
                size = path.stat().st_size
                path.unlink()
                removed += 1
                log.info("removed %s (%d bytes), left by a run that did not finish", path, size)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters matched literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


__all__ = [
    "LOCK_STEM",
    "OutputLockedError",
    "folder_is_idle",
    "holder_info",
    "output_lock",
    "remove_stale_temporaries",
]
