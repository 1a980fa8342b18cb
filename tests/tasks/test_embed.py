"""Tests of finsta_cli/tasks/embed.py's inputs and config: texts files, video paths, and which
options change the embeddings (resume keys). The runs themselves: tests/cli/test_embed.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.tasks.embed import EmbedConfig, read_texts, videos_from_paths


def test_texts_of_a_text_file_and_of_jsonl(tmp_path: Path) -> None:
    lines = tmp_path / "q.txt"
    lines.write_text("  a dog runs \n\nthe cat\n", encoding="utf-8")
    assert read_texts(lines) == [("1", "a dog runs"), ("3", "the cat")]
    records = tmp_path / "q.jsonl"
    records.write_text('{"id": "x", "text": "one"}\n{"text_id": 7, "text": "two"}\n'
                       '{"text": "three"}\n')  # fmt: skip
    assert read_texts(records) == [("x", "one"), ("7", "two"), ("3", "three")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.jsonl", '{"id": "x", "text": "a"}\n{"id": "x", "text": "b"}\n', "'x' appears twice"),
        ("b.jsonl", '{"id": "x", "text": ""}\n', "b.jsonl:1: 'text' must be a non-empty"),
        ("c.jsonl", '{"id": "x", "text": "a"}\n[1]\n', "c.jsonl:2: expected a JSON object"),
        ("d.txt", "\n\n", "no texts in it"),
    ],
)
def test_bad_texts_files_are_refused(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_texts(path)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_texts(latin)


def test_video_paths_and_a_repeated_id(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(b"")
    (tmp_path / "a" / "other.mp4").write_bytes(b"")
    inputs = videos_from_paths([tmp_path / "a", tmp_path / "b" / "clip.mp4"])
    assert [(v.video_id, v.path) for v in inputs.videos] == [
        ("clip", tmp_path / "a" / "clip.mp4"),
        ("other", tmp_path / "a" / "other.mp4"),
    ]
    ((video_id, source, reason),) = inputs.bad
    assert video_id == "clip" and source == str(tmp_path / "b" / "clip.mp4")
    assert "two videos have the id 'clip'" in reason
    # the same file twice is one video, not a failure
    again = videos_from_paths([tmp_path / "b" / "clip.mp4", tmp_path / "b"])
    assert len(again.videos) == 1 and not again.bad


def test_only_options_that_change_embeddings_change_the_resume_key() -> None:
    base = EmbedConfig().output_hash()
    for runtime in (
        {"npy": True},
        {"device": "cpu"},
        {"threads": 2},
        {"video_chunk": 64},
        {"split": "val"},
    ):
        assert EmbedConfig(**runtime).output_hash() == base, runtime
    assert EmbedConfig(with_graphs=True).output_hash() != base
    assert EmbedConfig(dsg_frames=4).output_hash() != base
