"""--executor ray: the same files as local, a killed worker loses only its items, no Ray: exit 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.config import StageConfig
from finsta_cli.errors import UsageError
from finsta_cli.io.executor import RAY_INSTALL, ExecutorConfig
from finsta_cli.io.hashing import hash_text
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary
from finsta_cli.synth.generate import SynthConfig, generate_dataset
from tests.helpers import REPO, repo_env


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """One local Ray cluster for this module's tests (it takes 15 s or more to start)."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        # Workers inherit the environment: they import finsta_cli from this checkout.
        patch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
        try:
            yield ray
        finally:
            ray.shutdown()


def _files(root: Path) -> dict[str, bytes]:
    skip = {"manifest.json", "config.yaml"}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip and not p.name.startswith(".finsta-")
    }


@pytest.mark.ray
def test_synth_on_two_ray_workers_writes_the_same_files_as_local(
    ray_cluster: Any, tmp_path: Path
) -> None:
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert generate_dataset(SynthConfig(videos=6, seed=5), local, quiet=True).done == 6
    executor = ExecutorConfig(kind="ray", workers=2, num_gpus=0.25)
    summary = generate_dataset(SynthConfig(videos=6, seed=5, executor=executor), on_ray, quiet=True)
    assert (summary.done, summary.failed) == (6, 0)
    files_local, files_ray = _files(local), _files(on_ray)
    assert len(files_local) > 6 * 3 and files_local.keys() == files_ray.keys()
    assert [name for name in files_local if files_local[name] != files_ray[name]] == []
    again = generate_dataset(SynthConfig(videos=6, seed=5, executor=executor), on_ray, quiet=True)
    assert (again.done, again.skipped) == (0, 6)  # the driver's ledger: resume as on the local path


class ShoutConfig(StageConfig):
    RUNTIME_FIELDS = frozenset({"executor"})
    executor: ExecutorConfig = ExecutorConfig()


def _shout_stage(out: Path, texts: dict[str, str], config: ShoutConfig) -> StageSummary:
    """A small stage whose items may fail ("bad") or kill their worker once ("kill")."""
    marker = out / "killed-once"

    def shout(item: StageItem[str]) -> Sequence[Path]:
        import signal

        import ray

        from finsta_cli.io.atomic import atomic_write_text

        if item.payload == "bad":
            raise ValueError("cannot shout this one")
        if item.payload == "kill" and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 of the worker in the middle
        path = out / f"{item.id}.txt"
        atomic_write_text(path, f"{item.payload.upper()} gpus={list(ray.get_gpu_ids())}")
        return [path]

    items = [StageItem(id=k, input_hash=hash_text(v), payload=v) for k, v in texts.items()]
    with StageRun[str]("shout", StagePaths.for_dir(out), config, quiet=True) as run:
        run.run(items, shout, config.executor)
    assert run.summary is not None
    return run.summary


@pytest.mark.ray
@pytest.mark.slow
def test_a_killed_worker_loses_only_its_items_and_a_rerun_finishes_the_set(
    ray_cluster: Any, tmp_path: Path
) -> None:
    texts = {f"t{i:02d}": f"text {i}" for i in range(12)} | {"t90": "bad", "t91": "kill"}
    config = ShoutConfig(executor=ExecutorConfig(kind="ray", workers=2, num_gpus=0.5))
    first = _shout_stage(tmp_path, texts, config)
    failures = (tmp_path / "failures.jsonl").read_text()
    assert first.done + first.failed == len(texts) and first.failed >= 2
    assert '"t90"' in failures and "cannot shout this one" in failures
    assert '"t91"' in failures and "worker lost" in failures
    assert (tmp_path / "killed-once").exists()
    second = _shout_stage(tmp_path, texts, config)
    # Exactly the failed items again: nothing lost, nothing done twice; the bad one fails alone.
    assert (second.done, second.skipped, second.failed) == (first.failed - 1, first.done, 1)
    for item_id, text in texts.items():
        if text != "bad":  # both actors hold half of the one declared GPU
            assert (tmp_path / f"{item_id}.txt").read_text() == f"{text.upper()} gpus=[0]"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.ray
@pytest.mark.slow
def test_a_pool_the_cluster_cannot_hold_is_refused(ray_cluster: Any, tmp_path: Path) -> None:
    config = ShoutConfig(executor=ExecutorConfig(kind="ray", workers=2, num_gpus=0.75))
    with pytest.raises(UsageError, match=r"2 Ray workers with --num-gpus 0\.75 need 1\.5 GPUs"):
        _shout_stage(tmp_path, {"a": "text"}, config)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["counts"]["done"] == 0


def test_executor_ray_without_ray_exits_4_with_the_install_command(tmp_path: Path) -> None:
    # sys.modules["ray"] = None makes `import ray` fail as when it is not installed.
    code = (
        "import sys; sys.modules['ray'] = None; from finsta_cli.cli.app import main; "
        "sys.argv = ['finsta', 'synth', '--out', sys.argv[1], '-n', '2', '--executor', 'ray']; "
        "main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=repo_env(),
        timeout=120,
    )
    assert done.returncode == 4, done.stderr
    assert RAY_INSTALL in done.stderr
    # Refused before the run starts: no config and no "failed" manifest left behind.
    assert not [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()]


