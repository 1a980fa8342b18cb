"""Training data of align-train: videos with their frames, DSG graph and captions with TSG/HSG
graphs, plus the anchors of the object-centred (OSC) and predicate-centred (PTC) contrasts.

Anchors come from the HSG's cross-modal edges:

- OSC: a text object node linked to a visual track. Its positive is the track's k-hop region in
  the DSG (the track's occurrences weigh 1, nodes h hops away 2^-h, up to ``hops``); the other
  tracks of every video in the batch are its negatives.
- PTC: a text predicate node linked to a motion or relation of a track. Its interval is the run
  of sampled frames where the video shows that predicate (the track's per-frame motion, or the
  relation between the two tracks); its positive is the region of the argument tracks over that
  interval, its hard negatives the same region over other intervals of the same video (windows of
  the same length that overlap the positive by at most half), and the other anchors' regions of
  the batch are negatives too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import Tensor
from torch_geometric.data import Data

from finsta_cli.align.negatives import structural_negatives
from finsta_cli.errors import InputError
from finsta_cli.graph import (
    GraphOptions,
    LabelVocab,
    dsg_to_data,
    hsg_to_data,
    tsg_node_index,
    tsg_to_data,
)
from finsta_cli.graph.convert import SceneGraphBuilder
from finsta_cli.io import output_path, read_records
from finsta_cli.io.finite import require_finite
from finsta_cli.io.jsonl import validation_message
from finsta_cli.io.torchfile import load_torch_file
from finsta_cli.schema import DSG, HSG, TSG

MOTION_CONCEPTS = frozenset({"left", "right", "up", "down"})
MOVING_CONCEPTS = frozenset({"approaching", "leaving"})
INVERSE = {
    "left of": "right of", "right of": "left of", "above": "below", "below": "above",
    "in front of": "behind", "behind": "in front of",
}  # fmt: skip


@dataclass
class PredicateAnchor:
    """A PTC anchor: TSG row ``node``; argument ``tracks``; frame intervals [start, end]."""

    node: int
    tracks: tuple[int, ...]
    positive: tuple[int, int]
    negatives: list[tuple[int, int]]


@dataclass
class CaptionGraphs:
    """One caption: its text, TSG graph, HSG graph and anchors (graphs None when absent)."""

    text_id: str
    text: str
    tsg: Data | None = None
    hsg: Data | None = None
    osc: list[tuple[int, int]] = field(default_factory=list)  # (TSG row, track id)
    ptc: list[PredicateAnchor] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)  # hard-negative captions (its TSG's)
    negative_tsgs: list[Data] = field(default_factory=list)  # their TSGs (fusion mode)


@dataclass
class VideoGraphs:
    """One video: its DSG graph (``region`` = detector features) and per-track hop distances."""

    video_id: str
    dsg: Data | None
    captions: list[CaptionGraphs]
    track_hops: dict[int, Tensor] = field(default_factory=dict)  # track -> (N,) hops


@dataclass
class AlignData:
    videos: list[VideoGraphs]
    node_vocab: LabelVocab
    edge_vocab: LabelVocab
    region_dim: int
    warnings: list[str] = field(default_factory=list)
    # video id -> why its DSG files were refused (damaged, another video's, not finite): the
    # video has no DSG here; align-train leaves it out, eval scores it without its graph.
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def num_captions(self) -> int:
        return sum(len(v.captions) for v in self.videos)

    def anchor_counts(self) -> dict[str, int]:
        captions = [c for v in self.videos for c in v.captions]
        return {
            "captions_with_tsg": sum(c.tsg is not None for c in captions),
            "captions_with_hsg": sum(c.hsg is not None for c in captions),
            "videos_with_dsg": sum(v.dsg is not None for v in self.videos),
            "osc_anchors": sum(len(c.osc) for c in captions),
            "ptc_anchors": sum(len(c.ptc) for c in captions),
            "text_negatives": sum(len(c.negatives) for c in captions),
        }


def read_tsgs(path: Path) -> dict[str, TSG]:
    return {record.id: record for record in read_records(path, TSG)}


def _read_json_model(path: Path, model: type[DSG] | type[HSG]) -> DSG | HSG:
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InputError(
            f"{path}: not a valid {model.__name__} ({validation_message(exc)})"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _detector_features(pt_path: Path, dsg: DSG) -> Tensor | None:
    """(N, R) region features in DSG node order from build-dsg's .pt, or None without one."""
    if not pt_path.is_file():
        return None
    tensors = load_torch_file(pt_path, unreadable="not a build-dsg tensor file")
    try:
        rows = {
            (int(f), int(t)): i
            for i, (f, t) in enumerate(zip(tensors["frame"], tensors["track_ids"], strict=True))
        }
        features = tensors["features"].float()
    except Exception as exc:  # any damage to the file: a clear message, not a traceback
        raise InputError(f"{pt_path}: not a build-dsg tensor file ({str(exc)[:160]})") from None
    # NaN features would turn every loss and embedding they reach into NaN.
    require_finite(tensors, str(pt_path))
    order = [
        rows.get((position, obj.track_id), -1)
        for position, frame in enumerate(dsg.frames)
        for obj in frame.objects
    ]
    if any(i < 0 for i in order):
        raise InputError(f"{pt_path}: does not match {dsg.video_id}'s DSG (missing rows)")
    if not order:
        return torch.zeros((0, features.shape[1]))
    return features[torch.tensor(order)]


