"""The set-up's graph cache and vectorised track hops: the same AlignData as build_align_data
(every tensor equal, the anchors, texts and warnings), a miss when an input changes, a damaged
file rebuilt, and an align-train run whose losses are the same with the graphs read back."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data
from typer.testing import CliRunner

from finsta_cli.align.data import AlignData, build_align_data, hop_distances, videos_with_captions
from finsta_cli.align.data_cache import cached_align_data
from finsta_cli.cli.app import app
from finsta_cli.datasets import load_task_dataset
from finsta_cli.graph import GraphOptions
from finsta_cli.io import output_path
from tests.align.fixtures import AlignSet, align_set, write_regions  # noqa: F401


def _videos(align_set: AlignSet) -> list[tuple[str, list[tuple[str, str]]]]:
    dataset = load_task_dataset(align_set.data, split="train")
    return [(vid, captions) for vid, _, captions in videos_with_captions(dataset)]


def _breadth_first(sources: list[int], edge_index: torch.Tensor, n: int, limit: int) -> list[int]:
    """The previous set-up's hop count: a Python BFS per track, for reference."""
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for a, b in edge_index.t().tolist():
        adjacency[a].append(b)
    hops = [limit + 1] * n
    queue = deque(sources)
    for s in sources:
        hops[s] = 0
    while queue:
        node = queue.popleft()
        if hops[node] >= limit:
            continue
        for nxt in adjacency[node]:
            if hops[nxt] > hops[node] + 1:
                hops[nxt] = hops[node] + 1
                queue.append(nxt)
    return hops