@pytest.mark.ray
@pytest.mark.slow
def test_build_hsg_on_ray_writes_the_same_files_as_local(ray_cluster: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finsta_cli.cli.app import app
    from finsta_cli.io import atomic_write_json, output_path
    from finsta_cli.synth.dsg import synth_to_dsg

    generate_dataset(SynthConfig(videos=6, seed=21), tmp_path / "synth", quiet=True)
    with (tmp_path / "captions.jsonl").open("w") as captions:
        for line in (tmp_path / "synth" / "train.jsonl").read_text().splitlines():
            record = json.loads(line)
            dsg = synth_to_dsg(record)
            path = output_path(tmp_path / "dsg", dsg.video_id, ".json")
            atomic_write_json(path, dsg.model_dump(mode="json"))
            for k, caption in enumerate(record["captions"]):
                row = {"id": f"{record['video_id']}.c{k}", "text": caption["text"]}
                captions.write(json.dumps(row) + "\n")
    runner = CliRunner()
    tsg = str(tmp_path / "tsg.jsonl")
    parsed = runner.invoke(app, ["parse-text", str(tmp_path / "captions.jsonl"), "--out", tsg])
    assert parsed.exit_code == 0, parsed.output
    common = ["build-hsg", "--tsg", tsg, "--dsg", str(tmp_path / "dsg"), "-q"]
    local = runner.invoke(app, [*common, "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    on_ray = runner.invoke(
        app, [*common, "--out", str(tmp_path / "ray"), "--executor", "ray", "--workers", "2",
              "--cpus-per-worker", "0.5", "--json"]
    )  # fmt: skip
    assert on_ray.exit_code == 0, on_ray.output
    assert json.loads(on_ray.stdout)["done"] > 4
    files_local, files_ray = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert (
        any(name.endswith(".pt") for name in files_local) and files_local.keys() == files_ray.keys()
    )
    assert [name for name in files_local if files_local[name] != files_ray[name]] == []
    resolved = (tmp_path / "ray" / "config.yaml").read_text()
    assert "kind: ray" in resolved and "cpus_per_worker: 0.5" in resolved


@pytest.mark.ray
@pytest.mark.slow
def test_build_dsg_on_ray_writes_the_same_files_as_local(ray_cluster: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finsta_cli.cli.app import app

    # Four frames a video and batches of eight: locally, two videos share each detector batch.
    config = SynthConfig(videos=5, seed=8, width=96, height=96, min_frames=12, max_frames=12)
    generate_dataset(config, tmp_path / "synth", quiet=True)
    videos = tmp_path / "synth" / "videos"
    (videos / "broken.mp4").write_text("not a video\n")  # fails alone, on both paths
    runner = CliRunner()
    common = ["build-dsg", str(videos), "--frames", "4", "--batch", "8", "--imgsz", "64"]
    common += ["--device", "cpu", "-q", "--json"]
    local = runner.invoke(app, [*common, "--out", str(tmp_path / "local")])
    assert local.exit_code == 3, local.output
    on_ray = runner.invoke(
        app, [*common, "--out", str(tmp_path / "ray"), "--executor", "ray", "--workers", "2",
              "--num-gpus", "0.5", "--cpus-per-worker", "0.5"]
    )  # fmt: skip
    assert on_ray.exit_code == 3, on_ray.output
    assert (json.loads(on_ray.stdout)["done"], json.loads(on_ray.stdout)["failed"]) == (5, 1)
    files_local, files_ray = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert sum(name.endswith(".pt") for name in files_local) == 5
    assert files_local.keys() == files_ray.keys()
    assert [n for n in files_local if files_local[n] != files_ray[n] and "failures" not in n] == []
    failure = json.loads(files_ray["failures.jsonl"])
    assert (
        failure["id"] == "broken"
        and failure["reason"] == json.loads(files_local["failures.jsonl"])["reason"]
    )
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["config"]["executor"]["num_gpus"] == 0.5
    again = runner.invoke(app, [*common, "--out", str(tmp_path / "ray"), "--executor", "ray"])
    assert json.loads(again.stdout)["skipped"] == 5  # the driver's ledger: resume as locally


@pytest.mark.ray
@pytest.mark.slow
def test_parse_text_on_ray_writes_the_same_bytes_as_local(ray_cluster: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finsta_cli.cli.app import app

    texts = [
        "a red ball rolls left of a blue cube",
        "the man is riding a horse on the beach",
        "two dogs play with a frisbee in the park",
        "the green cone moves behind the star",
    ]
    with (tmp_path / "captions.jsonl").open("w") as captions:
        for i in range(30):
            captions.write(json.dumps({"id": f"c{i:02d}", "text": texts[i % 4] + " " * (i % 3)}))
            captions.write("\n{not json\n" if i == 12 else "\n")  # a bad line fails alone
    runner = CliRunner()
    common = ["parse-text", str(tmp_path / "captions.jsonl"), "--batch-size", "4", "-q"]
    local = runner.invoke(app, [*common, "--out", str(tmp_path / "local.jsonl")])
    assert local.exit_code == 3, local.output
    ray = ["--out", str(tmp_path / "ray.jsonl"), "--executor", "ray", "--cpus-per-worker", "0.5"]
    first = runner.invoke(app, [*common, *ray, "--limit", "9"])  # resume copies these 9 lines
    assert first.exit_code == 0, first.output
    on_ray = runner.invoke(app, [*common, *ray, "--workers", "2", "--json"])
    assert on_ray.exit_code == 3, on_ray.output
    summary = json.loads(on_ray.stdout)
    assert (summary["done"], summary["skipped"], summary["failed"]) == (21, 9, 1)
    written = (tmp_path / "ray.jsonl").read_bytes()
    assert written.count(b"\n") == 30 and written == (tmp_path / "local.jsonl").read_bytes()
