"""Runtime helpers: handing freed memory back to the system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from finsta_cli.runtime import _malloc_trim, release_freed_memory


def _resident_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(
    not Path("/proc/self/statm").is_file() or _malloc_trim() is None,
    reason="needs Linux and a C library with malloc_trim (glibc)",
)
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    # 150 MB of 100 kB blocks (on the heap, under malloc's mmap threshold), each followed by a
    # small block that stays: freeing the large ones leaves holes malloc keeps resident.
    large, small = [], []
    for _ in range(1500):
        large.append(bytearray(100_000))
        small.append(bytearray(200))
    del large
    kept = _resident_mib()
    release_freed_memory()
    assert _resident_mib() < kept - 50
    assert len(small) == 1500
