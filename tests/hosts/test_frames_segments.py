"""Tests of segment sampling in finsta_cli/hosts/frames.py: minutes-long videos made here, the
frames of a segment sampled in it only, the segment part of the cache key, and decoding memory
that does not grow with the video's length."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from finsta_cli.errors import InputError
from finsta_cli.hosts.frames import (
    decode_host_frames,
    frame_cache_key,
    iter_host_frames,
    segment_indices,
)
from tests.helpers import repo_env
from tests.hosts.long_video import marked_video

FPS = 4
FRAMES, SIZE = 8, 32


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four minutes at 4 fps (960 frames), red from 60 s to 90 s, blue elsewhere."""
    folder = tmp_path_factory.mktemp("long")
    return marked_video(folder / "long.mp4", 240, FPS, (60.0, 90.0), (64, 48))


def test_segment_frames_lie_in_the_segment(long_video: Path) -> None:
    frames, indices, length = decode_host_frames(long_video, FRAMES, SIZE, (60.0, 90.0))
    assert length == 240 * FPS and frames.shape == (FRAMES, SIZE, SIZE, 3)
    times = [i / FPS for i in indices.tolist()]
    assert all(60.0 <= t < 90.0 for t in times) and len(set(times)) == FRAMES
    assert times[-1] - times[0] > 20  # spread over the segment, not its start
    # what was decoded is the red part: red high, blue low in every frame
    red, blue = frames[..., 0].float().mean((1, 2)), frames[..., 2].float().mean((1, 2))
    assert bool((red > 150).all()) and bool((blue < 50).all())
    whole, whole_indices, _ = decode_host_frames(long_video, FRAMES, SIZE)
    assert whole_indices.tolist()[-1] / FPS > 200  # without a segment: the whole video
    assert float(whole[..., 2].float().mean()) > float(whole[..., 0].float().mean())


def test_segment_indices_edges() -> None:
    # 7.2 s x 25 fps is 180.00000000000003: frame 180 is the first one shown
    assert segment_indices(1000, 25.0, 4, (7.2, 7.3)) == [180, 181, 182]  # 182: 7.28 s
    assert segment_indices(100, 10.0, 3, (0.0, 1.0)) == [1, 5, 8]
    # past the end: cut there; shorter than a frame: the frame at its start
    assert segment_indices(100, 10.0, 2, (9.5, 30.0)) == [96, 98]
    assert segment_indices(100, 10.0, 4, (2.01, 2.02)) == [21]
    with pytest.raises(ValueError, match="starts after the video's end"):
        segment_indices(100, 10.0, 4, (10.0, 12.0))


def test_segments_by_id_and_the_cache_key(long_video: Path, tmp_path: Path) -> None:
    refs = [("whole", long_video), ("early", long_video), ("late", long_video)]
    segments = {"early": (60.0, 90.0), "late": (300.0, 310.0)}
    cache = tmp_path / "cache"
    [chunk] = list(iter_host_frames(refs, FRAMES, SIZE, cache, segments=segments))
    assert chunk.ids == ["whole", "early"]
    assert "segment [300.0:310.0] starts after the video's end (240.00 s)" in chunk.failures["late"]
    assert not torch.equal(chunk.indices[0], chunk.indices[1])
    keys = {
        frame_cache_key(long_video, FRAMES, SIZE),
        frame_cache_key(long_video, FRAMES, SIZE, (60.0, 90.0)),
        frame_cache_key(long_video, FRAMES, SIZE, (60.0, 91.0)),
    }
    assert len(keys) == 3
    assert sorted(p.stem for p in cache.iterdir()) == sorted(
        [frame_cache_key(long_video, FRAMES, SIZE),
         frame_cache_key(long_video, FRAMES, SIZE, (60.0, 90.0))]
    )  # fmt: skip
    # read back from the cache: the same frames
    [again] = list(iter_host_frames(refs[:2], FRAMES, SIZE, cache, segments=segments))
    assert torch.equal(again.frames, chunk.frames) and torch.equal(again.indices, chunk.indices)


def test_a_segment_past_the_end_is_an_input_error(long_video: Path) -> None:
    with pytest.raises(InputError, match=r"long.mp4: segment \[250.0:260.0\] starts after"):
        decode_host_frames(long_video, FRAMES, SIZE, (250.0, 260.0))


_PEAK = """
import json, resource, sys
from pathlib import Path
from finsta_cli.hosts.frames import decode_host_frames
peaks = []
for path in sys.argv[1:]:
    frames, indices, length = decode_host_frames(Path(path), 8, 32, (60.0, 70.0))
    peaks.append([length, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss])
print(json.dumps(peaks))
"""


def test_decoding_memory_does_not_grow_with_the_length(tmp_path: Path) -> None:
    # 160 x 120 frames, 57.6 KB each decoded: the 8-minute video holds 1,920 of them (110 MB;
    # decoding them all raises the peak by that much), the 2-minute one 480. The peak after
    # decoding a segment of each is the same (it grows by about 1 MB).
    short = marked_video(tmp_path / "short.mp4", 120, FPS, (60.0, 70.0), (160, 120))
    long = marked_video(tmp_path / "long.mp4", 480, FPS, (60.0, 70.0), (160, 120))
    run = subprocess.run(
        [sys.executable, "-c", _PEAK, str(short), str(long)],
        capture_output=True, text=True, env=repo_env(), timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (short_length, short_peak), (long_length, long_peak) = json.loads(run.stdout)
    assert (short_length, long_length) == (480, 1920)
    assert long_peak - short_peak < 40 * 1024  # KB: far below the long video's frames
