"""Offline by construction: no command opens a network connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from finsta_cli import offline
from tests.helpers import NETWORK_GUARD, repo_env

YOLO_SMOKE = """
import numpy as np
from finsta_cli.offline import import_ultralytics
ultralytics = import_ultralytics()
from ultralytics.utils.checks import check_font
model = ultralytics.YOLO("yolov8n.yaml")
result = model.predict(np.zeros((64, 64, 3), dtype=np.uint8), imgsz=64, verbose=False)
assert len(result) == 1
font = check_font("Arial.ttf")
assert font is not None, "font missing: ultralytics would download it"
print("yolo-ok")
"""


@pytest.fixture
def guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(NETWORK_GUARD, encoding="utf-8")
    log = tmp_path / "network.log"
    env = repo_env()
    for name in offline.OFFLINE_VARIABLES:
        env.pop(name, None)
    env["PYTHONPATH"] = str(guard_dir) + ":" + env["PYTHONPATH"]
    env["FINSTA_NETLOG"] = str(log)
    env["FINSTA_CACHE_DIR"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path / "home")
    return env, log


def test_guard_catches_a_connection(guarded_env: tuple[dict[str, str], Path]) -> None:
    env, log = guarded_env
    code = (
        "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
        "except OSError as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "network access attempted" in out.stdout
    assert "create_connection" in log.read_text()


def test_env_and_a_yolo_model_make_no_network_access(
    guarded_env: tuple[dict[str, str], Path],
) -> None:
    env, log = guarded_env
    result = subprocess.run(
        [sys.executable, "-m", "finsta_cli", "env", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 4), result.stderr
    report = json.loads(
        result.stdout
    )  # stdout holds the JSON only: ultralytics' notices go to stderr
    assert report["offline"]["YOLO_OFFLINE"] == "1" and report["offline"]["YOLO_AUTOINSTALL"] == "0"
    assert report["fonts_present"] is True
    yolo = subprocess.run(
        [sys.executable, "-c", YOLO_SMOKE], env=env, capture_output=True, text=True, timeout=300
    )
    assert yolo.returncode == 0, yolo.stderr[-3000:]
    assert "yolo-ok" in yolo.stdout
    assert not log.exists(), f"network attempted:\n{log.read_text()}"


def test_user_settings_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "0")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "mine"))
    monkeypatch.delenv("YOLO_AUTOINSTALL", raising=False)
    values = offline.ensure_offline_env()
    assert values == {
        "YOLO_OFFLINE": "0",
        "YOLO_AUTOINSTALL": "0",
        "YOLO_CONFIG_DIR": str(tmp_path / "mine"),
    }


def test_ultralytics_safe_load_is_forced_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ULTRALYTICS_SAFE_LOAD", "0")  # not the user's to turn off
    offline.ensure_offline_env()
    assert os.environ["ULTRALYTICS_SAFE_LOAD"] == "1"


def test_fonts_are_provisioned_from_matplotlib(tmp_path: Path) -> None:
    assert offline.provision_fonts(tmp_path)
    for name in offline.FONT_NAMES:
        assert (tmp_path / "Ultralytics" / name).stat().st_size > 100_000
