"""Where a stage's items run: here, one by one (``local``), or on a pool of Ray actors (``ray``).

The Ray path runs the stage's *same* per-item function as the local path: :class:`StageRun`
selects the items (resume, ``--shard``, ``--limit``) and records each outcome (ledger,
failures.jsonl, manifest, progress) on the driver, while each actor calls the function, which
writes the item's outputs with the atomic helpers, on a file system the driver sees too.
The function reaches each actor once (Ray pickles it with cloudpickle, closures included), so
what it holds (a detector, a matcher) is built or loaded once per worker, not once per item.

A stage that writes one ordered output (parse-text) uses :func:`map_on_ray` instead: the pool's
function on batches, the answers in input order, written by the driver.

A worker that dies (killed, out of memory) fails only the items it was running, with a reason
in failures.jsonl; a new worker takes its place and the run goes on. Since failures are not in
the ledger, a rerun does exactly those items again. Ray is an optional extra (``finsta[ray]``)
imported only for ``--executor ray``: here, and inside the actors.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from finsta_cli.errors import ExitCode, FinstaError, MissingResourceError, UsageError
from finsta_cli.io.progress import get_logger

if TYPE_CHECKING:
    from finsta_cli.io.stage import StageItem, StageRun

ExecutorKind = Literal["local", "ray"]
InputT = TypeVar("InputT")
_END: Any = object()
RAY_INSTALL = 'pip install "finsta[ray]"'
# Items queued on each actor beyond the one it runs: its next item is there when it finishes.
_QUEUED_PER_WORKER = 1
log = get_logger("executor")
# The start of the reason recorded for the items of a worker that died.
LOST = "worker lost"


# Ray actors when neither --workers nor the stage's own worker count says.
RAY_WORKERS = 2


class ExecutorConfig(BaseModel):
    """How a stage's items are run (the ``executor:`` section of a stage's config).

    It changes how a stage runs, never what it writes: stages list it in ``RUNTIME_FIELDS``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    kind: ExecutorKind = "local"
    workers: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description=f"Ray actors [default: {RAY_WORKERS}]; local: see the stage",
    )
    num_gpus: float = Field(
        default=0.0, ge=0.0, description="GPUs per Ray actor; 0.25 puts four actors on one GPU"
    )
    cpus_per_worker: float = Field(default=1.0, gt=0.0, description="CPUs per Ray actor")
    ray_address: str | None = Field(
        default=None, description="a running Ray cluster (auto, ray://host:10001); none: local"
    )


def import_ray() -> Any:
    """The ``ray`` module, or exit 4 with the command that installs it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a CLI run reports nothing home
    try:
        import ray
    except ImportError:
        raise MissingResourceError(
            "--executor ray needs Ray, which is not installed",
            hint=f"install it with: {RAY_INSTALL}",
        ) from None
    return ray


class _Worker:
    """The body of one Ray actor: holds the stage's per-item function and runs items with it."""

    def __init__(self, process: Callable[[Any], Sequence[str | os.PathLike[str]]]) -> None:
        self._process = process

    def run(self, item: StageItem[Any]) -> tuple[bool, Any]:
        """``(True, output paths)`` or ``(False, the error)``: an item's failure is data."""
        ok, value = self.call(item)
        return (True, [os.fspath(path) for path in value]) if ok else (False, value)

    def call(self, payload: Any) -> tuple[bool, Any]:
        """``(True, what the function returns)`` or ``(False, the error)``."""
        try:
            return True, self._process(payload)
        except Exception as exc:
            return False, _portable(exc)

    def gpu_ids(self) -> list[Any]:
        import ray

        return list(ray.get_gpu_ids())


def _portable(error: Exception) -> Exception:
    """``error``, or a FinstaError saying the same when it cannot travel back to the driver."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        from finsta_cli.io.stage import describe_error

        return FinstaError(describe_error(error))
    return error


def _check_fits(ray: Any, config: ExecutorConfig) -> None:
    """Refuse a pool the cluster cannot hold at once: an actor Ray cannot place waits forever,
    and so would the items queued on it."""
    workers = config.workers or RAY_WORKERS
    available = ray.cluster_resources()
    for name, option, each in (
        ("CPU", "--cpus-per-worker", config.cpus_per_worker),
        ("GPU", "--num-gpus", config.num_gpus),
    ):
        have = float(available.get(name, 0.0))
        if workers * each > have + 1e-9:
            raise UsageError(
                f"{workers} Ray workers with {option} {each:g} need {workers * each:g} {name}s; "
                f"the cluster has {have:g}",
                hint=f"lower --workers or {option}, or add nodes to the cluster",
            )


class RayPool:
    """``workers`` Ray actors that each hold the stage's per-item function."""

    def __init__(self, ray: Any, process: Callable[..., Any], config: ExecutorConfig) -> None:
        self.ray = ray
        self._config = config
        self._remote = ray.remote(num_cpus=config.cpus_per_worker, num_gpus=config.num_gpus)(
            _Worker
        )
        self._process_ref = ray.put(process)
        self.size = config.workers or RAY_WORKERS
        self.actors = [self.new_actor() for _ in range(self.size)]
        self.replaced = 0

    def new_actor(self) -> Any:
        return self._remote.remote(self._process_ref)

    def replace(self, actor: Any) -> Any:
        """A fresh actor in place of a dead one (at most twice per worker, so that a function
        that kills every worker stops the run)."""
        if self.replaced >= 2 * self.size:
            raise FinstaError(
                f"{self.replaced} Ray workers died during this run; stopping",
                hint="see the Ray logs (/tmp/ray/session_latest/logs)",
            )
        log.warning("a Ray worker died; starting another")
        self.ray.kill(actor, no_restart=True)
        self.replaced += 1
        index = self.actors.index(actor)
        self.actors[index] = self.new_actor()
        return self.actors[index]

    def shutdown(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)


