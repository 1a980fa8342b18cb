"""Output names from item ids never leave --out and never collide."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.io import output_path, safe_name

HOSTILE = [
    "../../etc/x",
    "../x",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "..",
    ".",
    ".hidden",
    "clip 1",
    "x" * 500,
    "ünïcode/名前",
    "a\x00b",
    "~root",
    "C:\\win",
]


@pytest.mark.parametrize("item_id", HOSTILE)
def test_hostile_ids_stay_inside_out(tmp_path: Path, item_id: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    path = output_path(out, item_id, ".json")
    assert path.parent == out.resolve()
    assert not path.name.startswith(".")
    path.write_text("ok", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_plain_ids_are_kept_and_mapped_ids_do_not_collide() -> None:
    assert safe_name("video_0001") == "video_0001"
    assert safe_name("v1.clip-2") == "v1.clip-2"
    names = {safe_name(item_id) for item_id in [*HOSTILE, "a_b", "a b", "a/b", "a:b"]}
    assert len(names) == len(HOSTILE) + 3  # "a/b" is listed twice
    assert safe_name("../../etc/x").startswith("etc_x-")


def test_empty_id_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        safe_name("")
