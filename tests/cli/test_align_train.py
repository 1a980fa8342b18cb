"""``finsta align-train`` on the session's synth set: the run folder of both objectives, the
ablation flags, fusion checkpoints, --init, and the refusals (exit codes 1, 2, 4)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.datasets import ACTION_PROMPT, load_task_dataset
from finsta_cli.hosts import load_host
from finsta_cli.hosts.factory import load_checkpoint
from finsta_cli.hosts.tiny import word_spans
from finsta_cli.schema.manifest import TrainManifest
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)

RUN_FILES = ("checkpoint.pt", "train_state.pt", "metrics.jsonl", "config.yaml", "manifest.json")


def _train(runner: CliRunner, align_set: AlignSet, out: Path, *args: str) -> dict:  # type: ignore[type-arg]
    command = ["align-train", "--data", str(align_set.data), "--out", str(out),
               "--config", str(align_set.config), "--json", "-q", *args]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    payload: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return payload


def _graphs(align_set: AlignSet) -> list[str]:
    return ["--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg), "--hsg", str(align_set.hsg)]


def _metrics(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_host_only_run_folder(align_set: AlignSet) -> None:
    run = align_set.host_run
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    rows = _metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert set(rows[-1]) >= {"step", "lr", "vtc", "loss", "samples_per_s"}
    assert "osc" not in rows[-1] and rows[-1]["loss"] == rows[-1]["vtc"]
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["objective"] == "host-only" and config["host_options"]["frame_size"] == 32
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stage"] == "align-train" and manifest["status"] == "completed"
    assert manifest["result"]["steps"] == 4 and manifest["config"]["seed"] == 0
    # A TrainManifest: the run fields a training run sets (no item counts), and its result.
    assert set(manifest) == {
        "schema_version", "record", "tool", "version", "stage", "status", "command",
        "started_at", "finished_at", "seconds", "python", "platform", "packages", "config",
        "config_hash", "device", "threads", "result",
    }  # fmt: skip
    assert manifest["schema_version"] == "1.0" and manifest["threads"] == 1
    assert TrainManifest.model_validate(manifest).to_json() == manifest
    state = load_checkpoint(run / "train_state.pt")
    assert state["kind"] == "finsta-train-state" and state["step"] == 4
    host = load_host(run / "checkpoint.pt")
    assert host.frame_size == 32 and host.num_frames == 4
    assert "sg" not in load_checkpoint(run / "checkpoint.pt")  # distill: the host alone


def test_a_new_tiny_host_sees_motion_and_knows_the_task_words(align_set: AlignSet) -> None:
    host = load_host(align_set.checkpoint)
    assert host.motion  # type: ignore[attr-defined]
    vocab = set(host.tokenizer.vocab)  # type: ignore[attr-defined]
    train = [r for r in align_set.records() if r["split"] == "train"]
    caption_words = {w for r in train for c in r["captions"] for w, _, _ in word_spans(c["text"])}
    options = {
        w for r in train for q in r["qa_mc"] for o in q["options"] for w, _, _ in word_spans(o)
    }
    assert {"one", "two", "three", "four", "five"} <= options - caption_words  # count answers
    assert options <= vocab and caption_words <= vocab
    labels = load_task_dataset(align_set.data, split="train").labels
    prompts = {w for label in labels for w, _, _ in word_spans(ACTION_PROMPT.format(label=label))}
    assert labels and prompts <= vocab


def test_finsta_objective_run(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    run = tmp_path / "finsta"
    payload = _train(runner, align_set, run, *_graphs(align_set), "--steps", "3")
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert payload["steps"] == 3 and payload["failed_videos"] == 0 and payload["warnings"] == []
    assert payload["counts"]["videos"] == 9 and payload["counts"]["osc_anchors"] > 0
    rows = _metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        for name in ("vtc", "osc", "ptc", "sg", "kd", "loss"):
            assert name in row and row[name] == row[name] and row[name] >= 0, (name, row)
        total = row["vtc"] + row["osc"] + row["ptc"] + 0.5 * row["sg"] + row["kd"]
        assert row["loss"] == pytest.approx(total, abs=1e-4)
    assert payload["final"]["loss"] == pytest.approx(rows[-1]["loss"], abs=1e-4)
    checkpoint = load_checkpoint(run / "checkpoint.pt")
    assert "sg" not in checkpoint and json.loads(checkpoint["finsta"])["objective"] == "finsta"


def test_finsta_without_graphs_is_a_usage_error(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / "r"),
               "--config", str(align_set.config), "--dsg", str(align_set.dsg)]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "--objective finsta needs --tsg, --dsg and --hsg" in result.output
    assert "Traceback" not in result.output


def test_ablation_flags_reach_the_config(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    run = tmp_path / "ablated"
    flags = ["--no-osc", "--no-ptc", "--no-stgd", "--no-coref-edges", "--no-adverb-nodes",
             "--no-cross-edges"]  # fmt: skip
    _train(runner, align_set, run, *_graphs(align_set), "--steps", "1", *flags)
    config = yaml.safe_load((run / "config.yaml").read_text())
    for key in ("osc", "ptc", "stgd", "coref_edges", "adverb_nodes", "cross_edges"):
        assert config[key] is False, key
    row = _metrics(run)[-1]
    # OSC and PTC weigh nothing: the total is the other losses.
    assert row["loss"] == pytest.approx(row["vtc"] + 0.5 * row["sg"] + row["kd"], abs=1e-4)
    state = load_checkpoint(run / "train_state.pt")["model"]
    assert not any(".stgd" in key or "stgd." in key for key in state)
    default = yaml.safe_load(align_set.config.read_text())
    assert "osc" not in default  # the flags, not the session config, turned them off


def test_text_negatives_with_the_host_only_objective(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    # The control arm with the same hard-negative captions: only --tsg is needed.
    run = tmp_path / "negatives"
    command = ["--objective", "host-only", "--tsg", str(align_set.tsg), "--text-negatives", "2",
               "--steps", "2"]  # fmt: skip
    payload = _train(runner, align_set, run, *command)
    assert payload["counts"]["text_negatives"] > 0
    assert yaml.safe_load((run / "config.yaml").read_text())["text_negatives"] == 2
    rows = _metrics(run)
    assert all("osc" not in row for row in rows)
    assert any(row["neg"] > 0 for row in rows)
    for row in rows:
        assert row["loss"] == pytest.approx(row["vtc"] + row["neg"], abs=1e-4)
    # Off by default: no negatives, no "neg" loss.
    assert "neg" not in _metrics(align_set.host_run)[-1]


def test_text_negatives_in_fusion_mode(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    # Fusion mode scores the negatives' fused embeddings too (host + their parsed TSGs).
    run = tmp_path / "fusion-negatives"
    flags = ["--mode", "fusion", "--text-negatives", "2", "--steps", "2"]
    _train(runner, align_set, run, *_graphs(align_set), *flags)
    rows = _metrics(run)
    assert any(row["neg_fused"] > 0 for row in rows)
    _assert_fused_totals(rows)


def _assert_fused_totals(rows: list[dict], kd_rank: float = 0.0) -> None:  # type: ignore[type-arg]
    """Each logged total is the default-weighted sum of the parts, the fused ones included."""
    for row in rows:
        parts = row["vtc"] + row["osc"] + row["ptc"] + 0.5 * row["sg"] + row["kd"]
        parts += row["vtc_fused"] + row["neg"] + row["neg_fused"] + kd_rank * row.get("kd_rank", 0)
        assert row["loss"] == pytest.approx(parts, abs=1e-4)


def test_rank_distillation_in_distill_mode(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    # The graph-free arm with host + graphs as its teacher: the fused contrasts train the
    # teacher (negatives scored with their parsed TSGs), kd_rank pulls the host alone towards
    # it, and the checkpoint holds the host alone.
    run = tmp_path / "rank-kd"
    flags = ["--text-negatives", "2", "--steps", "2", "--set", "rank_kd_weight=0.5"]
    _train(runner, align_set, run, *_graphs(align_set), *flags)
    rows = _metrics(run)
    assert all(row["kd_rank"] >= 0 for row in rows) and any(row["neg_fused"] > 0 for row in rows)
    _assert_fused_totals(rows, kd_rank=0.5)
    assert "sg" not in load_checkpoint(run / "checkpoint.pt")
    assert yaml.safe_load((run / "config.yaml").read_text())["rank_kd_weight"] == 0.5


def test_fusion_checkpoint_and_init(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    run = tmp_path / "fusion"
    # The host barely moves (host learning rate 1e-30, no decay): it must be the --init host.
    config = align_set.write_config(tmp_path / "c.yaml", weight_decay=0.0, steps=1)
    command = [*_graphs(align_set), "--mode", "fusion", "--init", str(align_set.checkpoint),
               "--host-lr", "1e-30", "--config", str(config)]  # fmt: skip
    _train(runner, align_set, run, *command)
    checkpoint = load_checkpoint(run / "checkpoint.pt")
    assert isinstance(checkpoint["sg"], dict) and checkpoint["sg"]
    assert all(isinstance(v, torch.Tensor) for v in checkpoint["sg"].values())
    assert any(k.startswith("tsg_encoder.") for k in checkpoint["sg"])
    assert any(k.startswith("dsg_encoder.") for k in checkpoint["sg"])
    assert not any(k.startswith("host.") for k in checkpoint["sg"])
    assert json.loads(checkpoint["sg_config"])["hidden"] == 32
    assert json.loads(checkpoint["node_vocab"]) and "graph_options" in checkpoint
    assert json.loads(checkpoint["finsta"])["mode"] == "fusion"
    start = load_checkpoint(align_set.checkpoint)
    assert checkpoint["host_config"] == start["host_config"]  # same vocabulary and options
    for key, value in start["host"].items():
        assert torch.allclose(checkpoint["host"][key], value, atol=1e-6), key


@dataclass
class PickledOptions:
    lr: float


def test_init_with_pickled_objects_is_refused(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    bad = tmp_path / "pickled.pt"
    payload = load_checkpoint(align_set.checkpoint)
    torch.save({**payload, "options": PickledOptions(lr=0.1)}, bad)
    command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / "r"),
               "--config", str(align_set.config), "--objective", "host-only",
               "--init", str(bad)]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert f"{bad}: refused: the file carries pickled objects" in result.output
    assert "PickledOptions" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_missing_init_is_exit_4(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / "r"),
               "--config", str(align_set.config), "--objective", "host-only",
               "--init", str(tmp_path / "absent.pt")]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 4, result.output
    assert "absent.pt: checkpoint not found" in result.output


def test_resume_with_other_options_is_refused(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    shutil.copytree(align_set.host_run, run)
    before = {name: (run / name).read_bytes() for name in RUN_FILES}
    command = ["align-train", "--data", str(align_set.data), "--out", str(run),
               "--config", str(align_set.config), "--objective", "host-only", "--resume",
               "--lr", "0.5"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "--resume needs the same options" in result.output
    # The refused run leaves the existing run folder as it was.
    assert {name: (run / name).read_bytes() for name in RUN_FILES} == before


def test_resume_of_a_finished_run_changes_nothing(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    shutil.copytree(align_set.host_run, run)
    rows = _metrics(run)
    payload = _train(runner, align_set, run, "--objective", "host-only", "--resume")
    assert payload["resumed_from"] == 4 and payload["steps"] == 4
    assert _metrics(run) == rows
    a, b = load_checkpoint(run / "checkpoint.pt"), load_checkpoint(align_set.checkpoint)
    assert all(torch.equal(a["host"][k], b["host"][k]) for k in b["host"])


def test_resume_of_a_run_from_before_the_text_negatives(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    # A train state written before text_negatives / neg_weight existed: its hash lacks them.
    from finsta_cli.align.config import AlignTrainConfig
    from finsta_cli.io.hashing import hash_json

    run = tmp_path / "run"
    shutil.copytree(align_set.host_run, run)
    state = load_checkpoint(run / "train_state.pt")
    config = AlignTrainConfig(**yaml.safe_load((run / "config.yaml").read_text()))
    runtime = set(config.RUNTIME_FIELDS) | set(config.LATER_FIELDS)
    state["config_hash"] = hash_json(config.model_dump(mode="json", exclude=runtime))
    torch.save(state, run / "train_state.pt")
    payload = _train(runner, align_set, run, "--objective", "host-only", "--resume")
    assert payload["resumed_from"] == 4
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), "--objective", "host-only", "--tsg", str(align_set.tsg),
               "--text-negatives", "1", "--resume"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 2 and "written with other settings" in result.output


def test_too_few_videos(runner: CliRunner, align_set: AlignSet, tmp_path: Path) -> None:
    command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / "r"),
               "--config", str(align_set.config), "--objective", "host-only",
               "--split", "test"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "at least 2 videos are needed to train, found 1" in result.output


def _strict_json(text: str) -> object:
    """json.loads that refuses the bare NaN / Infinity Python's json module writes and reads."""

    def refuse(constant: str) -> object:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_resume_without_a_train_state_is_refused(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    run = tmp_path / "never-started"
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), "--objective", "host-only", "--resume"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert f"--resume: {run} has no train state ({run / 'train_state.pt'} not found)" in (
        " ".join(result.output.split())
    )
    assert not run.exists()  # nothing was started
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 1}\n', encoding="utf-8")  # a run killed early
    result = runner.invoke(app, command)
    assert result.exit_code == 2 and "has no train state" in result.output
    assert sorted(p.name for p in run.iterdir()) == ["metrics.jsonl"]


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_state(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsta_cli.align.model import FinstaModel

    forward = FinstaModel.forward
    calls = []

    def poisoned(self: FinstaModel, batch: object, collective: object = None) -> dict:  # type: ignore[type-arg]
        losses = forward(self, batch, collective)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) == 3:  # step 3: the OSC term goes NaN
            losses["osc"] = losses["osc"] * float("nan")
            losses["loss"] = losses["loss"] + losses["osc"]
        return losses

    monkeypatch.setattr(FinstaModel, "forward", poisoned)
    run = tmp_path / "run"
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), *_graphs(align_set), "--json", "-q"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "error: step 3: loss is nan (component: osc nan); batch videos: synth-" in result.output
    assert "the last good train state (step 2) is kept in" in " ".join(result.output.split())
    assert result.stdout.strip() == "" or "{" not in result.stdout  # no --json summary
    manifest = _strict_json((run / "manifest.json").read_text())
    assert isinstance(manifest, dict) and manifest["status"] == "failed"
    assert manifest["error"].startswith("step 3: loss is nan (component: osc nan)")
    assert not (run / "checkpoint.pt").exists()  # no result from a diverged run
    state = load_checkpoint(run / "train_state.pt")  # finite, loads (refused otherwise)
    assert state["step"] == 2
    rows = [_strict_json(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2]  # type: ignore[index]


def test_a_learning_rate_that_diverges_is_an_error_not_a_nan_checkpoint(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), *_graphs(align_set), "--lr", "1e30", "--json"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "error: step 2: loss is nan (components: vtc nan" in result.output
    assert "internal error" not in result.output
    assert _strict_json((run / "manifest.json").read_text())["status"] == "failed"  # type: ignore[index]
    assert not (run / "checkpoint.pt").exists()
    for line in (run / "metrics.jsonl").read_text().splitlines():
        _strict_json(line)
    result = runner.invoke(app, [*command[:-3], "--lr", "inf"])
    assert result.exit_code == 2 and "lr: Input should be a finite number" in result.output


def test_a_dsg_with_nan_features_is_left_out_and_reported(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    from tests.align.fixtures import write_regions

    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    bad = load_task_dataset(align_set.data, split="train").captions[0].video_id
    write_regions(dsg, bad, 8, nan_at=0)
    run = tmp_path / "run"
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), "--tsg", str(align_set.tsg), "--dsg", str(dsg),
               "--hsg", str(align_set.hsg), "--json", "-q"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 3, result.output  # some items failed
    payload = _strict_json(result.stdout)
    assert isinstance(payload, dict)
    assert payload["failed_videos"] == 1 and payload["counts"]["videos"] == 8
    failures = [_strict_json(line) for line in (run / "failures.jsonl").read_text().splitlines()]
    pt = dsg / f"{bad}.pt"
    assert failures == [{"id": bad, "error": f"{pt}: tensor 'features' holds 8 NaN of "
                         f"{torch.load(pt)['features'].numel()} values"}]  # fmt: skip
    manifest = _strict_json((run / "manifest.json").read_text())
    assert isinstance(manifest, dict) and manifest["status"] == "partial"
    checkpoint = load_checkpoint(run / "checkpoint.pt")  # refused if it held NaN
    assert all(bool(v.isfinite().all()) for v in checkpoint["host"].values())
    for line in (run / "metrics.jsonl").read_text().splitlines():
        _strict_json(line)


def test_init_from_a_nan_checkpoint_is_refused(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    payload = load_checkpoint(align_set.checkpoint)
    name = sorted(payload["host"])[-1]
    payload["host"][name] = payload["host"][name].clone().fill_(float("inf"))
    bad = tmp_path / "diverged.pt"
    torch.save(payload, bad)
    command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / "r"),
               "--config", str(align_set.config), "--objective", "host-only",
               "--init", str(bad)]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"{bad}: refused: the weights are not finite: tensor 'host.{name}' holds" in text
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_a_second_run_on_the_same_folder_is_refused(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    from finsta_cli.io.lock import LOCK_STEM, output_lock

    run = tmp_path / "busy"
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(align_set.config), "--objective", "host-only"]  # fmt: skip
    stray = run / ".checkpoint.pt.ab12cd34.tmp"  # left by a killed run
    with output_lock(run / LOCK_STEM, what="the other run"):  # as a live run holds it
        result = runner.invoke(app, command)
        stray.write_bytes(b"x" * 64)
    assert result.exit_code == 1, result.output
    assert "is being written by another finsta run (pid" in " ".join(result.output.split())
    assert sorted(p.name for p in run.iterdir()) == sorted([LOCK_STEM, stray.name])  # no output
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert not stray.exists()


