"""Host video-language models: the HostVLM protocol, the embedded ``tiny`` host, CLIP4Clip, and
``lite`` (pretrained EfficientNet-Lite0 and MiniLM towers)."""

from finsta_cli.hosts.base import (
    HOST_NAMES,
    HostName,
    HostVLM,
    TemporalMode,
    TextFeatures,
    VideoFeatures,
)
from finsta_cli.hosts.factory import HOSTS, build_host, load_host, save_host

__all__ = [
    "HOSTS",
    "HOST_NAMES",
    "HostName",
    "HostVLM",
    "TemporalMode",
    "TextFeatures",
    "VideoFeatures",
    "build_host",
    "load_host",
    "save_host",
]
