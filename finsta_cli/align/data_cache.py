"""The graph cache of align-train's set-up: :class:`~finsta_cli.align.data.AlignData` stored as a
few flat tensors, keyed by the inputs it was built from, so a second run reads it in one load.

:func:`build_align_data` parses every DSG and HSG JSON record with pydantic, converts each to a
graph and finds each track's k-hop region: about 23 s for 640 videos and 1,700 captions. The
cache file holds its result: the graphs of one kind (DSGs; caption TSGs; HSGs; hard-negative
TSGs) with each field concatenated flat across the graphs, plus each graph's shapes; the track
hop distances and the OSC and PTC anchors as integer tables; ids, texts, vocabularies and
warnings as one JSON string. Loading it is one ``torch.load(weights_only=True)`` and a split of
each field: no JSON parsing, no graph walk.

Key (:func:`cache_key`): sha256 of :data:`CACHE_VERSION`, finsta's version, the set-up options
(graph options, hops, PTC negatives, text negatives, a given vocabulary, the spaCy pipeline when
negatives are parsed), the ids and texts of the videos and captions, and, for each input file that
is read or would be read (the TSG file, each video's DSG ``.json`` and ``.pt``, each pair's HSG
``.json``), its resolved path, size, modification time and inode, or its absence. Any change to
an input gives another key: the old file is simply not read again. Files are written atomically
(:func:`finsta_cli.io.atomic.atomic_open`), so concurrent runs each see a whole file or none, and
two runs of one key write the same content. A file that cannot be read is rebuilt.

The folder is a :class:`~finsta_cli.io.bounded_folder.BoundedFolder` bounded by
``$FINSTA_GRAPH_CACHE_MB`` (default 4096; 0: no cache, the graphs are built on every run): past
the bound the least recently used cache files are removed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli.errors import InputError
from finsta_cli.io.bounded_folder import BoundedFolder
from finsta_cli.io.hashing import hash_json
from finsta_cli.io.paths import safe_name

if TYPE_CHECKING:
    from torch import Tensor
    from torch_geometric.data import Data

    from finsta_cli.align.data import AlignData
    from finsta_cli.graph import GraphOptions, LabelVocab

log = logging.getLogger(__name__)

CACHE_FORMAT = "finsta-align-graphs"
# Bump when build_align_data's output changes for the same inputs (graph layout, anchors).
CACHE_VERSION = 1
CACHE_MB_ENV = "FINSTA_GRAPH_CACHE_MB"  # the folder's bound in MB (0: no cache)
DEFAULT_CACHE_MB = 4096


def _stat(path: Path) -> list[Any] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def cache_key(
    videos: Sequence[tuple[str, list[tuple[str, str]]]],
    *,
    tsg_file: Path | None,
    dsg_dir: Path | None,
    hsg_dir: Path | None,
    settings: dict[str, Any],
) -> str:
    """The cache key of :func:`build_align_data`'s inputs (see the module docstring)."""
    import finsta_cli

    files: list[Any] = []
    tsg = tsg_file.resolve() if tsg_file is not None else None
    dsg = dsg_dir.resolve() if dsg_dir is not None else None
    hsg = hsg_dir.resolve() if hsg_dir is not None else None
    if tsg is not None:
        files.append(_stat(tsg))
    for video_id, captions in videos:
        if dsg is not None:
            stem = safe_name(video_id)
            files += [_stat(dsg / f"{stem}.json"), _stat(dsg / f"{stem}.pt")]
        if hsg is not None:
            files += [_stat(hsg / f"{safe_name(f'{video_id}--{t}')}.json") for t, _ in captions]
    return hash_json({
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "finsta": finsta_cli.__version__,
        "settings": settings,
        "sources": [str(p) if p is not None else None for p in (tsg, dsg, hsg)],
        "videos": [[video_id, captions] for video_id, captions in videos],
        "files": files,
    })  # fmt: skip


