"""Training data of align-train: predicate intervals and their hard negatives on hand-built DSGs,
anchors and warnings of build_align_data on the session's synth set, detector region features."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from finsta_cli.align.data import (
    AlignData,
    build_align_data,
    negative_intervals,
    predicate_interval,
    videos_with_captions,
)
from finsta_cli.datasets import load_task_dataset
from finsta_cli.graph import GraphOptions
from finsta_cli.graph.convert import NODE_TYPES
from finsta_cli.io import output_path
from finsta_cli.schema import DSG
from tests.align.fixtures import AlignSet, write_regions


def _obj(track: int, label: str, motion: str, x: float = 0.1) -> dict[str, object]:
    return {"track_id": track, "label": label, "score": 0.9, "box": (x, 0.1, x + 0.2, 0.3),
            "attributes": {"motion": motion}}  # fmt: skip


def hand_dsg() -> DSG:
    """Five frames. Track 0 (cube): still, left, left, right, absent. Track 1 (ball) from frame 1;
    cube 'left of' ball in frames 1 and 2; ball 'right of' cube in frame 3 (the inverse)."""
    cube, ball = "cube", "ball"
    left_of = [{"subject": 0, "object": 1, "predicate": "left of"}]
    frames = [
        {"index": 0, "time": 0.0, "objects": [_obj(0, cube, "still")]},
        {"index": 4, "time": 0.5, "objects": [_obj(0, cube, "left"), _obj(1, ball, "still", 0.6)],
         "relations": left_of},
        {"index": 8, "time": 1.0, "objects": [_obj(0, cube, "left"), _obj(1, ball, "up", 0.6)],
         "relations": left_of},
        {"index": 12, "time": 1.5, "objects": [_obj(0, cube, "right"), _obj(1, ball, "up", 0.6)],
         "relations": [{"subject": 1, "object": 0, "predicate": "right of"}]},
        {"index": 16, "time": 2.0, "objects": [_obj(1, ball, "")]},
    ]  # fmt: skip
    return DSG.model_validate({"video_id": "hand", "frames": frames})


@pytest.mark.parametrize(
    ("track", "concept", "other", "expected"),
    [
        (0, "left", None, (1, 2)),
        (0, "right", None, (3, 3)),
        (0, "still", None, (0, 0)),
        (1, "up", None, (2, 3)),
        (0, "approaching", None, (1, 3)),  # any movement of the track, not 'still'
        (1, "leaving", None, (2, 3)),  # the empty motion of frame 4 is no movement
        (0, "down", None, None),
        (2, "left", None, None),  # no such track
        (0, "left of", 1, (1, 3)),  # frame 3 holds the inverse relation
        (1, "right of", 0, (1, 3)),
        (0, "above", 1, None),
        (1, "left of", 0, None),  # the relation holds the other way round
    ],
)
def test_predicate_interval(
    track: int, concept: str, other: int | None, expected: tuple[int, int] | None
) -> None:
    assert predicate_interval(hand_dsg(), track, concept, other) == expected


def test_negative_intervals_far_first() -> None:
    assert negative_intervals((1, 2), 8, 3) == [(6, 7), (5, 6), (4, 5)]
    assert negative_intervals((1, 2), 4, 5) == [(0, 1), (2, 3)]
    assert negative_intervals((0, 3), 4, 3) == []  # the positive covers the video
    assert negative_intervals((1, 5), 7, 3) == []  # every other window overlaps by > half
    assert negative_intervals((2, 2), 5, 0) == []


@pytest.mark.parametrize(("start", "end", "frames"), [(0, 0, 6), (2, 4, 9), (3, 6, 8), (1, 5, 12)])
def test_negative_intervals_keep_length_and_overlap_at_most_half(
    start: int, end: int, frames: int
) -> None:
    length = end - start + 1
    negatives = negative_intervals((start, end), frames, 10)
    assert negatives and len(set(negatives)) == len(negatives)
    for s, e in negatives:
        assert e - s + 1 == length and s >= 0 and e < frames
        overlap = max(0, min(end, e) - max(start, s) + 1)
        assert 2 * overlap <= length


def _videos(align_set: AlignSet) -> list[tuple[str, list[tuple[str, str]]]]:
    dataset = load_task_dataset(align_set.data, split="train")
    return [(vid, captions) for vid, _, captions in videos_with_captions(dataset)]


def _build(align_set: AlignSet, **sources: Path | None) -> AlignData:
    paths = {"tsg_file": align_set.tsg, "dsg_dir": align_set.dsg, "hsg_dir": align_set.hsg}
    paths.update(sources)
    return build_align_data(_videos(align_set), options=GraphOptions(), **paths)


def test_anchors_of_the_synth_set(align_set: AlignSet) -> None:
    data = _build(align_set)
    assert data.warnings == []
    counts = data.anchor_counts()
    assert counts["videos_with_dsg"] == len(data.videos) == 9
    assert counts["captions_with_hsg"] == counts["captions_with_tsg"] == data.num_captions
    assert counts["osc_anchors"] > data.num_captions  # most captions name two objects
    assert counts["ptc_anchors"] > 0
    assert data.region_dim == 0  # JSON DSGs only: no detector features
    for video in data.videos:
        assert video.dsg is not None and set(video.track_hops) == set(video.dsg.track.tolist())
        for caption in video.captions:
            assert caption.tsg is not None and caption.hsg is not None
            for row, track in caption.osc:
                assert int(caption.tsg.node_type[row]) == NODE_TYPES["object"]
                assert track in video.track_hops
            for anchor in caption.ptc:
                assert int(caption.tsg.node_type[anchor.node]) == NODE_TYPES["predicate"]
                start, end = anchor.positive
                assert 0 <= start <= end
                for negative in anchor.negatives:
                    assert negative[1] - negative[0] == end - start


def test_track_hops_are_zero_on_the_track(align_set: AlignSet) -> None:
    video = _build(align_set, hsg_dir=None).videos[0]
    assert video.dsg is not None
    for track, hops in video.track_hops.items():
        on_track = video.dsg.track == track
        assert (hops[on_track] == 0).all() and (hops[~on_track] > 0).all()


def test_warns_on_missing_hsgs_and_dsgs(align_set: AlignSet, tmp_path: Path) -> None:
    first, second = [vid for vid, _ in _videos(align_set)][:2]
    hsg = tmp_path / "hsg"
    shutil.copytree(align_set.hsg, hsg)
    removed = sorted(hsg.glob(f"{first}--*.json"))
    assert removed
    for path in removed:
        path.unlink()
    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    output_path(dsg, second, ".json").unlink()
    data = _build(align_set, dsg_dir=dsg, hsg_dir=hsg)
    assert f"1 video(s) have no DSG in {dsg}" in data.warnings
    assert f"{len(removed)} caption(s) have no HSG in {hsg}" in data.warnings
    # The second video's HSGs are there, but without its DSG they cannot be used: the warning
    # names the missing DSG, not a stale HSG.
    assert not any("were built from another DSG" in w for w in data.warnings)
    by_id = {v.video_id: v for v in data.videos}
    assert all(c.hsg is None and c.osc == [] and c.ptc == [] for c in by_id[first].captions)
    assert all(c.tsg is not None for c in by_id[first].captions)  # the TSG is still used
    assert by_id[second].dsg is None and by_id[second].track_hops == {}
    assert all(c.hsg is None for c in by_id[second].captions)


def test_host_only_data_has_no_graphs(align_set: AlignSet) -> None:
    data = _build(align_set, tsg_file=None, dsg_dir=None, hsg_dir=None)
    assert data.warnings == [] and data.num_captions == 22
    assert all(v.dsg is None and all(c.tsg is None for c in v.captions) for v in data.videos)


def test_detector_region_features_in_node_order(align_set: AlignSet, tmp_path: Path) -> None:
    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    expected = write_regions(dsg, "synth-s0-00000", 6)
    data = _build(align_set, dsg_dir=dsg)
    assert data.region_dim == 6
    video = next(v for v in data.videos if v.video_id == "synth-s0-00000")
    assert video.dsg is not None and torch.equal(video.dsg.region, expected)


def test_unusable_dsg_files_are_refused_per_video(align_set: AlignSet, tmp_path: Path) -> None:
    """A DSG whose files cannot be used (another video's rows, damage, NaN features, a damaged
    JSON) is refused for its video alone, with the file and the reason; the others are used."""
    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    videos = [vid for vid, _ in _videos(align_set)]
    mismatched, damaged, nan, bad_json = videos[:4]
    write_regions(dsg, mismatched, 4, drop_last=True)
    output_path(dsg, damaged, ".pt").write_bytes(b"damaged")
    write_regions(dsg, nan, 4, nan_at=1)
    output_path(dsg, bad_json, ".json").write_text('{"video_id": 3}', encoding="utf-8")
    data = _build(align_set, dsg_dir=dsg)
    assert sorted(data.refused) == sorted([mismatched, damaged, nan, bad_json])
    reasons = data.refused
    assert reasons[mismatched].startswith(f"{output_path(dsg, mismatched, '.pt')}: does not match")
    assert "not a build-dsg tensor file" in reasons[damaged]
    assert reasons[nan] == (
        f"{output_path(dsg, nan, '.pt')}: tensor 'features' holds 4 NaN of "
        f"{torch.load(output_path(dsg, nan, '.pt'))['features'].numel()} values"
    )
    assert reasons[bad_json].startswith(f"{output_path(dsg, bad_json, '.json')}: not a valid DSG")
    by_id = {v.video_id: v for v in data.videos}
    for video_id in data.refused:
        assert by_id[video_id].dsg is None and by_id[video_id].track_hops == {}
        assert all(c.hsg is None and not c.osc for c in by_id[video_id].captions)
    assert all(by_id[v].dsg is not None for v in videos[4:])
    assert any("4 video(s) have DSG files" in w and "cannot be used" in w for w in data.warnings)
    assert not any("have no DSG" in w for w in data.warnings)  # refused is not missing
    assert data.region_dim == 0  # the NaN file's features were not taken


def test_a_region_file_that_runs_code_is_refused(align_set: AlignSet, tmp_path: Path) -> None:
    from tests.pickles import Touch

    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    marker = tmp_path / "MARKER"
    path = output_path(dsg, "synth-s0-00000", ".pt")
    torch.save({"features": torch.zeros(1, 4), "payload": Touch(marker)}, path)
    data = _build(align_set, dsg_dir=dsg)  # refused for its video alone, nothing run
    assert data.refused["synth-s0-00000"] == (
        f"{path}: refused: the file carries pickled objects, not plain tensors (posix.system)"
    )
    assert not marker.exists()
