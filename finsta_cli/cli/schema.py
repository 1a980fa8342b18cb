"""``finsta schema KIND``: print the JSON Schema of an artifact."""

import enum
from typing import Annotated

import typer

from finsta_cli.cli.options import command, print_json


class SchemaKind(str, enum.Enum):
    tsg = "tsg"
    dsg = "dsg"
    hsg = "hsg"
    manifest = "manifest"
    protocol = "protocol"
    synth = "synth"


@command
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="Which artifact.")],
) -> None:
    """Print the JSON Schema of a finsta artifact (tsg, dsg, hsg, manifest, protocol, synth) on
    stdout."""
    from finsta_cli.schema import SCHEMAS, VersionedRecord
    from finsta_cli.synth.records import SynthVideo

    models: dict[str, type[VersionedRecord]] = {**SCHEMAS, "synth": SynthVideo}
    model = models[kind.value]
    document = model.model_json_schema()
    document["$id"] = f"finsta:{kind.value}:{model.SCHEMA_VERSION}"
    print_json(document)
