"""Failpoints: named places where the fault-injection tests kill, interrupt or fill the disk.

A failpoint does nothing unless ``FINSTA_FAILPOINTS`` names it, as ``NAME=N:ACTION`` (several
separated by commas): at its N-th hit in the process, ``kill`` sends SIGKILL to the process
itself (as the OOM killer or a scheduler would), ``int`` raises KeyboardInterrupt (Ctrl-C), and
``enospc`` raises OSError(ENOSPC) (a full disk). Tests use them to stop a stage at an exact point
and check that the next run loses, duplicates and keeps stale nothing.

The names in use: ``atomic.replace`` (an output written, not yet renamed into place),
``stage.done`` (an item's outputs in place, its ledger line not yet written),
``stage.snapshot`` (a one-file stage's output in place, its ledger snapshot not yet),
``align.step`` (a training step finished).
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "FINSTA_FAILPOINTS"
_plan: dict[str, tuple[int, str]] | None = None
_hits: dict[str, int] = {}


def _load() -> dict[str, tuple[int, str]]:
    plan: dict[str, tuple[int, str]] = {}
    for part in os.environ.get(ENV, "").split(","):
        name, _, rule = part.strip().partition("=")
        count, _, action = rule.partition(":")
        if name and count.isdigit() and action in ("kill", "int", "enospc"):
            plan[name] = (int(count), action)
    return plan


def failpoint(name: str) -> None:
    """Act as ``FINSTA_FAILPOINTS`` says at this point (nothing when it does not name it)."""
    global _plan
    if _plan is None:
        _plan = _load()
    if not _plan or name not in _plan:
        return
    _hits[name] = _hits.get(name, 0) + 1
    count, action = _plan[name]
    if _hits[name] != count:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "int":
        raise KeyboardInterrupt
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


__all__ = ["ENV", "failpoint"]
