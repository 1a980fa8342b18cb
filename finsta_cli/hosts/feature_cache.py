"""Memo of frozen towers' outputs: a bounded in-memory LRU per process, mirrored on disk.

A frozen pretrained tower gives the same output for the same input every time, and training reads
the same few hundred videos and captions for hundreds of steps, so the ``lite`` host computes
each input's tower output once and looks it up afterwards.

- Keys are content hashes (:func:`content_key`): the tower's identity (a hash of its weights
  file), the layer and settings, and the input itself (a clip's frame bytes and shape, or a
  text). A changed weights file, layer or frame size gives other keys, so an entry is never
  stale; nothing needs invalidating, old entries just age out.
- Memory: one LRU for the process (:func:`feature_cache`), bounded by
  ``$FINSTA_FEATURE_CACHE_MB`` (default 2048 MiB; 0 turns it off); the least recently used
  entries are dropped first. Every host of the process shares it, so the arms of ``finsta demo``
  (one process) encode each video once.
- Disk (image features only, the expensive ones): ``<cache dir>/features/<key[:2]>/<key>.pt``
  under finsta's cache folder (``$FINSTA_CACHE_DIR``, else ``~/.cache/finsta``), one file per
  clip, written atomically, read with :func:`finsta_cli.io.torchfile.load_torch_file` (plain
  tensors only); a damaged or refused file counts as a miss and is rewritten. Bounded by
  ``$FINSTA_FEATURE_DISK_CACHE_MB`` (default 8192 MiB; 0 turns it off): past it the least
  recently used files (modification time, refreshed on every hit) are removed until 80 % of the
  bound is left (:class:`~finsta_cli.io.bounded_folder.BoundedFolder`, whose size ledger the
  processes sharing the folder update together). Removing the folder is always safe.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

from torch import Tensor

from finsta_cli.io.bounded_folder import MIB, BoundedFolder, megabytes_from_env
from finsta_cli.io.torchfile import load_torch_file, save_torch_file

MEMORY_ENV = "FINSTA_FEATURE_CACHE_MB"
DISK_ENV = "FINSTA_FEATURE_DISK_CACHE_MB"
DEFAULT_MEMORY_MB = 2048
DEFAULT_DISK_MB = 8192
DISK_FOLDER = "features"


def _megabytes(name: str, default: int) -> int:
    return int(megabytes_from_env(name, default) * MIB)


def content_key(*parts: str | bytes | Tensor) -> str:
    """A hex key of strings, bytes and tensors (a tensor counts with its dtype and shape)."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, Tensor):
            array = part.detach().cpu().contiguous().numpy()
            digest.update(f"<{part.dtype}{tuple(part.shape)}>".encode())
            digest.update(array.tobytes() if not array.flags.c_contiguous else array.data)
        elif isinstance(part, str):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        else:
            digest.update(part)
            digest.update(b"\x00")
    return digest.hexdigest()


class MemoryCache:
    """A least-recently-used map of key -> tensor, bounded by the tensors' bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[str, Tensor] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Tensor | None:
        value = self.entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: str, value: Tensor) -> None:
        size = value.numel() * value.element_size()
        if size > self.max_bytes:
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old.numel() * old.element_size()
        self.entries[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.bytes -= dropped.numel() * dropped.element_size()

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


class DiskCache:
    """Tensors as files ``<folder>/<key[:2]>/<key>.pt``, bounded by their total size (a
    :class:`~finsta_cli.io.bounded_folder.BoundedFolder`)."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.files = BoundedFolder(folder, max_bytes / MIB)

    @staticmethod
    def _name(key: str) -> str:
        return f"{key[:2]}/{key}.pt"

    def get(self, key: str) -> Tensor | None:
        path = self.files.use(self._name(key))  # recently used: pruned last
        if path is None:
            return None
        try:
            payload = load_torch_file(path, unreadable="not a feature cache entry")
            value = payload["value"]
        except Exception:  # damaged, refused, foreign or removed meanwhile: a miss
            return None
        return value if isinstance(value, Tensor) else None

    def put(self, key: str, value: Tensor) -> None:
        # A cache that cannot be written (full disk, read-only) is only slower.
        payload = {"value": value.contiguous()}
        self.files.store(self._name(key), lambda path: save_torch_file(path, payload))


class FeatureCache:
    """The memory LRU in front of an optional disk cache (module docstring)."""

    def __init__(self, memory: MemoryCache, disk: DiskCache | None) -> None:
        self.memory = memory
        self.disk = disk

    def get(self, key: str, *, disk: bool = False) -> Tensor | None:
        value = self.memory.get(key) if self.memory.max_bytes else None
        if value is None and disk and self.disk is not None:
            value = self.disk.get(key)
            if value is not None and self.memory.max_bytes:
                self.memory.put(key, value)
        return value

    def put(self, key: str, value: Tensor, *, disk: bool = False) -> None:
        if self.memory.max_bytes:
            self.memory.put(key, value)
        if disk and self.disk is not None:
            self.disk.put(key, value)


_SHARED: dict[tuple[int, str, int], FeatureCache] = {}


def feature_cache() -> FeatureCache:
    """The process's cache, sized and placed by the environment in force (module docstring)."""
    from finsta_cli.offline import cache_dir

    memory_bytes = _megabytes(MEMORY_ENV, DEFAULT_MEMORY_MB)
    disk_bytes = _megabytes(DISK_ENV, DEFAULT_DISK_MB)
    folder = str(cache_dir() / DISK_FOLDER) if disk_bytes else ""
    key = (memory_bytes, folder, disk_bytes)
    cache = _SHARED.get(key)
    if cache is None:
        # Another size or folder (the environment changed): a new cache; the old one is freed.
        _SHARED.clear()
        disk = DiskCache(Path(folder), disk_bytes) if folder else None
        cache = _SHARED[key] = FeatureCache(MemoryCache(memory_bytes), disk)
    return cache
