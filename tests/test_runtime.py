"""Runtime helpers: handing freed memory back to the system; the thread policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from finsta_cli import choose_wait_policy
from finsta_cli.runtime import _malloc_trim, configure_threads, default_threads
from tests.helpers import repo_env

# 150 MB of 100 kB blocks (on the heap: under malloc's mmap threshold), each followed by a
# small block that stays, so that freeing the large ones leaves holes malloc keeps resident.
# Run in a fresh interpreter: the heap of this one depends on the tests before.
SCRIPT = """
import os
from finsta_cli.runtime import release_freed_memory

def resident():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

base = resident()
large, small = [], []
for k in range(1500):
    large.append(bytes([k % 251]) * 100_000)
    small.append(bytes([k % 251]) * 200)
del large
kept = resident()
release_freed_memory()
print(base, kept, resident(), len(small))
"""


@pytest.mark.skipif(
    not Path("/proc/self/statm").is_file() or _malloc_trim() is None,
    reason="needs Linux and a C library with malloc_trim (glibc)",
)
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=repo_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    base, kept, after, small = (float(value) for value in result.stdout.split())
    held = kept - base  # what the C library kept of the freed 150 MB (how much varies by run)
    if held < 50:
        pytest.skip(f"the C library kept only {held:.0f} MB of the freed heap: nothing to return")
    assert after - base < held / 2 and small == 1500, (base, kept, after)


def test_the_default_thread_count_does_not_follow_the_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two runs of a command get the same threads (and so the same bytes) however busy the
    machine is: the default is the CPUs this process may use, or $FINSTA_THREADS."""
    import os

    monkeypatch.delenv("FINSTA_THREADS", raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 50.0, 50.0))
    assert default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("FINSTA_THREADS", "3")
    assert default_threads() == 3


def test_a_thread_count_given_is_used_as_it_is() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert configure_threads(2) == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_openmp_waiting_is_kept_from_the_environment() -> None:
    """A wait policy the environment sets is the one torch's OpenMP runtime reads."""
    env = repo_env()
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    code = "import os, finsta_cli; print(os.environ['OMP_WAIT_POLICY'], finsta_cli.WAIT_POLICY)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ACTIVE OMP_WAIT_POLICY=ACTIVE (from the environment)"


def test_openmp_waiting_set_on_import_follows_the_choice() -> None:
    """Unset, importing finsta_cli (before torch loads OpenMP) sets PASSIVE or leaves OpenMP's
    own spin-then-sleep, as choose_wait_policy says for the load it saw; it says which."""
    env = repo_env()
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    code = "import os, finsta_cli; print(os.environ.get('OMP_WAIT_POLICY'), finsta_cli.WAIT_POLICY)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    policy, reason = result.stdout.strip().split(" ", 1)
    assert (policy, reason.split(" ")[0]) in {("PASSIVE", "PASSIVE"), ("None", "spin,")}


@pytest.mark.parametrize(
    ("others", "threads", "cpus", "expected"),
    [
        (0, 2, 2, None),  # an idle machine: every thread has a core, spinning is cheap
        (1, 2, 2, "PASSIVE"),  # one other busy task: a spinning thread takes a needed core
        (2, 2, 4, None),
        (3, 2, 4, "PASSIVE"),
        (5, 1, 2, None),  # one thread: no team, nothing waits
        (None, 2, 2, "PASSIVE"),  # load unknown: the safe choice
    ],
)
def test_wait_policy_choice(
    others: int | None, threads: int, cpus: int, expected: str | None
) -> None:
    assert choose_wait_policy(others, threads, cpus) == expected