def settings_of(
    options: GraphOptions,
    *,
    hops: int,
    ptc_negatives: int,
    text_negatives: int,
    negative_graphs: bool,
    vocab: tuple[LabelVocab, LabelVocab] | None,
) -> dict[str, Any]:
    """The set-up options that change :func:`build_align_data`'s output, as JSON values."""
    settings: dict[str, Any] = {
        "options": asdict(options),
        "hops": hops,
        "ptc_negatives": ptc_negatives,
        "text_negatives": text_negatives,
        "negative_graphs": negative_graphs,
        "vocab": [v.to_list() for v in vocab] if vocab is not None else None,
    }
    if negative_graphs and text_negatives:
        from finsta_cli.text.spacy_model import resolve_spacy_model

        model = resolve_spacy_model()
        settings["spacy"] = [model.name, model.version]
    return settings


def cached_align_data(
    cache_dir: Path,
    videos: Iterable[tuple[str, list[tuple[str, str]]]],
    *,
    tsg_file: Path | None,
    dsg_dir: Path | None,
    hsg_dir: Path | None,
    options: GraphOptions,
    hops: int = 2,
    ptc_negatives: int = 3,
    text_negatives: int = 0,
    negative_graphs: bool = False,
) -> tuple[AlignData, bool]:
    """:func:`build_align_data` through the cache in ``cache_dir``; also whether it was read
    from the cache (True) or built and stored (False)."""
    from finsta_cli.align.data import build_align_data

    entries = list(videos)
    settings = settings_of(
        options,
        hops=hops,
        ptc_negatives=ptc_negatives,
        text_negatives=text_negatives,
        negative_graphs=negative_graphs,
        vocab=None,
    )
    key = cache_key(entries, tsg_file=tsg_file, dsg_dir=dsg_dir, hsg_dir=hsg_dir, settings=settings)
    folder = BoundedFolder.from_env(cache_dir, CACHE_MB_ENV, DEFAULT_CACHE_MB)
    name = f"{key}.pt"
    path = folder.use(name)
    if path is not None:
        try:
            return read_cache(path), True
        except InputError as exc:
            log.warning("%s; building the graphs again", exc.message)
            folder.discard(name)
    data = build_align_data(
        entries,
        tsg_file=tsg_file,
        dsg_dir=dsg_dir,
        hsg_dir=hsg_dir,
        options=options,
        hops=hops,
        ptc_negatives=ptc_negatives,
        text_negatives=text_negatives,
        negative_graphs=negative_graphs,
    )
    folder.store(name, lambda target: write_cache(target, data))
    return data, False


# -- packing ----------------------------------------------------------------------------------
def _pack_tensors(values: Sequence[Tensor], dim: int | None = None) -> dict[str, Tensor]:
    """Tensors of one dtype and rank as one tensor and a (G, rank) table of their shapes:
    concatenated along ``dim`` (the others must agree), stacked when they are 0-d, else
    flattened (``dim`` None)."""
    import torch

    if not values:
        return {"values": torch.zeros(0), "shapes": torch.zeros((0, 0), dtype=torch.long)}
    rank, dtype = values[0].dim(), values[0].dtype
    if any(v.dim() != rank or v.dtype != dtype for v in values):
        raise TypeError("tensors of one field differ in rank or dtype: not cacheable")
    shapes = torch.tensor([list(v.shape) for v in values], dtype=torch.long)
    if rank == 0:
        joined = torch.stack(list(values))
    elif dim is None:
        joined = torch.cat([v.reshape(-1) for v in values])
    else:
        joined = torch.cat(list(values), dim=dim)
    return {"values": joined, "shapes": shapes.reshape(len(values), rank)}


def _unpack_tensors(packed: dict[str, Tensor], dim: int | None = None) -> list[Tensor]:
    """The tensors :func:`_pack_tensors` joined (views of its one tensor)."""
    import torch

    shapes = packed["shapes"]
    if shapes.shape[0] == 0:
        return []
    values = packed["values"]
    if shapes.shape[1] == 0:
        return list(values.unbind(0))
    if dim is not None:
        return list(torch.split(values, shapes[:, dim].tolist(), dim=dim))
    sizes = shapes.prod(dim=1).tolist()
    parts = torch.split(values, sizes)
    return [part.view(shape) for part, shape in zip(parts, shapes.tolist(), strict=True)]


