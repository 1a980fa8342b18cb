"""An HSG as a plain dict of tensors (``hsg/<pair_id>.pt``), beside its JSON record.

The graph is the one :func:`finsta_cli.graph.convert.hsg_to_data` builds with every part switched
on (adverb nodes, temporal coreference, cross-modal edges, frame cliques): text nodes first (the
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

from finsta_cli.graph.convert import EDGE_TYPES, NODE_TYPES
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

    labels, edge_labels = LabelVocab(), LabelVocab()
    node_type: list[int] = []
    label: list[int] = []
    box: list[Any] = []
    frame: list[int] = []
    track: list[int] = []
    span: list[Any] = []
    edges: list[tuple[int, int, int, int, float]] = []
    coref: list[tuple[int, int]] = []

    def node(kind: str, name: str, b: Any = (0.0, 0.0, 0.0, 0.0), f: int = -1, t: int = -1,
             s: Any = None) -> int:  # fmt: skip
        node_type.append(NODE_TYPES[kind])
        label.append(labels.add(name))
        box.append(list(b))
        frame.append(f)
        track.append(t)
        span.append(list(s) if s is not None else [-1, -1])
        return len(node_type) - 1

    def edge(a: int, b: int, kind: str, name: str | None = None, weight: float = 1.0) -> None:
        index = edge_labels.add(name) if name is not None else 0
        edges.append((a, b, EDGE_TYPES[kind], index, weight))
        edges.append((b, a, EDGE_TYPES[f"{kind}_rev"], index, weight))

    for text_node in hsg.tsg.nodes:
        node(text_node.type, text_node.lemma or text_node.label, s=text_node.span)
    for text_edge in hsg.tsg.edges:
        edge(text_edge.source, text_edge.target, text_edge.type, text_edge.preposition)
    visual: dict[tuple[int, int], int] = {}
    for position, dsg_frame in enumerate(hsg.dsg.frames):
        for obj in dsg_frame.objects:
            visual[(position, obj.track_id)] = node(
                "visual", obj.label, obj.box, position, obj.track_id
            )
        related: set[tuple[int, int]] = set()
        for relation in dsg_frame.relations:
            a, b = visual[(position, relation.subject)], visual[(position, relation.object)]
            edge(a, b, "spatial", relation.predicate)
            related.update({(a, b), (b, a)})
        occurrences = [visual[(position, obj.track_id)] for obj in dsg_frame.objects]
        for i, a in enumerate(occurrences):
            for b in occurrences[i + 1 :]:
                if (a, b) not in related:
                    edge(a, b, "cooccur")
    for link in hsg.dsg.coreference:
        source = visual[(link.source_frame, link.track_id)]
        target = visual[(link.target_frame, link.track_id)]
        edge(source, target, "coref")
        coref.append((source, target))
    cross: list[tuple[int, int, int, int, int, int, float]] = []
    for cross_edge in hsg.cross_edges:
        predicate = cross_edge.visual_predicate
        cross.append((
            0 if cross_edge.type == "object" else 1,
            cross_edge.text_node,
            cross_edge.track_id,
            -1 if cross_edge.frame is None else cross_edge.frame,
            -1 if cross_edge.object_track_id is None else cross_edge.object_track_id,
            edge_labels.add(predicate) if predicate is not None else 0,
            cross_edge.score,
        ))  # fmt: skip
        if cross_edge.text_node >= len(hsg.tsg.nodes):
            continue
        positions = (
            [cross_edge.frame]
            if cross_edge.frame is not None
            else [p for (p, t) in visual if t == cross_edge.track_id]
        )
        for position in positions:
            occurrence = visual.get((position, cross_edge.track_id))
            if occurrence is not None:
                edge(cross_edge.text_node, occurrence, "cross", predicate, cross_edge.score)

    n = len(node_type)

    def long(values: list[Any], *shape: int) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long).reshape(*shape)

    return {
        "format": TENSORS_FORMAT,
        "version": TENSORS_VERSION,
        "id": hsg.id,
        "video_id": hsg.video_id,
        "text_id": hsg.text_id,
        "text_nodes": len(hsg.tsg.nodes),
        "node_type": long(node_type, n),
        "label": long(label, n),
        "label_names": labels.to_list(),
        "box": torch.tensor(box, dtype=torch.float32).reshape(n, 4),
        "frame": long(frame, n),
        "track": long(track, n),
        "span": long(span, n, 2),
        "frame_index": long([f.index for f in hsg.dsg.frames], len(hsg.dsg.frames)),
        "edge_index": long([[e[0] for e in edges], [e[1] for e in edges]], 2, len(edges)),
        "edge_type": long([e[2] for e in edges], len(edges)),
        "edge_label": long([e[3] for e in edges], len(edges)),
        "edge_label_names": edge_labels.to_list(),
        "edge_weight": torch.tensor([e[4] for e in edges], dtype=torch.float32),
        "coref_index": long(coref, -1, 2).t().contiguous(),
        "cross_kind": long([c[0] for c in cross], len(cross)),
        "cross_text_node": long([c[1] for c in cross], len(cross)),
        "cross_track": long([c[2] for c in cross], len(cross)),
        "cross_frame": long([c[3] for c in cross], len(cross)),
        "cross_object_track": long([c[4] for c in cross], len(cross)),
        "cross_predicate": long([c[5] for c in cross], len(cross)),
        "cross_score": torch.tensor([c[6] for c in cross], dtype=torch.float32),
    }


def write_hsg_tensors(path: Path, hsg: HSG) -> None:
    """Write :func:`hsg_tensors` of ``hsg`` to ``path`` atomically (``torch.save``)."""
    import torch

    from finsta_cli.io.atomic import atomic_open

    payload = hsg_tensors(hsg)
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)


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
