"""finsta synth: determinism, layout, splits, labels, resume, failure isolation, speed."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from finsta_cli.synth import generate as synth_module
from finsta_cli.synth.generate import SynthConfig, assign_splits, generate_dataset, scene_for
from finsta_cli.synth.records import SPLITS, SynthVideo
from finsta_cli.synth.render import SHAPES
from finsta_cli.synth.scene import MOTIONS, heldout_combos, object_motions


def _files(root: Path) -> dict[str, bytes]:
    skip = {"manifest.json", "config.yaml"}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip and not p.name.startswith(".finsta-ledger")
    }


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_dataset(SynthConfig(videos=5, seed=11), a, quiet=True)
    generate_dataset(SynthConfig(videos=5, seed=11, workers=2), b, quiet=True)
    generate_dataset(SynthConfig(videos=5, seed=12), c, quiet=True)
    files_a, files_b = _files(a), _files(b)
    assert files_a.keys() == files_b.keys()
    assert [k for k in files_a if files_a[k] != files_b[k]] == []
    assert (a / "train.jsonl").read_bytes() != (c / "train.jsonl").read_bytes()


def test_ten_videos_render_in_seconds(tmp_path: Path) -> None:
    start = time.perf_counter()
    summary = generate_dataset(SynthConfig(videos=10, seed=0), tmp_path, quiet=True)
    seconds = time.perf_counter() - start
    assert summary.done == 10 and summary.failed == 0
    assert seconds < 20, f"10 videos took {seconds:.1f}s"


def test_layout_records_and_videos(synth_dir: Path, synth_records: list[dict[str, Any]]) -> None:
    info = json.loads((synth_dir / "dataset.json").read_text())
    assert info["classes"] == list(SHAPES) and len(info["classes"]) >= 6
    assert len(info["colours"]) >= 6 and len(info["sizes"]) == 2
    assert len(info["actions"]) >= 8
    assert sum(info["written"].values()) == len(synth_records) == 24
    for record in synth_records:
        video = SynthVideo.model_validate(record)
        assert 16 <= video.num_frames <= 32 and video.fps == 8
        assert 2 <= len(video.objects) <= 4
        assert len({(o.colour, o.shape) for o in video.objects}) == len(video.objects)
        assert video.action == video.objects[video.main_object].motion
        assert MOTIONS.index(video.action) == video.action_id
        with av.open(str(synth_dir / video.video)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == video.num_frames
        assert frames[0].shape == (256, 256, 3)
        # Textured, not flat: the background varies, and objects are shaded (many tones each).
        assert float(np.std(frames[0])) > 5


def test_boxes_inside_frame_and_yolo_labels_match(
    synth_dir: Path, synth_records: list[dict[str, Any]]
) -> None:
    for record in synth_records:
        classes = {o["track_id"]: o["class_id"] for o in record["objects"]}
        label_dir = synth_dir / record["labels"]
        assert len(list(label_dir.glob("*.txt"))) == record["num_frames"]
        for frame in record["frames"]:
            expected = []
            for obj in frame["objects"]:
                box = obj["box"]
                if box is not None:
                    assert 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1
                if obj["labelled"]:
                    assert obj["visible"] >= 0.3
                    x1, y1, x2, y2 = box
                    expected.append((classes[obj["track_id"]], (x1 + x2) / 2, (y1 + y2) / 2))
            lines = (label_dir / f"{frame['index']:04d}.txt").read_text().splitlines()
            got = []
            for line in lines:
                cls, cx, cy, w, h = line.split()
                assert 0 < float(w) <= 1 and 0 < float(h) <= 1
                assert float(cx) - float(w) / 2 + 1e-6 >= 0 and float(cx) + float(w) / 2 <= 1 + 1e-6
                got.append((int(cls), float(cx), float(cy)))
            assert len(got) == len(expected)
            for (c1, x1, y1), (c2, x2, y2) in zip(sorted(got), sorted(expected), strict=True):
                assert c1 == c2 and abs(x1 - x2) < 1e-4 and abs(y1 - y2) < 1e-4


def test_occlusion_and_events_happen(synth_records: list[dict[str, Any]]) -> None:
    occluded = sum(
        1
        for r in synth_records
        for f in r["frames"]
        for o in f["objects"]
        if 0 < o["visible"] < 0.95 and o["in_frame"] > 0.999
    )
    assert occluded > 0
    relations = Counter(
        rel[1] for r in synth_records for f in r["frames"] for rel in f["relations"]
    )
    assert relations["left of"] + relations["right of"] > 0


def test_splits_and_unseen_combinations() -> None:
    config = SynthConfig(videos=240, seed=4)
    splits = assign_splits(config)
    assert Counter(splits) == {"train": 168, "val": 24, "test": 24, "test_unseen": 24}
    assert set(assign_splits(SynthConfig(videos=4))) == set(SPLITS)
    held = heldout_combos()
    sequential = 0
    actions: Counter[str] = Counter()
    for index, split in enumerate(splits):
        scene, _ = scene_for(config, index, split)
        combos = {(o.shape, o.colour, o.motion) for o in scene.objects}
        main = scene.objects[scene.main]
        if split == "test_unseen":
            assert (main.shape, main.colour, main.motion) in held
        else:
            assert not combos & held, (index, combos & held)
        assert [o.motion for o in scene.objects] == object_motions(scene.events, len(scene.objects))
        sequential += scene.sequential
        actions[main.motion] += 1
    assert sequential >= len(splits) / 2
    assert len(actions) >= 8


def test_resume_skips_done_videos_and_redoes_missing_ones(tmp_path: Path) -> None:
    config = SynthConfig(videos=4, seed=2)
    first = generate_dataset(config, tmp_path, quiet=True)
    assert first.done == 4
    (tmp_path / "videos" / "synth-s2-00001.mp4").unlink()
    second = generate_dataset(config, tmp_path, quiet=True)
    assert (second.done, second.skipped) == (1, 3)
    assert (
        len((tmp_path / "train.jsonl").read_text().splitlines())
        + len((tmp_path / "val.jsonl").read_text().splitlines())
        + len((tmp_path / "test.jsonl").read_text().splitlines())
        + len((tmp_path / "test_unseen.jsonl").read_text().splitlines())
        == 4
    )


def test_a_failing_video_is_recorded_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = synth_module.render_video

    def flaky(job: synth_module.VideoJob) -> tuple[list[str], dict[str, Any]]:
        if job.index == 2:
            raise ValueError("simulated encoder failure")
        return real(job)

    monkeypatch.setattr(synth_module, "render_video", flaky)
    summary = generate_dataset(SynthConfig(videos=4, seed=1), tmp_path, quiet=True)
    assert (summary.done, summary.failed, int(summary.exit_code)) == (3, 1, 3)
    failure = json.loads((tmp_path / "failures.jsonl").read_text().splitlines()[0])
    assert failure["id"] == "synth-s1-00002" and "simulated" in failure["reason"]
    assert json.loads((tmp_path / "dataset.json").read_text())["written"] != {}


def test_ground_truth_dsg_is_a_valid_dsg(synth_records: list[dict[str, Any]]) -> None:
    from finsta_cli.synth.records import ground_truth_dsg

    for record in synth_records[:6]:
        dsg = ground_truth_dsg(record)
        assert dsg.video_id == record["video_id"] and len(dsg.frames) == record["num_frames"]
        shown = sum(1 for f in record["frames"] for o in f["objects"] if o["box"] is not None)
        assert sum(len(f.objects) for f in dsg.frames) == shown
        assert {t.track_id for t in dsg.tracks} <= {o["track_id"] for o in record["objects"]}
        assert dsg.coreference
