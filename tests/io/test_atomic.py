"""Atomic writes: a killed or failing writer never leaves a partial file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finsta_cli.io import atomic_open, atomic_write_json, atomic_write_text
from tests.helpers import repo_env

SLOW_WRITER = """
import sys, time
from finsta_cli.io.atomic import atomic_open
with atomic_open(sys.argv[1], "w") as handle:
    for i in range(100000):
        handle.write("new line %d\\n" % i)
        if i == 1000:
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
"""


def test_killed_writer_leaves_old_content_intact(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old content\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(target)],
        stdout=subprocess.PIPE,
        env=repo_env(),
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"  # mid-write, data flushed to the temp file
    temps = list(tmp_path.glob(".out.jsonl.*.tmp"))
    assert len(temps) == 1 and temps[0].stat().st_size > 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_text(encoding="utf-8") == "old content\n"


def test_exception_inside_block_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("before", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_write_creates_parents_and_respects_umask(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "x.json"
    atomic_write_json(target, {"a": [1, 2], "ü": "é"})
    assert target.read_text(encoding="utf-8") == '{\n  "a": [\n    1,\n    2\n  ],\n  "ü": "é"\n}\n'
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_binary_mode_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "b.bin"
    with atomic_open(target, "wb") as handle:
        handle.write(b"\x00\x01")
    atomic_write_text(target, "text")
    assert target.read_bytes() == b"text"
    with pytest.raises(ValueError), atomic_open(target, "a"):
        pass
    time.sleep(0)
