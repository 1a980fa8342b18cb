"""Scene graphs to torch-geometric ``Data``: TSG, DSG and HSG as one typed space-time graph.

Every graph uses the same node and edge type codes, so the encoders and batching treat the three
alike. Node fields (N nodes, E edges, C coreference links, R region-feature size):

========================  ===========  =====================================================
``node_type``             (N,) long    :data:`NODE_TYPES` code
``label``                 (N,) long    index in the node :class:`LabelVocab`
``box``                   (N, 4)       normalised xyxy of visual nodes; zeros for text nodes
``frame``                 (N,) long    position in the DSG frame list; -1 for text nodes
``track``                 (N,) long    DSG track id; -1 for text nodes
``span``                  (N, 2) long  character span of text nodes; -1 when none
``region``                (N, R)       region features of visual nodes (when given)
``edge_index``            (2, E) long  source -> target
``edge_type``             (E,) long    :data:`EDGE_TYPES` code
``edge_label``            (E,) long    index of the relation label (predicate, preposition)
``edge_weight``           (E,)         1, or the score of a cross-modal edge
``coref_index``           (2, C) long  previous occurrence -> next occurrence of one track
========================  ===========  =====================================================

Edges are added in both directions (a reverse type for each), so information flows both ways.
``coref_index`` holds the temporal coreference links the recurrent encoder follows; with
``temporal_coref=False`` they are left out (ablation), as are the matching edges.

The layout is written once, in :class:`SceneGraphBuilder`: :func:`tsg_to_data`,
:func:`dsg_to_data`, :func:`hsg_to_data` and the stored HSG tensors
(:func:`finsta_cli.hsg.tensors.hsg_tensors`) are all built with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from finsta_cli.graph.vocab import LabelVocab
from finsta_cli.schema import DSG, HSG, TSG, CrossModalEdge

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Batch, Data

NODE_TYPES: dict[str, int] = {
    "object": 0,
    "attribute": 1,
    "predicate": 2,
    "pred_attr": 3,
    "visual": 4,
}
_BASE_EDGES = (
    "has_attribute",
    "agent",
    "patient",
    "prep_arg",
    "pred_attr",
    "before",
    "overlaps",
    "spatial",
    "cooccur",
    "coref",
    "cross",
)
EDGE_TYPES: dict[str, int] = {
    **{name: 2 * i for i, name in enumerate(_BASE_EDGES)},
    **{f"{name}_rev": 2 * i + 1 for i, name in enumerate(_BASE_EDGES)},
}
TEMPORAL_EDGE_TYPES = (EDGE_TYPES["coref"], EDGE_TYPES["coref_rev"])
CROSS_EDGE_TYPES = (EDGE_TYPES["cross"], EDGE_TYPES["cross_rev"])


@dataclass(frozen=True)
class GraphOptions:
    """Switches for the graph parts the paper ablates, and how frames are wired."""

    adverb_nodes: bool = True
    temporal_coref: bool = True
    cross_edges: bool = True
    frame_clique: bool = True


@dataclass
class SceneGraphBuilder:
    """Builds one typed scene graph (the layout in the module docstring) node by node.

    Labels are indexed in ``node_vocab`` / ``edge_vocab``; a label they do not hold is ``<unk>``
    (0), unless ``grow``: then it is added, so the vocabularies end up as the graph's own label
    tables (what :func:`finsta_cli.hsg.tensors.hsg_tensors` stores). No label is always 0.
    """

    node_vocab: LabelVocab
    edge_vocab: LabelVocab
    grow: bool = False
    node_type: list[int] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    box: list[tuple[float, float, float, float]] = field(default_factory=list)
    frame: list[int] = field(default_factory=list)
    track: list[int] = field(default_factory=list)
    span: list[tuple[int, int]] = field(default_factory=list)
    edges: list[tuple[int, int, int, int, float]] = field(default_factory=list)
    coref: list[tuple[int, int]] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        return len(self.node_type)

    def node_label(self, name: str | None) -> int:
        """The index of node label ``name`` (added first when growing)."""
        return self._index(self.node_vocab, name)

    def edge_label(self, name: str | None) -> int:
        """The index of relation label ``name`` (added first when growing)."""
        return self._index(self.edge_vocab, name)

    def _index(self, vocab: LabelVocab, name: str | None) -> int:
        if name is None:
            return 0
        return vocab.add(name) if self.grow else vocab.index(name)

    def node(
        self,
        kind: str,
        label: str | None,
        *,
        box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
        frame: int = -1,
        track: int = -1,
        span: tuple[int, int] | None = None,
    ) -> int:
        """Add a node; return its row."""
        self.node_type.append(NODE_TYPES[kind])
        self.label.append(self.node_label(label))
        self.box.append(box)
        self.frame.append(frame)
        self.track.append(track)
        self.span.append(span if span is not None else (-1, -1))
        return len(self.node_type) - 1

    def edge(
        self, source: int, target: int, kind: str, label: str | None = None, weight: float = 1.0
    ) -> None:
        """Add an edge and its reverse (type ``<kind>_rev``), with the same label and weight."""
        label_index = self.edge_label(label)
        self.edges.append((source, target, EDGE_TYPES[kind], label_index, weight))
        self.edges.append((target, source, EDGE_TYPES[f"{kind}_rev"], label_index, weight))

    def add_tsg(self, tsg: TSG, options: GraphOptions) -> dict[int, int]:
        """Add a TSG's nodes and edges; return TSG node id -> row."""
        mapping: dict[int, int] = {}
        for node in tsg.nodes:
            if node.type == "pred_attr" and not options.adverb_nodes:
                continue
            mapping[node.id] = self.node(node.type, node.lemma or node.label, span=node.span)
        for edge in tsg.edges:
            if edge.source in mapping and edge.target in mapping:
                self.edge(mapping[edge.source], mapping[edge.target], edge.type, edge.preposition)
        return mapping

    def add_dsg(self, dsg: DSG, options: GraphOptions) -> dict[tuple[int, int], int]:
        """Add a DSG's object occurrences, frame by frame, and their edges; return
        (frame position, track id) -> row."""
        mapping: dict[tuple[int, int], int] = {}
        for position, frame in enumerate(dsg.frames):
            for obj in frame.objects:
                mapping[(position, obj.track_id)] = self.node(
                    "visual", obj.label, box=obj.box, frame=position, track=obj.track_id
                )
            related: set[tuple[int, int]] = set()
            for relation in frame.relations:
                a, b = mapping[(position, relation.subject)], mapping[(position, relation.object)]
                self.edge(a, b, "spatial", relation.predicate)
                related.update({(a, b), (b, a)})
            if options.frame_clique:
                nodes = [mapping[(position, obj.track_id)] for obj in frame.objects]
                for i, a in enumerate(nodes):
                    for b in nodes[i + 1 :]:
                        if (a, b) not in related:
                            self.edge(a, b, "cooccur")
        if options.temporal_coref:
            for link in dsg.coreference:
                source = mapping[(link.source_frame, link.track_id)]
                target = mapping[(link.target_frame, link.track_id)]
                self.edge(source, target, "coref")
                self.coref.append((source, target))
        return mapping

    def add_cross_edge(
        self,
        edge: CrossModalEdge,
        text_nodes: Mapping[int, int],
        visual: Mapping[tuple[int, int], int],
    ) -> None:
        """Join a text node to the occurrences an HSG cross edge names (``edge.frame``, else
        every occurrence of the track); nothing when the text node was left out."""
        if edge.text_node not in text_nodes:
            return
        frames: Sequence[int] = (
            [edge.frame]
            if edge.frame is not None
            else [p for (p, t) in visual if t == edge.track_id]
        )
        for position in frames:
            target = visual.get((position, edge.track_id))
            if target is not None:
                self.edge(
                    text_nodes[edge.text_node], target, "cross", edge.visual_predicate, edge.score
                )

    def add_hsg(self, hsg: HSG, options: GraphOptions) -> int:
        """Add an HSG: its TSG nodes, then its DSG nodes, then the cross-modal edges (with
        ``options.cross_edges``); return how many text rows come first."""
        text_nodes = self.add_tsg(hsg.tsg, options)
        visual = self.add_dsg(hsg.dsg, options)
        if options.cross_edges:
            for edge in hsg.cross_edges:
                self.add_cross_edge(edge, text_nodes, visual)
        return len(text_nodes)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The graph's node and edge fields as tensors (the module docstring's table, without
        ``region``), in that order."""
        import torch

        n, e = len(self.node_type), len(self.edges)
        return {
            "node_type": torch.tensor(self.node_type, dtype=torch.long),
            "label": torch.tensor(self.label, dtype=torch.long),
            "box": torch.tensor(self.box, dtype=torch.float32).reshape(n, 4),
            "frame": torch.tensor(self.frame, dtype=torch.long),
            "track": torch.tensor(self.track, dtype=torch.long),
            "span": torch.tensor(self.span, dtype=torch.long).reshape(n, 2),
            "edge_index": torch.tensor(
                [[x[0] for x in self.edges], [x[1] for x in self.edges]], dtype=torch.long
            ).reshape(2, e),
            "edge_type": torch.tensor([x[2] for x in self.edges], dtype=torch.long),
            "edge_label": torch.tensor([x[3] for x in self.edges], dtype=torch.long),
            "edge_weight": torch.tensor([x[4] for x in self.edges], dtype=torch.float32),
            "coref_index": torch.tensor(self.coref, dtype=torch.long)
            .reshape(-1, 2)
            .t()
            .contiguous(),
        }

    def to_data(self, region: torch.Tensor | None = None, **extra: Any) -> Data:
        """The graph as a torch-geometric ``Data`` (``region``: (N, R) features, optional;
        ``extra``: more attributes)."""
        from torch_geometric.data import Data

        n = len(self.node_type)
        data = Data(**self.tensors(), num_nodes=n, **extra)
        if region is not None:
            if region.shape[0] != n:
                raise ValueError(f"region features have {region.shape[0]} rows for {n} nodes")
            data.region = region.float()
        return data


def tsg_node_index(tsg: TSG, options: GraphOptions | None = None) -> dict[int, int]:
    """TSG node id -> its row in :func:`tsg_to_data` (and in an HSG's text part)."""
    opts = options or GraphOptions()
    kept = [n.id for n in tsg.nodes if n.type != "pred_attr" or opts.adverb_nodes]
    return {node_id: row for row, node_id in enumerate(kept)}


def tsg_to_data(
    tsg: TSG, node_vocab: LabelVocab, edge_vocab: LabelVocab, options: GraphOptions | None = None
) -> Data:
    """A TSG as a graph of text nodes (see the module docstring for the fields)."""
    builder = SceneGraphBuilder(node_vocab, edge_vocab)
    builder.add_tsg(tsg, options or GraphOptions())
    return builder.to_data()


def tsg_batch(
    tsgs: Sequence[TSG],
    node_vocab: LabelVocab,
    edge_vocab: LabelVocab,
    options: GraphOptions | None = None,
) -> Batch:
    """TSGs as one batch of text graphs: the ``Batch.from_data_list`` of their
    :func:`tsg_to_data` graphs (same fields, ``batch`` and ``ptr``), built at once.

    One builder holds every graph's rows, so node rows and edge indices are already offset as
    collating would offset them, and each field becomes one tensor: no ``Data`` per text.
    """
    import torch
    from torch_geometric.data import Batch

    builder = SceneGraphBuilder(node_vocab, edge_vocab)
    opts = options or GraphOptions()
    sizes = []
    for tsg in tsgs:
        before = builder.num_nodes
        builder.add_tsg(tsg, opts)
        sizes.append(builder.num_nodes - before)
    counts = torch.tensor(sizes, dtype=torch.long)
    ptr = torch.zeros(len(sizes) + 1, dtype=torch.long)
    torch.cumsum(counts, dim=0, out=ptr[1:])
    batch = Batch(
        **builder.tensors(),
        num_nodes=builder.num_nodes,
        batch=torch.repeat_interleave(torch.arange(len(sizes)), counts),
        ptr=ptr,
    )
    batch._num_graphs = len(sizes)
    return batch


def dsg_to_data(
    dsg: DSG,
    node_vocab: LabelVocab,
    edge_vocab: LabelVocab,
    options: GraphOptions | None = None,
    region: torch.Tensor | None = None,
) -> Data:
    """A DSG as one space-time graph of object occurrences (``region``: (N, R) in node order:
    frame by frame, objects in their listed order)."""
    builder = SceneGraphBuilder(node_vocab, edge_vocab)
    builder.add_dsg(dsg, options or GraphOptions())
    return builder.to_data(region)


def hsg_to_data(
    hsg: HSG,
    node_vocab: LabelVocab,
    edge_vocab: LabelVocab,
    options: GraphOptions | None = None,
    region: torch.Tensor | None = None,
) -> Data:
    """An HSG: its TSG nodes first, then its DSG nodes, joined by cross-modal edges.

    A cross edge to a whole track joins the text node to every occurrence of the track. With
    ``region`` (DSG nodes only), text rows are zero-filled.
    """
    builder = SceneGraphBuilder(node_vocab, edge_vocab)
    text_rows = builder.add_hsg(hsg, options or GraphOptions())
    if region is not None:
        import torch

        full = torch.zeros(builder.num_nodes, region.shape[1])
        full[text_rows:] = region
        region = full
    return builder.to_data(region)
