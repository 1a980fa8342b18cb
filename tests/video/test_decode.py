"""Tests of finsta_cli/video/decode.py: finding videos, sampling, decoding, bad files, prefetch."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.jsonl import BadInput
from finsta_cli.video.decode import (
    DecodeFailure,
    DecodeOptions,
    FrameChunk,
    PrefetchingReader,
    VideoSource,
    auto_decode_workers,
    decode_size,
    discover_videos,
    iter_chunks,
    sample_indices,
    video_items,
)
from tests.video.helpers import make_mp4


def _item(path: Path, kind: str = "video") -> object:
    return next(video_items([VideoSource(path.stem, path, kind)]))  # type: ignore[arg-type]


def test_uniform_sampling_takes_segment_centres() -> None:
    assert sample_indices(32, 8.0, frames=16) == list(range(1, 32, 2))
    assert sample_indices(100, 25.0, frames=4) == [12, 37, 62, 87]


def test_short_video_gives_all_frames() -> None:
    assert sample_indices(5, 8.0, frames=16) == [0, 1, 2, 3, 4]
    assert sample_indices(0, 8.0, frames=16) == []


def test_fps_sampling_steps_by_time() -> None:
    assert sample_indices(50, 25.0, fps=5.0) == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    # asking for more frames a second than the video has gives every frame
    assert sample_indices(4, 2.0, fps=10.0) == [0, 1, 2, 3]


def test_decode_size_keeps_aspect_and_never_enlarges() -> None:
    assert decode_size(1280, 720, 256) == (256, 144)
    assert decode_size(100, 50, 256) == (100, 50)
    assert decode_size(300, 300, 0) == (300, 300)


def test_discover_folders_frame_dumps_and_manifests(tmp_path: Path) -> None:
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    make_mp4(tmp_path / "a" / "clip.mp4", 3)
    make_mp4(tmp_path / "a" / "sub" / "other.mp4", 3)
    (tmp_path / "a" / "notes.txt").write_text("not a video")
    dump = tmp_path / "a" / "dump"
    dump.mkdir()
    Image.new("RGB", (8, 8)).save(dump / "0001.jpg")
    make_mp4(tmp_path / "b" / "clip.mp4", 3)
    found = discover_videos([tmp_path])
    assert [(s.id, s.kind) for s in found] == [
        ("a/clip", "video"),
        ("dump", "frames"),
        ("other", "video"),
        ("b/clip", "video"),
    ]
    manifest = tmp_path / "videos.jsonl"
    manifest.write_text(json.dumps({"id": "x1", "path": "a/clip.mp4"}) + "\n")
    [source] = discover_videos([manifest])
    assert source == VideoSource("x1", tmp_path / "a" / "clip.mp4", "video")
    # a frame folder given directly is one video; a missing path is kept to fail as an item
    assert discover_videos([dump]) == [VideoSource("dump", dump, "frames")]
    assert discover_videos([tmp_path / "gone.mp4"])[0].id == "gone"
    with pytest.raises(UsageError):
        discover_videos([])


def test_a_stray_image_beside_videos_is_warned_about_not_taken_as_a_video(
    tmp_path: Path,
) -> None:
    videos = tmp_path / "videos"
    (videos / "sub").mkdir(parents=True)
    make_mp4(videos / "sub" / "clip.mp4", 3)
    Image.new("RGB", (8, 8)).save(videos / "cover.jpg")
    warnings: list[str] = []
    # The videos are in a subfolder: the folder still holds videos, so it is no frame dump.
    assert discover_videos([videos], on_warning=warnings.append) == [
        VideoSource("clip", videos / "sub" / "clip.mp4", "video")
    ]
    [warning] = warnings
    assert warning.startswith(f"{videos}: 1 image file(s) left out (cover.jpg)")
    # Beside a video in the same folder too.
    make_mp4(videos / "top.mp4", 3)
    warnings.clear()
    found = discover_videos([videos], on_warning=warnings.append)
    assert [(s.id, s.kind) for s in found] == [("clip", "video"), ("top", "video")]
    assert len(warnings) == 1 and "cover.jpg" in warnings[0]
    # A frame dump holding a video is not a frame dump either (given directly or found).
    dump = tmp_path / "dump"
    dump.mkdir()
    Image.new("RGB", (8, 8)).save(dump / "0001.jpg")
    make_mp4(dump / "odd.mp4", 3)
    warnings.clear()
    assert discover_videos([dump], on_warning=warnings.append) == [
        VideoSource("odd", dump / "odd.mp4", "video")
    ]
    assert "0001.jpg" in warnings[0]


def test_inputs_without_videos_are_a_usage_error_naming_them(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "deeper").mkdir(parents=True)
    (empty / "notes.txt").write_text("no video here")
    with pytest.raises(UsageError) as info:
        discover_videos([empty])
    assert info.value.message == f"no videos found in {empty}"
    assert info.value.exit_code == 2
    manifest = tmp_path / "none.jsonl"
    manifest.write_text("")
    with pytest.raises(UsageError, match=r"no videos found in .*none\.jsonl"):
        discover_videos([manifest], lambda failure: None)
    # Beside inputs that hold videos, an empty folder is warned about and left out.
    clip = make_mp4(tmp_path / "clip.mp4", 3)
    warnings: list[str] = []
    assert discover_videos([empty, clip], on_warning=warnings.append) == [
        VideoSource("clip", clip, "video")
    ]
    assert warnings == [f"{empty}: no videos found in it; left out"]


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    make_mp4(tmp_path / "clip.mp4", 2)
    sources = [VideoSource("clip", tmp_path / "clip.mp4", "video")] * 2
    with pytest.raises(UsageError, match="two videos have the id"):
        list(video_items(sources))


def test_repeated_ids_and_bad_manifest_lines_can_fail_alone(tmp_path: Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 2)
    other = tmp_path / "other.mp4"
    bad: list[BadInput] = []
    sources = [VideoSource("clip", clip, "video")] * 2 + [VideoSource("clip", other, "video")]
    assert [item.payload.path for item in video_items(sources, bad.append)] == [clip]
    [repeated] = bad
    assert repeated.id == "clip" and repeated.source == str(other)
    assert f"{clip} (built) and {other} (left out)" in repeated.reason

    manifest = tmp_path / "videos.jsonl"
    manifest.write_text('{"id": "v", "path": "clip.mp4"}\n{"id": "w"}\n[1]\n')
    with pytest.raises(InputError, match=r"videos.jsonl:2: a manifest line needs 'path'"):
        discover_videos([manifest])
    bad.clear()
    assert discover_videos([manifest], bad.append) == [VideoSource("v", clip, "video")]
    assert [(b.id, b.source) for b in bad] == [("w", f"{manifest}:2"), (f"{manifest}:3",) * 2]
    # A manifest that cannot be read is one failure; the other inputs go on.
    manifest.write_bytes(b'{"id": "v", "path": "clip.mp4"}\n{"id": "\xff"}\n')
    bad.clear()
    assert discover_videos([manifest, clip], bad.append) == [VideoSource("clip", clip, "video")]
    assert [b.id for b in bad] == [str(manifest)] and "not UTF-8" in bad[0].reason


def test_decode_in_chunks_with_resize(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "clip.mp4", 20, size=(192, 128))
    item = _item(path)
    chunks = list(iter_chunks(item, DecodeOptions(frames=10, longest=96, chunk=4)))  # type: ignore[arg-type]
    assert [c.positions for c in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [c.last for c in chunks] == [False, False, True]
    assert chunks[0].frames.shape == (4, 64, 96, 3) and chunks[0].frames.dtype == np.uint8
    assert chunks[0].info.width == 192 and chunks[0].info.height == 128
    assert chunks[0].info.fps == pytest.approx(8.0)
    assert chunks[0].indices == [1, 3, 5, 7]
    assert chunks[0].times[1] == pytest.approx(3 / 8)
    # the red square is where it was drawn: decoding returns RGB
    frame = chunks[0].frames[0].astype(int)
    assert frame[15, (5 + 3 + 10) // 2, 0] > 150 and frame[15, (5 + 3 + 10) // 2, 1] < 90


def test_frame_folder_decodes_in_name_order(tmp_path: Path) -> None:
    for i, value in enumerate((10, 100, 200)):
        Image.new("RGB", (40, 20), (value, value, value)).save(tmp_path / f"{i + 1:04d}.png")
    item = _item(tmp_path, "frames")
    [chunk] = list(iter_chunks(item, DecodeOptions(frames=16, folder_fps=12.0)))  # type: ignore[arg-type]
    assert chunk.frames.shape == (3, 20, 40, 3)
    assert [int(f[0, 0, 0]) for f in chunk.frames] == [10, 100, 200]
    assert chunk.info.fps == 12.0


@pytest.mark.parametrize(
    ("position", "content", "reason"),
    [
        (0, b"not an image at all", "unknown or damaged image format"),
        (2, b"not an image at all", "unknown or damaged image format"),
        (2, b"", "unknown or damaged image format"),
        (2, b"\xff\xd8\xff\xe0 a JPEG header, then nothing", "not a readable image ("),
    ],
    ids=["first-garbage", "garbage", "empty", "cut-jpeg"],
)
def test_a_corrupt_frame_image_is_named_with_ultralytics_imported(
    tmp_path: Path, position: int, content: bytes, reason: str
) -> None:
    from finsta_cli.offline import import_ultralytics

    # Importing ultralytics replaces PIL's Image.open with a wrapper that answers an unknown
    # image by trying to install pi-heif ("No module named 'pi_heif'"); build-dsg imports it.
    import_ultralytics()
    for i in range(4):
        Image.new("RGB", (40, 20), (50 * i, 0, 0)).save(tmp_path / f"{i:06d}.jpg")
    bad = tmp_path / f"{position:06d}.jpg"
    bad.write_bytes(content)
    with pytest.raises(InputError) as info:
        list(iter_chunks(_item(tmp_path, "frames"), DecodeOptions(frames=4)))  # type: ignore[arg-type]
    assert info.value.message.startswith(f"{bad}: not a readable image (")
    assert reason in info.value.message and "pi_heif" not in info.value.message


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("zero.mp4", b"", "empty file"),
        ("text.mp4", b"this is not a video at all\n" * 10, "not a video"),
        ("noise.avi", bytes(range(256)) * 40, "not a video"),
    ],
)
def test_bad_files_name_the_file_and_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason) as info:
        list(iter_chunks(_item(path), DecodeOptions()))  # type: ignore[arg-type]
    assert str(path) in info.value.message


def test_truncated_and_missing_files_fail_clearly(tmp_path: Path) -> None:
    good = make_mp4(tmp_path / "good.mp4", 24)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError) as info:
        list(iter_chunks(_item(cut), DecodeOptions()))  # type: ignore[arg-type]
    assert "cut.mp4" in info.value.message
    with pytest.raises(InputError) as missing:
        list(iter_chunks(_item(tmp_path / "gone.mp4"), DecodeOptions()))  # type: ignore[arg-type]
    assert missing.value.message == f"not found: {tmp_path / 'gone.mp4'}"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_fails_clearly(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "locked.mp4", 4)
    path.chmod(0)
    try:
        with pytest.raises(InputError, match="cannot read"):
            list(iter_chunks(_item(path), DecodeOptions()))  # type: ignore[arg-type]
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_prefetching_reader_keeps_order_and_reports_failures(tmp_path: Path, workers: int) -> None:
    a = make_mp4(tmp_path / "a.mp4", 6)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"")
    c = make_mp4(tmp_path / "c.mp4", 3)
    items = list(video_items(discover_videos([a, bad, c])))
    reader = PrefetchingReader(items, DecodeOptions(frames=4, chunk=2), depth=1, workers=workers)
    entries = list(reader)
    kinds = [(type(e).__name__, e.item.id) for e in entries]
    assert kinds == [
        ("FrameChunk", "a"),
        ("FrameChunk", "a"),
        ("DecodeFailure", "bad"),
        ("FrameChunk", "c"),
        ("FrameChunk", "c"),
    ]
    assert isinstance(entries[2], DecodeFailure)
    last = entries[-1]
    assert isinstance(last, FrameChunk) and last.last and last.positions == [2]


@pytest.mark.parametrize("workers", [1, 3])
def test_prefetching_reader_stops_when_the_consumer_stops(tmp_path: Path, workers: int) -> None:
    a = make_mp4(tmp_path / "a.mp4", 16)
    items = list(video_items(discover_videos([a] * 1))) * 4
    reader = PrefetchingReader(items, DecodeOptions(frames=16, chunk=1), depth=1, workers=workers)
    for _ in reader:
        break  # leaving early must not hang on the worker threads
    assert not [t for t in threading.enumerate() if t.name.startswith("finsta-decode")]


def test_auto_decode_workers() -> None:
    assert [auto_decode_workers(n) for n in (1, 2, 4, 8, 16, 64)] == [1, 1, 1, 2, 4, 4]