@pytest.fixture(scope="module")
def small_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from finsta_cli.synth.generate import SynthConfig, generate_dataset

    out = tmp_path_factory.mktemp("synth-c4c")
    assert generate_dataset(SynthConfig(videos=6, seed=3), out, quiet=True).failed == 0
    return out


def test_clip4clip_weights_for_another_activation_and_tags_not_allowed(
    runner: CliRunner, small_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("open_clip")
    monkeypatch.delenv("FINSTA_ALLOW_DOWNLOAD", raising=False)
    base = ["align-train", "--data", str(small_synth), "--out", str(tmp_path / "r"),
            "--objective", "host-only", "--host", "clip4clip"]  # fmt: skip
    # A CLIP4Clip checkpoint (its clip.logit_scale says so) for a GELU architecture: refused
    # before any model is built, naming both, never loaded into the wrong activation.
    weights = tmp_path / "pytorch_model.bin.1"
    torch.save(
        {"clip.logit_scale": torch.tensor(4.6), "clip.visual.proj": torch.ones(2, 2)}, weights
    )
    config = tmp_path / "gelu.yaml"
    config.write_text("align_train:\n  host_options:\n    arch: ViT-B-32\n", encoding="utf-8")
    result = runner.invoke(app, [*base, "--host-weights", str(weights), "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert (
        f"{weights}: a CLIP4Clip checkpoint, trained with QuickGELU, but arch 'ViT-B-32' uses GELU"
        in " ".join(result.output.split())
    )
    assert "arch: ViT-B-32-quickgelu" in result.output and "Traceback" not in result.output
    # Without an arch, one whose shapes fit is looked for: none fits this file.
    result = runner.invoke(app, [*base, "--host-weights", str(weights)])
    assert result.exit_code == 1, result.output
    assert "no open_clip QuickGELU ViT architecture has the shapes" in result.output
    # An open_clip pretrained tag is downloaded only when allowed: exit 4 with the way to allow it.
    result = runner.invoke(app, [*base, "--host-pretrained", "openai"])
    assert result.exit_code == 4, result.output
    assert "ViT-B-32-quickgelu/openai" in result.output and "--allow-download" in result.output
    assert not (tmp_path / "r" / "checkpoint.pt").exists()