def hop_distances(
    edge_index: Tensor, num_nodes: int, sources: list[list[int]], limit: int
) -> Tensor:
    """(T, N) hop distance of every node from each track's occurrences (``sources``, one row list
    per track) along ``edge_index``, ``limit + 1`` beyond ``limit`` hops: a breadth-first search
    of all tracks at once, one index operation per hop."""
    hops = torch.full((len(sources), num_nodes), limit + 1, dtype=torch.long)
    track = torch.tensor([t for t, rows in enumerate(sources) for _ in rows], dtype=torch.long)
    rows = torch.tensor([row for rows in sources for row in rows], dtype=torch.long)
    hops[track, rows] = 0
    reached = hops == 0
    source, target = edge_index[0], edge_index[1]
    for hop in range(1, limit + 1):
        # A node is reached at this hop when an edge comes to it from a node reached before.
        incoming = torch.zeros(hops.shape, dtype=torch.int32)
        incoming.index_add_(1, target, reached[:, source].to(torch.int32))
        new = (incoming > 0) & ~reached
        if not bool(new.any()):
            break
        hops[new] = hop
        reached |= new
    return hops


def _track_rows(dsg: DSG) -> dict[int, list[int]]:
    rows: dict[int, list[int]] = defaultdict(list)
    row = 0
    for frame in dsg.frames:
        for obj in frame.objects:
            rows[obj.track_id].append(row)
            row += 1
    return dict(rows)


def _same_dsg(a: DSG, b: DSG | None) -> bool:
    if b is None or len(a.frames) != len(b.frames):
        return False
    return all(
        fa.index == fb.index
        and [o.track_id for o in fa.objects] == [o.track_id for o in fb.objects]
        for fa, fb in zip(a.frames, b.frames, strict=True)
    )


def _shows(concept: str | None, motion: str) -> bool:
    """Whether an occurrence whose per-frame motion is ``motion`` shows ``concept``."""
    if concept in MOTION_CONCEPTS or concept == "still":
        return motion == concept
    return concept in MOVING_CONCEPTS and motion not in ("", "still")


def predicate_interval(
    dsg: DSG, track: int, concept: str | None, other: int | None
) -> tuple[int, int] | None:
    """The frame positions [start, end] over which ``track`` shows ``concept``, or None."""
    positions: list[int] = []
    for position, frame in enumerate(dsg.frames):
        objects = {o.track_id: o for o in frame.objects}
        obj = objects.get(track)
        if obj is None:
            continue
        if other is not None:
            for rel in frame.relations:
                if (rel.subject, rel.object, rel.predicate) == (track, other, concept) or (
                    (rel.subject, rel.object) == (other, track)
                    and rel.predicate == INVERSE.get(concept or "", "")
                ):
                    positions.append(position)
            continue
        motion = obj.attributes.get("motion", "")
        if _shows(concept, motion):
            positions.append(position)
    if not positions:
        return None
    return min(positions), max(positions)


def negative_intervals(positive: tuple[int, int], frames: int, count: int) -> list[tuple[int, int]]:
    """Up to ``count`` windows of the positive's length overlapping it by at most half."""
    start, end = positive
    length = end - start + 1
    if frames <= length or count <= 0:
        return []
    out: list[tuple[int, int]] = []
    candidates = sorted(range(frames - length + 1), key=lambda s: (-abs(s - start), s))
    for s in candidates:
        overlap = max(0, min(end, s + length - 1) - max(start, s) + 1)
        if overlap * 2 <= length:
            out.append((s, s + length - 1))
        if len(out) >= count:
            break
    return out


