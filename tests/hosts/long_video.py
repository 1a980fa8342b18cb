"""Long test videos written as they are made (PyAV, one frame at a time): what the tests of
segment sampling and of long-form QA decode."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_long_mp4(path: Path, frames: Iterable[np.ndarray], fps: int) -> Path:
    """Encode RGB ``frames`` (all one size) as H.264 without holding them all (ultrafast: a
    few minutes of small frames take a second or two)."""
    import av

    with av.open(str(path), mode="w", format="mp4") as container:
        stream = None
        for pixels in frames:
            if stream is None:
                stream = container.add_stream(
                    "libx264", rate=fps, options={"preset": "ultrafast", "threads": "1"}
                )
                stream.height, stream.width = pixels.shape[:2]
                stream.pix_fmt = "yuv420p"
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def marked_video(
    path: Path, seconds: int, fps: int, marked: tuple[float, float], size: tuple[int, int]
) -> Path:
    """A ``seconds``-long video, blue but red during ``marked`` (start, end seconds)."""
    width, height = size
    blue = np.zeros((height, width, 3), np.uint8)
    blue[..., 2] = 200
    red = np.zeros((height, width, 3), np.uint8)
    red[..., 0] = 200
    start, end = marked
    frames = (red if start <= i / fps < end else blue for i in range(seconds * fps))
    return write_long_mp4(path, frames, fps)
