"""A stage run: shard and limit selection, resume, failure isolation, progress and the manifest.

Every item-based stage drives its work through :class:`StageRun`::

    with StageRun("build-dsg", StagePaths.for_dir(out), config, shard=shard) as run:
        for item in run.select(items):          # skips finished items, applies --shard/--limit
            try:
                outputs = process(item)         # writes outputs with the atomic helpers
            except Exception as exc:
                run.fail(item, exc)              # recorded in failures.jsonl; the others go on
            else:
                run.done(item, outputs)          # recorded in the ledger: resume skips it
    summary = run.summary                        # counts and exit code (3 when items failed)

or hands the loop to :meth:`StageRun.run` (``run.run(items, process, executor)``), which with
``--executor ray`` runs ``process`` on a pool of Ray actors and records each outcome here
(:mod:`finsta_cli.io.executor`).

Resume: after an item's outputs are written (atomically, fsynced), a line
``{id, key, outputs, stamps}`` is appended to a hidden ledger beside them. ``key`` hashes the
item's input hash with the hash of the config fields that decide outputs; ``stamps`` are the
outputs' (inode, size, mtime) at that moment. An item is skipped when its latest ledger line has
the same key and every output is still the very file the line describes: a file rewritten since
(by a later run that was killed before its own ledger line, say) is redone, never trusted.
``force=True`` redoes everything. Each shard keeps its own ledger, manifest and failures file,
so shards can share one output folder.

A stage whose items all go to one file that appears only when the run ends (parse-text) passes
``output_file``: its ledger is then a snapshot written after that file is in place, headed by the
file's stamp, and read only while the file on disk is still that one. A run that is interrupted
leaves the earlier file and its ledger as they were.

Each run holds an advisory lock on its outputs (:mod:`finsta_cli.io.lock`): a second run on the
same outputs (same folder, file and shard) exits with the first one's pid, host and command. On
start, a run removes the temporary files that killed runs left, when no other run is live there.
A full disk stops the run (every later item would fail alike) with the path in the message.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

from finsta_cli.errors import ExitCode, FinstaError, storage_full_error
from finsta_cli.io.atomic import atomic_open, atomic_write_json, atomic_write_text
from finsta_cli.io.faults import failpoint
from finsta_cli.io.hashing import hash_json, hash_text
from finsta_cli.io.lock import LOCK_STEM, output_lock, remove_stale_temporaries
from finsta_cli.io.progress import StageProgress, get_logger
from finsta_cli.io.shard import Shard
from finsta_cli.schema.manifest import (
    InputRecord,
    RunCounts,
    RunManifest,
    RunStatus,
    RunWarning,
)

if TYPE_CHECKING:  # config imports io.hashing: a run-time import here would be circular
    from finsta_cli.config import StageConfig
    from finsta_cli.io.executor import ExecutorConfig

PayloadT = TypeVar("PayloadT")
LEDGER_STEM = ".finsta-ledger"
log = get_logger("stage")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StagePaths:
    """Where a stage keeps its manifest, failures, resolved config and resume ledger.

    For a folder of outputs (``--out sgs/``) they are ``sgs/manifest.json``,
    ``sgs/failures.jsonl``, ``sgs/config.yaml`` and ``sgs/.finsta-ledger.jsonl``; for a single
    output file (``--out tsg.jsonl``) they sit beside it as ``tsg.manifest.json`` and so on.
    A shard adds ``.shard-I-of-N`` to the manifest, failures and ledger names.
    """

    root: Path
    prefix: str = ""
    shard: Shard = field(default_factory=Shard)

    @classmethod
    def for_dir(cls, out_dir: str | os.PathLike[str], shard: Shard | None = None) -> StagePaths:
        return cls(Path(out_dir), "", shard or Shard())

    @classmethod
    def for_file(cls, out_file: str | os.PathLike[str], shard: Shard | None = None) -> StagePaths:
        path = Path(out_file)
        return cls(path.parent, f"{path.stem}.", shard or Shard())

    @property
    def manifest(self) -> Path:
        return self.root / f"{self.prefix}manifest{self.shard.tag}.json"

    @property
    def failures(self) -> Path:
        return self.root / f"{self.prefix}failures{self.shard.tag}.jsonl"

    @property
    def config(self) -> Path:
        return self.root / f"{self.prefix}config.yaml"

    @property
    def _ledger_base(self) -> str:
        return LEDGER_STEM + (f".{self.prefix.rstrip('.')}" if self.prefix else "")

    @property
    def ledger(self) -> Path:
        return self.root / f"{self._ledger_base}{self.shard.tag}.jsonl"

    @property
    def lock(self) -> Path:
        """The advisory lock file of these outputs (one per output file or folder and shard)."""
        suffix = f".{self.prefix.rstrip('.')}" if self.prefix else ""
        return self.root / f"{LOCK_STEM}{suffix}{self.shard.tag}"

    def all_ledgers(self) -> list[Path]:
        """The ledgers of every shard that wrote these outputs."""
        base = self._ledger_base
        found = [self.root / f"{base}.jsonl", *self.root.glob(f"{base}.shard-*-of-*.jsonl")]
        return sorted(path for path in found if path.is_file())


@dataclass
class StageItem(Generic[PayloadT]):
    """One unit of work: its id, the hash of its input, the input itself and where it came from."""

    id: str
    input_hash: str
    payload: PayloadT
    source: str | None = None


@dataclass
class StageSummary:
    """What a run did; ``exit_code`` is 0 when nothing failed, 3 when some items failed."""

    stage: str
    selected: int
    done: int
    skipped: int
    failed: int
    seconds: float
    manifest: str
    failures: str | None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PARTIAL if self.failed else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "selected": self.selected,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "manifest": self.manifest,
            "failures": self.failures,
            "exit_code": int(self.exit_code),
        }


Stamp = list[int]


def file_stamp(path: Path) -> Stamp | None:
    """(inode, size, mtime in ns) of ``path``, or None when it is absent.

    An atomic write makes a new file (a new inode), so a rewritten output never keeps the stamp
    of the one it replaced, even within the file system's time resolution.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def json_line(obj: Any) -> str:
    """``obj`` as one JSON line (UTF-8 text as is; ASCII escapes when a string is not encodable,
    such as a lone surrogate read from a JSON ``"\\ud800"``)."""
    line = json.dumps(obj, ensure_ascii=False)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(obj, ensure_ascii=True)
    return line + "\n"


