"""``finsta demo`` runs the whole pipeline end to end on generated input, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.cli.app import app

SMALL = ["--quick", "--videos", "20", "--init-steps", "1", "--steps", "1", "--json", "-q"]


# Three trainings and ten evaluations: minutes on busy cores. CI runs `make smoke` (the quick
# demo) after the default suite; this test adds the resume check: `pytest -m slow`.
@pytest.mark.slow
def test_demo_end_to_end_and_resume(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    stages = {s["stage"]: s for s in summary["stages"]}
    assert list(stages)[:4] == ["synth", "parse-text", "build-dsg", "build-hsg"]
    arms = ("host init", "align-train host", "align-train finsta", "align-train fusion")
    assert {f"seqTransf: {arm}" for arm in arms} <= set(stages)
    assert stages["synth"]["done"] == 20 and stages["build-dsg"]["done"] == 20
    captions = len((out / "captions.jsonl").read_text().splitlines())
    assert stages["parse-text"]["done"] == captions == stages["build-hsg"]["done"] >= 40
    assert summary["metrics"]["dsg"]["recall"] > 0.8
    assert summary["metrics"]["hsg"]["object_edges"]["precision"] > 0.8
    # Both arms were evaluated on the same measures; the table holds numbers, not placeholders.
    table = summary["comparison"]["seqTransf"]
    assert table["text->video R@1"]["host"] is not None
    assert table["text->video R@1"]["finsta"] is not None
    # The fusion arm is scored with graphs, on the zero-shot tasks (no task heads).
    assert table["text->video R@1"]["fusion"] is not None
    assert table["QA multiple choice (zero-shot)"]["fusion"] is not None
    assert table["QA multiple choice (head)"]["fusion"] is None
    fused = out / "runs" / "seed0" / "seqTransf-fusion" / "eval-retrieval-test" / "metrics.json"
    assert json.loads(fused.read_text())["with_graphs"] is True
    for arm in ("host", "finsta", "fusion"):
        run = out / "runs" / "seed0" / f"seqTransf-{arm}"
        assert (run / "checkpoint.pt").is_file()
        assert json.loads((run / "eval-retrieval-test" / "metrics.json").read_text())["task"] == (
            "retrieval"
        )
    assert Path(summary["chart"]).is_file()
    assert json.loads((out / "demo.json").read_text()) == summary
    again = json.loads(runner.invoke(app, ["demo", "--out", str(out), *SMALL]).stdout)
    assert [s["done"] for s in again["stages"][:4]] == [0, 0, 0, 0]
    assert again["comparison"] == summary["comparison"]
