"""Tests of finsta_cli/io/finite.py: NaN and infinities refused in JSON written by every stage
(with the key path named) and found in nested tensor payloads (with their counts)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch

from finsta_cli.errors import ExitCode, NonFiniteError
from finsta_cli.io import JsonlWriter, atomic_write_json
from finsta_cli.io.finite import dumps_json, find_non_finite, require_finite


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_json_with_a_non_finite_number_is_refused_naming_its_key(value: float) -> None:
    with pytest.raises(NonFiniteError, match=r"metrics\.json: runs\[1\]\.loss is ") as caught:
        dumps_json({"runs": [{"loss": 1.0}, {"loss": value}]}, where="metrics.json")
    assert caught.value.exit_code == ExitCode.FATAL


def test_finite_json_is_strict_json_with_utf8_kept() -> None:
    text = dumps_json({"caption": "a café", "r1": 12.5, "n": [1, 2]}, where="x", indent=2)
    assert json.loads(text) == {"caption": "a café", "r1": 12.5, "n": [1, 2]}
    assert "café" in text  # not escaped to \\u00e9
    with pytest.raises(ValueError, match="Circular"):  # other errors are not reworded
        loop: list[object] = []
        loop.append(loop)
        dumps_json(loop, where="x")


def test_atomic_json_with_nan_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    target.write_text('{"old": 1}\n', encoding="utf-8")
    with pytest.raises(NonFiniteError, match=rf"{target}: t2v_r1 is nan"):
        atomic_write_json(target, {"task": "retrieval", "t2v_r1": math.nan})
    assert json.loads(target.read_text(encoding="utf-8")) == {"old": 1}  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temporary


def test_jsonl_writer_refuses_nan_on_a_file_and_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rows.jsonl"
    refused = pytest.raises(NonFiniteError, match=r"rows\.jsonl: score is inf")
    with refused, JsonlWriter(target) as writer:
        writer.write({"id": "a", "score": 0.5})
        writer.write({"id": "b", "score": math.inf})
    assert not target.exists()  # the file appears only when the writer closes cleanly
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    refused = pytest.raises(NonFiniteError, match="standard output: score is nan")
    with refused, JsonlWriter("-") as writer:
        writer.write({"id": "a", "score": 0.5})
        writer.write({"id": "b", "score": math.nan})
    assert [json.loads(line) for line in stdout.getvalue().splitlines()] == [
        {"id": "a", "score": 0.5}
    ]


def test_find_non_finite_in_nested_payloads() -> None:
    payload = {
        "kind": "finsta-checkpoint",
        "host": {"a.weight": torch.ones(2, 3), "b.bias": torch.tensor([1.0, math.nan, math.inf])},
        "optimizer": {"state": {0: {"exp_avg": torch.tensor([math.nan])}}, "lr": 0.1},
        "ids": torch.tensor([1, 2, 3]),  # integers: finite by construction
        "empty": torch.zeros(0),
    }
    found = find_non_finite(payload)
    assert found is not None
    counts = (found.nan, found.inf, found.size, found.others)
    assert found.name == "host.b.bias" and counts == (1, 1, 3, 1)
    assert found.describe() == (
        "'host.b.bias' holds 1 NaN and 1 infinite of 3 values "
        "(and 1 other tensor(s) are not finite either)"
    )
    assert find_non_finite({"w": torch.ones(3), "steps": [1, 2.0], "name": "x"}) is None
    assert find_non_finite([torch.ones(1), {"x": math.inf}]) is not None  # a plain float too
    half = torch.tensor([1.0, math.inf], dtype=torch.bfloat16)
    assert find_non_finite({"h": half}) is not None


def test_require_finite_names_the_source_and_the_tensor() -> None:
    require_finite({"features": torch.zeros(4, 2)}, "dsg/v.pt")  # finite: no error
    features = torch.zeros(4, 2)
    features[1, 0] = math.nan
    with pytest.raises(NonFiniteError, match=r"^dsg/v\.pt: tensor 'features' holds 1 NaN of 8"):
        require_finite({"frame": torch.arange(4), "features": features}, "dsg/v.pt")
