"""finsta: structural spatio-temporal alignment (Finsta) for video-language models."""

import os

from finsta_cli.errors import ExitCode, FinstaError


def _other_runnable() -> int | None:
    """Runnable tasks on the machine other than this one, the least of three reads of
    /proc/loadavg's instantaneous count (a passing shell command is not a busy machine); None
    where there is no such file."""
    import time

    counts = []
    for attempt in range(3):
        if attempt:
            time.sleep(0.002)
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                counts.append(int(handle.read().split()[3].split("/")[0]))
        except (OSError, ValueError, IndexError):
            return None
    return max(0, min(counts) - 1)


def choose_wait_policy(others: int | None, threads: int, cpus: int) -> str | None:
    """OpenMP's waiting for a process that starts ``threads`` torch threads on ``cpus`` CPUs
    while ``others`` other tasks are runnable: ``None`` (libgomp's own: spin a while, then
    sleep) when every thread finds a free core, else ``"PASSIVE"`` (sleep at once), since a
    spinning thread then takes the core from the thread it waits for. Unknown load: PASSIVE."""
    if threads <= 1:
        return None
    if others is None or others + threads > cpus:
        return "PASSIVE"
    return None


def _set_wait_policy() -> str:
    """Before anything loads torch (its OpenMP runtime reads these once): the environment's
    own setting is kept; otherwise :func:`choose_wait_policy` on the load seen now
    (docs/environment.md, docs/benchmarks.md "one thread vs two"). Returns what was chosen, for
    ``finsta env``."""
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        if name in os.environ:
            return f"{name}={os.environ[name]} (from the environment)"
    from finsta_cli.runtime import default_threads, usable_cpus

    cpus, threads = usable_cpus(), default_threads()
    if threads <= 1:
        return "spin, then sleep (OpenMP's default: one thread, nothing waits)"
    others = _other_runnable()
    policy = choose_wait_policy(others, threads, cpus)
    if policy is None:
        return f"spin, then sleep (OpenMP's default: {others} other runnable task(s) at start)"
    os.environ["OMP_WAIT_POLICY"] = policy
    return f"{policy} ({others} other runnable task(s) at start, {threads} threads, {cpus} CPUs)"


#: How OpenMP's threads wait in this process, and why (``finsta env`` reports it).
WAIT_POLICY = _set_wait_policy()

__version__ = "0.1.0"

__all__ = ["ExitCode", "FinstaError", "__version__"]
