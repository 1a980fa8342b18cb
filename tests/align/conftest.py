"""The align-train fixtures (built once per session; see tests/align/fixtures.py)."""

from tests.align.fixtures import align_set, detector_set

__all__ = ["align_set", "detector_set"]
