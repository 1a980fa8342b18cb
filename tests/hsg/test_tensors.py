"""``hsg/<pair>.pt``: the HSG's graph as plain tensors, equal to hsg_to_data once its label
tables are mapped onto a vocabulary; loadable with weights_only; damaged files are detected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from finsta_cli.errors import InputError
from finsta_cli.graph import LabelVocab, hsg_to_data
from finsta_cli.hsg.tensors import (
    TENSOR_KEYS,
    hsg_tensors,
    load_hsg_tensors,
    tensors_file_intact,
    write_hsg_tensors,
)
from finsta_cli.schema import HSG


def example() -> HSG:
    text = "the red ball quickly rolls toward the cube"
    nodes: list[dict[str, Any]] = [
        {"id": 0, "type": "object", "label": "ball", "lemma": "ball", "span": [8, 12]},
        {"id": 1, "type": "attribute", "label": "red", "span": [4, 7]},
        {"id": 2, "type": "predicate", "label": "roll", "lemma": "roll", "span": [21, 26]},
        {"id": 3, "type": "pred_attr", "label": "quickly", "span": [13, 20]},
        {"id": 4, "type": "object", "label": "cube", "lemma": "cube", "span": [38, 42]},
    ]
    edges = [
        {"source": 0, "target": 1, "type": "has_attribute"},
        {"source": 2, "target": 0, "type": "agent"},
        {"source": 2, "target": 3, "type": "pred_attr"},
        {"source": 2, "target": 4, "type": "prep_arg", "preposition": "toward"},
    ]

    def obj(track: int, label: str, x: float) -> dict[str, Any]:
        return {"track_id": track, "label": label, "score": 0.9, "box": [x, 0.1, x + 0.1, 0.3]}

    frames = [
        {"index": 0, "time": 0.0, "objects": [obj(0, "ball", 0.1), obj(1, "cube", 0.7)],
         "relations": [{"subject": 0, "object": 1, "predicate": "left of"}]},
        {"index": 4, "time": 0.5, "objects": [obj(0, "ball", 0.3), obj(1, "cube", 0.7),
                                              obj(2, "cone", 0.0)], "relations": []},
        {"index": 8, "time": 1.0, "objects": [obj(0, "ball", 0.5)], "relations": []},
    ]  # fmt: skip
    dsg = {
        "video_id": "v",
        "frames": frames,
        "tracks": [
            {"track_id": 0, "label": "ball", "frames": [0, 1, 2], "attributes": {}},
            {"track_id": 1, "label": "cube", "frames": [0, 1], "attributes": {}},
            {"track_id": 2, "label": "cone", "frames": [1], "attributes": {}},
        ],
        "coreference": [
            {"track_id": 0, "source_frame": 0, "target_frame": 1},
            {"track_id": 0, "source_frame": 1, "target_frame": 2},
            {"track_id": 1, "source_frame": 0, "target_frame": 1},
        ],
    }
    cross = [
        {"type": "object", "text_node": 0, "track_id": 0, "score": 0.9},
        {"type": "object", "text_node": 4, "track_id": 1, "frame": 1, "score": 0.7},
        {"type": "predicate", "text_node": 2, "track_id": 0, "visual_predicate": "approaching",
         "score": 0.8},
        {"type": "predicate", "text_node": 2, "track_id": 0, "visual_predicate": "left of",
         "object_track_id": 1, "score": 0.6},
    ]  # fmt: skip
    return HSG.model_validate(
        {
            "id": "v--c",
            "video_id": "v",
            "text_id": "c",
            "tsg": {"id": "c", "text": text, "nodes": nodes, "edges": edges},
            "dsg": dsg,
            "cross_edges": cross,
        }
    )


def remapped(payload: dict[str, Any], vocab: LabelVocab, edges: LabelVocab) -> dict[str, Any]:
    """The payload's label indices mapped from its own tables onto ``vocab`` / ``edges``."""
    node_map = torch.tensor([vocab.index(name) for name in payload["label_names"]])
    edge_map = torch.tensor([edges.index(name) for name in payload["edge_label_names"]])
    return {
        **payload,
        "label": node_map[payload["label"]],
        "edge_label": edge_map[payload["edge_label"]],
    }