def hsg_anchors(
    hsg: HSG, rows: dict[int, int], track_ids: set[int], ptc_negatives: int
) -> tuple[list[tuple[int, int]], list[PredicateAnchor]]:
    """The OSC anchors (TSG row, track id) and PTC anchors of one HSG (its TSG's ``rows``):
    its cross-modal edges to ``track_ids``, best-scored first (see the module docstring)."""
    osc: dict[tuple[int, int], float] = {}
    ptc: list[PredicateAnchor] = []
    seen: set[int] = set()
    for edge in sorted(hsg.cross_edges, key=lambda e: -e.score):
        if edge.text_node not in rows or edge.track_id not in track_ids:
            continue
        row = rows[edge.text_node]
        if edge.type == "object":
            osc.setdefault((row, edge.track_id), edge.score)
            continue
        if row in seen:  # one interval per predicate: its best-scored link
            continue
        other = edge.object_track_id if edge.object_track_id in track_ids else None
        interval = predicate_interval(hsg.dsg, edge.track_id, edge.visual_predicate, other)
        if interval is None:
            continue
        seen.add(row)
        tracks = (edge.track_id,) if other is None else (edge.track_id, other)
        negatives = negative_intervals(interval, len(hsg.dsg.frames), ptc_negatives)
        ptc.append(PredicateAnchor(row, tracks, interval, negatives))
    return sorted(osc), ptc


def videos_with_captions(
    dataset: Any,
) -> list[tuple[str, Path | None, list[tuple[str, str]]]]:
    """(video id, video file or None, [(text id, text)]) of a task dataset's captions, in order."""
    by_video: dict[str, list[tuple[str, str]]] = {}
    for caption in dataset.captions:
        by_video.setdefault(caption.video_id, []).append((caption.text_id, caption.text))
    out = []
    for video_id, captions in by_video.items():
        ref = dataset.videos.get(video_id)
        out.append((video_id, ref.location if ref is not None else None, captions))
    return out


def build_align_data(
    videos: Iterable[tuple[str, list[tuple[str, str]]]],
    *,
    tsg_file: Path | None,
    dsg_dir: Path | None,
    hsg_dir: Path | None,
    options: GraphOptions,
    hops: int = 2,
    ptc_negatives: int = 3,
    vocab: tuple[LabelVocab, LabelVocab] | None = None,
    text_negatives: int = 0,
    negative_graphs: bool = False,
) -> AlignData:
    """Graphs and anchors for ``videos`` ((video id, [(text id, text)]) pairs), and up to
    ``text_negatives`` hard-negative captions per caption made from its TSG
    (:mod:`finsta_cli.align.negatives`); with ``negative_graphs`` also their TSGs (the rules
    parser's), for the fused embeddings of fusion mode.

    Without graphs (host-only training) pass ``None`` for the three sources. A caption with no
    TSG or HSG, or a video with no DSG, still trains the host loss; a warning counts them.
    A video whose DSG files cannot be used (damaged, another video's, NaN or infinite values)
    gets no DSG and its reason in ``refused``; the caller decides what to do with the video.
    """
    tsgs = read_tsgs(tsg_file) if tsg_file is not None else {}
    entries = list(videos)
    dsgs: dict[str, DSG] = {}
    refused: dict[str, str] = {}
    if dsg_dir is not None:
        for video_id, _ in entries:
            path = output_path(dsg_dir, video_id, ".json")
            if path.is_file():
                try:
                    dsgs[video_id] = _read_json_model(path, DSG)  # type: ignore[assignment]
                except InputError as exc:
                    refused[video_id] = exc.message
    hsgs: dict[tuple[str, str], HSG] = {}
    if hsg_dir is not None:
        for video_id, captions in entries:
            for text_id, _ in captions:
                path = output_path(hsg_dir, f"{video_id}--{text_id}", ".json")
                if path.is_file():
                    hsgs[(video_id, text_id)] = _read_json_model(path, HSG)  # type: ignore[assignment]
    if vocab is None:
        node_labels: list[str] = []
        edge_labels: list[str] = []
        for tsg in tsgs.values():
            node_labels += [n.lemma or n.label for n in tsg.nodes]
            edge_labels += [e.preposition for e in tsg.edges if e.preposition]
        for dsg in dsgs.values():
            for frame in dsg.frames:
                node_labels += [o.label for o in frame.objects]
                edge_labels += [r.predicate for r in frame.relations]
        for pair_hsg in hsgs.values():
            edge_labels += [e.visual_predicate for e in pair_hsg.cross_edges if e.visual_predicate]
        node_vocab, edge_vocab = LabelVocab.build(node_labels), LabelVocab.build(edge_labels)
    else:
        node_vocab, edge_vocab = vocab
    region_dim = 0
    out: list[VideoGraphs] = []
    missing_dsg = missing_hsg = stale_hsg = 0
    for video_id, captions in entries:
        video_dsg = dsgs.get(video_id)
        dsg_data = None
        track_hops: dict[int, Tensor] = {}
        region = None
        if video_dsg is not None and dsg_dir is not None:
            try:
                region = _detector_features(output_path(dsg_dir, video_id, ".pt"), video_dsg)
            except InputError as exc:
                refused[video_id] = exc.message
                video_dsg = None
        if video_dsg is not None and dsg_dir is not None:
            dsg_data = dsg_to_data(video_dsg, node_vocab, edge_vocab, options, region=region)
            dsg_data.frame_number = torch.tensor(
                [f.index for f in video_dsg.frames for _ in f.objects], dtype=torch.long
            )
            if region is not None:
                region_dim = max(region_dim, region.shape[1])
            occurrences = _track_rows(video_dsg)
            distances = hop_distances(
                dsg_data.edge_index, dsg_data.num_nodes, list(occurrences.values()), hops
            )
            track_hops = dict(zip(occurrences, distances.unbind(0), strict=True))
        elif dsg_dir is not None and video_id not in refused:
            missing_dsg += 1
        graphs: list[CaptionGraphs] = []
        for text_id, text in captions:
            entry = CaptionGraphs(text_id, text)
            caption_tsg = tsgs.get(text_id)
            if caption_tsg is not None:
                entry.tsg = tsg_to_data(caption_tsg, node_vocab, edge_vocab, options)
            hsg = hsgs.get((video_id, text_id))
            if hsg is not None and dsg_data is not None and _same_dsg(hsg.dsg, video_dsg):
                # The HSG's own TSG, so its text rows are the TSG graph's rows.
                rows = tsg_node_index(hsg.tsg, options)
                entry.tsg = tsg_to_data(hsg.tsg, node_vocab, edge_vocab, options)
                entry.hsg = hsg_to_data(hsg, node_vocab, edge_vocab, options)
                entry.hsg.text_rows = torch.tensor(len(rows))
                entry.osc, entry.ptc = hsg_anchors(hsg, rows, set(track_hops), ptc_negatives)
            elif hsg is not None and dsg_data is not None:
                stale_hsg += 1
            elif hsg_dir is not None and dsg_data is not None:
                missing_hsg += 1
            record = hsg.tsg if entry.hsg is not None and hsg is not None else caption_tsg
            if text_negatives and record is not None and record.text == text:
                negatives = structural_negatives(record, text_negatives)
                entry.negatives = [n.text for n in negatives]
            graphs.append(entry)
        out.append(VideoGraphs(video_id, dsg_data, graphs, track_hops))
    if negative_graphs:
        _parse_negatives([c for v in out for c in v.captions], node_vocab, edge_vocab, options)
    data = AlignData(out, node_vocab, edge_vocab, region_dim, refused=refused)
    if refused:
        data.warnings.append(
            f"{len(refused)} video(s) have DSG files in {dsg_dir} that cannot be used: "
            + "; ".join(list(refused.values())[:3])
            + ("; ..." if len(refused) > 3 else "")
        )
    if missing_dsg:
        data.warnings.append(f"{missing_dsg} video(s) have no DSG in {dsg_dir}")
    if missing_hsg:
        data.warnings.append(f"{missing_hsg} caption(s) have no HSG in {hsg_dir}")
    if stale_hsg:
        data.warnings.append(
            f"{stale_hsg} HSG(s) in {hsg_dir} were built from another DSG than {dsg_dir}: "
            "left out (run build-hsg again)"
        )
    return data


