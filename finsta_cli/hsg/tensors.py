"""An HSG as a plain dict of tensors (``hsg/<pair_id>.pt``), beside its JSON record.

The graph is the one :func:`finsta_cli.graph.convert.hsg_to_data` builds with every part switched
on (adverb nodes, temporal coreference, cross-modal edges, frame cliques), made by the same
:class:`finsta_cli.graph.convert.SceneGraphBuilder`: text nodes first (the
TSG's nodes in order), then one visual node per object occurrence, frame by frame. Labels are
indices into the file's own label tables (``label_names``, ``edge_label_names``; index 0 is
``<unk>``, i.e. no label), so the file does not depend on a run's vocabulary: a reader maps the
tables onto its vocabulary and indexes. Ablations drop nodes or edges by type code.

Keys (N nodes, E directed edges, C coreference links, F frames, X cross-modal edges):

======================  ===========  ===========================================================
``format``, ``version`` str, int     ``"finsta-hsg-tensors"``, :data:`TENSORS_VERSION`
``id``                  str          pair id ``<video_id>--<text_id>``
``video_id``            str
``text_id``             str
``text_nodes``          int          rows 0 .. text_nodes-1 are the TSG's nodes, in order
``node_type``           (N,) int64   :data:`finsta_cli.graph.NODE_TYPES` code
``label``               (N,) int64   index in ``label_names`` (lemma, else label, of a text
                                     node; class label of a visual node)
``label_names``         list[str]    the file's node label table, ``<unk>`` first
``box``                 (N, 4) f32   normalised xyxy of visual nodes; zeros for text nodes
``frame``               (N,) int64   position in the DSG frame list; -1 for text nodes
``track``               (N,) int64   DSG track id; -1 for text nodes
``span``                (N, 2) int64 character span of text nodes; -1 when none
``frame_index``         (F,) int64   the DSG's frame numbers (``frames[p].index``)
``edge_index``          (2, E) int64 source -> target; every edge in both directions
``edge_type``           (E,) int64   :data:`finsta_cli.graph.EDGE_TYPES` code (``_rev`` odd)
``edge_label``          (E,) int64   index in ``edge_label_names`` (preposition, relation,
                                     visual predicate); 0 for none
``edge_label_names``    list[str]    the file's edge label table, ``<unk>`` first
``edge_weight``         (E,) f32     1, or the score of a cross-modal edge
``coref_index``         (2, C) int64 previous -> next occurrence of one track
``cross_kind``          (X,) int64   0 object, 1 predicate (the HSG's ``cross_edges`` in order)
``cross_text_node``     (X,) int64   TSG node id (= its row)
``cross_track``         (X,) int64   track id
``cross_frame``         (X,) int64   frame position of a one-occurrence edge; -1 whole track
``cross_object_track``  (X,) int64   a relation's other track; -1 when none
``cross_predicate``     (X,) int64   index in ``edge_label_names`` of the visual predicate; 0
``cross_score``         (X,) f32     the matcher's score
======================  ===========  ===========================================================
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli.graph.convert import GraphOptions, SceneGraphBuilder
from finsta_cli.graph.vocab import LabelVocab
from finsta_cli.schema import HSG

if TYPE_CHECKING:
    import torch

TENSORS_FORMAT = "finsta-hsg-tensors"
TENSORS_VERSION = 1

TENSOR_KEYS = ("node_type", "label", "box", "frame", "track", "span", "frame_index", "edge_index",
               "edge_type", "edge_label", "edge_weight", "coref_index", "cross_kind",
               "cross_text_node", "cross_track", "cross_frame", "cross_object_track",
               "cross_predicate", "cross_score")  # fmt: skip


def hsg_tensors(hsg: HSG) -> dict[str, Any]:
    """The HSG's graph as a dict of tensors and label tables (keys in the module docstring)."""
    import torch

    builder = SceneGraphBuilder(LabelVocab(), LabelVocab(), grow=True)
    every_part = GraphOptions()
    text_nodes = builder.add_tsg(hsg.tsg, every_part)
    visual = builder.add_dsg(hsg.dsg, every_part)
    cross: list[tuple[int, int, int, int, int, int, float]] = []
    for edge in hsg.cross_edges:
        # The predicate enters the label table here, before the edges that carry it, so a
        # predicate with no occurrence to join still gets its place in the table's order.
        cross.append((
            0 if edge.type == "object" else 1,
            edge.text_node,
            edge.track_id,
            -1 if edge.frame is None else edge.frame,
            -1 if edge.object_track_id is None else edge.object_track_id,
            builder.edge_label(edge.visual_predicate),
            edge.score,
        ))  # fmt: skip
        builder.add_cross_edge(edge, text_nodes, visual)

    def long(values: list[Any]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long).reshape(len(values))

    graph = builder.tensors()
    frames = hsg.dsg.frames
    return {
        "format": TENSORS_FORMAT,
        "version": TENSORS_VERSION,
        "id": hsg.id,
        "video_id": hsg.video_id,
        "text_id": hsg.text_id,
        "text_nodes": len(hsg.tsg.nodes),
        "node_type": graph["node_type"],
        "label": graph["label"],
        "label_names": builder.node_vocab.to_list(),
        "box": graph["box"],
        "frame": graph["frame"],
        "track": graph["track"],
        "span": graph["span"],
        "frame_index": long([f.index for f in frames]),
        "edge_index": graph["edge_index"],
        "edge_type": graph["edge_type"],
        "edge_label": graph["edge_label"],
        "edge_label_names": builder.edge_vocab.to_list(),
        "edge_weight": graph["edge_weight"],
        "coref_index": graph["coref_index"],
        "cross_kind": long([c[0] for c in cross]),
        "cross_text_node": long([c[1] for c in cross]),
        "cross_track": long([c[2] for c in cross]),
        "cross_frame": long([c[3] for c in cross]),
        "cross_object_track": long([c[4] for c in cross]),
        "cross_predicate": long([c[5] for c in cross]),
        "cross_score": torch.tensor([c[6] for c in cross], dtype=torch.float32),
    }


