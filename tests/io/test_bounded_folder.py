"""The bounded cache folder: least recently used eviction, the bound kept, 0 turns it off,
damaged entries are misses, and processes writing at once neither break files nor the bound."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import time
from pathlib import Path

import pytest

from finsta_cli.io.bounded_folder import MIB, BoundedFolder, megabytes_from_env


def _age(folder: BoundedFolder, names: list[str]) -> None:
    """Give the files distinct last uses in the past, in the order of ``names``."""
    start = time.time_ns() - 100 * 10**9
    for n, name in enumerate(names):
        os.utime(folder.path(name), ns=(start + n * 10**9, start + n * 10**9))


def test_the_least_recently_used_files_go_first(tmp_path: Path) -> None:
    folder = BoundedFolder(tmp_path / "cache", 10_000 / MIB)
    for name in ("a", "b", "c"):
        assert folder.write_bytes(name, bytes(3000))
    _age(folder, ["a", "b", "c"])
    assert folder.read_bytes("a") == bytes(3000)  # a used again: now the newest
    assert folder.names() == ["b", "c", "a"]
    assert folder.write_bytes("sub/d", bytes(3000))  # 12,000 > 10,000: prune to 8,000
    assert folder.names("**/*") == ["a", "sub/d"]
    assert folder.size() == 6000


def test_the_bound_is_kept_and_an_entry_larger_than_it_is_not(tmp_path: Path) -> None:
    folder = BoundedFolder(tmp_path, 50_000 / MIB)
    rng = random.Random(0)
    for n in range(60):
        folder.write_bytes(f"{n:02d}", bytes(rng.randint(100, 9000)))
        assert folder.size() <= 50_000
    newest = folder.names()[-1]
    assert newest == "59"  # the file just written stays
    assert not folder.write_bytes("huge", bytes(60_000))  # alone past the bound
    assert not folder.path("huge").exists() and folder.size() <= 50_000
    assert (tmp_path / ".usage").read_text().strip() == str(folder.size())  # the ledger agrees


def test_a_bound_of_zero_turns_the_folder_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSTA_TEST_CACHE_MB", "0")
    folder = BoundedFolder.from_env(tmp_path / "off", "FINSTA_TEST_CACHE_MB", 64)
    assert not folder.enabled
    assert not folder.write_bytes("a", b"x")
    assert folder.read_bytes("a") is None and folder.use("a") is None and folder.names() == []
    assert not (tmp_path / "off").exists()
    monkeypatch.setenv("FINSTA_TEST_CACHE_MB", "not a number")
    assert megabytes_from_env("FINSTA_TEST_CACHE_MB", 64) == 64
    monkeypatch.delenv("FINSTA_TEST_CACHE_MB")
    assert BoundedFolder.from_env(tmp_path, "FINSTA_TEST_CACHE_MB", 2).limit_bytes == 2 * MIB


def test_a_missing_or_discarded_entry_is_a_miss_and_leaves_the_ledger(tmp_path: Path) -> None:
    folder = BoundedFolder(tmp_path, 1)
    assert folder.read_bytes("absent") is None
    folder.write_bytes("a", bytes(500))
    folder.write_bytes("b", bytes(700))
    folder.write_bytes("a", b"trunc")  # a damaged entry is the caller's miss: it discards it
    folder.discard("a")
    assert folder.read_bytes("a") is None and folder.names() == ["b"]
    assert (tmp_path / ".usage").read_text().strip() == "700"
    stale = tmp_path / ".b.abcdefgh.tmp"  # a writer that died long ago
    stale.write_bytes(bytes(100))
    os.utime(stale, (0, 0))
    assert folder.size() == 700 and not stale.exists()


def _writer(root: str, worker: int, limit: int) -> None:
    folder = BoundedFolder(Path(root), limit / MIB)
    rng = random.Random(worker)
    for n in range(25):
        body = rng.randbytes(rng.randint(1000, 6000))
        folder.write_bytes(f"w{worker}/{n:02d}", hashlib.sha256(body).digest() + body)
        if n % 3 == 0:
            folder.read_bytes(f"w{(worker + 1) % 4}/{n:02d}")  # others' entries, maybe gone


def test_processes_writing_at_once_keep_whole_files_and_the_bound(tmp_path: Path) -> None:
    limit = 60_000
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(tmp_path), w, limit)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    folder = BoundedFolder(tmp_path, limit / MIB)
    names = folder.names("*/*")
    assert names and folder.size() <= limit
    for name in names:
        data = folder.path(name).read_bytes()
        assert hashlib.sha256(data[32:]).digest() == data[:32], name  # whole, not interleaved
    assert not [p for p in tmp_path.rglob(".*.tmp")]
