"""A small synth training set for align-train, built once per test session and shared by the
tests of finsta_cli/align, the align-train CLI and the host evaluation.

12 synth videos (9 train, 1 each of val, test, test_unseen), their captions parsed by parse-text,
ground-truth DSGs written as JSON only (no detector ``.pt``: the region_dim = 0 path), and HSGs by
build-hsg; a tiny-host config (32 px, 4 frames, 1 thread) and a host-only checkpoint trained from
it with the CLI. ``detector_set`` (slow tests only) adds DSGs and HSGs from the shipped detector
(``build-dsg --frames 8``, with ``.pt`` region features). Test modules outside tests/align import
the fixtures from here; the builders are memoised per session, so each set is built once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

VIDEOS = 12
SPLITS = ("train", "val", "test", "test_unseen")
# Small enough for two busy cores: one thread (two threads wait on each other on a loaded
# machine), 32 px frames, 4 frames, small graph encoders.
TINY_CONFIG: dict[str, Any] = {
    "host_options": {"frame_size": 32, "num_frames": 4},
    "hidden": 32,
    "batch_size": 4,
    "steps": 4,
    "warmup_steps": 1,
    "log_every": 1,
    "checkpoint_every": 2,
    "threads": 1,
    "device": "cpu",
}


@dataclass(frozen=True)
class AlignSet:
    root: Path
    data: Path  # the synth folder
    captions: Path  # captions JSONL, ids VIDEO.cK
    tsg: Path
    dsg: Path  # ground-truth DSG JSON, no .pt
    hsg: Path
    cache: Path  # frame cache shared by every run of the session
    config: Path  # the tiny-host YAML (TINY_CONFIG + cache)
    host_run: Path  # a host-only run folder (CLI), its checkpoint.pt is a trained host

    @property
    def checkpoint(self) -> Path:
        return self.host_run / "checkpoint.pt"

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.data)

    def write_config(self, path: Path, **changes: Any) -> Path:
        """The session's tiny config with ``changes``, as a YAML file at ``path``."""
        config = {**yaml.safe_load(self.config.read_text(encoding="utf-8")), **changes}
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path


@dataclass(frozen=True)
class DetectorSet:
    dsg: Path  # build-dsg output (JSON + .pt)
    hsg: Path


_BUILT: dict[tuple[str, Path], Any] = {}


def read_records(data: Path) -> list[dict[str, Any]]:
    records = []
    for split in SPLITS:
        with (data / f"{split}.jsonl").open(encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle]
    return records


def write_truth_dsgs(records: list[dict[str, Any]], out: Path) -> None:
    """Ground-truth DSGs of synth records, as build-dsg names its JSON files (no .pt)."""
    from finsta_cli.io import output_path
    from finsta_cli.synth.dsg import synth_to_dsg

    out.mkdir(parents=True, exist_ok=True)
    for record in records:
        dsg = synth_to_dsg(record)
        output_path(out, dsg.video_id, ".json").write_text(dsg.model_dump_json(), "utf-8")


def write_regions(
    dsg_dir: Path, video_id: str, dim: int, *, drop_last: bool = False, nan_at: int | None = None
) -> Any:
    """A build-dsg ``.pt`` of region features (``arange`` values) for a DSG of ``dsg_dir``, its
    rows stored in another order than the DSG's, as build-dsg may (rows are matched by (frame,
    track)). ``drop_last``: one row missing; ``nan_at``: that feature row is NaN. Returns the
    features in DSG node order."""
    import torch

    from finsta_cli.io import output_path
    from finsta_cli.schema import DSG

    dsg = DSG.model_validate_json(output_path(dsg_dir, video_id, ".json").read_bytes())
    pairs = [(p, o.track_id) for p, frame in enumerate(dsg.frames) for o in frame.objects]
    pairs = pairs[::-1]
    features = torch.arange(len(pairs) * dim, dtype=torch.float32).view(len(pairs), dim)
    if nan_at is not None:
        features[nan_at] = float("nan")
    if drop_last:
        pairs, features = pairs[:-1], features[:-1]
    torch.save(
        {"frame": torch.tensor([p for p, _ in pairs]),
         "track_ids": torch.tensor([t for _, t in pairs]), "features": features},
        output_path(dsg_dir, video_id, ".pt"),
    )  # fmt: skip
    return features.flip(0)


def build_align_set(root: Path) -> AlignSet:
    from typer.testing import CliRunner

    from finsta_cli.cli.app import app
    from finsta_cli.demo import write_captions
    from finsta_cli.hsg.build import BuildHSGConfig, run_build_hsg
    from finsta_cli.synth.generate import SynthConfig, generate_dataset
    from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text

    data = root / "synth"
    assert generate_dataset(SynthConfig(videos=VIDEOS, seed=0), data, quiet=True).failed == 0
    records = read_records(data)
    captions = root / "captions.jsonl"
    write_captions(records, captions)
    tsg = root / "tsg.jsonl"
    assert run_parse_text(str(captions), str(tsg), ParseTextConfig(), quiet=True).failed == 0
    dsg = root / "dsg-truth"
    write_truth_dsgs(records, dsg)
    hsg = root / "hsg-truth"
    assert run_build_hsg(tsg, dsg, hsg, BuildHSGConfig(), quiet=True).failed == 0
    cache = root / "frame-cache"
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY_CONFIG, "cache": str(cache)}), encoding="utf-8")
    host_run = root / "runs" / "host-only"
    args = ["align-train", "--data", str(data), "--out", str(host_run), "--objective",
            "host-only", "--config", str(config), "--seed", "0", "-q"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return AlignSet(root, data, captions, tsg, dsg, hsg, cache, config, host_run)


def build_detector_set(root: Path, align: AlignSet) -> DetectorSet:
    from finsta_cli.hsg.build import BuildHSGConfig, run_build_hsg
    from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

    dsg, hsg = root / "dsg-detector", root / "hsg-detector"
    config = BuildDSGConfig(frames=8, threads=1)
    assert run_build_dsg([align.data / "videos"], dsg, config, quiet=True).failed == 0
    assert run_build_hsg(align.tsg, dsg, hsg, BuildHSGConfig(), quiet=True).failed == 0
    return DetectorSet(dsg, hsg)


@pytest.fixture(scope="session")
def align_set(tmp_path_factory: pytest.TempPathFactory) -> AlignSet:
    key = ("align", tmp_path_factory.getbasetemp())
    if key not in _BUILT:
        _BUILT[key] = build_align_set(tmp_path_factory.mktemp("align-set"))
    built: AlignSet = _BUILT[key]
    return built


@pytest.fixture(scope="session")
def detector_set(tmp_path_factory: pytest.TempPathFactory, align_set: AlignSet) -> DetectorSet:
    key = ("detector", tmp_path_factory.getbasetemp())
    if key not in _BUILT:
        _BUILT[key] = build_detector_set(tmp_path_factory.mktemp("detector-set"), align_set)
    built: DetectorSet = _BUILT[key]
    return built