def _cat_dim(name: str) -> int:
    # torch-geometric's own convention (Data.__cat_dim__): index tensors join on their last dim.
    return -1 if "index" in name else 0


def _pack_graphs(graphs: Sequence[Data | None]) -> dict[str, Any]:
    """Graphs (None: absent) as, per field, the values of the graphs that have it joined."""
    import torch

    present = [g for g in graphs if g is not None]
    fields: dict[str, Any] = {}
    names = [g.keys() for g in present]  # a Data iterates as (key, value) pairs
    for name in dict.fromkeys(k for keys in names for k in keys if k != "num_nodes"):
        values = [g[name] for g in present if name in g]
        if not all(isinstance(v, torch.Tensor) for v in values):
            raise TypeError(f"graph field {name!r} is not a tensor: not cacheable")
        has = torch.tensor([name in g for g in present], dtype=torch.bool)
        fields[name] = {**_pack_tensors(values, _cat_dim(name)), "has": has}
    return {
        "present": torch.tensor([g is not None for g in graphs], dtype=torch.bool),
        "num_nodes": torch.tensor([g.num_nodes for g in present], dtype=torch.long),
        "fields": fields,
    }


def _unpack_graphs(packed: dict[str, Any]) -> list[Data | None]:
    from torch_geometric.data import Data

    num_nodes = packed["num_nodes"].tolist()
    columns: list[tuple[str, list[bool], list[Tensor]]] = [
        (name, field["has"].tolist(), _unpack_tensors(field, _cat_dim(name)))
        for name, field in packed["fields"].items()
    ]
    if all(all(has) for _, has, _ in columns):  # the usual case: every graph has every field
        names = [name for name, _, _ in columns]
        rows = zip(*(parts for _, _, parts in columns), strict=True)
        present = [
            Data(**dict(zip(names, row, strict=True)), num_nodes=nodes)
            for row, nodes in zip(rows, num_nodes, strict=True)
        ] if names else [Data(num_nodes=nodes) for nodes in num_nodes]  # fmt: skip
    else:
        cursors = [0] * len(columns)
        present = []
        for number, nodes in enumerate(num_nodes):
            values: dict[str, Tensor] = {}
            for c, (name, has, parts) in enumerate(columns):
                if has[number]:
                    values[name] = parts[cursors[c]]
                    cursors[c] += 1
            present.append(Data(**values, num_nodes=nodes))
    it = iter(present)
    return [next(it) if here else None for here in packed["present"].tolist()]


def write_cache(path: Path, data: AlignData) -> None:
    """Store ``data`` in ``path`` atomically (the layout in the module docstring)."""
    import torch

    from finsta_cli.io.torchfile import save_torch_file

    captions = [c for v in data.videos for c in v.captions]
    hops = [
        torch.stack(list(v.track_hops.values()))
        if v.track_hops
        else torch.zeros((0, 0), dtype=torch.long)
        for v in data.videos
    ]
    osc = [[[row, track] for row, track in c.osc] for c in captions]
    ptc_head: list[list[int]] = []
    ptc_negatives: list[list[int]] = []
    for number, caption in enumerate(captions):
        for anchor in caption.ptc:
            second = anchor.tracks[1] if len(anchor.tracks) > 1 else -1
            ptc_head.append([number, anchor.node, len(anchor.tracks), anchor.tracks[0], second,
                             *anchor.positive, len(anchor.negatives)])  # fmt: skip
            ptc_negatives += [list(n) for n in anchor.negatives]
    meta = {
        "videos": [
            [v.video_id, list(v.track_hops), [[c.text_id, c.text, c.negatives] for c in v.captions]]
            for v in data.videos
        ],
        "node_vocab": data.node_vocab.to_list(),
        "edge_vocab": data.edge_vocab.to_list(),
        "region_dim": data.region_dim,
        "warnings": data.warnings,
        "refused": data.refused,
        "osc_counts": [len(c.osc) for c in captions],
        "negative_tsgs": [len(c.negative_tsgs) for c in captions],
    }

    def table(rows: list[list[int]], width: int) -> Tensor:
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), width)

    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "meta": json.dumps(meta, ensure_ascii=False),
        "dsg": _pack_graphs([v.dsg for v in data.videos]),
        "tsg": _pack_graphs([c.tsg for c in captions]),
        "hsg": _pack_graphs([c.hsg for c in captions]),
        "negative_tsg": _pack_graphs([g for c in captions for g in c.negative_tsgs]),
        "track_hops": _pack_tensors(hops),
        "osc": table([pair for rows in osc for pair in rows], 2),
        "ptc": table(ptc_head, 8),
        "ptc_negatives": table(ptc_negatives, 2),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch_file(path, payload)


