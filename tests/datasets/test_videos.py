"""Tests of finsta_cli/datasets/videos.py: frame folders, and the path of an absent video."""

from __future__ import annotations

from pathlib import Path

from finsta_cli.datasets import load_task_dataset
from tests.datasets.helpers import write_jsonl


def test_frame_folders_count_as_videos(tmp_path: Path) -> None:
    # A frame dump (a folder of images) is a video, as in build-dsg; an empty folder is not.
    frames = tmp_path / "videos" / "a"
    frames.mkdir(parents=True)
    (frames / "000000.jpg").write_bytes(b"")
    (tmp_path / "videos" / "b").mkdir()
    write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"video_id": "a", "video": "videos/a", "caption": "a cube"},
            {"video_id": "b", "video": "videos/b", "caption": "a ball"},
            {"video_id": "c", "caption": "a cone"},
        ],
    )
    data = load_task_dataset(tmp_path, "test")
    assert data.videos["a"].path == frames
    assert data.videos["b"].path is None
    assert data.videos["c"].path is None
    (tmp_path / "videos" / "c").mkdir()
    (tmp_path / "videos" / "c" / "1.png").write_bytes(b"")
    data = load_task_dataset(tmp_path, "test", video_root=tmp_path / "videos")
    assert data.videos["c"].path == tmp_path / "videos" / "c"


def test_absent_videos_keep_the_path_looked_for(tmp_path: Path) -> None:
    # "not found: PATH" needs the path: the named file, else the first one looked for.
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "here.mp4").write_bytes(b"")
    write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"video_id": "named", "video": "clips/named.mp4", "caption": "a cube"},
            {"video_id": "here", "caption": "a ball"},
            {"video_id": "gone", "caption": "a cone"},
        ],
    )
    data = load_task_dataset(tmp_path, "test", video_root=tmp_path / "videos")
    assert data.video_root == tmp_path / "videos"
    named, here, gone = (data.videos[v] for v in ("named", "here", "gone"))
    assert (named.path, named.location) == (None, tmp_path / "videos" / "clips" / "named.mp4")
    assert (here.path, here.expected) == (tmp_path / "videos" / "here.mp4", None)
    assert (gone.path, gone.location) == (None, tmp_path / "videos" / "gone.mp4")
    # Without a video root, a video named by id alone was looked for nowhere.
    bare = load_task_dataset(tmp_path, "test")
    assert bare.video_root is None and bare.videos["gone"].location is None
    assert bare.videos["named"].location == tmp_path / "clips" / "named.mp4"
