"""Video side of finsta: decoding, detection, tracking, relations, attributes and DSG assembly."""

from finsta_cli.video.decode import discover_videos, sample_indices
from finsta_cli.video.dsg import build_dynamic_scene_graph
from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

__all__ = [
    "BuildDSGConfig",
    "build_dynamic_scene_graph",
    "discover_videos",
    "run_build_dsg",
    "sample_indices",
]
