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


def write_one_file(
    out: Path, texts: dict[str, str], *, stop_after: int | None = None
) -> tuple[list[str], StageRun[str]]:
    """A one-file stage (as parse-text): every item's line goes to ``out``, renamed on close;
    ``stop_after`` interrupts the run (Ctrl-C) after that many items."""
    from finsta_cli.io import atomic_open

    config, calls = UpperConfig(), []
    paths = StagePaths.for_file(out)
    with (
        StageRun[str]("upper", paths, config, quiet=True, output_file=out) as run,
        atomic_open(out, "w") as handle,
    ):
        for item in run.select(make_items(texts)):
            if stop_after is not None and len(calls) == stop_after:
                raise KeyboardInterrupt
            calls.append(item.id)
            handle.write(item.payload.upper() + "\n")
            run.done(item, [])
    return calls, run


def test_one_file_ledger_is_a_snapshot_written_after_the_file_and_keys_match_hash_json(
    tmp_path: Path,
) -> None:
    from finsta_cli.io import hash_json

    out = tmp_path / "out.txt"
    calls, _ = write_one_file(out, TEXTS)
    assert calls == list(TEXTS)
    header, *lines = [
        json.loads(line) for line in StagePaths.for_file(out).ledger.read_text().splitlines()
    ]
    assert header["output"] == "out.txt"
    assert [line["id"] for line in lines] == list(TEXTS)
    # The key is the hash of the canonical JSON of [input hash, config hash], as before.
    config_key = UpperConfig().output_hash()
    for line, text in zip(lines, TEXTS.values(), strict=True):
        assert line["key"] == hash_json([hash_text(text), config_key])
    again, run = write_one_file(out, TEXTS)
    assert again == [] and run.summary is not None and run.summary.skipped == len(TEXTS)
    # The snapshot lists the copied items too: a third run still skips them all.
    assert write_one_file(out, TEXTS)[0] == []