def empty_dsg_graph(region_dim: int) -> Data:
    """A DSG graph with no nodes (a video without a DSG), with the fields a batch reads."""
    region = torch.zeros((0, region_dim)) if region_dim else None
    data = SceneGraphBuilder(LabelVocab(), LabelVocab()).to_data(region)
    data.frame_number = torch.zeros(0, dtype=torch.long)
    data.host_frame = torch.zeros(0, dtype=torch.long)
    return data


def empty_text_graph(with_rows: bool) -> Data:
    """A TSG graph with no nodes; ``with_rows``: as an HSG (``text_rows`` 0)."""
    data = SceneGraphBuilder(LabelVocab(), LabelVocab()).to_data()
    if with_rows:
        data.text_rows = torch.tensor(0)
    return data


def _parse_negatives(
    captions: list[CaptionGraphs],
    node_vocab: LabelVocab,
    edge_vocab: LabelVocab,
    options: GraphOptions,
) -> None:
    """Give each caption's negatives their TSG graphs, parsed in one pass (empty graph when a
    text does not parse: its fused embedding is then the host's alone)."""
    from finsta_cli.text.parser import load_nlp, parse_doc

    texts = list(dict.fromkeys(t for c in captions for t in c.negatives))
    if not texts:
        return
    graphs: dict[str, Data] = {}
    for number, (text, doc) in enumerate(zip(texts, load_nlp().pipe(texts), strict=True)):
        try:
            graphs[text] = tsg_to_data(parse_doc(doc, f"neg-{number}"), node_vocab, edge_vocab,
                                       options)  # fmt: skip
        except Exception:  # a text the parser cannot take: no graph, not a failed run
            graphs[text] = empty_text_graph(False)
    for caption in captions:
        caption.negative_tsgs = [graphs[t] for t in caption.negatives]