def run_on_ray(
    run: StageRun[Any],
    items: Iterable[StageItem[Any]],
    process: Callable[[StageItem[Any]], Sequence[str | os.PathLike[str]]],
    config: ExecutorConfig,
) -> None:
    """:meth:`StageRun.run` on a pool of Ray actors; the driver records every outcome."""
    with started_pool(run, process, config) as pool:
        _run_items(run, items, pool)


@contextmanager
def started_pool(
    run: StageRun[Any], process: Callable[..., Any], config: ExecutorConfig
) -> Iterator[RayPool]:
    """A pool of actors holding ``process``, on the cluster of ``config`` (started here when
    none is running, and then shut down at the end)."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    try:
        with run.timed("ray_start"):  # in the manifest: the cluster's and the actors' start
            if started_here:
                ray.init(
                    address=config.ray_address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            _check_fits(ray, config)
            pool = RayPool(ray, process, config)
        try:
            with run.timed("ray_start"):
                ray.get([actor.gpu_ids.remote() for actor in pool.actors])
            yield pool
        finally:
            pool.shutdown()
    finally:
        if started_here:
            ray.shutdown()


def _run_items(run: StageRun[Any], items: Iterable[StageItem[Any]], pool: RayPool) -> None:
    ray = pool.ray
    # Each actor has at most 1 + _QUEUED_PER_WORKER items in flight; a dead one is replaced
    # (at most twice per worker, so that a function that kills every worker stops the run).
    pending: dict[Any, tuple[StageItem[Any], Any]] = {}
    load = {id(actor): 0 for actor in pool.actors}
    selected = iter(run.select(items))
    exhausted = False

    def submit() -> None:
        nonlocal exhausted
        for actor in pool.actors:
            while not exhausted and load.get(id(actor), 0) <= _QUEUED_PER_WORKER:
                item = next(selected, None)
                if item is None:
                    exhausted = True
                    return
                pending[actor.run.remote(item)] = (item, actor)
                load[id(actor)] = load.get(id(actor), 0) + 1

    submit()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        ref = ready[0]
        item, actor = pending.pop(ref)
        if id(actor) in load:
            load[id(actor)] -= 1
        try:
            ok, value = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            run.fail(item, f"{LOST}: {type(exc).__name__} (the item is redone by a rerun)")
            if actor in pool.actors:
                load.pop(id(actor), None)
                load[id(pool.replace(actor))] = 0
        else:
            if ok:
                run.done(item, value)
            elif isinstance(value, FinstaError) and value.exit_code in (
                ExitCode.MISSING_RESOURCE,
                ExitCode.USAGE,
            ):
                raise value  # every item would fail alike, as on the local path
            else:
                run.fail(item, value)
        submit()


def map_on_ray(
    pool: RayPool, function_input: Iterable[InputT]
) -> Iterator[tuple[InputT, bool, Any]]:
    """The pool's function on each input, the answers in input order: ``(input, True, what it
    returned)``, or ``(input, False, why)`` when the worker running it died (it is replaced).

    For a stage that writes one ordered output (parse-text): the driver writes the answers as
    they come, with at most ``1 + _QUEUED_PER_WORKER`` inputs in flight per actor. An error
    that the function raises stops the run, as it would on the local path.
    """
    ray = pool.ray
    inputs = iter(function_input)
    flight: deque[tuple[InputT, Any, Any]] = deque()  # (input, ref, actor) in input order
    load = {id(actor): 0 for actor in pool.actors}

    def submit() -> None:
        while len(flight) < pool.size * (1 + _QUEUED_PER_WORKER):
            payload = next(inputs, _END)
            if payload is _END:
                return
            actor = min(pool.actors, key=lambda each: load.get(id(each), 0))
            flight.append((payload, actor.call.remote(payload), actor))
            load[id(actor)] = load.get(id(actor), 0) + 1

    submit()
    while flight:
        payload, ref, actor = flight.popleft()
        try:
            ok, value = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            if actor in pool.actors:
                load.pop(id(actor), None)
                load[id(pool.replace(actor))] = 0
            yield payload, False, f"{LOST}: {type(exc).__name__} (redone by a rerun)"
        else:
            load[id(actor)] = load.get(id(actor), 1) - 1
            if not ok:
                raise value
            yield payload, True, value
        submit()
