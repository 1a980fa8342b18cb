"""Output file names derived from item ids, safely: nothing can be written outside ``--out``."""

from __future__ import annotations

import re
from pathlib import Path

from finsta_cli.errors import InputError
from finsta_cli.io.hashing import hash_text

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOT_RUNS = re.compile(r"\.{2,}")
_UNDERSCORE_RUNS = re.compile(r"_{2,}")
_MAX_STEM = 120


def safe_name(item_id: str) -> str:
    """Map an item id to a file-name stem that stays inside its folder.

    An id made only of ``A-Z a-z 0-9 . _ -`` that does not start with a dot is kept as is, so
    ``video_0001`` stays ``video_0001``. Any other id (``../../etc/x``, ``a/b``, ``clip 1``, a
    leading dot, over 120 characters) has each run of other characters and of dots replaced by
    ``_``, leading and trailing dots and underscores dropped, and a 10-character hash of the
    original id appended, so that two distinct ids never share a name:
    ``../../etc/x`` -> ``etc_x-<hash>``.
    """
    if not item_id:
        raise InputError("an item id is empty: every item needs a non-empty id")
    if (
        _UNSAFE.search(item_id) is None
        and not item_id.startswith(".")
        and len(item_id) <= _MAX_STEM
    ):
        return item_id
    cleaned = _DOT_RUNS.sub("_", _UNSAFE.sub("_", item_id))
    cleaned = _UNDERSCORE_RUNS.sub("_", cleaned).strip("._")[: _MAX_STEM - 11] or "item"
    return f"{cleaned}-{hash_text(item_id)[:10]}"


def output_path(out_dir: str | Path, item_id: str, suffix: str) -> Path:
    """The path ``out_dir/<safe_name(item_id)><suffix>``, checked to lie inside ``out_dir``."""
    root = Path(out_dir).resolve()
    path = (root / f"{safe_name(item_id)}{suffix}").resolve()
    if path.parent != root:
        raise InputError(f"item id {item_id!r} would write outside {out_dir}")
    return path
