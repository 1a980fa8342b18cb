"""``finsta build-hsg --matcher embed`` with a real tiny-host checkpoint, the per-pair ``.pt``
tensors beside the JSON, and resume: a deleted or damaged ``.pt``, a changed matcher option or
checkpoint redoes the pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.graph import EDGE_TYPES
from finsta_cli.hosts import build_host, save_host
from finsta_cli.schema import HSG

CAPTIONS = ["the small red ball moves left", "a blue ball stays still", "the red cube moves right"]
HOST = {"frame_size": 32, "num_frames": 2, "feature_dim": 32, "embed_dim": 32, "heads": 2}


def _tsg(
    text_id: str, text: str, nodes: list[tuple[str, str]], edges: list[tuple[int, int, str]]
) -> dict[str, Any]:
    rows = []
    for i, (kind, words) in enumerate(nodes):
        start = text.index(words)
        label = {"moves": "move", "stays": "stay"}.get(words, words)
        rows.append({"id": i, "type": kind, "label": label, "span": [start, start + len(words)]})
    return {
        "id": text_id,
        "text": text,
        "nodes": rows,
        "edges": [{"source": s, "target": d, "type": k} for s, d, k in edges],
    }


def _track(track: int, label: str, colour: str, motion: str, x: float) -> dict[str, Any]:
    attributes = {"colour": colour, "size": "small", "motion": motion}
    return {"id": track, "label": label, "attrs": attributes, "x": x}


TRACKS = [
    _track(1, "ball", "blue", "still", 0.1),
    _track(2, "cube", "red", "right", 0.4),
    _track(3, "ball", "red", "left", 0.7),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hsg-embed")
    tsgs = [
        _tsg(
            "v.c0",
            CAPTIONS[0],
            [
                ("object", "ball"),
                ("attribute", "small"),
                ("attribute", "red"),
                ("predicate", "moves"),
                ("pred_attr", "left"),
            ],
            [
                (0, 1, "has_attribute"),
                (0, 2, "has_attribute"),
                (3, 0, "agent"),
                (3, 4, "pred_attr"),
            ],
        ),
        _tsg(
            "v.c1",
            CAPTIONS[1],
            [
                ("object", "ball"),
                ("attribute", "blue"),
                ("predicate", "stays"),
                ("pred_attr", "still"),
            ],
            [(0, 1, "has_attribute"), (2, 0, "agent"), (2, 3, "pred_attr")],
        ),
    ]
    (root / "tsg.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tsgs))
    frames = [
        {
            "index": 2 * i,
            "time": 0.25 * i,
            "objects": [
                {
                    "track_id": t["id"],
                    "label": t["label"],
                    "score": 0.9,
                    "box": [t["x"], 0.1, t["x"] + 0.1, 0.2],
                    "attributes": t["attrs"],
                }
                for t in TRACKS
            ],
            "relations": [{"subject": 1, "object": 3, "predicate": "left of"}],
        }
        for i in range(3)
    ]
    dsg = {
        "video_id": "v",
        "frames": frames,
        "tracks": [
            {
                "track_id": t["id"],
                "label": t["label"],
                "frames": [0, 1, 2],
                "attributes": t["attrs"],
            }
            for t in TRACKS
        ],
        "coreference": [
            {"track_id": t["id"], "source_frame": f, "target_frame": f + 1}
            for t in TRACKS
            for f in range(2)
        ],
    }
    (root / "dsg").mkdir()
    (root / "dsg" / "v.json").write_text(json.dumps(dsg))
    torch.manual_seed(5)
    save_host(root / "host.pt", build_host("tiny", HOST, texts=CAPTIONS))
    return {"root": root, "tsg": root / "tsg.jsonl", "dsg": root / "dsg", "host": root / "host.pt"}


def _run(runner: CliRunner, inputs: dict[str, Path], out: Path, *extra: str) -> Any:
    args = [
        "build-hsg",
        "--tsg",
        str(inputs["tsg"]),
        "--dsg",
        str(inputs["dsg"]),
        "--out",
        str(out),
        "--json",
        "-q",
        *extra,
    ]
    return runner.invoke(app, args)


def test_embed_links_and_tensors_agree_with_json(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "hsg"
    result = _run(
        runner, inputs, out, "--matcher", "embed", "--host-checkpoint", str(inputs["host"])
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 2
    red = HSG.model_validate_json((out / "v--v.c0.json").read_text())
    assert [(e.text_node, e.track_id) for e in red.cross_edges if e.type == "object"] == [(0, 3)]
    assert [(e.track_id, e.visual_predicate) for e in red.cross_edges if e.type == "predicate"] == [
        (3, "left")
    ]
    blue = HSG.model_validate_json((out / "v--v.c1.json").read_text())
    assert [(e.track_id, e.visual_predicate) for e in blue.cross_edges] == [(1, None), (1, "still")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["matcher"] == "embed"
    assert any(i["path"] == str(inputs["host"]) and i["sha256"] for i in manifest["inputs"])
    index = [json.loads(line) for line in (out / "hsg.jsonl").read_text().splitlines()]
    assert [row["tensors"] for row in index] == ["v--v.c0.pt", "v--v.c1.pt"]
    for row in index:
        hsg = HSG.model_validate_json((out / row["path"]).read_text())
        tensors = torch.load(out / row["tensors"], weights_only=True)
        occurrences = sum(len(f.objects) for f in hsg.dsg.frames)
        n = len(hsg.tsg.nodes) + occurrences
        assert tensors["id"] == hsg.id and tensors["text_nodes"] == len(hsg.tsg.nodes)
        assert tensors["node_type"].shape == (n,) and tensors["box"].shape == (n, 4)
        assert tensors["frame"][len(hsg.tsg.nodes) :].tolist() == [
            p for p, f in enumerate(hsg.dsg.frames) for _ in f.objects
        ]
        assert tensors["track"][len(hsg.tsg.nodes) :].tolist() == [
            o.track_id for f in hsg.dsg.frames for o in f.objects
        ]
        assert tensors["frame_index"].tolist() == [f.index for f in hsg.dsg.frames]
        assert tensors["coref_index"].shape == (2, len(hsg.dsg.coreference))
        assert tensors["edge_index"].shape[0] == 2
        assert tensors["edge_index"].shape[1] == tensors["edge_type"].shape[0]
        assert tensors["cross_track"].tolist() == [e.track_id for e in hsg.cross_edges]
        assert tensors["cross_score"].tolist() == pytest.approx([e.score for e in hsg.cross_edges])
        # Each object edge joins its text node to every occurrence of the track, both ways.
        cross = int((tensors["edge_type"] == EDGE_TYPES["cross"]).sum())
        per_track = {t["id"]: 3 for t in TRACKS}
        assert cross == sum(per_track[e.track_id] for e in hsg.cross_edges)


def test_resume_redoes_missing_or_damaged_tensors_and_changed_matcher(
    runner: CliRunner, inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "hsg"
    embed = ("--matcher", "embed", "--host-checkpoint", str(inputs["host"]))
    assert json.loads(_run(runner, inputs, out, *embed).stdout)["done"] == 2
    assert json.loads(_run(runner, inputs, out, *embed).stdout)["skipped"] == 2
    (out / "v--v.c0.pt").unlink()
    again = json.loads(_run(runner, inputs, out, *embed).stdout)
    assert (again["done"], again["skipped"]) == (1, 1) and (out / "v--v.c0.pt").is_file()
    damaged = out / "v--v.c1.pt"
    damaged.write_bytes(damaged.read_bytes()[:100])
    again = json.loads(_run(runner, inputs, out, *embed).stdout)
    assert (again["done"], again["skipped"]) == (1, 1)
    assert torch.load(damaged, weights_only=True)["id"] == "v--v.c1"
    # The matcher's options and its checkpoint's content decide the outputs.
    lower = json.loads(_run(runner, inputs, out, *embed, "--embed-threshold", "0.5").stdout)
    assert lower["done"] == 2
    torch.manual_seed(6)
    retrained = tmp_path / "host.pt"
    save_host(retrained, build_host("tiny", HOST, texts=CAPTIONS))
    inputs["host"].write_bytes(retrained.read_bytes())
    try:
        redone = json.loads(_run(runner, inputs, out, *embed, "--embed-threshold", "0.5").stdout)
    finally:
        torch.manual_seed(5)
        save_host(inputs["host"], build_host("tiny", HOST, texts=CAPTIONS))
    assert redone["done"] == 2
    assert json.loads(_run(runner, inputs, out).stdout)["done"] == 2  # back to the rules


def test_checkpoint_errors(runner: CliRunner, inputs: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "checkpoint.pt"
    result = _run(
        runner, inputs, tmp_path / "a", "--matcher", "embed", "--host-checkpoint", str(missing)
    )
    assert result.exit_code == 4
    assert f"{missing}: checkpoint not found" in result.output
    assert not (tmp_path / "a").exists()
    result = _run(runner, inputs, tmp_path / "b", "--matcher", "embed")
    assert result.exit_code == 2 and "--matcher embed needs --host-checkpoint" in result.output
    result = _run(runner, inputs, tmp_path / "c", "--host-checkpoint", str(inputs["host"]))
    assert result.exit_code == 2 and "--host-checkpoint is used by --matcher embed" in result.output
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    result = _run(
        runner, inputs, tmp_path / "d", "--matcher", "hybrid", "--host-checkpoint", str(foreign)
    )
    assert result.exit_code == 1 and f"{foreign}: not a finsta checkpoint" in result.output
