"""Tests of finsta_cli/datasets/files.py: CSV and JSON errors name the file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import InputError


def test_csv_errors_name_the_file_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text("video,question,answer,type,a0,a1\n1,q,0,CW,x,y\n")
    with pytest.raises(InputError, match=r"val.csv: missing column\(s\) qid"):
        load_task_dataset(path, fmt="nextqa")
    path.write_text("video,question,answer,qid,a0,a1\n1,q,0,1,x,y\n2,q,5,1,x,y\n")
    with pytest.raises(InputError, match=r"val.csv:3: answer '5' is not an index in 0..1"):
        load_task_dataset(path)
    path.write_text("video,question,answer,qid,a0,a1\n1,q,0,1,x\n")
    with pytest.raises(InputError, match=r"val.csv:2: 5 fields where the header has 6"):
        load_task_dataset(path)
    path.write_text("clip,text\n1,hello\n")
    with pytest.raises(InputError, match="unrecognised CSV header clip,text"):
        load_task_dataset(path)


def test_csv_quote_never_closed_names_the_file_and_line(tmp_path: Path) -> None:
    # The csv module alone reads the rows after the quote as the rest of that one caption.
    path = tmp_path / "test.csv"
    path.write_text(
        'video_id,sentence\nvideo1,a cat\nvideo2,"a dog runs\nvideo3,a bird\nvideo4,a cow\n'
    )
    with pytest.raises(InputError, match=r"test.csv:3: a quote opened on this line is never"):
        load_task_dataset(path, "test", fmt="msrvtt")
    path.write_text('video,question,answer,qid\n1,"what is it,car,1\n2,who,man,2\n')
    with pytest.raises(InputError, match=r"test.csv:2: a quote opened on this line is never"):
        load_task_dataset(path, "test")


def test_json_errors(tmp_path: Path) -> None:
    path = tmp_path / "test_qa.json"
    path.write_text('[{"answer": "x",\n "question": }]')
    with pytest.raises(InputError, match=r"test_qa.json: invalid JSON at line 2"):
        load_task_dataset(path, fmt="msvd-qa")
    path.write_text(json.dumps([{"answer": "x", "video_id": 3}]))
    with pytest.raises(InputError, match=r"test_qa.json: item 0: missing 'question'"):
        load_task_dataset(path, fmt="msvd-qa")
    path.write_text(json.dumps({"weird": 3}))
    with pytest.raises(InputError, match="cannot tell which dataset format"):
        load_task_dataset(path)