def _same_graph(a: Data | None, b: Data | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    assert a.num_nodes == b.num_nodes and set(a.keys()) == set(b.keys())
    for key in a.keys():  # noqa: SIM118 (a Data: iterating it yields (key, value))
        if isinstance(a[key], torch.Tensor):
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def assert_same_data(a: AlignData, b: AlignData) -> None:
    """Every graph tensor, hop distance, anchor, text and warning of ``a`` and ``b`` equal."""
    assert a.node_vocab.to_list() == b.node_vocab.to_list()
    assert a.edge_vocab.to_list() == b.edge_vocab.to_list()
    assert (a.region_dim, a.warnings, a.refused) == (b.region_dim, b.warnings, b.refused)
    assert [v.video_id for v in a.videos] == [v.video_id for v in b.videos]
    for va, vb in zip(a.videos, b.videos, strict=True):
        _same_graph(va.dsg, vb.dsg)
        assert list(va.track_hops) == list(vb.track_hops)
        for track, hops in va.track_hops.items():
            assert torch.equal(hops, vb.track_hops[track])
        for ca, cb in zip(va.captions, vb.captions, strict=True):
            assert (ca.text_id, ca.text, ca.negatives) == (cb.text_id, cb.text, cb.negatives)
            assert (ca.osc, ca.ptc) == (cb.osc, cb.ptc)
            _same_graph(ca.tsg, cb.tsg)
            _same_graph(ca.hsg, cb.hsg)
            assert len(ca.negative_tsgs) == len(cb.negative_tsgs)
            for ga, gb in zip(ca.negative_tsgs, cb.negative_tsgs, strict=True):
                _same_graph(ga, gb)


@pytest.mark.parametrize("limit", [0, 1, 2, 3])
def test_hop_distances_are_the_breadth_first_search(align_set: AlignSet, limit: int) -> None:
    data = build_align_data(
        _videos(align_set), tsg_file=None, dsg_dir=align_set.dsg, hsg_dir=None,
        options=GraphOptions(), hops=limit,
    )  # fmt: skip
    checked = 0
    for video in data.videos:
        assert video.dsg is not None
        tracks = sorted(set(video.dsg.track.tolist()))
        sources = [(video.dsg.track == t).nonzero().flatten().tolist() for t in tracks]
        found = hop_distances(video.dsg.edge_index, video.dsg.num_nodes, sources, limit)
        for row, rows in enumerate(sources):
            expected = _breadth_first(rows, video.dsg.edge_index, video.dsg.num_nodes, limit)
            assert found[row].tolist() == expected
            assert video.track_hops[tracks[row]].tolist() == expected
            checked += 1
    assert checked > 20


def _sources(align_set: AlignSet, tmp_path: Path) -> dict[str, Path]:
    """A copy of the set's inputs with region features for one video, and one video's HSGs
    missing (graphs with and without ``region``, captions with and without an HSG)."""
    dsg, hsg = tmp_path / "dsg", tmp_path / "hsg"
    shutil.copytree(align_set.dsg, dsg)
    shutil.copytree(align_set.hsg, hsg)
    first, second = [vid for vid, _ in _videos(align_set)][:2]
    write_regions(dsg, first, 5)
    for path in hsg.glob(f"{second}--*.json"):
        path.unlink()
    return {"tsg_file": align_set.tsg, "dsg_dir": dsg, "hsg_dir": hsg}


def test_the_cache_gives_back_what_build_align_data_gives(
    align_set: AlignSet, tmp_path: Path
) -> None:
    sources = _sources(align_set, tmp_path)
    settings = {"options": GraphOptions(), "hops": 2, "ptc_negatives": 3, "text_negatives": 2}
    expected = build_align_data(_videos(align_set), **sources, **settings)  # type: ignore[arg-type]
    assert expected.region_dim == 5 and expected.warnings  # the HSGs left out are counted
    cache = tmp_path / "cache"
    first, hit = cached_align_data(cache, _videos(align_set), **sources, **settings)  # type: ignore[arg-type]
    assert not hit and len(list(cache.glob("*.pt"))) == 1
    second, hit = cached_align_data(cache, _videos(align_set), **sources, **settings)  # type: ignore[arg-type]
    assert hit
    assert_same_data(first, expected)
    assert_same_data(second, expected)
    assert expected.anchor_counts()["text_negatives"] > 0


def test_a_changed_input_or_option_is_a_miss(align_set: AlignSet, tmp_path: Path) -> None:
    sources = _sources(align_set, tmp_path)
    cache = tmp_path / "cache"
    options = GraphOptions()
    cached_align_data(cache, _videos(align_set), **sources, options=options)  # type: ignore[arg-type]
    assert cached_align_data(cache, _videos(align_set), **sources, options=options)[1]  # type: ignore[arg-type]
    # Another hop count, graph option or caption list: another key.
    assert not cached_align_data(cache, _videos(align_set), **sources, options=options, hops=1)[1]  # type: ignore[arg-type]
    no_coref = GraphOptions(temporal_coref=False)
    assert not cached_align_data(cache, _videos(align_set), **sources, options=no_coref)[1]  # type: ignore[arg-type]
    assert not cached_align_data(cache, _videos(align_set)[1:], **sources, options=options)[1]  # type: ignore[arg-type]
    # An HSG rewritten (same content, new file) and an HSG removed: misses, and the data says so.
    hsg = sources["hsg_dir"]
    video_id, captions = _videos(align_set)[2]
    path = output_path(hsg, f"{video_id}--{captions[0][0]}", ".json")
    path.write_bytes(path.read_bytes())
    os.utime(path, ns=(1, 1))
    assert not cached_align_data(cache, _videos(align_set), **sources, options=options)[1]  # type: ignore[arg-type]
    path.unlink()
    data, hit = cached_align_data(cache, _videos(align_set), **sources, options=options)  # type: ignore[arg-type]
    assert not hit
    assert_same_data(data, build_align_data(_videos(align_set), **sources, options=options))  # type: ignore[arg-type]


def test_a_damaged_cache_file_is_rebuilt(
    align_set: AlignSet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sources = {"tsg_file": align_set.tsg, "dsg_dir": align_set.dsg, "hsg_dir": align_set.hsg}
    cache = tmp_path / "cache"
    expected, _ = cached_align_data(cache, _videos(align_set), **sources, options=GraphOptions())
    (path,) = cache.glob("*.pt")
    path.write_bytes(path.read_bytes()[:1000])
    data, hit = cached_align_data(cache, _videos(align_set), **sources, options=GraphOptions())
    assert not hit and "building the graphs again" in caplog.text and str(path) in caplog.text
    assert_same_data(data, expected)
    assert cached_align_data(cache, _videos(align_set), **sources, options=GraphOptions())[1]


def test_the_graph_cache_keeps_its_bound_and_zero_turns_it_off(
    align_set: AlignSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = {"tsg_file": align_set.tsg, "dsg_dir": align_set.dsg, "hsg_dir": align_set.hsg}
    cache = tmp_path / "cache"
    monkeypatch.setenv("FINSTA_GRAPH_CACHE_MB", "0")
    _, hit = cached_align_data(cache, _videos(align_set), **sources, options=GraphOptions())
    assert not hit and not cache.exists()  # off: nothing written, nothing read
    monkeypatch.delenv("FINSTA_GRAPH_CACHE_MB")
    expected, _ = cached_align_data(cache, _videos(align_set), **sources, options=GraphOptions())
    (first,) = cache.glob("*.pt")
    # A bound that holds one file: a second key's file takes the older one's place.
    monkeypatch.setenv("FINSTA_GRAPH_CACHE_MB", str(1.5 * first.stat().st_size / (1 << 20)))
    options = GraphOptions(temporal_coref=False)
    assert not cached_align_data(cache, _videos(align_set), **sources, options=options)[1]
    (second,) = cache.glob("*.pt")
    assert second != first
    data, hit = cached_align_data(cache, _videos(align_set), **sources, options=GraphOptions())
    assert not hit and [p.name for p in cache.glob("*.pt")] == [first.name]
    assert_same_data(data, expected)


def test_align_train_losses_are_the_same_with_the_graphs_read_back(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    cache = tmp_path / "graphs"
    rows = []
    for run in ("first", "second"):
        command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / run),
                   "--config", str(align_set.config), "--json", "-q", "--steps", "2",
                   "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg),
                   "--hsg", str(align_set.hsg), "--graph-cache", str(cache)]  # fmt: skip
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        (entry,) = cache.glob("*.pt")  # the second run found the first run's file
        metrics = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        rows.append([json.loads(line) for line in metrics])
        if run == "first":
            written = entry.stat().st_ino  # an atomic rewrite would be another file
    assert entry.stat().st_ino == written  # read, not written again
    keys = ("vtc", "osc", "ptc", "sg", "kd", "loss")
    assert [[r[k] for k in keys] for r in rows[0]] == [[r[k] for k in keys] for r in rows[1]]
    assert rows[0][0]["osc"] > 0
