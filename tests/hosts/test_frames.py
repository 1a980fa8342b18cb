"""Tests of finsta_cli/hosts/frames.py: host frames decoded once and cached; a cache entry that is
not what the module writes (damaged, float frames holding NaN, other shapes) is decoded again."""

from __future__ import annotations

from pathlib import Path

import torch

from finsta_cli.hosts.frames import _cache_key, load_host_frames
from tests.video.conftest import make_mp4


def test_cache_entries_that_are_not_uint8_frames_are_decoded_again(tmp_path: Path) -> None:
    video = make_mp4(tmp_path / "clip.mp4", frames=12)
    cache = tmp_path / "cache"
    first = load_host_frames([("clip", video)], 4, 32, cache)
    assert first.failures == {} and first.frames.dtype == torch.uint8
    entry = cache / f"{_cache_key(video, 4, 32)}.pt"
    assert entry.is_file()
    poisoned = {
        "nan-frames": {"frames": torch.full((4, 32, 32, 3), float("nan")),
                       "indices": first.indices[0], "length": 12},
        "other-size": {"frames": torch.zeros((4, 16, 16, 3), dtype=torch.uint8),
                       "indices": first.indices[0], "length": 12},
        "float-indices": {"frames": first.frames[0], "indices": first.indices[0].float(),
                          "length": 12},
    }  # fmt: skip
    for name, payload in poisoned.items():
        torch.save(payload, entry)
        again = load_host_frames([("clip", video)], 4, 32, cache)
        assert again.frames.dtype == torch.uint8, name
        assert torch.equal(again.frames, first.frames), name
        assert torch.equal(again.indices, first.indices), name
        cached = torch.load(entry, weights_only=True)  # rewritten with the decoded frames
        assert torch.equal(cached["frames"], first.frames[0]), name
