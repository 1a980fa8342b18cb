"""benchmarks/lite_real_footage.py: its chance levels, and the data sets it writes over the real
clips of ../shared/benchmarks, read back by finsta's own dataset reader."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from finsta_cli.datasets import load_task_dataset
from tests.helpers import REPO


def _script() -> ModuleType:
    path = REPO / "benchmarks" / "lite_real_footage.py"
    spec = importlib.util.spec_from_file_location("lite_real_footage", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chance_recall() -> None:
    chance = _script().chance_recall
    assert chance(5, 1, 1) == pytest.approx(20.0)
    assert chance(5, 1, 5) == 100.0 and chance(8, 1, 5) == pytest.approx(62.5)
    # 2 right among 6: P(best right one first) = 2/6; in the top 2: 1 - (4/6)(3/5) = 0.6.
    assert chance(6, 2, 1) == pytest.approx(100 / 3)
    assert chance(6, 2, 2) == pytest.approx(60.0)


@pytest.mark.shared
def test_data_sets_point_at_the_real_clips(shared_benchmarks: Path, tmp_path: Path) -> None:
    paths = _script().build_datasets(shared_benchmarks, tmp_path, skvideo=None)
    assert set(paths) == {"retrieval", "action_k400", "action_ssv2"}
    retrieval = load_task_dataset(paths["retrieval"])
    assert retrieval.counts()["videos_on_disk"] == 5 and len(retrieval.captions) == 6
    assert retrieval.videos["k400-test"].path == shared_benchmarks / "mmaction2_video_text/test.mp4"
    assert retrieval.videos["ssv2-57082"].path.is_dir()  # type: ignore[union-attr]
    k400 = load_task_dataset(paths["action_k400"])
    assert len(k400.labels) == 400 and k400.labels[6] == "arm wrestling"
    assert {(a.video_id, a.label) for a in k400.actions} == {
        ("k400-demo", "arm wrestling"),
        ("k400-test", "cleaning pool"),
    }
    ssv2 = load_task_dataset(paths["action_ssv2"])
    assert len(ssv2.labels) == 174 and len(ssv2.actions) == 4
    templates = json.loads(
        (shared_benchmarks / "something_else_ssv2/ssv2_templates_174.json").read_text()
    )
    assert ssv2.labels == sorted(templates, key=templates.__getitem__)
    assert ("ssv2-57082", "Dropping something into something") in {
        (a.video_id, a.label) for a in ssv2.actions
    }
    assert not list(tmp_path.rglob("*.mp4")) and not list(tmp_path.rglob("*.jpg"))  # no copies
