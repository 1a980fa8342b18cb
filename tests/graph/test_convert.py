"""Scene graphs to torch-geometric graphs: fields, edge types, ablation switches, batching."""

from __future__ import annotations

import torch
from torch_geometric.data import Batch

from finsta_cli.graph import (
    CROSS_EDGE_TYPES,
    EDGE_TYPES,
    NODE_TYPES,
    GraphOptions,
    LabelVocab,
    SceneGraphBuilder,
    dsg_to_data,
    hsg_to_data,
    tsg_to_data,
)
from finsta_cli.graph.convert import tsg_batch
from finsta_cli.schema import TSG
from tests.graph.sample import sample_dsg, sample_hsg, sample_tsg, vocabularies


def test_tsg_graph() -> None:
    nodes, edges = vocabularies()
    data = tsg_to_data(sample_tsg(), nodes, edges)
    assert data.num_nodes == 6 and data.edge_index.shape == (2, 12)  # both directions
    assert data.node_type.tolist() == [0, 1, 2, 0, 2, 3]
    assert data.label.tolist() == [
        nodes.index(x) for x in ["ball", "red", "roll toward", "cube", "move", "quickly"]
    ]
    assert data.span[0].tolist() == [8, 12] and (data.frame == -1).all()
    prep = (data.edge_type == EDGE_TYPES["prep_arg"]).nonzero().item()
    assert data.edge_label[prep] == edges.index("toward")
    assert data.coref_index.shape == (2, 0)
    without = tsg_to_data(sample_tsg(), nodes, edges, GraphOptions(adverb_nodes=False))
    assert without.num_nodes == 5 and NODE_TYPES["pred_attr"] not in without.node_type.tolist()
    assert without.edge_index.shape == (2, 10)


def test_dsg_space_time_graph() -> None:
    nodes, edges = vocabularies()
    data = dsg_to_data(sample_dsg(frames=4), nodes, edges)
    assert data.num_nodes == 12
    assert data.frame.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert data.track.tolist() == [1, 2, 3] * 4
    assert data.coref_index.shape == (2, 9)
    assert data.coref_index[:, 0].tolist() == [0, 3]  # track 1, frame 0 -> frame 1
    spatial = int((data.edge_type == EDGE_TYPES["spatial"]).sum())
    cooccur = int((data.edge_type == EDGE_TYPES["cooccur"]).sum())
    assert (spatial, cooccur) == (4, 8)  # 1 relation and 2 unrelated pairs per frame
    no_coref = dsg_to_data(sample_dsg(), nodes, edges, GraphOptions(temporal_coref=False))
    assert no_coref.coref_index.shape == (2, 0)
    assert EDGE_TYPES["coref"] not in no_coref.edge_type.tolist()


def test_hsg_cross_edges_and_regions() -> None:
    nodes, edges = vocabularies()
    region = torch.randn(12, 5)
    data = hsg_to_data(sample_hsg(), nodes, edges, region=region)
    assert data.num_nodes == 18 and data.region.shape == (18, 5)
    assert torch.equal(data.region[6:], region) and (data.region[:6] == 0).all()
    cross = data.edge_index[:, data.edge_type == EDGE_TYPES["cross"]]
    # text "ball" -> every occurrence of track 1; "cube" -> frame 0 only; "roll toward" -> track 1
    assert sorted(cross[1].tolist()) == sorted([6, 9, 12, 15, 7, 6, 9, 12, 15])
    off = hsg_to_data(sample_hsg(), nodes, edges, GraphOptions(cross_edges=False))
    assert not torch.isin(off.edge_type, torch.tensor(CROSS_EDGE_TYPES)).any()


def test_batching_offsets_coreference_indices() -> None:
    nodes, edges = vocabularies()
    graphs = [
        dsg_to_data(sample_dsg(frames=2), nodes, edges),
        dsg_to_data(sample_dsg(frames=3), nodes, edges),
    ]
    batch = Batch.from_data_list(graphs)
    assert batch.num_graphs == 2 and batch.num_nodes == 15
    assert batch.coref_index[:, 3].tolist() == [6, 9]  # second graph's first link, shifted by 6


def test_tsg_batch_is_the_collated_batch_of_its_graphs() -> None:
    """The TSGs converted at once give the fields, ``batch`` and ``ptr`` of converting each and
    collating them, with and without adverb nodes."""
    nodes, edges = vocabularies()
    one = sample_tsg()
    record = one.model_dump()
    record["nodes"] = record["nodes"][:4]  # no "move" / "quickly": fewer rows, other offsets
    record["edges"] = [e for e in record["edges"] if e["source"] < 4 and e["target"] < 4]
    tsgs = [one, TSG.model_validate(record), one]
    for options in (GraphOptions(), GraphOptions(adverb_nodes=False)):
        got = tsg_batch(tsgs, nodes, edges, options)
        want = Batch.from_data_list([tsg_to_data(t, nodes, edges, options) for t in tsgs])
        keys = set(want.keys())
        assert set(got.keys()) == keys
        for key in keys:
            same = torch.equal(got[key], want[key]) if torch.is_tensor(want[key]) else None
            assert same if same is not None else got[key] == want[key], key
        assert got.num_graphs == want.num_graphs == 3 and got.num_nodes == want.num_nodes
        assert got.batch.tolist()[-1] == 2 and int(got.edge_index.max()) == want.num_nodes - 1


def test_builder_indexes_labels_or_grows_its_tables() -> None:
    """A run's builder maps unseen labels to <unk>; a growing one (the stored HSG tensors') adds
    them in first-seen order, and both lay out the same graph."""
    nodes, edges = vocabularies()
    fixed = SceneGraphBuilder(LabelVocab(["<unk>", "cube"]), LabelVocab())
    fixed.add_hsg(sample_hsg(), GraphOptions())
    grown = SceneGraphBuilder(LabelVocab(), LabelVocab(), grow=True)
    grown.add_hsg(sample_hsg(), GraphOptions())
    assert set(fixed.label) == {0, 1}
    assert grown.node_vocab.to_list()[:4] == ["<unk>", "ball", "red", "roll toward"]
    assert "toward" in grown.edge_vocab.to_list() and len(fixed.edge_vocab) == 1
    a, b = fixed.tensors(), grown.tensors()
    for key in ("node_type", "box", "frame", "track", "span", "edge_index", "edge_type"):
        assert torch.equal(a[key], b[key]), key
    data = hsg_to_data(sample_hsg(), nodes, edges)
    assert torch.equal(data.edge_index, b["edge_index"])


def test_unknown_labels_map_to_unk() -> None:
    vocab = LabelVocab.build(["Ball", "ball", "cube"], min_count=2)
    assert vocab.labels == ["<unk>", "ball"] and vocab.index("  BALL ") == 1
    assert vocab.index("giraffe") == 0 and vocab.index(None) == 0
