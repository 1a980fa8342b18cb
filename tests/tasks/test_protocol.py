"""Tests of finsta_cli/tasks/protocol.py: the card's frame-sampling sentence against what
hosts.frames decodes, the git revision (a checkout, no checkout, a copy inside another
repository), cache counting and host configs summarised. The card of whole evaluations is tested
through the CLI in tests/cli/test_protocol_card.py."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.hosts.frames import decode_host_frames, load_host_frames
from finsta_cli.synth.render import write_mp4
from finsta_cli.tasks.protocol import (
    FRAME_SAMPLING,
    cached_videos,
    protocol_mode,
    source_revision,
)
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


def test_the_sampling_sentence_is_what_the_frames_module_does(tmp_path: Path) -> None:
    """The card's words ("the middle frame of each of T equal segments", a short video's last
    frame repeated) against the frame indices decoded."""
    for length, frames in ((10, 4), (3, 4)):
        images = [np.full((64, 64, 3), 20 * i, np.uint8) for i in range(length)]
        path = tmp_path / f"v{length}.mp4"
        write_mp4(path, images, 8)
        clip, indices, total = decode_host_frames(path, frames, 32)
        assert total == length and tuple(clip.shape) == (frames, 32, 32, 3)
        if length >= frames:
            segment = length / frames
            assert indices.tolist() == [int(segment * (i + 0.5)) for i in range(frames)]
        else:
            assert indices.tolist() == [*range(length), *[length - 1] * (frames - length)]
    sentence = FRAME_SAMPLING.format(frames=4, size=32)
    assert "middle frame of each of 4 equal segments" in sentence
    assert "last frame repeated to 4" in sentence and "32 x 32" in sentence


def test_cached_videos_counts_the_entries_the_evaluation_will_read(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for k in range(2):
        write_mp4(folder / f"v{k}.mp4", [np.full((64, 64, 3), 40 * k, np.uint8)] * 3, 8)
    lines = [f'{{"video_id": "v{k}", "video": "v{k}.mp4", "caption": "a"}}' for k in range(2)]
    (folder / "test.jsonl").write_text("\n".join(lines) + "\n")
    dataset = load_task_dataset(folder / "test.jsonl", split="test")
    ids = list(dataset.videos)
    cache = tmp_path / "cache"
    assert cached_videos(dataset, ids, None, 2, 32) == 0
    assert cached_videos(dataset, ids, cache, 2, 32) == 0
    decoded = load_host_frames([(ids[0], dataset.videos[ids[0]].path)], 2, 32, cache)
    assert decoded.ids == [ids[0]]
    assert cached_videos(dataset, ids, cache, 2, 32) == 1
    assert cached_videos(dataset, ids, cache, 3, 32) == 0  # another frame count: decoded again


def test_modes() -> None:
    assert protocol_mode("zeroshot", False) == "zeroshot"
    assert protocol_mode("eval", False) == "eval"
    assert protocol_mode("eval", True) == "finetune"


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_revision_of_a_checkout_and_of_copies_that_are_not_one(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    package = repo / "finsta_cli"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert source_revision(package) == (head, False)
    (package / "__init__.py").write_text("x = 1\n")
    assert source_revision(package) == (head, True)
    # an installed copy in a folder of another repository (a venv inside a checkout)
    installed = repo / ".venv" / "site-packages" / "finsta_cli"
    installed.mkdir(parents=True)
    assert source_revision(installed) == (None, None)
    outside = tmp_path / "plain" / "finsta_cli"
    outside.mkdir(parents=True)
    assert source_revision(outside) == (None, None)


def test_the_card_counts_the_videos_a_run_without_open_ended_questions_embeds(
    align_set: AlignSet, tmp_path: Path
) -> None:
    """open_ended=False (the demo's zero-shot QA): a video with only an open-ended question is
    neither embedded nor counted."""
    import json

    from finsta_cli.tasks.host_eval import run_host_eval

    videos = sorted((align_set.data / "videos").glob("*.mp4"))[:2]
    rows = [
        {"video_id": "mc", "video": str(videos[0]), "question": "what moves?",
         "options": ["a cube", "a ball"], "answer_index": 0},
        {"video_id": "open", "video": str(videos[1]), "question": "what moves?",
         "answer": "a ball"},
    ]  # fmt: skip
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run_host_eval(
        align_set.checkpoint, data, "videoqa", split="test", cache=tmp_path / "cache",
        device="cpu", threads=1, quiet=True, open_ended=False,
    )  # fmt: skip
    card = result.metrics["protocol"]
    assert card["items"]["questions_mc"] == 1 and card["items"]["questions_open"] == 0
    assert card["items"]["videos"] == 1 and card["frames"]["decoded"] == 1
    assert card["dataset"]["format"] == "jsonl" and card["dataset"]["file"] == str(data)
    assert card["command"] == "eval" and card["mode"] == "eval"
