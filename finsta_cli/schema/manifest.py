"""The run manifest every stage writes beside its outputs."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, NonNegativeInt

from finsta_cli.schema.base import VersionedRecord

RunStatus = Literal["running", "completed", "partial", "failed", "interrupted"]


class InputRecord(BaseModel):
    """An input of a run: a file or folder, its content hash and how many items it gave."""

    path: str
    sha256: str | None = Field(
        default=None, description="of the file, or of its items' input hashes for a folder"
    )
    items: NonNegativeInt | None = None


class RunCounts(BaseModel):
    """Item counts of a run; ``selected`` is after --shard and --limit."""

    selected: NonNegativeInt = 0
    done: NonNegativeInt = 0
    skipped: NonNegativeInt = Field(default=0, description="finished by an earlier run")
    failed: NonNegativeInt = 0


class RunWarning(BaseModel):
    """Something a run warned about that makes its outputs suspect (schema 1.1)."""

    code: str = Field(description="stable name of the warning, e.g. synth_detector_on_real_footage")
    message: str


class RunManifest(VersionedRecord):
    """What produced a stage's outputs: tool, packages, config, inputs, counts, timings, device."""

    SCHEMA_KIND: ClassVar[str] = "manifest"
    SCHEMA_VERSION: ClassVar[str] = "1.1"

    record: Literal["manifest"] = "manifest"
    tool: Literal["finsta"] = "finsta"
    version: str
    stage: str
    status: RunStatus
    command: list[str] = Field(default_factory=list, description="argv of the run")
    started_at: str = Field(description="ISO 8601, UTC")
    finished_at: str | None = None
    seconds: float | None = None
    python: str
    platform: str
    packages: dict[str, str | None] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    config_hash: str
    inputs: list[InputRecord] = Field(default_factory=list)
    counts: RunCounts = Field(default_factory=RunCounts)
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per phase")
    device: str = "cpu"
    threads: int | None = None
    pid: int | None = Field(
        default=None, description="process that ran it (a dead run stays 'running')"
    )
    host: str | None = Field(default=None, description="machine that ran it")
    shard: str | None = None
    limit: int | None = None
    force: bool = False
    failures: str | None = Field(default=None, description="failures file, when items failed")
    error: str | None = Field(default=None, description="the fatal error, when status is failed")
    warnings: list[RunWarning] = Field(
        default_factory=list, description="what the run warned about (also logged on stderr)"
    )


class TrainManifest(RunManifest):
    """align-train's manifest: a run manifest plus ``result``, the run's summary (what
    ``--json`` prints).

    A training run has no items, so it writes only the fields it sets (:meth:`to_json`): not
    ``inputs``, ``counts``, ``shard``, ``limit``, ... Its schema stays 1.0, the fields it has
    always written; any 1.x manifest reader reads it.
    """

    SCHEMA_VERSION: ClassVar[str] = "1.0"

    result: dict[str, Any] | None = Field(
        default=None, description="the run's summary, when it finished (align-train --json)"
    )

    def to_json(self) -> dict[str, Any]:
        """The manifest as written: the fields this run set, and which record it is."""
        written = {"schema_version", "record", "tool", *self.model_fields_set}
        return self.model_dump(mode="json", include=written)
