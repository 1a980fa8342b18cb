"""Tests of finsta_cli/hosts/frames.py: host frames decoded once and cached (a cache entry that
is not what the module writes, damaged, float frames holding NaN, other shapes, is decoded
again), streamed in chunks, the frames of one set, and no more than one chunk alive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from finsta_cli.hosts.frames import frame_cache_key, iter_host_frames, load_host_frames
from finsta_cli.synth.render import write_mp4
from tests.hosts.frame_count import live_decoded_videos
from tests.video.helpers import make_mp4

FRAMES, SIZE = 4, 32


def _videos(folder: Path, count: int) -> list[tuple[str, Path | None]]:
    """``count`` small mp4s, each its own shade of grey with a square at its own place."""
    folder.mkdir(parents=True, exist_ok=True)
    refs: list[tuple[str, Path | None]] = []
    for k in range(count):
        images = []
        for t in range(6):
            image = np.full((64, 64, 3), 20 + 30 * k, np.uint8)
            image[4:12, 2 * k + t : 2 * k + t + 8] = (220, 30, 30)
            images.append(image)
        path = folder / f"v{k}.mp4"
        write_mp4(path, images, 8)
        refs.append((f"v{k}", path))
    return refs


def test_chunks_are_the_one_set_cut_by_decoded_video(tmp_path: Path) -> None:
    refs = _videos(tmp_path / "videos", 5)
    # v2 and the last one are missing: they fail without shifting the chunks.
    refs = [*refs[:2], ("gone", None), *refs[2:], ("lost", tmp_path / "lost.mp4")]
    whole = load_host_frames(refs, FRAMES, SIZE)
    assert whole.ids == ["v0", "v1", "v2", "v3", "v4"] and set(whole.failures) == {"gone", "lost"}
    seen = []
    chunks = list(iter_host_frames(refs, FRAMES, SIZE, progress=seen.append, chunk=2))
    assert [c.ids for c in chunks] == [["v0", "v1"], ["v2", "v3"], ["v4"]]
    assert [set(c.failures) for c in chunks] == [set(), {"gone"}, {"lost"}]
    assert len(seen) == len(refs)
    assert torch.equal(torch.cat([c.frames for c in chunks]), whole.frames)
    assert torch.equal(torch.cat([c.indices for c in chunks]), whole.indices)
    assert torch.equal(torch.cat([c.lengths for c in chunks]), whole.lengths)
    assert [c.position(c.ids[-1]) for c in chunks] == [1, 1, 0]
    # a chunk that divides the videos leaves no empty set behind; a trailing failure has one
    assert [c.ids for c in iter_host_frames(refs[:2], FRAMES, SIZE, chunk=2)] == [["v0", "v1"]]
    tail = list(iter_host_frames(refs[:3], FRAMES, SIZE, chunk=2))
    assert tail[-1].ids == [] and tail[-1].frames.shape == (0, FRAMES, SIZE, SIZE, 3)
    assert set(tail[-1].failures) == {"gone"}


def test_one_set_of_frames_is_alive_at_a_time(tmp_path: Path) -> None:
    refs = _videos(tmp_path / "videos", 5)
    alive = []
    for chunk in iter_host_frames(refs, FRAMES, SIZE, chunk=2):
        alive.append(live_decoded_videos(FRAMES, SIZE))
        assert alive[-1] == len(chunk.ids), alive  # the set's own videos, nothing left over
        del chunk
    assert alive == [2, 2, 1]
    whole = load_host_frames(refs, FRAMES, SIZE)
    assert live_decoded_videos(FRAMES, SIZE) == len(whole.ids) == 5  # the count sees them all


def test_a_chunk_holds_at_least_one_video(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk must be at least 1"):
        next(iter_host_frames(_videos(tmp_path, 1), FRAMES, SIZE, chunk=0))


def test_cache_entries_that_are_not_uint8_frames_are_decoded_again(tmp_path: Path) -> None:
    video = make_mp4(tmp_path / "clip.mp4", frames=12)
    cache = tmp_path / "cache"
    first = load_host_frames([("clip", video)], 4, 32, cache)
    assert first.failures == {} and first.frames.dtype == torch.uint8
    entry = cache / f"{frame_cache_key(video, 4, 32)}.pt"
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