def test_tensors_equal_hsg_to_data() -> None:
    hsg = example()
    payload = hsg_tensors(hsg)
    # A run vocabulary that orders labels differently from the file's tables.
    vocab = LabelVocab.build(["cube", "cone", "roll", "ball", "red", "quickly"])
    edges = LabelVocab.build(["left of", "approaching", "toward"])
    data = hsg_to_data(hsg, vocab, edges)
    mine = remapped(payload, vocab, edges)
    for key in ("node_type", "label", "box", "frame", "track", "span", "edge_index", "edge_type",
                "edge_label", "edge_weight", "coref_index"):  # fmt: skip
        assert torch.equal(mine[key], getattr(data, key)), key
    assert payload["text_nodes"] == len(hsg.tsg.nodes) == 5
    assert payload["frame_index"].tolist() == [0, 4, 8]
    assert payload["cross_kind"].tolist() == [0, 0, 1, 1]
    assert payload["cross_frame"].tolist() == [-1, 1, -1, -1]
    assert payload["cross_object_track"].tolist() == [-1, -1, -1, 1]
    names = payload["edge_label_names"]
    assert [names[i] for i in payload["cross_predicate"].tolist()] == [
        "<unk>", "<unk>", "approaching", "left of"
    ]  # fmt: skip
    assert torch.allclose(payload["cross_score"], torch.tensor([0.9, 0.7, 0.8, 0.6]))


def test_written_file_loads_weights_only_and_damage_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "v--c.pt"
    write_hsg_tensors(path, example())
    raw = torch.load(path, weights_only=True)
    assert set(TENSOR_KEYS) <= set(raw) and raw["format"] == "finsta-hsg-tensors"
    assert tensors_file_intact(path)
    loaded = load_hsg_tensors(path)
    assert torch.equal(loaded["edge_index"], hsg_tensors(example())["edge_index"])
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert not tensors_file_intact(cut)
    with pytest.raises(InputError, match=r"cut\.pt: not a readable HSG tensors file"):
        load_hsg_tensors(cut)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(InputError, match="not an HSG tensors file"):
        load_hsg_tensors(other)


def test_a_tensors_file_that_runs_code_is_refused(tmp_path: Path) -> None:
    from tests.pickles import Touch

    marker = tmp_path / "MARKER"
    path = tmp_path / "v--c.pt"
    torch.save({**hsg_tensors(example()), "payload": Touch(marker)}, path)
    with pytest.raises(InputError) as info:
        load_hsg_tensors(path)
    assert info.value.message == (
        f"{path}: refused: the file carries pickled objects, not plain tensors (posix.system)"
    )
    assert not marker.exists()


def test_empty_graph() -> None:
    hsg = HSG.model_validate(
        {
            "id": "v--c",
            "video_id": "v",
            "text_id": "c",
            "tsg": {"id": "c", "text": "", "nodes": [], "edges": []},
            "dsg": {"video_id": "v"},
        }
    )
    payload = hsg_tensors(hsg)
    assert payload["node_type"].shape == (0,) and payload["box"].shape == (0, 4)
    assert payload["edge_index"].shape == (2, 0) and payload["coref_index"].shape == (2, 0)
    assert payload["cross_score"].shape == (0,)


def test_tensors_with_nan_are_refused_naming_the_tensor(tmp_path: Path) -> None:
    path = tmp_path / "v--c.pt"
    payload = hsg_tensors(example())
    payload["box"][-1, 0] = float("nan")
    torch.save(payload, path)
    with pytest.raises(InputError, match=r"v--c\.pt: tensor 'box' holds 1 NaN of \d+ values"):
        load_hsg_tensors(path)
