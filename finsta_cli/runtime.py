"""The one device picker and thread set-up, and the versions of the packages finsta runs on."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
from collections.abc import Callable

from finsta_cli.errors import MissingResourceError, UsageError

# (what the user knows it as, distribution names to try in order)
PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("finsta", ("finsta",)),
    ("torch", ("torch",)),
    ("torchvision", ("torchvision",)),
    ("torch-geometric", ("torch-geometric", "torch_geometric")),
    ("spacy", ("spacy",)),
    ("ultralytics", ("ultralytics-opencv-headless", "ultralytics")),
    ("decord", ("decord", "eva-decord")),
    ("av", ("av",)),
    ("tokenizers", ("tokenizers",)),
    ("safetensors", ("safetensors",)),
    ("pydantic", ("pydantic",)),
    ("typer", ("typer",)),
    ("rich", ("rich",)),
    ("numpy", ("numpy",)),
)

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def package_versions() -> dict[str, str | None]:
    """Installed version of each package finsta uses (``None`` when absent), without importing."""
    versions: dict[str, str | None] = {}
    for name, distributions in PACKAGES:
        versions[name] = None
        for distribution in distributions:
            try:
                versions[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def resolve_device(requested: str | None = "auto") -> str:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` into a device that exists here.

    ``auto`` picks the first CUDA GPU, else Apple's MPS, else the CPU. Asking for a device that
    is not present is an error (exit 4), not a silent fall-back to the CPU.
    """
    choice = (requested or "auto").strip().lower()
    if not _DEVICE.match(choice):
        raise UsageError(f"unknown device {requested!r}", hint="use auto, cpu, cuda, cuda:N or mps")
    if choice == "cpu":
        return "cpu"
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if choice == "auto":
        return "cuda:0" if cuda else "mps" if mps else "cpu"
    if choice == "mps":
        if not mps:
            raise MissingResourceError("device mps was asked for, but MPS is not available")
        return "mps"
    if not cuda:
        raise MissingResourceError(
            f"device {choice} was asked for, but torch sees no CUDA GPU",
            hint="use --device cpu, or install a CUDA build of torch on a machine with a GPU",
        )
    index = int(choice.split(":")[1]) if ":" in choice else 0
    if index >= torch.cuda.device_count():
        raise MissingResourceError(
            f"device {choice} was asked for, but torch sees {torch.cuda.device_count()} GPU(s)"
        )
    return f"cuda:{index}"


def default_threads() -> int:
    """Threads for torch: ``$FINSTA_THREADS``, else the CPUs this process may use.

    Not fewer on a busy machine: the count changes the float arithmetic's order, so a default
    that followed the load average would make two runs of the same command write different
    bytes. On a machine other processes keep busy, pass ``--threads 1`` (docs/environment.md).
    """
    override = os.environ.get("FINSTA_THREADS")
    if override and override.isdigit() and int(override) > 0:
        return int(override)
    return usable_cpus()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (ultralytics otherwise leaves torch at 1); return the count.

    A count given is used as it is (runs that must match bit for bit give the same one); the
    default is :func:`default_threads`. OpenMP's waiting threads sleep rather than spin
    (``OMP_WAIT_POLICY=PASSIVE``, set by ``finsta_cli/__init__.py`` before torch loads, unless
    the environment sets it): a spinning thread takes the core from the thread it waits for.
    """
    import torch

    count = threads if threads and threads > 0 else default_threads()
    torch.set_num_threads(count)
    return count


def release_freed_memory() -> None:
    """Hand memory this process has freed back to the system, where the C library keeps it.

    glibc's malloc keeps freed blocks in its heaps for reuse; when large short-lived buffers
    (decoded frames, encoder activations) alternate with small long-lived ones, the freed space
    stays part of the resident memory and grows with the number of rounds. ``malloc_trim(0)``
    returns it. A no-op where the C library has no ``malloc_trim`` (macOS, musl, Windows).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the loaded C library's
    except (OSError, AttributeError, TypeError):
        return None
    return trim
