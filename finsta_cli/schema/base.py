"""The versioned-record base class every artifact schema derives from."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from finsta_cli.errors import SchemaVersionError


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


class VersionedRecord(BaseModel):
    """A record carrying ``schema_version`` ``"MAJOR.MINOR"``.

    Minor versions only add optional fields, so a reader ignores fields it does not know
    (``extra="ignore"``) and reads any minor version of its major. A record of another major
    version is refused with :class:`SchemaVersionError`: a newer major needs a newer finsta, an
    older one needs the stage that wrote it to be run again.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    SCHEMA_KIND: ClassVar[str] = "record"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    schema_version: str = Field(
        default="", pattern=r"^\d+\.\d+$", description="MAJOR.MINOR version of this record's schema"
    )

    @model_validator(mode="before")
    @classmethod
    def _check_version(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        version = data.get("schema_version")
        if version in (None, ""):
            return {**data, "schema_version": cls.SCHEMA_VERSION}
        if not isinstance(version, str):
            return data  # the field's own validation reports the type
        ours, theirs = _major(cls.SCHEMA_VERSION), _major(version)
        if theirs is None or ours is None or theirs == ours:
            return data
        if theirs > ours:
            raise SchemaVersionError(
                f"{cls.SCHEMA_KIND} record has schema version {version}, newer than the "
                f"{cls.SCHEMA_VERSION.split('.')[0]}.x this finsta reads",
                hint="upgrade finsta (pip install -U finsta) to read it",
            )
        raise SchemaVersionError(
            f"{cls.SCHEMA_KIND} record has schema version {version}, older than the "
            f"{cls.SCHEMA_VERSION} this finsta reads",
            hint="run the stage that wrote it again with this finsta",
        )

    @model_validator(mode="after")
    def _fill_version(self) -> VersionedRecord:
        if not self.schema_version:
            self.schema_version = self.SCHEMA_VERSION
        return self