def describe_error(error: BaseException | str) -> str:
    """A one-line reason for failures.jsonl."""
    if isinstance(error, str):
        return error
    if isinstance(error, FinstaError):
        return error.message
    return f"{type(error).__name__}: {error}"


class PhaseTimings(dict[str, float]):
    """Seconds per phase of a run (``decode``, ``detect``, ...), summed over the blocks timed."""

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the time spent inside the block to ``self[phase]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self[phase] = self.get(phase, 0.0) + time.perf_counter() - start


class StageRun(Generic[PayloadT]):
    """One run of a stage over items; see the module docstring for the protocol."""

    def __init__(
        self,
        stage: str,
        paths: StagePaths,
        config: StageConfig,
        *,
        force: bool = False,
        limit: int | None = None,
        quiet: bool = False,
        device: str = "cpu",
        threads: int | None = None,
        total: int | None = None,
        command: Sequence[str] | None = None,
        output_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.stage = stage
        self.paths = paths
        self.config = config
        self.force = force
        self.limit = limit
        self.device = device
        self.threads = threads
        self.command = list(command if command is not None else sys.argv)
        self.counts = RunCounts()
        self.inputs: list[InputRecord] = []
        self.warnings: list[RunWarning] = []
        self.timings = PhaseTimings()
        self._config_key = config.output_hash()
        self._plain_config_key = self._config_key.isascii() and self._config_key.isalnum()
        self._finished: dict[str, tuple[str, list[str], list[Stamp] | None]] = {}
        self._output_file = Path(output_file) if output_file is not None else None
        self._pending: Path | None = None  # the snapshot ledger being written (output_file)
        self._held = ExitStack()
        self._ledger: IO[str] | None = None
        self._failures: IO[str] | None = None
        self._started = time.perf_counter()
        self._started_at = utc_now()
        self._now_second = -1
        self._now_text = ""
        self._progress = StageProgress(stage, total, quiet=quiet)
        self.summary: StageSummary | None = None

    # -- set-up and tear-down -------------------------------------------------------------
    def __enter__(self) -> StageRun[PayloadT]:
        executor = getattr(self.config, "executor", None)
        if executor is not None and executor.kind == "ray":
            from finsta_cli.io.executor import import_ray

            import_ray()  # no Ray: exit 4 before anything is written
        self.paths.root.mkdir(parents=True, exist_ok=True)
        what = f"{self._output_file or self.paths.root} ({self.stage}"
        what += f", shard {self.paths.shard})" if not self.paths.shard.is_whole else ")"
        try:
            self._held.enter_context(output_lock(self.paths.lock, what=what))
            self._start()
        except BaseException:
            self._held.close()
            raise
        return self

    def _start(self) -> None:
        names = None  # a folder of outputs is the stage's own; beside one file, only its files
        if self._output_file is not None:
            names = [self._output_file.name, self.paths.ledger.name]
            names += [self.paths.config.name, self.paths.manifest.name]
        remove_stale_temporaries(self.paths.root, held=self.paths.lock, names=names)
        self._note_dead_run()
        if not self.force:
            self._finished = self._read_ledgers()
        with suppress(FileNotFoundError):
            self.paths.failures.unlink()  # failures of earlier runs are retried in this one
        atomic_write_text(self.paths.config, self.config.to_yaml())
        if self._output_file is None:
            self._ledger = self.paths.ledger.open("a", encoding="utf-8")
        else:  # the snapshot: renamed over the ledger once the output file is in place
            fd, name = tempfile.mkstemp(
                prefix=f".{self.paths.ledger.name}.", suffix=".tmp", dir=self.paths.root
            )
            self._pending = Path(name)
            self._ledger = os.fdopen(fd, "w", encoding="utf-8")
        self._progress.__enter__()
        self._write_manifest("running")

    def _note_dead_run(self) -> None:
        """Say so when the last run on these outputs died (its manifest still says running)."""
        try:
            earlier = json.loads(self.paths.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(earlier, dict) and earlier.get("status") == "running":
            who = f"pid {earlier.get('pid', '?')} on {earlier.get('host', '?')}"
            log.warning(
                "the last %s run here (%s, started %s) did not finish; its finished items are "
                "kept and the rest is redone",
                self.stage,
                who,
                earlier.get("started_at", "?"),
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._finish(exc_type, exc, tb)
        finally:
            self._held.close()

    def _finish(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)
        for handle in (self._ledger, self._failures):
            if handle is not None:
                with suppress(OSError):  # a full disk: the error already on its way says so
                    handle.flush()
                    os.fsync(handle.fileno())
                handle.close()
        self._ledger = self._failures = None
        if self._pending is not None:
            self._commit_snapshot(success=exc_type is None)
        status: RunStatus
        if exc_type is None:
            status = "partial" if self.counts.failed else "completed"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "interrupted"
        else:
            status = "failed"
        seconds = time.perf_counter() - self._started
        error = describe_error(exc) if exc else None
        if exc is None:
            self._write_manifest(status, seconds=seconds, error=error)
        else:  # never hide the run's own error behind one from writing the manifest
            try:
                self._write_manifest(status, seconds=seconds, error=error)
            except OSError as manifest_error:
                log.warning("could not write %s: %s", self.paths.manifest, manifest_error)
        self.summary = StageSummary(
            stage=self.stage,
            selected=self.counts.selected,
            done=self.counts.done,
            skipped=self.counts.skipped,
            failed=self.counts.failed,
            seconds=seconds,
            manifest=str(self.paths.manifest),
            failures=str(self.paths.failures) if self.counts.failed else None,
        )

    def _commit_snapshot(self, *, success: bool) -> None:
        """Put the snapshot ledger in place, headed by the output file's stamp, or drop it."""
        assert self._pending is not None and self._output_file is not None
        pending, self._pending = self._pending, None
        try:
            stamp = file_stamp(self._output_file) if success else None
            if stamp is None:
                return  # interrupted or failed: the earlier output and ledger stay as they were
            failpoint("stage.snapshot")
            header = {"output": self._output_file.name, "stamp": stamp}
            with atomic_open(self.paths.ledger, "w") as target:
                target.write(json_line(header))
                with pending.open("r", encoding="utf-8") as source:
                    while block := source.read(1 << 20):
                        target.write(block)
        finally:
            with suppress(FileNotFoundError):
                pending.unlink()

    def _read_ledgers(self) -> dict[str, tuple[str, list[str], list[Stamp] | None]]:
        if self._output_file is not None:
            return self._read_snapshot()
        finished: dict[str, tuple[str, list[str], list[Stamp] | None]] = {}
        for ledger in self.paths.all_ledgers():
            with ledger.open("r", encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    with suppress(ValueError, KeyError, TypeError):
                        # A line cut short by a killed run fails here: that item is redone.
                        self._add_entry(finished, json.loads(line))
        return finished

    @staticmethod
    def _add_entry(
        finished: dict[str, tuple[str, list[str], list[Stamp] | None]], entry: dict[str, Any]
    ) -> None:
        stamps = entry.get("stamps")  # absent in ledgers written before stamps existed
        finished[str(entry["id"])] = (
            str(entry["key"]),
            list(entry["outputs"]),
            [list(stamp) for stamp in stamps] if stamps is not None else None,
        )

    def _read_snapshot(self) -> dict[str, tuple[str, list[str], list[Stamp] | None]]:
        assert self._output_file is not None
        finished: dict[str, tuple[str, list[str], list[Stamp] | None]] = {}
        try:
            handle = self.paths.ledger.open("r", encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return finished
        with handle:
            try:
                header = json.loads(handle.readline())
                valid = header["stamp"] == file_stamp(self._output_file)
            except (ValueError, KeyError, TypeError):
                valid = False
            if not valid:
                log.info(
                    "%s is not the file its ledger describes (an interrupted run, or edited): "
                    "every item is done again",
                    self._output_file,
                )
                return finished
            for line in handle:
                with suppress(ValueError, KeyError, TypeError):
                    self._add_entry(finished, json.loads(line))
        return finished

    def _write_manifest(
        self, status: RunStatus, *, seconds: float | None = None, error: str | None = None
    ) -> None:
        from finsta_cli import __version__
        from finsta_cli.runtime import package_versions

        manifest = RunManifest(
            version=__version__,
            stage=self.stage,
            status=status,
            command=self.command,
            started_at=self._started_at,
            finished_at=utc_now() if seconds is not None else None,
            seconds=round(seconds, 3) if seconds is not None else None,
            python=platform.python_version(),
            platform=platform.platform(),
            packages=package_versions(),
            pid=os.getpid(),
            host=socket.gethostname(),
            config=self.config.model_dump(mode="json"),
            config_hash=hash_json(self.config.model_dump(mode="json")),
            inputs=self.inputs,
            counts=self.counts,
            timings={name: round(value, 3) for name, value in self.timings.items()},
            device=self.device,
            threads=self.threads,
            shard=None if self.paths.shard.is_whole else str(self.paths.shard),
            limit=self.limit,
            force=self.force,
            failures=str(self.paths.failures) if self.counts.failed else None,
            error=error,
            warnings=self.warnings,
        )
        atomic_write_json(self.paths.manifest, manifest.model_dump(mode="json"))

    # -- the protocol ---------------------------------------------------------------------
    def item_key(self, item: StageItem[PayloadT]) -> str:
        input_hash = item.input_hash
        if self._plain_config_key and input_hash.isascii() and input_hash.isalnum():
            # hash_json's canonical form of two plain hex strings, without json.dumps.
            return hash_text(f'["{input_hash}","{self._config_key}"]')
        return hash_json([input_hash, self._config_key])

    def is_finished(self, item: StageItem[PayloadT]) -> bool:
        """Whether an earlier run finished ``item`` with the same input and config."""
        entry = self._finished.get(item.id)
        if entry is None or entry[0] != self.item_key(item):
            return False
        _, names, stamps = entry
        if stamps is None:  # a ledger line from before stamps: the outputs must exist
            return all((self.paths.root / name).exists() for name in names)
        return len(stamps) == len(names) and all(
            stamp is not None and file_stamp(self.paths.root / name) == stamp
            for name, stamp in zip(names, stamps, strict=True)
        )

    def select(self, items: Iterable[StageItem[PayloadT]]) -> Iterator[StageItem[PayloadT]]:
        """Yield the items this run must process: in this shard, within --limit, not finished.

        An id seen before in this run fails that later item (``failures.jsonl``).
        """
        first_seen: dict[str, str | None] = {}
        for item in items:
            if not self.paths.shard.contains(item.id):
                continue
            if self.limit is not None and self.counts.selected >= self.limit:
                break
            self.counts.selected += 1
            if item.id in first_seen:
                where = first_seen[item.id]
                self.fail(
                    item,
                    f"duplicate id: {'an earlier item' if where is None else where} has it too; "
                    "outputs and resume are keyed by id, so only the first is processed",
                )
                continue
            first_seen[item.id] = item.source
            if self.is_finished(item):
                self.counts.skipped += 1
                if self._pending is not None:  # the new snapshot lists what it copies too
                    self._write_entry(item, [], [])
                self._progress.advance(status="skipped")
                continue
            yield item

    def done(self, item: StageItem[PayloadT], outputs: Sequence[str | os.PathLike[str]]) -> None:
        """Record that ``item``'s outputs (already written atomically) are complete.

        The ledger line is flushed at once, so that a killed run resumes after it (with
        ``output_file``, the snapshot is written in blocks and put in place when the run ends).
        """
        paths = [Path(path) for path in outputs]
        stamps = [file_stamp(path) for path in paths]  # None: absent, so resume redoes it
        failpoint("stage.done")
        self._write_entry(item, [self._relative(path) for path in paths], stamps)
        self.counts.done += 1
        self._progress.advance()

    def _write_entry(
        self,
        item: StageItem[PayloadT],
        names: list[str],
        stamps: Sequence[Stamp | None],
    ) -> None:
        entry = {
            "id": item.id,
            "key": self.item_key(item),
            "outputs": names,
            "stamps": stamps,
            "time": self._now(),
        }
        if self._ledger is not None:
            self._ledger.write(json_line(entry))
            if self._pending is None:  # a snapshot is only read once it is complete
                self._ledger.flush()

    def _now(self) -> str:
        """:func:`utc_now`, formatted once per second."""
        second = int(time.time())
        if second != self._now_second:
            self._now_second = second
            self._now_text = datetime.fromtimestamp(second, timezone.utc).isoformat(
                timespec="seconds"
            )
        return self._now_text

    def fail(
        self, item: StageItem[PayloadT] | str, error: BaseException | str, source: str | None = None
    ) -> None:
        """Record a failed item in failures.jsonl with its reason; the run goes on.

        A full disk is not an item's failure: it raises :class:`StorageFullError` and the run
        stops (every later item would fail alike, and this record could not be written either).
        """
        if isinstance(error, BaseException) and (full := storage_full_error(error)) is not None:
            raise full from None
        item_id = item if isinstance(item, str) else item.id
        where = source if source is not None or isinstance(item, str) else item.source
        reason = describe_error(error)
        if isinstance(error, BaseException) and not isinstance(error, FinstaError):
            log.debug("%s failed:\n%s", item_id, "".join(traceback.format_exception(error)))
        log.warning("%s%s: %s", item_id, f" ({where})" if where else "", reason)
        if self._failures is None:
            self._failures = self.paths.failures.open("a", encoding="utf-8")
        record = {
            "id": item_id,
            "source": where,
            "stage": self.stage,
            "reason": reason,
            "time": utc_now(),
        }
        self._failures.write(json_line(record))
        self._failures.flush()
        self.counts.failed += 1
        self._progress.advance(status="failed")

    def run(
        self,
        items: Iterable[StageItem[PayloadT]],
        process: Callable[[StageItem[PayloadT]], Sequence[str | os.PathLike[str]]],
        executor: ExecutorConfig | None = None,
    ) -> None:
        """Process items one by one: ``process`` writes an item's outputs and returns their paths.

        An error in one item is recorded and the next item goes on; a missing resource or a
        usage error (exit codes 4 and 2) stops the run, since every item would fail alike.
        With ``executor.kind == "ray"``, a pool of Ray actors runs ``process`` (shipped to each
        once) while this run records the outcomes (:mod:`finsta_cli.io.executor`).
        """
        if executor is not None and executor.kind == "ray":
            from finsta_cli.io.executor import run_on_ray

            run_on_ray(self, items, process, executor)
            return
        for item in self.select(items):
            try:
                outputs = process(item)
            except FinstaError as exc:
                if exc.exit_code in (ExitCode.MISSING_RESOURCE, ExitCode.USAGE):
                    raise
                self.fail(item, exc)
            except Exception as exc:
                self.fail(item, exc)
            else:
                self.done(item, outputs)

    def timed(self, phase: str) -> AbstractContextManager[None]:
        """Add the time spent inside the block to ``timings[phase]`` in the manifest."""
        return self.timings.timed(phase)

    def warn(self, code: str, message: str) -> None:
        """Log a warning on stderr and keep it in the manifest's ``warnings`` (``code``: a
        stable name for programs that read the manifest)."""
        log.warning("%s", message)
        self.warnings.append(RunWarning(code=code, message=message))

    def add_input(
        self, path: str | os.PathLike[str], sha256: str | None, items: int | None
    ) -> None:
        self.inputs.append(InputRecord(path=os.fspath(path), sha256=sha256, items=items))

    def _relative(self, path: str | os.PathLike[str]) -> str:
        resolved = Path(path).resolve()
        try:
            return str(resolved.relative_to(self.paths.root.resolve()))
        except ValueError:
            return str(resolved)
