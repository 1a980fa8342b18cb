"""A malicious pickle payload for the tests of every loader: unpickling it runs ``touch PATH``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path


class Touch:
    """Unpickling this runs ``touch PATH`` (``os.system``): the file's existence afterwards is
    proof that a loader ran code from the file it read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {shlex.quote(str(self.path))}",))
