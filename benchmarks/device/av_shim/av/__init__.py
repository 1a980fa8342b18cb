"""A stand-in for PyAV's probe, for the device machine of `benchmarks/gpu_ratios.sh` only.

That machine has no PyAV, and its wheel (35 MB) does not fit the transfer. finsta's decode asks
`av.open` only for a video stream's frame size and rate (decoding is decord's); this answers with
OpenCV, which the machine has. Put its folder first on PYTHONPATH there; never install it."""

from types import SimpleNamespace


class _Error(Exception):
    pass


error = SimpleNamespace(FFmpegError=_Error)


class open:  # mirrors av.open, used as a context manager
    def __init__(self, path):
        import cv2

        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise _Error(f"cannot open {path}")
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        cap.release()
        ctx = SimpleNamespace(width=w, height=h)
        stream = SimpleNamespace(average_rate=fps or None, guessed_rate=None, codec_context=ctx)
        self.streams = SimpleNamespace(video=[stream] if w > 0 else [])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