def read_cache(path: Path) -> AlignData:
    """The :class:`AlignData` stored in ``path``; InputError when it is not a whole cache file
    of this version."""
    from finsta_cli.io.torchfile import load_torch_file

    payload = load_torch_file(path, unreadable="not a readable graph cache file")
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
        raise InputError(f"{path}: not a graph cache file")
    if payload.get("version") != CACHE_VERSION:
        raise InputError(f"{path}: graph cache version {payload.get('version')!r}")
    try:
        return _unpack(payload)
    except (KeyError, ValueError, TypeError, RuntimeError, StopIteration) as exc:
        raise InputError(f"{path}: damaged graph cache file ({str(exc)[:120]})") from None


def _unpack(payload: dict[str, Any]) -> AlignData:
    from finsta_cli.align.data import AlignData, CaptionGraphs, PredicateAnchor, VideoGraphs
    from finsta_cli.graph import LabelVocab

    meta = json.loads(payload["meta"])
    dsgs = _unpack_graphs(payload["dsg"])
    tsgs = _unpack_graphs(payload["tsg"])
    hsgs = _unpack_graphs(payload["hsg"])
    negative_tsgs = iter(_unpack_graphs(payload["negative_tsg"]))
    hops = _unpack_tensors(payload["track_hops"])
    osc = iter(tuple(pair) for pair in payload["osc"].tolist())
    ptc: dict[int, list[PredicateAnchor]] = {}
    negatives = iter(tuple(pair) for pair in payload["ptc_negatives"].tolist())
    for number, node, n_tracks, first, second, start, end, n_neg in payload["ptc"].tolist():
        tracks = (first,) if n_tracks == 1 else (first, second)
        anchor = PredicateAnchor(
            node,
            tracks,
            (start, end),
            [next(negatives) for _ in range(n_neg)],
        )
        ptc.setdefault(number, []).append(anchor)
    videos: list[VideoGraphs] = []
    number = 0
    for (video_id, tracks, captions), dsg, video_hops in zip(
        meta["videos"], dsgs, hops, strict=True
    ):
        graphs: list[CaptionGraphs] = []
        for text_id, text, caption_negatives in captions:
            entry = CaptionGraphs(text_id, text, tsgs[number], hsgs[number])
            entry.osc = [next(osc) for _ in range(meta["osc_counts"][number])]
            entry.ptc = ptc.get(number, [])
            entry.negatives = caption_negatives
            entry.negative_tsgs = [
                next(negative_tsgs) for _ in range(meta["negative_tsgs"][number])
            ]
            graphs.append(entry)
            number += 1
        track_hops = dict(zip(tracks, video_hops.unbind(0), strict=True)) if tracks else {}
        videos.append(VideoGraphs(video_id, dsg, graphs, track_hops))
    return AlignData(
        videos,
        LabelVocab(meta["node_vocab"]),
        LabelVocab(meta["edge_vocab"]),
        meta["region_dim"],
        warnings=meta["warnings"],
        refused=meta["refused"],
    )
