"""The memo of frozen towers' outputs: content keys, the memory LRU's bound, the disk cache's
damaged files and pruning, and the environment's sizes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from finsta_cli.hosts.feature_cache import (
    DISK_ENV,
    MEMORY_ENV,
    DiskCache,
    MemoryCache,
    content_key,
    feature_cache,
)


def test_content_keys_see_bytes_dtype_and_shape() -> None:
    x = torch.arange(6, dtype=torch.uint8)
    assert content_key("a", x) == content_key("a", x.clone())
    assert content_key("a", x) != content_key("b", x)
    assert content_key("a", x) != content_key("a", x.view(2, 3))
    assert content_key("a", x) != content_key("a", x.to(torch.int16)[:3].view(torch.uint8))
    assert content_key("a", x.view(2, 3).t()) == content_key("a", x.view(2, 3).t().contiguous())
    assert content_key("ab", "c") != content_key("a", "bc")


def test_memory_cache_drops_the_least_recently_used_past_its_bound() -> None:
    cache = MemoryCache(max_bytes=3 * 40)  # three tensors of 10 float32
    for name in "abc":
        cache.put(name, torch.zeros(10))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", torch.zeros(10))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("d") is not None
    assert cache.bytes == 120
    cache.put("huge", torch.zeros(100))  # larger than the bound: not kept, nothing dropped
    assert cache.get("huge") is None and cache.bytes == 120


def test_disk_cache_round_trip_damage_and_pruning(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path, max_bytes=10_000)
    value = torch.arange(100, dtype=torch.float16)
    disk.put("ab12", value)
    assert torch.equal(disk.get("ab12"), value)  # type: ignore[arg-type]
    (tmp_path / "ab" / "ab12.pt").write_bytes(b"damaged")
    assert disk.get("ab12") is None  # a miss, rewritten by the next put
    assert disk.get("cd34") is None
    for i in range(20):  # each file is over 1 kB: the bound is crossed and pruned to 80 %
        disk.put(f"k{i:03d}", torch.randn(300).half())
        past = time.time() - 1000 + i
        os.utime(tmp_path / "k0" / f"k{i:03d}.pt", (past, past))
    files = sorted(p.name for p in tmp_path.rglob("*.pt"))
    total = sum(p.stat().st_size for p in tmp_path.rglob("*.pt"))
    assert total <= 10_000 and "k019.pt" in files and "k000.pt" not in files


def test_a_disk_cache_entry_that_runs_code_is_a_miss(tmp_path: Path) -> None:
    from tests.pickles import Touch

    marker = tmp_path / "MARKER"
    disk = DiskCache(tmp_path / "cache", max_bytes=10_000)
    disk.put("ab12", torch.zeros(3))
    torch.save({"value": Touch(marker)}, tmp_path / "cache" / "ab" / "ab12.pt")
    assert disk.get("ab12") is None and not marker.exists()


def test_the_environment_sizes_and_places_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FINSTA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(MEMORY_ENV, "1")
    monkeypatch.setenv(DISK_ENV, "0")
    cache = feature_cache()
    assert cache.memory.max_bytes == 1 << 20 and cache.disk is None
    assert feature_cache() is cache
    monkeypatch.setenv(DISK_ENV, "2")
    other = feature_cache()
    assert other is not cache and other.disk is not None
    assert other.disk.folder == tmp_path / "features" and other.disk.max_bytes == 2 << 20
    other.put("ff00", torch.ones(3), disk=True)
    other.memory.clear()
    assert torch.equal(other.get("ff00", disk=True), torch.ones(3))  # type: ignore[arg-type]
    assert other.get("ff00") is not None  # back in memory after the disk hit
