"""Tests of finsta_cli/datasets/msvd_qa.py: MSVD-QA json, YouTube names, question words."""

from __future__ import annotations

import json
from pathlib import Path

from finsta_cli.datasets import load_task_dataset, question_word


def test_msvd_qa_json(tmp_path: Path) -> None:
    path = tmp_path / "test_qa.json"
    path.write_text(
        json.dumps(
            [
                {"answer": "man", "id": 0, "question": "who is slicing an onion?", "video_id": 1},
                {"answer": "slice", "id": 1, "question": "what does a man do?", "video_id": 1},
                {"answer": "dog", "id": 2, "question": "Is it a dog", "video": "video7010"},
            ]
        )
    )
    (tmp_path / "youtube_mapping.txt").write_text("-4wsuPCjDBc_5_15 vid1\n")
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "-4wsuPCjDBc_5_15.avi").write_bytes(b"")
    data = load_task_dataset(tmp_path, "test", video_root=videos)
    assert data.name == "msvd-qa" and not data.qa_mc
    assert [(q.qa_id, q.video_id, q.answer, q.qtype) for q in data.qa_open] == [
        ("0", "1", "man", "who"),
        ("1", "1", "slice", "what"),
        ("2", "video7010", "dog", "other"),
    ]
    assert data.videos["1"].path == videos / "-4wsuPCjDBc_5_15.avi"
    assert data.videos["video7010"].path is None
    assert question_word("How many people?") == "how"