def test_an_interrupted_one_file_run_leaves_the_earlier_file_and_ledger_as_they_were(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.txt"
    write_one_file(out, TEXTS)
    before = (out.read_bytes(), StagePaths.for_file(out).ledger.read_bytes())
    changed = {key: text + " v2" for key, text in TEXTS.items()}
    with pytest.raises(KeyboardInterrupt):
        write_one_file(out, changed, stop_after=4)
    assert (out.read_bytes(), StagePaths.for_file(out).ledger.read_bytes()) == before
    assert not list(tmp_path.glob(".*.tmp"))
    # The changed items are all done again (none trusted from the interrupted run) ...
    assert write_one_file(out, changed)[0] == list(TEXTS)
    assert out.read_text().splitlines() == [text.upper() for text in changed.values()]
    # ... and going back to the first input redoes them too: the file holds v2's lines now.
    assert write_one_file(out, TEXTS)[0] == list(TEXTS)


def test_a_one_file_ledger_that_does_not_describe_the_file_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    write_one_file(out, TEXTS)
    # A run killed between renaming its file and its ledger, or a hand edit: the file is new.
    atomic_write_text(out, "something else\n")
    assert write_one_file(out, TEXTS)[0] == list(TEXTS)


def test_an_output_rewritten_after_its_ledger_line_is_redone(tmp_path: Path) -> None:
    run_stage(tmp_path, TEXTS)
    # A later run with other input rewrote v1.txt and was killed before its ledger line: the
    # ledger still holds v1's first key, which the next run's input matches again.
    atomic_write_text(tmp_path / "v1.txt", "OTHER INPUT!")
    again, _ = run_stage(tmp_path, TEXTS)
    assert again.calls == ["v1"]
    assert (tmp_path / "v1.txt").read_text() == "TEXT 1!"


def test_ledger_lines_from_before_stamps_still_resume(tmp_path: Path) -> None:
    run_stage(tmp_path, TEXTS)
    ledger = tmp_path / ".finsta-ledger.jsonl"
    old = [json.loads(line) for line in ledger.read_text().splitlines()]
    ledger.write_text(
        "".join(json.dumps({k: v for k, v in line.items() if k != "stamps"}) + "\n" for line in old)
    )
    again, _ = run_stage(tmp_path, TEXTS)
    assert again.calls == []


def test_a_second_run_on_the_same_outputs_is_refused_with_the_holder(tmp_path: Path) -> None:
    import os

    from finsta_cli.io.lock import OutputLockedError

    config = UpperConfig()
    with StageRun[str]("upper", StagePaths.for_dir(tmp_path), config, quiet=True):
        with pytest.raises(OutputLockedError) as refused:
            StageRun[str]("upper", StagePaths.for_dir(tmp_path), config, quiet=True).__enter__()
        assert f"pid {os.getpid()}" in refused.value.message
        assert str(tmp_path) in refused.value.message
        # Another shard may share the folder.
        with StageRun[str]("upper", StagePaths.for_dir(tmp_path, Shard(1, 2)), config, quiet=True):
            pass
    with StageRun[str]("upper", StagePaths.for_dir(tmp_path), config, quiet=True):
        pass  # released when the run ends


def test_temporaries_of_dead_runs_are_removed_when_no_run_is_live(tmp_path: Path) -> None:
    stray = tmp_path / "sub" / ".v1.txt.ab12cd_3.tmp"
    keep = tmp_path / ".notes.tmp"  # not an atomic-write temporary
    keep.write_text("mine")
    config = UpperConfig()
    with StageRun[str]("upper", StagePaths.for_dir(tmp_path, Shard(1, 2)), config, quiet=True):
        stray.parent.mkdir()
        stray.write_bytes(b"x" * 100)
        run_stage(tmp_path, TEXTS, shard=Shard(0, 2))
        assert stray.exists()  # shard 1 is live: its temporaries may be in use
    run_stage(tmp_path, TEXTS)
    assert not stray.exists() and keep.exists()


def test_duplicate_ids_fail_the_later_items(tmp_path: Path) -> None:
    items = [
        *make_items(TEXTS),
        StageItem(id="v2", input_hash=hash_text("again"), payload="again", source="in:v2 again"),
    ]
    config = UpperConfig()
    process = Upper(tmp_path, config)
    with StageRun[str]("upper", StagePaths.for_dir(tmp_path), config, quiet=True) as run:
        run.run(items, process)
    assert process.calls == list(TEXTS)
    assert (tmp_path / "v2.txt").read_text() == "TEXT 2!"
    failure = json.loads((tmp_path / "failures.jsonl").read_text())
    assert failure["id"] == "v2" and "duplicate id: in:v2 has it too" in failure["reason"]
    assert run.summary is not None and run.summary.exit_code == ExitCode.PARTIAL


def test_a_full_disk_stops_the_run_naming_the_file(tmp_path: Path) -> None:
    import errno

    from finsta_cli.errors import StorageFullError

    config = UpperConfig()
    calls = []

    def process(item: StageItem[str]) -> list[Path]:
        calls.append(item.id)
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / f"{item.id}.txt"))

    with (
        pytest.raises(StorageFullError) as stopped,
        StageRun[str]("upper", StagePaths.for_dir(tmp_path), config, quiet=True) as run,
    ):
        run.run(make_items(TEXTS), process)
    assert calls == ["v0"]
    assert stopped.value.message == f"{tmp_path / 'v0.txt'}: no space left on device"
    manifest = RunManifest.model_validate_json((tmp_path / "manifest.json").read_text())
    assert manifest.status == "failed" and manifest.error == stopped.value.message


def test_failure_records_keep_ids_that_are_not_unicode(tmp_path: Path) -> None:
    config = UpperConfig()
    with StageRun[str]("upper", StagePaths.for_dir(tmp_path), config, quiet=True) as run:
        run.fail(StageItem(id="a\ud800", input_hash="h", payload=""), "bad id")
    record = json.loads((tmp_path / "failures.jsonl").read_text(encoding="utf-8"))
    assert record["id"] == "a\ud800"


def test_the_manifest_names_the_process_and_a_dead_run_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import os
    import socket

    run_stage(tmp_path, TEXTS)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["pid"], manifest["host"]) == (os.getpid(), socket.gethostname())
    manifest["status"] = "running"  # as a killed run leaves it
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level("WARNING"):
        run_stage(tmp_path, TEXTS)
    assert "did not finish" in caplog.text