def write_hsg_tensors(path: Path, hsg: HSG) -> None:
    """Write :func:`hsg_tensors` of ``hsg`` to ``path`` atomically (``torch.save``)."""

    from finsta_cli.io.torchfile import save_torch_file

    payload = hsg_tensors(hsg)
    save_torch_file(path, payload)


def tensors_file_intact(path: Path) -> bool:
    """A cheap check that ``path`` is a whole ``torch.save`` archive (a zip with its directory
    and pickle): a file cut short, emptied or overwritten fails it. It does not load tensors."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def load_hsg_tensors(path: Path) -> dict[str, Any]:
    """Read an ``hsg/<pair_id>.pt`` file (``weights_only=True``), checking its format and that
    its tensors are finite (a NaN or infinite value is an InputError naming the tensor)."""
    from finsta_cli.errors import InputError
    from finsta_cli.io.finite import require_finite
    from finsta_cli.io.torchfile import load_torch_file

    if not path.is_file():
        raise InputError(f"{path}: no HSG tensors file")
    payload = load_torch_file(path, unreadable="not a readable HSG tensors file")
    if not isinstance(payload, dict) or payload.get("format") != TENSORS_FORMAT:
        raise InputError(f"{path}: not an HSG tensors file (no format {TENSORS_FORMAT!r})")
    version = payload.get("version")
    if not isinstance(version, int) or version > TENSORS_VERSION:
        raise InputError(
            f"{path}: HSG tensors version {version!r} is newer than this finsta reads "
            f"({TENSORS_VERSION})",
            hint="upgrade finsta, or run build-hsg again",
        )
    missing = [key for key in TENSOR_KEYS if key not in payload]
    if missing:
        raise InputError(f"{path}: HSG tensors file lacks {', '.join(missing)}")
    require_finite(payload, str(path))
    return payload
