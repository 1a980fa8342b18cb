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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from finsta_cli.graph.vocab import LabelVocab
from finsta_cli.schema import DSG, HSG, TSG

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Data

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
class _Builder:
    node_vocab: LabelVocab
    edge_vocab: LabelVocab
    node_type: list[int]
    label: list[int]
    box: list[tuple[float, float, float, float]]
    frame: list[int]
    track: list[int]
    span: list[tuple[int, int]]
    edges: list[tuple[int, int, int, int, float]]
    coref: list[tuple[int, int]]

    @classmethod
    def new(cls, node_vocab: LabelVocab, edge_vocab: LabelVocab) -> _Builder:
        return cls(node_vocab, edge_vocab, [], [], [], [], [], [], [], [])

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
        self.node_type.append(NODE_TYPES[kind])
        self.label.append(self.node_vocab.index(label))
        self.box.append(box)
        self.frame.append(frame)
        self.track.append(track)
        self.span.append(span if span is not None else (-1, -1))
        return len(self.node_type) - 1

    def edge(
        self, source: int, target: int, kind: str, label: str | None = None, weight: float = 1.0
    ) -> None:
        label_index = self.edge_vocab.index(label)
        self.edges.append((source, target, EDGE_TYPES[kind], label_index, weight))
        self.edges.append((target, source, EDGE_TYPES[f"{kind}_rev"], label_index, weight))

    def to_data(self, region: torch.Tensor | None = None, **extra: Any) -> Data:
        import torch
        from torch_geometric.data import Data

        n = len(self.node_type)
        edge_index = torch.tensor([[e[0] for e in self.edges], [e[1] for e in self.edges]])
        data = Data(
            node_type=torch.tensor(self.node_type, dtype=torch.long),
            label=torch.tensor(self.label, dtype=torch.long),
            box=torch.tensor(self.box, dtype=torch.float32).reshape(n, 4),
            frame=torch.tensor(self.frame, dtype=torch.long),
            track=torch.tensor(self.track, dtype=torch.long),
            span=torch.tensor(self.span, dtype=torch.long).reshape(n, 2),
            edge_index=edge_index.reshape(2, len(self.edges)).long(),
            edge_type=torch.tensor([e[2] for e in self.edges], dtype=torch.long),
            edge_label=torch.tensor([e[3] for e in self.edges], dtype=torch.long),
            edge_weight=torch.tensor([e[4] for e in self.edges], dtype=torch.float32),
            coref_index=torch.tensor(self.coref, dtype=torch.long).reshape(-1, 2).t().contiguous(),
            num_nodes=n,
            **extra,
        )
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


def _add_tsg(builder: _Builder, tsg: TSG, options: GraphOptions) -> dict[int, int]:
    """Add a TSG's nodes and edges; return TSG node id -> graph node index."""
    mapping: dict[int, int] = {}
    for node in tsg.nodes:
        if node.type == "pred_attr" and not options.adverb_nodes:
            continue
        mapping[node.id] = builder.node(node.type, node.lemma or node.label, span=node.span)
    for edge in tsg.edges:
        if edge.source in mapping and edge.target in mapping:
            builder.edge(mapping[edge.source], mapping[edge.target], edge.type, edge.preposition)
    return mapping


def _add_dsg(builder: _Builder, dsg: DSG, options: GraphOptions) -> dict[tuple[int, int], int]:
    """Add a DSG's object occurrences and edges; return (frame position, track) -> node index."""
    mapping: dict[tuple[int, int], int] = {}
    for position, frame in enumerate(dsg.frames):
        for obj in frame.objects:
            mapping[(position, obj.track_id)] = builder.node(
                "visual", obj.label, box=obj.box, frame=position, track=obj.track_id
            )
        related: set[tuple[int, int]] = set()
        for relation in frame.relations:
            a, b = mapping[(position, relation.subject)], mapping[(position, relation.object)]
            builder.edge(a, b, "spatial", relation.predicate)
            related.update({(a, b), (b, a)})
        if options.frame_clique:
            nodes = [mapping[(position, obj.track_id)] for obj in frame.objects]
            for i, a in enumerate(nodes):
                for b in nodes[i + 1 :]:
                    if (a, b) not in related:
                        builder.edge(a, b, "cooccur")
    if options.temporal_coref:
        for link in dsg.coreference:
            source = mapping[(link.source_frame, link.track_id)]
            target = mapping[(link.target_frame, link.track_id)]
            builder.edge(source, target, "coref")
            builder.coref.append((source, target))
    return mapping


def tsg_to_data(
    tsg: TSG, node_vocab: LabelVocab, edge_vocab: LabelVocab, options: GraphOptions | None = None
) -> Data:
    """A TSG as a graph of text nodes (see the module docstring for the fields)."""
    builder = _Builder.new(node_vocab, edge_vocab)
    _add_tsg(builder, tsg, options or GraphOptions())
    return builder.to_data()


def dsg_to_data(
    dsg: DSG,
    node_vocab: LabelVocab,
    edge_vocab: LabelVocab,
    options: GraphOptions | None = None,
    region: torch.Tensor | None = None,
) -> Data:
    """A DSG as one space-time graph of object occurrences (``region``: (N, R) in node order:
    frame by frame, objects in their listed order)."""
    builder = _Builder.new(node_vocab, edge_vocab)
    _add_dsg(builder, dsg, options or GraphOptions())
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
    opts = options or GraphOptions()
    builder = _Builder.new(node_vocab, edge_vocab)
    text_nodes = _add_tsg(builder, hsg.tsg, opts)
    first_visual = len(builder.node_type)
    visual = _add_dsg(builder, hsg.dsg, opts)
    if opts.cross_edges:
        for edge in hsg.cross_edges:
            if edge.text_node not in text_nodes:
                continue
            frames: Sequence[int] = (
                [edge.frame]
                if edge.frame is not None
                else [p for (p, t) in visual if t == edge.track_id]
            )
            for position in frames:
                target = visual.get((position, edge.track_id))
                if target is not None:
                    builder.edge(
                        text_nodes[edge.text_node],
                        target,
                        "cross",
                        edge.visual_predicate,
                        edge.score,
                    )
    if region is not None:
        import torch

        full = torch.zeros(len(builder.node_type), region.shape[1])
        full[first_visual:] = region
        region = full
    return builder.to_data(region)
