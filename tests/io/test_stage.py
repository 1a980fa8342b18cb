"""StageRun: resume skips exactly the finished items; failures are isolated; manifest is written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from finsta_cli.config import StageConfig
from finsta_cli.errors import ExitCode, MissingResourceError
from finsta_cli.io import (
    Shard,
    StageItem,
    StagePaths,
    StageRun,
    atomic_write_text,
    hash_text,
    output_path,
)
from finsta_cli.schema import RunManifest


class UpperConfig(StageConfig):
    suffix: str = "!"
    batch_size: int = 8
    RUNTIME_FIELDS = frozenset({"batch_size"})


def make_items(texts: dict[str, str]) -> list[StageItem[str]]:
    return [
        StageItem(id=k, input_hash=hash_text(v), payload=v, source=f"in:{k}")
        for k, v in texts.items()
    ]


class Upper:
    """A tiny stage: writes the upper-cased text of each item; fails on items containing 'bad'."""

    def __init__(self, out: Path, config: UpperConfig) -> None:
        self.out, self.config, self.calls = out, config, []

    def __call__(self, item: StageItem[str]) -> Sequence[Path]:
        self.calls.append(item.id)
        if "bad" in item.payload:
            raise ValueError(f"cannot shout {item.payload!r}")
        path = output_path(self.out, item.id, ".txt")
        atomic_write_text(path, item.payload.upper() + self.config.suffix)
        return [path]


def run_stage(
    out: Path,
    texts: dict[str, str],
    config: UpperConfig | None = None,
    *,
    force: bool = False,
    shard: Shard | None = None,
    limit: int | None = None,
) -> tuple[Upper, StageRun[str]]:
    config = config or UpperConfig()
    process = Upper(out, config)
    with StageRun(
        "upper", StagePaths.for_dir(out, shard), config, force=force, limit=limit, quiet=True
    ) as run:
        run.run(make_items(texts), process)
    return process, run


TEXTS = {f"v{i}": f"text {i}" for i in range(6)}


def test_resume_skips_exactly_the_finished_items(tmp_path: Path) -> None:
    first, run = run_stage(tmp_path, TEXTS)
    assert first.calls == list(TEXTS) and run.summary is not None and run.summary.done == 6
    second, run = run_stage(tmp_path, TEXTS)
    assert second.calls == [] and run.summary is not None and run.summary.skipped == 6

    changed = dict(TEXTS, v2="text two")  # new input hash
    (tmp_path / "v4.txt").unlink()  # output gone
    third, run = run_stage(tmp_path, changed)
    assert third.calls == ["v2", "v4"]
    assert (tmp_path / "v2.txt").read_text() == "TEXT TWO!"

    fourth, _ = run_stage(tmp_path, changed, UpperConfig(batch_size=64))  # runtime-only change
    assert fourth.calls == []
    fifth, _ = run_stage(tmp_path, changed, UpperConfig(suffix="?"))  # output-deciding change
    assert fifth.calls == list(TEXTS)
    sixth, _ = run_stage(tmp_path, changed, UpperConfig(suffix="?"), force=True)
    assert sixth.calls == list(TEXTS)


def test_resume_after_a_kill_redoes_only_unrecorded_items(tmp_path: Path) -> None:
    run_stage(tmp_path, {k: TEXTS[k] for k in ["v0", "v1", "v2"]})
    ledger = tmp_path / ".finsta-ledger.jsonl"
    lines = ledger.read_text().splitlines()
    # A kill during the third ledger append leaves a cut line: that item is redone.
    ledger.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    again, _ = run_stage(tmp_path, TEXTS)
    assert again.calls == ["v2", "v3", "v4", "v5"]


def test_failures_are_isolated_and_recorded(tmp_path: Path) -> None:
    texts = dict(TEXTS, v3="bad input")
    _, run = run_stage(tmp_path, texts)
    assert run.summary is not None
    assert (run.summary.done, run.summary.failed) == (5, 1)
    assert run.summary.exit_code == ExitCode.PARTIAL
    assert sorted(p.name for p in tmp_path.glob("*.txt")) == [
        f"v{i}.txt" for i in range(6) if i != 3
    ]
    failures = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
    assert failures == [
        {
            "id": "v3",
            "source": "in:v3",
            "stage": "upper",
            "reason": "ValueError: cannot shout 'bad input'",
            "time": failures[0]["time"],
        }
    ]
    # The failed item is retried by the next run; once fixed, failures.jsonl goes away.
    retry, run = run_stage(tmp_path, TEXTS)
    assert (
        retry.calls == ["v3"] and run.summary is not None and run.summary.exit_code == ExitCode.OK
    )
    assert not (tmp_path / "failures.jsonl").exists()


def test_missing_resource_stops_the_run(tmp_path: Path) -> None:
    def needs_weights(item: StageItem[str]) -> Sequence[Path]:
        raise MissingResourceError("weights.pt does not exist")

    paths = StagePaths.for_dir(tmp_path)
    with (
        pytest.raises(MissingResourceError),
        StageRun("upper", paths, UpperConfig(), quiet=True) as run,
    ):
        run.run(make_items(TEXTS), needs_weights)
    manifest = RunManifest.model_validate_json((tmp_path / "manifest.json").read_text())
    assert manifest.status == "failed" and manifest.error == "weights.pt does not exist"


def test_manifest_and_resolved_config(tmp_path: Path) -> None:
    run_stage(tmp_path, TEXTS, UpperConfig(suffix="."), limit=4)
    manifest = RunManifest.model_validate_json((tmp_path / "manifest.json").read_text())
    assert manifest.status == "completed" and manifest.stage == "upper"
    assert manifest.counts.selected == 4 and manifest.counts.done == 4
    assert manifest.config == {"suffix": ".", "batch_size": 8} and len(manifest.config_hash) == 64
    assert manifest.packages["torch"] and manifest.limit == 4 and manifest.seconds is not None
    assert (tmp_path / "config.yaml").read_text() == "suffix: .\nbatch_size: 8\n"
    assert sorted(p.name for p in tmp_path.glob("*.txt")) == [
        "v0.txt",
        "v1.txt",
        "v2.txt",
        "v3.txt",
    ]


def test_shards_share_a_folder_and_cover_every_item(tmp_path: Path) -> None:
    texts = {f"clip{i}": f"t{i}" for i in range(40)}
    seen: list[str] = []
    for index in range(3):
        process, _ = run_stage(tmp_path, texts, shard=Shard(index, 3))
        seen += process.calls
    assert sorted(seen) == sorted(texts)
    assert sorted(p.name for p in tmp_path.glob("manifest*.json")) == [
        f"manifest.shard-{i}-of-3.json" for i in range(3)
    ]
    # A later unsharded run sees every shard's ledger and has nothing left to do.
    whole, _ = run_stage(tmp_path, texts)
    assert whole.calls == []


def test_paths_for_a_single_output_file(tmp_path: Path) -> None:
    paths = StagePaths.for_file(tmp_path / "tsg.jsonl", Shard(1, 2))
    assert paths.manifest.name == "tsg.manifest.shard-1-of-2.json"
    assert paths.failures.name == "tsg.failures.shard-1-of-2.jsonl"
    assert paths.ledger.name == ".finsta-ledger.tsg.shard-1-of-2.jsonl"
    assert StagePaths.for_dir(tmp_path).ledger.name == ".finsta-ledger.jsonl"


def test_unflushed_ledger_lines_are_written_at_the_end_and_keys_match_hash_json(
    tmp_path: Path,
) -> None:
    from finsta_cli.io import hash_json

    texts = {"a": "one", "b": "two", "c": "three"}
    config = UpperConfig()
    paths = StagePaths.for_dir(tmp_path)
    with StageRun[str]("upper", paths, config) as run:
        for item in run.select(make_items(texts)):
            run.done(item, [], flush=False)
        # Buffered: nothing need be on disk yet, but the run ends by writing every line.
    lines = [json.loads(line) for line in paths.ledger.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    # The key is the hash of the canonical JSON of [input hash, config hash], as before.
    config_key = config.output_hash()
    for line, text in zip(lines, texts.values(), strict=True):
        assert line["key"] == hash_json([hash_text(text), config_key])
    odd = StageItem(id="x", input_hash='not "hex" é', payload="")
    with StageRun[str]("upper", paths, config) as run:
        assert run.item_key(odd) == hash_json([odd.input_hash, config_key])
        assert list(run.select(make_items(texts))) == []  # resume reads the buffered lines
