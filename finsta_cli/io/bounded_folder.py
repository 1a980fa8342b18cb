"""A cache folder of files kept under a size bound: the least recently used files go first.

:class:`BoundedFolder` holds files by name (a name may have one folder part: ``ab/abcd.pt``).
Every file is written atomically (:func:`~finsta_cli.io.atomic.atomic_open`), so a reader sees
a whole file or none; a file that cannot be read (damaged, truncated, foreign) is the caller's
miss, and :meth:`BoundedFolder.discard` removes it. A read marks a file as used by setting its
modification time to now (access times are unreliable: ``relatime`` and ``noatime`` mounts).

The bound: the folder's total size is kept in a small ledger (``.usage``), updated under an
exclusive ``flock`` by every writer, so processes sharing the folder count each other's files.
When a write takes the total past the bound, the folder is scanned (which also corrects the
ledger for files removed by hand) and the least recently used files are removed until 80 % of the
bound is left; the file just written goes only if it alone is larger than the bound. A bound of 0
turns the folder off: nothing is read or written. Temporary files that a killed writer left are
removed by the scan once they are an hour old. A file being read while another process removes
it stays readable to the reader (POSIX); one removed before it is opened is a miss.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from finsta_cli.io.atomic import atomic_write_bytes
from finsta_cli.io.progress import get_logger

try:  # POSIX; elsewhere the ledger is updated without a lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = get_logger("cache")

MIB = 1 << 20
LEDGER = ".usage"  # the folder's total size in bytes, updated under a lock
PRUNE_TO = 0.8  # after a prune, this share of the bound is left
STALE_TEMPORARY_S = 3600.0  # a temporary file this old belongs to a writer that died


def megabytes_from_env(name: str, default: float) -> float:
    """The size in MB that ``$name`` sets (default when unset, empty or not a number; negative
    counts as 0)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return max(0.0, float(raw))
    except ValueError:
        log.warning("$%s=%r is not a number of MB: using %s", name, raw, default)
        return default


class BoundedFolder:
    """Files by name in ``folder``, at most ``limit_mb`` MB of them (module docstring)."""

    def __init__(self, folder: Path, limit_mb: float) -> None:
        self.folder = Path(folder)
        self.limit_bytes = round(limit_mb * MIB)
        self._warned = False  # about a write that failed

    @classmethod
    def from_env(cls, folder: Path, variable: str, default_mb: float) -> BoundedFolder:
        """A folder bounded by ``$variable`` MB (``default_mb`` when unset; 0: off)."""
        return cls(folder, megabytes_from_env(variable, default_mb))

    @property
    def enabled(self) -> bool:
        return self.limit_bytes > 0

    def path(self, name: str) -> Path:
        return self.folder / name

    # -- reading ----------------------------------------------------------------------------
    def use(self, name: str) -> Path | None:
        """The file of ``name``, marked as just used; None when absent or the folder is off."""
        if not self.enabled:
            return None
        path = self.path(name)
        try:
            os.utime(path)
        except OSError:  # absent, or removed meanwhile
            return None
        return path

    def read_bytes(self, name: str) -> bytes | None:
        """The bytes of ``name`` (marked as used), or None: absent, unreadable, or off."""
        path = self.use(name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def names(self, pattern: str = "*") -> list[str]:
        """The names of the files matching ``pattern`` (a glob relative to the folder), oldest
        use first; folders, temporary and ledger files are not listed."""
        if not self.enabled or not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(pattern):
            if path.name.startswith("."):
                continue
            with suppress(OSError):
                info = path.stat()
                if stat.S_ISREG(info.st_mode):
                    found.append((info.st_mtime_ns, path.relative_to(self.folder).as_posix()))
        return [name for _, name in sorted(found)]

    def discard(self, name: str) -> None:
        """Remove an entry that could not be read (the next write of it replaces it anyway)."""
        path = self.path(name)
        with suppress(OSError):
            size = path.stat().st_size
            path.unlink()
            self._count(-size)

    # -- writing ----------------------------------------------------------------------------
    def write_bytes(self, name: str, data: bytes) -> bool:
        """Store ``data`` as ``name`` atomically; whether it was kept (False: the folder is off,
        cannot be written, or the entry alone is larger than the bound)."""
        return self.store(name, lambda path: atomic_write_bytes(path, data))

    def store(self, name: str, write: Callable[[Path], None]) -> bool:
        """Store the file that ``write(path)`` writes atomically at ``path`` (e.g.
        :func:`~finsta_cli.io.torchfile.save_torch_file`), then keep the bound. A folder that
        cannot be written is warned about, not fatal: the cache is only slower."""
        if not self.enabled:
            return False
        path = self.path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                before = path.stat().st_size  # replaced: its size leaves the total
            except FileNotFoundError:
                before = 0
            write(path)
            size = path.stat().st_size
        except OSError as exc:
            if not self._warned:  # once: a folder that cannot be written fails every time
                log.warning("could not keep %s in the cache %s (%s)", name, self.folder, exc)
                self._warned = True
            return False
        return self._count(size - before, written=path)

    def size(self) -> int:
        """The total size of the files (scanned, not the ledger)."""
        return sum(size for _, size, _ in self._scan())

    # -- the bound --------------------------------------------------------------------------
    @contextmanager
    def _ledger(self) -> Iterator[IO[str]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / LEDGER).open("a+", encoding="utf-8") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
            handle.seek(0)
            yield handle

    def _count(self, change: int, written: Path | None = None) -> bool:
        """Add ``change`` bytes to the ledger and prune past the bound; whether ``written`` is
        still there."""
        try:
            with self._ledger() as handle:
                text = handle.read().strip()
                total = int(text) + change if text.isdigit() else None
                if total is None or total > self.limit_bytes:
                    total = self._prune(written)
                handle.seek(0)
                handle.truncate()
                handle.write(f"{max(total, 0)}\n")
        except OSError as exc:
            log.warning("could not keep the size of the cache %s (%s)", self.folder, exc)
        return written is None or written.exists()

    def _scan(self) -> list[tuple[Path, int, int]]:
        """(path, size, last use in ns) of every entry; stale temporaries are removed."""
        found: list[tuple[Path, int, int]] = []
        if not self.folder.is_dir():
            return found
        stale = time.time_ns() - int(STALE_TEMPORARY_S * 1e9)
        folders = [self.folder]
        while folders:
            for entry in os.scandir(folders.pop()):
                with suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                        continue
                    info = entry.stat(follow_symlinks=False)
                    if entry.name.startswith("."):
                        if entry.name.endswith(".tmp") and info.st_mtime_ns < stale:
                            os.unlink(entry.path)  # a writer that died left it
                        continue
                    found.append((Path(entry.path), info.st_size, info.st_mtime_ns))
        return found

    def _prune(self, written: Path | None) -> int:
        """Remove the least recently used files until :data:`PRUNE_TO` of the bound is left
        (``written`` last, only when it alone exceeds the bound); the total left."""
        files = self._scan()
        total = sum(size for _, size, _ in files)
        if total <= self.limit_bytes:
            return total
        target = int(self.limit_bytes * PRUNE_TO)
        # Oldest use first; the file just written is the newest whatever the clocks say.
        files.sort(key=lambda item: (item[0] == written, item[2]))
        for path, size, _ in files:
            if total <= target or (path == written and total <= self.limit_bytes):
                break
            with suppress(FileNotFoundError):  # another process removed it first
                path.unlink()
            total -= size
        return total


__all__ = ["BoundedFolder", "megabytes_from_env"]
