"""``finsta demo`` runs the whole pipeline end to end on generated input, and resumes; the lite
host (the default) starts from its shipped checkpoint, the tiny host from scratch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsta_cli.assets import default_lite_checkpoint
from finsta_cli.cli.app import app
from finsta_cli.demo import EVALUATIONS, LITE_SPLITS, DemoPlan
from finsta_cli.errors import ExitCode
from tests.hosts.towers import needs_towers

SMALL = ["--quick", "--videos", "20", "--steps", "1", "--json", "-q"]
SMALL_TINY = ["--host", "tiny", "--quick", "--videos", "20", "--init-steps", "1", "--steps", "1",
              "--json", "-q"]  # fmt: skip


def test_the_lite_demo_post_trains_the_shipped_checkpoint_on_200_test_videos() -> None:
    plan = DemoPlan.for_host("lite")
    assert plan.host == "lite" and plan.init_steps == 0 and plan.init is None
    weights = dict(LITE_SPLITS)
    test = plan.videos * weights["test"] / sum(weights.values())
    assert test >= 200  # one test video is at most 0.5 R@1 points
    assert plan.temporals == ("seqTransf",) and plan.fusion_temporals == ("seqTransf",)
    shipped = default_lite_checkpoint("seqTransf")
    assert shipped.is_file() and shipped.stat().st_size <= 20 * 1024 * 1024
    assert shipped.with_suffix(".json").is_file()  # its card
    # The tiny demo is the one it always was.
    assert DemoPlan.for_host("tiny") == DemoPlan()
    assert DemoPlan.for_host("tiny", quick=True) == DemoPlan.quick()


def test_each_variant_runs_host_and_finsta_and_fusion_where_planned() -> None:
    plan = DemoPlan()
    assert [arm.name for arm in plan.arms("meanP")] == ["host", "finsta"]
    host, finsta, fusion = plan.arms("seqTransf")  # the default fusion_temporals
    assert dict(host.options) == {"objective": "host-only"} and not host.finsta
    assert dict(finsta.options) == {"objective": "finsta"} and finsta.finsta
    assert host.evaluations == finsta.evaluations == tuple(EVALUATIONS)
    assert dict(fusion.options) == {"objective": "finsta", "mode": "fusion"}
    # Scored with graphs: only the zero-shot evaluations, no fine-tuned task head.
    assert fusion.scored_with_graphs and not host.scored_with_graphs
    assert fusion.evaluations and all(not EVALUATIONS[name][2] for name in fusion.evaluations)
    # Captioning (a head trained on the host's frame features): host and host+Finsta only.
    assert EVALUATIONS["captioning-ft"] == ("captioning", "test", True)
    assert "captioning-ft" in host.evaluations and "captioning-ft" not in fusion.evaluations


def test_init_steps_are_refused_for_the_lite_host(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--init-steps", "5"])
    assert result.exit_code == ExitCode.USAGE
    assert "--init-steps applies to --host tiny" in result.output
    assert not (tmp_path / "d").exists()


def test_a_missing_shipped_checkpoint_is_exit_4_before_anything_runs(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSTA_ASSETS", str(tmp_path / "no-assets"))
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--quick"])
    assert result.exit_code == ExitCode.MISSING_RESOURCE, result.output
    assert "lite-synth-seqTransf.pt" in result.output and "--init" in result.output
    assert not (tmp_path / "d").exists()


# Three trainings and ten evaluations: minutes on busy cores. CI runs `make smoke` (the quick
# demo) after the default suite; this test adds the resume check: `pytest -m slow`.
@pytest.mark.slow
@needs_towers
def test_demo_end_to_end_and_resume(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["plan"]["host"] == "lite"
    stages = {s["stage"]: s for s in summary["stages"]}
    assert list(stages)[:4] == ["synth", "parse-text", "build-dsg", "build-hsg"]
    arms = ("align-train host", "align-train finsta", "align-train fusion")
    assert {f"seqTransf: {arm}" for arm in arms} <= set(stages)
    assert "seqTransf: host init" not in stages  # the arms start from the shipped checkpoint
    for arm in ("host", "finsta", "fusion"):
        manifest = out / "runs" / "seed0" / f"lite-seqTransf-{arm}" / "manifest.json"
        config = json.loads(manifest.read_text())["config"]
        assert config["host"] == "lite"
        assert config["init"] == str(default_lite_checkpoint("seqTransf"))
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
    fused = (
        out / "runs" / "seed0" / "lite-seqTransf-fusion" / "eval-retrieval-test" / "metrics.json"
    )
    assert json.loads(fused.read_text())["with_graphs"] is True
    for arm in ("host", "finsta", "fusion"):
        run = out / "runs" / "seed0" / f"lite-seqTransf-{arm}"
        assert (run / "checkpoint.pt").is_file()
        assert json.loads((run / "eval-retrieval-test" / "metrics.json").read_text())["task"] == (
            "retrieval"
        )
    assert Path(summary["chart"]).is_file()
    assert json.loads((out / "demo.json").read_text()) == summary
    again = json.loads(runner.invoke(app, ["demo", "--out", str(out), *SMALL]).stdout)
    assert [s["done"] for s in again["stages"][:4]] == [0, 0, 0, 0]
    assert again["comparison"] == summary["comparison"]


@pytest.mark.slow
def test_the_tiny_demo_still_trains_its_initialisation(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), *SMALL_TINY])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    stages = {s["stage"] for s in summary["stages"]}
    assert {"seqTransf: host init", "seqTransf: align-train finsta"} <= stages
    assert (out / "runs" / "seed0" / "seqTransf-finsta" / "checkpoint.pt").is_file()
    assert summary["comparison"]["seqTransf"]["text->video R@1"]["finsta"] is not None
