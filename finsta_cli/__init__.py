"""finsta: structural spatio-temporal alignment (Finsta) for video-language models."""

import os

from finsta_cli.errors import ExitCode, FinstaError

# Before anything loads torch (and its OpenMP runtime, which reads this once): waiting threads
# sleep instead of spinning on a core another thread needs (see runtime.configure_threads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["ExitCode", "FinstaError", "__version__"]
