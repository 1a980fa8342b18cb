"""``--shard I/N``: a stable, disjoint and complete split of items by a hash of their id."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from finsta_cli.errors import UsageError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based: ``0/4`` .. ``3/4``)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise UsageError(f"shard count must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise UsageError(
                f"shard index {self.index} is outside 0..{self.count - 1}",
                hint=f"shards are numbered from 0: use --shard 0/{self.count} .. "
                f"--shard {self.count - 1}/{self.count}",
            )

    @property
    def is_whole(self) -> bool:
        return self.count == 1

    def contains(self, item_id: str) -> bool:
        """Whether ``item_id`` belongs to this shard (same answer on every machine and run)."""
        if self.count == 1:
            return True
        digest = hashlib.sha256(item_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    @property
    def tag(self) -> str:
        """A file-name tag, empty for the whole set: ``.shard-0-of-4``."""
        return "" if self.count == 1 else f".shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str | None) -> Shard:
    """Parse ``I/N`` (0-based index); ``None`` or empty means the whole set."""
    if text is None or not text.strip():
        return Shard()
    match = _SHARD.match(text)
    if match is None:
        raise UsageError(f"--shard expects I/N such as 0/4, got {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))
