"""Tests of ``finsta data check`` (finsta_cli/cli/data.py): the report, its exit codes, and the
examples of docs/datasets.md "Your own data", read from the page itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from tests.helpers import REPO

DOC = REPO / "docs" / "datasets.md"
EXAMPLE = re.compile(r"<!-- data-check: (\S+) -->\n```jsonl\n(.*?)```", re.DOTALL)


def doc_examples() -> dict[str, str]:
    """The JSONL examples of docs/datasets.md, by the file name their marker gives."""
    return {name: text for name, text in EXAMPLE.findall(DOC.read_text(encoding="utf-8"))}


# What each example of the docs holds (the page says so in words).
EXPECTED = {
    "retrieval.jsonl": {"videos": 4, "captions": 6, "negatives": 1, "questions": 0},
    "qa-multiple-choice.jsonl": {"videos": 4, "qa_mc": 5, "options": 14, "qa_open": 0},
    "qa-open.jsonl": {"videos": 4, "qa_open": 5, "qa_mc": 0},
    "action.jsonl": {"videos": 4, "actions": 4, "labels": 5},
    "captioning.jsonl": {"videos": 4, "captions": 9},
}


def test_the_docs_examples_are_accepted(runner: CliRunner, tmp_path: Path) -> None:
    examples = doc_examples()
    assert set(examples) == set(EXPECTED)
    for name, text in examples.items():
        assert len(text.splitlines()) == 5, name
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["data", "check", str(tmp_path / name), "--json"])
        assert result.exit_code == 0, (name, result.output)
        report = json.loads(result.stdout)
        (split,) = report["splits"]
        assert split["rejected"] == [] and split["error"] is None
        assert split["format"] == "jsonl"
        counts = split["counts"]
        assert {key: counts[key] for key in EXPECTED[name]} == EXPECTED[name], name
        # the videos are named by path beside the file: looked for, and missing here
        assert split["videos"]["missing"] == 4 and split["videos"]["unchecked"] == 0


def test_rejected_rows_are_listed_and_exit_3(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(
        '{"video_id": "a", "caption": "a man runs"}\n'
        '{"video_id": "b"\n'
        '{"video_id": "c", "question": "what?", "options": ["x", "y"], "answer": "z"}\n'
        '{"video_id": "d", "caption": "a dog sits", "label": "sit"}\n'
    )
    result = runner.invoke(app, ["data", "check", str(path)])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert f"{path}:2: invalid JSON" in result.stdout
    assert f"{path}:3: answer 'z' is not one of the options" in result.stdout
    assert "2 videos, 2 captions, 1 actions (1 labels)" in result.stdout
    assert "0 found, 2 missing (2 not looked for: no --video-root)" in result.stdout
    assert "2 row(s) rejected" in result.stdout
    report = json.loads(runner.invoke(app, ["data", "check", str(path), "--json"]).stdout)
    assert report["rejected"] == 2 and report["exit_code"] == 3
    assert [r["where"] for r in report["splits"][0]["rejected"]] == [f"{path}:2", f"{path}:3"]


def test_a_folder_with_a_video_root(runner: CliRunner, tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(b"")
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text(
            '{"video_id": "a", "caption": "x"}\n{"video_id": "b", "caption": "y"}\n'
        )
    result = runner.invoke(app, ["data", "check", str(tmp_path), "--video-root", str(videos)])
    assert result.exit_code == 0, result.output
    assert "split test:" in result.stdout and "split train:" in result.stdout
    assert "videos: 1 found, 1 missing" in result.stdout
    assert f"missing: {videos / 'b.mp4'}" in result.stdout
    assert "2 split(s), every row accepted" in result.stdout
    one = runner.invoke(app, ["data", "check", str(tmp_path), "--split", "test", "--json"])
    assert [s["split"] for s in json.loads(one.stdout)["splits"]] == ["test"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--split", "dev"], 2, "no split 'dev'"),
        (["--video-root", "nowhere"], 2, "video root nowhere is not a folder"),
        (["--format", "nope"], 2, "Invalid value for '--format'"),
    ],
)
def test_usage_errors(
    runner: CliRunner, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    (tmp_path / "test.jsonl").write_text('{"video_id": "a", "caption": "x"}\n')
    result = runner.invoke(app, ["data", "check", str(tmp_path), *args])
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output


def test_an_unreadable_file_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    path.write_text("[1, 2")
    result = runner.invoke(app, ["data", "check", str(path), "--format", "msrvtt"])
    assert result.exit_code == 3
    assert f"error: {path}: invalid JSON at line 1" in result.stdout
    missing = runner.invoke(app, ["data", "check", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output


@pytest.mark.shared
@pytest.mark.parametrize(
    "folder", ["msrvtt_1ka", "nextqa", "activitynet_qa", "mmaction2_video_text"]
)
def test_the_shared_benchmarks_pass(
    runner: CliRunner, shared_benchmarks: Path, folder: str
) -> None:
    result = runner.invoke(app, ["data", "check", str(shared_benchmarks / folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rejected"] == 0 and report["file_errors"] == 0


def test_how2qa_release_rows_all_accepted_and_every_video_missing(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The How2QA release's shape (no header, 7 columns, quoted commas), 300 questions over
    120 videos: every row accepted and, with no --video-root, every video reported missing."""
    path = tmp_path / "how2QA_val_release.csv"
    rows = [
        f'vid{q % 120:05d},[{q % 50}.5:{q % 50 + 12}.0],"a, b",c{q},d,"what is {q}, then?",e'
        for q in range(300)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "check", "--format", "how2qa", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (split,) = report["splits"]
    assert split["counts"]["qa_mc"] == 300 and split["counts"]["options"] == 1200
    assert split["videos"] == {"found": 0, "missing": 120, "unchecked": 120, "missing_paths": []}
    assert report["rejected"] == 0 and split["rejected"] == [] and split["error"] is None
