"""Evaluating a fusion-mode checkpoint with scene graphs (``finsta eval --with-graphs``).

A ``--mode fusion`` checkpoint scores a video and a text with fused embeddings, as align-train
trained them (``FinstaModel``'s ``vtc_fused``; computed by its ``fused_text_embeddings`` and
``fused_video_embeddings``)::

    text  = normalize(host text embedding)  + normalize(sg_text(GTrm(TSG)))
    video = normalize(host video embedding) + normalize(sg_video(R-GTrm(DSG)))

with TSG node inputs the host's token features pooled over each node's span, and DSG node inputs
the detector's region features (when the checkpoint was trained with them) next to the host's
patch features pooled in the node's box, in the host frame nearest the node's frame. The score of
a pair is the cosine of the two fused embeddings (the InfoNCE of training normalises them too).

Graphs come from files (``--tsg`` parse-text output, ``--dsg`` build-dsg folder) or are built on
the fly: texts are parsed with the rules parser (``finsta_cli.text.parser``), videos go through
build-dsg (``finsta_cli.video.stage.run_build_dsg``) into a cache folder, which a later run
resumes. A text without a TSG (or with an empty one), or a video without a DSG, is scored with
the host embedding alone on that side; ``graphs_missing_text`` / ``graphs_missing_video`` count
them. With ``--tsg``, captions are looked up by text id; texts the evaluation makes itself (hard
negatives, "question option" statements, action prompts) are looked up by text, and parsed when
the file does not hold them.

The parses are kept in the eval's frame cache folder (``--cache``), under
``tsg-parses/<parser fingerprint>/`` (:class:`ParseCache`): a later eval of the same texts
(another checkpoint on the same split) reads them instead of parsing again. The fingerprint is a
hash of what a parse depends on beyond its text (:func:`parser_fingerprint`), so a changed parser
or spaCy model starts a new folder; ``tsg-parses`` is kept under ``$FINSTA_PARSE_CACHE_MB``
(default 1024; 0: no parses kept), the least recently read files removed first; deleting it
clears them.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import Tensor

from finsta_cli.errors import InputError, MissingResourceError, UsageError
from finsta_cli.hosts.frames import FrameSet
from finsta_cli.io.bounded_folder import BoundedFolder
from finsta_cli.io.progress import get_logger
from finsta_cli.schema import TSG
from finsta_cli.tasks.embedder import TEXT_BATCH, VIDEO_BATCH, Embedder

if TYPE_CHECKING:
    from torch_geometric.data import Data

    from finsta_cli.align.model import FinstaModel
    from finsta_cli.datasets import TaskDataset
    from finsta_cli.graph import GraphOptions, LabelVocab

log = get_logger("eval")

TEXT_MEMO_LIMIT = 200_000  # fused text embeddings kept (about 200 MB at 256 dimensions)
PARSE_CACHE = "tsg-parses"  # the folder of kept parses, in the eval's frame cache folder
PARSE_CACHE_MB_ENV = "FINSTA_PARSE_CACHE_MB"  # its bound in MB (0: no parses kept)
DEFAULT_PARSE_CACHE_MB = 1024
MAX_PARSE_CHARS = 10_000  # a longer text is cut there before it is parsed


@dataclass(frozen=True)
class GraphSources:
    """Where ``--with-graphs`` takes its graphs from: files, or built on the fly in ``work``.

    ``tsg``: a parse-text TSG JSONL (None: parse); ``dsg``: a build-dsg folder (None: run
    build-dsg into ``work / "dsg"``, with ``dsg_frames`` keyframes per video; None: the frame
    count the checkpoint's training DSGs were built with, when its run records it, else
    build-dsg's default).
    """

    work: Path
    tsg: Path | None = None
    dsg: Path | None = None
    dsg_frames: int | None = None


@dataclass
class FusionCheckpoint:
    """A fusion checkpoint's model (host + scene-graph encoders) and what its graphs are read
    with: the label vocabularies and graph options of its training."""

    model: FinstaModel
    node_vocab: LabelVocab
    edge_vocab: LabelVocab
    options: GraphOptions
    dsg_frames: int | None = None  # keyframes of the training DSGs, when the checkpoint says


def load_fusion_model(path: Path, device: str = "cpu") -> FusionCheckpoint:
    """The host and scene-graph encoders of a fusion checkpoint, on ``device``, in eval mode.

    A checkpoint without scene-graph encoders (``distill`` mode, ``host-only``) is a usage
    error; a missing file exits 4 (``load_checkpoint``).
    """
    from finsta_cli.align.model import FinstaModel
    from finsta_cli.graph import GraphOptions, LabelVocab
    from finsta_cli.hosts.factory import host_from_payload, load_checkpoint

    payload = load_checkpoint(path)
    if "sg" not in payload:
        kind = _checkpoint_kind(payload)
        raise UsageError(
            f"{path} has no scene-graph encoders ({kind}): --with-graphs evaluates "
            "fusion-mode checkpoints",
            hint="train with finsta align-train --objective finsta --mode fusion, or evaluate "
            "this checkpoint without --with-graphs",
        )
    host = host_from_payload(payload, path)
    try:
        config = json.loads(str(payload["sg_config"]))
        node_vocab = LabelVocab(list(json.loads(str(payload["node_vocab"]))))
        edge_vocab = LabelVocab(list(json.loads(str(payload["edge_vocab"]))))
        options = GraphOptions(**json.loads(str(payload.get("graph_options") or "{}")))
        model = FinstaModel.for_fusion_checkpoint(host, config)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{path}: the scene-graph encoder settings are damaged ({str(exc)[:160]})"
        ) from None
    if len(node_vocab) != model.sg_config["num_node_labels"] or (
        len(edge_vocab) != model.sg_config["num_edge_labels"]
    ):
        raise InputError(f"{path}: the vocabularies do not match the scene-graph encoders")
    try:
        missing, unexpected = model.load_state_dict(payload["sg"], strict=False)
    except RuntimeError as exc:
        raise InputError(
            f"{path}: scene-graph weights do not fit their settings ({str(exc)[:200]})"
        ) from None
    host_keys = {f"host.{k}" for k in host.state_dict()}
    missing = [k for k in missing if k not in host_keys]
    if missing or unexpected:
        raise InputError(
            f"{path}: scene-graph weights do not fit their settings (missing {missing[:3]}, "
            f"unexpected {list(unexpected)[:3]})"
        )
    model.to(device)
    model.eval()
    try:
        frames = json.loads(str(payload.get("finsta") or "{}")).get("dsg_frames")
    except (ValueError, AttributeError):
        frames = None
    recorded = frames if isinstance(frames, int) and frames > 0 else None
    return FusionCheckpoint(model, node_vocab, edge_vocab, options, recorded)


def _checkpoint_kind(payload: dict[str, Any]) -> str:
    try:
        info = json.loads(str(payload.get("finsta") or "{}"))
    except ValueError:
        info = {}
    if info.get("objective") == "host-only":
        return "a host-only checkpoint"
    if info.get("mode"):
        return f"a {info['mode']}-mode checkpoint: the host alone"
    return "the host alone"


def recorded_dsg_frames(checkpoint: Path) -> int | None:
    """The keyframe count of the DSGs the checkpoint was trained on, when its run records it.

    align-train's ``manifest.json`` beside the checkpoint keeps the command line; its ``--dsg``
    folder's build-dsg ``manifest.json`` keeps ``frames``. None when any of it is missing.
    """
    try:
        manifest = json.loads((checkpoint.parent / "manifest.json").read_text(encoding="utf-8"))
        command = [str(arg) for arg in manifest.get("command") or []]
    except (OSError, ValueError, AttributeError):
        return None
    folder = None
    for i, arg in enumerate(command):
        if arg == "--dsg" and i + 1 < len(command):
            folder = command[i + 1]
        elif arg.startswith("--dsg="):
            folder = arg.split("=", 1)[1]
    if folder is None:
        return None
    from finsta_cli.align.checkpoint import built_dsg_frames

    return built_dsg_frames(Path(folder))


def parser_fingerprint(spacy_model: str | None = None) -> str:
    """What the rules parser's TSG of a text depends on beyond the text, hashed: finsta's
    version, the code and word lists of ``finsta_cli/text`` (the rules), the conventions file,
    spaCy's version and the English pipeline's name and version (found, not loaded)."""
    import importlib.metadata

    from finsta_cli import __version__
    from finsta_cli.io.hashing import hash_bytes, hash_file, hash_json
    from finsta_cli.text.conventions import conventions_path
    from finsta_cli.text.spacy_model import resolve_spacy_model

    model = resolve_spacy_model(spacy_model)
    rules = sorted(p for p in Path(__file__).parents[1].joinpath("text").iterdir() if p.is_file())
    conventions = conventions_path()
    meta = model.path / "meta.json"
    return hash_json(
        {
            "finsta": __version__,
            "rules": hash_bytes(b"".join(p.name.encode() + p.read_bytes() for p in rules)),
            "conventions": hash_file(conventions) if conventions.is_file() else None,
            "spacy": importlib.metadata.version("spacy"),
            "model": [model.name, model.version, hash_file(meta) if meta.is_file() else None],
            "max_chars": MAX_PARSE_CHARS,
        }
    )[:16]


class KeptParses(BaseModel):
    """One file of :class:`ParseCache`: texts and their TSGs (None: the parse failed)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["finsta-kept-parses"] = "finsta-kept-parses"
    texts: list[str]
    tsgs: list[TSG | None]


class ParseCache:
    """TSGs the rules parser made, kept by text under ``root / fingerprint``: one JSON file per
    batch of parses (``{"format", "texts": [...], "tsgs": [record or null, ...]}``), read whole
    with one pydantic call and written atomically, so that evaluations running at once may
    share the folder. ``root`` is a :class:`~finsta_cli.io.bounded_folder.BoundedFolder`
    bounded by ``$FINSTA_PARSE_CACHE_MB`` (default 1024; 0: none kept), across fingerprints:
    the least recently read files go first, so an older parser's parses age out. A file that
    cannot be read is removed (its texts are parsed again)."""

    def __init__(self, root: Path, fingerprint: str) -> None:
        self.folder = BoundedFolder.from_env(root, PARSE_CACHE_MB_ENV, DEFAULT_PARSE_CACHE_MB)
        self.fingerprint = fingerprint

    def read(self) -> dict[str, TSG | None]:
        found: dict[str, TSG | None] = {}
        for name in self.folder.names(f"{self.fingerprint}/*.json"):
            data = self.folder.read_bytes(name)
            if data is None:
                continue
            try:
                kept = KeptParses.model_validate_json(data)
                if len(kept.texts) != len(kept.tsgs):
                    raise ValueError(f"{len(kept.texts)} texts, {len(kept.tsgs)} graphs")
            except ValueError as exc:  # pydantic's errors are ValueErrors
                log.debug("%s: unreadable kept parses, left out (%s)", name, str(exc)[:120])
                self.folder.discard(name)
                continue
            found.update(zip(kept.texts, kept.tsgs, strict=True))
        return found

    def write(self, parsed: dict[str, TSG | None]) -> None:
        """Keep ``parsed``; a folder that cannot be written is warned about, not fatal."""
        from finsta_cli.io.hashing import hash_json

        if not parsed or not self.folder.enabled:
            return
        kept = KeptParses(texts=list(parsed), tsgs=list(parsed.values()))
        name = f"{self.fingerprint}/{hash_json(sorted(parsed))[:16]}.json"
        self.folder.write_bytes(name, kept.model_dump_json().encode("utf-8"))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (as it was after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class GraphCounts:
    """Distinct texts and videos embedded, and those that had no usable graph."""

    texts: set[str] = field(default_factory=set)
    texts_missing: set[str] = field(default_factory=set)
    videos: set[str] = field(default_factory=set)
    videos_missing: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, int]:
        return {
            "graphs_texts": len(self.texts),
            "graphs_missing_text": len(self.texts_missing),
            "graphs_videos": len(self.videos),
            "graphs_missing_video": len(self.videos_missing),
        }


class FusionEmbedder(Embedder):
    """Fused text and video embeddings of a fusion checkpoint (see the module docstring).

    ``text_graphs`` maps a text to its TSG (None: known to have none); texts it does not hold
    are read from ``parse_cache`` (a folder; see the module docstring), else parsed on first
    use (and kept there). ``add_videos`` gives the DSG graphs of videos (None: none);
    ``add_video_folder`` names the build-dsg folder of others, whose graphs are read a batch
    of videos at a time as they are embedded and dropped after (their region features are
    as large as the videos' frames: memory stays flat in the number of videos).
    """

    def __init__(
        self,
        checkpoint: FusionCheckpoint,
        device: str,
        text_graphs: dict[str, TSG | None] | None = None,
        *,
        spacy_model: str | None = None,
        text_batch: int = TEXT_BATCH,
        video_batch: int = VIDEO_BATCH,
        parse_cache: Path | None = None,
    ) -> None:
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self.host = checkpoint.model.host
        self.device = device
        self.num_frames = self.host.num_frames
        self.frame_size = self.host.frame_size
        self.embed_dim = self.host.embed_dim
        self.text_graphs: dict[str, TSG | None] = dict(text_graphs or {})
        self.video_graphs: dict[str, Data | None] = {}
        self.video_folders: dict[str, Path] = {}
        self.lacking_features: set[str] = set()  # DSGs without the region features it needs
        self.spacy_model = spacy_model
        self.parse_cache = parse_cache
        self._kept_cache: ParseCache | None = None  # parse_cache's files of this parser
        self._kept: dict[str, TSG | None] | None = None  # parse_cache's parses, read on first use
        self.text_batch = text_batch
        self.video_batch = video_batch
        self.counts = GraphCounts()
        self.parsed = 0  # texts parsed here (not read from a file or the parse cache)
        self._lemmas: Any = None  # the parser's LemmaCache, made on the first parse
        # Fused text embeddings by text: open-ended QA scores each question against every
        # candidate answer, and the same statements come back for every video that asks it.
        self.text_memo: dict[str, Tensor] = {}
        self.graph_origin: dict[str, Any] = {}  # where the graphs come from, for metrics.json

    def summary(self) -> dict[str, Any]:
        """What metrics.json says about the graphs, with a warning for the missing ones."""
        counts = self.counts.to_json()
        if self.lacking_features:
            _warn_no_features(
                len(self.lacking_features), self.graph_origin.get("graphs_dsg", "the DSG folder")
            )
        if counts["graphs_missing_text"]:
            log.warning(
                "%d of %d text(s) have no TSG: scored with the host text embedding alone",
                counts["graphs_missing_text"],
                counts["graphs_texts"],
            )
        if counts["graphs_missing_video"]:
            log.warning(
                "%d of %d video(s) have no DSG: scored with the host video embedding alone",
                counts["graphs_missing_video"],
                counts["graphs_videos"],
            )
        return {"with_graphs": True, **counts, **self.graph_origin}

    # -- graphs -----------------------------------------------------------------------------
    def add_videos(self, graphs: dict[str, Data | None]) -> None:
        self.video_graphs.update(graphs)

    def add_video_folder(self, video_ids: Sequence[str], folder: Path) -> None:
        """Read the DSGs of ``video_ids`` from ``folder`` when they are embedded."""
        for video_id in video_ids:
            self.video_folders[video_id] = folder

    def _parse(self, texts: Sequence[str]) -> None:
        """Parse the texts that have no entry yet (rules parser); a failure leaves None."""
        todo = [t for t in dict.fromkeys(texts) if t not in self.text_graphs]
        if not todo:  # nothing to parse: no spaCy model looked for (--tsg may hold them all)
            return
        # Reading and parsing make many small objects and no garbage cycles to speak of; the
        # cyclic collector would scan torch's and spaCy's objects again and again meanwhile
        # (the kept parses of 30 videos read in 1.0 s with it running, 0.3 s without).
        with collector_paused():
            self._parse_new(todo)

    def _parse_new(self, todo: list[str]) -> None:
        kept = self._kept_parses()
        if kept is not None:
            if self._kept is None:
                self._kept = kept.read()
            for text in todo:
                if text in self._kept:
                    self.text_graphs[text] = self._kept.pop(text)
            todo = [t for t in todo if t not in self.text_graphs]
        if not todo:
            return
        from finsta_cli.schema import TSG
        from finsta_cli.text.conventions import load_conventions
        from finsta_cli.text.parser import bound_text, load_nlp, tsg_record
        from finsta_cli.text.tokens import LemmaCache

        nlp = load_nlp(self.spacy_model)
        conventions = load_conventions()
        if self._lemmas is None and "lemmatizer" in nlp.pipe_names:
            # parse-text's fast path: spaCy's lemmatizer and attribute ruler memoised, not run
            # per token (the same TSGs: tests/tasks/test_graph_eval.py).
            self._lemmas = LemmaCache(nlp, attribute_ruler=True)
        skip = self._lemmas.skipped_components if self._lemmas is not None else []
        bounded = [bound_text(t, MAX_PARSE_CHARS) for t in todo]
        docs = nlp.pipe(bounded, disable=skip)
        for n, (text, fed, doc) in enumerate(zip(todo, bounded, docs, strict=True)):
            try:
                record = tsg_record(doc, f"eval-{self.parsed + n}", conventions, fed, self._lemmas)
                self.text_graphs[text] = TSG.model_validate(record)
            except Exception as exc:  # one bad text: host embedding alone for it, not a crash
                log.warning("could not parse %r (%s): scored without its TSG", text[:60], exc)
                self.text_graphs[text] = None
        self.parsed += len(todo)
        if kept is not None:
            kept.write({text: self.text_graphs[text] for text in todo})

    def _kept_parses(self) -> ParseCache | None:
        """The parse cache of this parser (its fingerprint's files), when there is one."""
        if self.parse_cache is None:
            return None
        if self._kept_cache is None:
            fingerprint = parser_fingerprint(self.spacy_model)
            self._kept_cache = ParseCache(self.parse_cache, fingerprint)
        return self._kept_cache

    def _text_graph(self, text: str) -> TSG | None:
        """The TSG a text is scored with (None: none, or an empty one), counted."""
        tsg = self.text_graphs.get(text)
        self.counts.texts.add(text)
        if tsg is None or not tsg.nodes:
            self.counts.texts_missing.add(text)
            return None
        return tsg

    def _read_graphs(self, video_ids: Sequence[str]) -> dict[str, Data | None]:
        """The DSG graphs of ``video_ids`` that come from a folder (:meth:`add_video_folder`)."""
        by_folder: dict[Path, list[str]] = {}
        for video_id in video_ids:
            if video_id not in self.video_graphs and video_id in self.video_folders:
                by_folder.setdefault(self.video_folders[video_id], []).append(video_id)
        graphs: dict[str, Data | None] = {}
        for folder, ids in by_folder.items():
            graphs.update(video_graphs(ids, folder, self.checkpoint, self.lacking_features))
        return graphs

    def _dsg_data(self, video_id: str, read: dict[str, Data | None]) -> Data | None:
        graph = read[video_id] if video_id in read else self.video_graphs.get(video_id)
        self.counts.videos.add(video_id)
        if graph is None or graph.num_nodes == 0:
            self.counts.videos_missing.add(video_id)
            return None
        return graph

    # -- embeddings -------------------------------------------------------------------------
    @torch.no_grad()
    def text_embeddings(self, texts: Sequence[str]) -> Tensor:
        """(N, E) L2-normalised fused text embeddings."""
        from finsta_cli.graph.convert import tsg_batch

        todo = [t for t in dict.fromkeys(texts) if t not in self.text_memo]
        if len(self.text_memo) + len(todo) > TEXT_MEMO_LIMIT:  # memory stays bounded
            self.text_memo = {t: self.text_memo[t] for t in texts if t in self.text_memo}
        self._parse(todo)
        for start in range(0, len(todo), self.text_batch):
            chunk = todo[start : start + self.text_batch]
            features = self.host.encode_text(chunk)
            graphs = [self._text_graph(text) for text in chunk]
            rows = [i for i, g in enumerate(graphs) if g is not None]
            batch = index = None
            if rows:
                ckpt = self.checkpoint
                tsgs = [g for g in graphs if g is not None]
                batch = tsg_batch(tsgs, ckpt.node_vocab, ckpt.edge_vocab, ckpt.options)
                batch = batch.to(self.device)
                index = torch.tensor(rows, device=features.embedding.device)
            fused = F.normalize(self.model.fused_text_embeddings(features, batch, index), dim=-1)
            self.text_memo.update(zip(chunk, fused.cpu(), strict=True))
        if not texts:
            return torch.zeros((0, self.embed_dim))
        return torch.stack([self.text_memo[t] for t in texts])

    @torch.no_grad()
    def video_embeddings(self, frames: FrameSet) -> Tensor:
        """(N, E) L2-normalised fused video embeddings, in ``frames.ids`` order."""
        from torch_geometric.data import Batch

        out: list[Tensor] = []
        for start in range(0, len(frames.ids), self.video_batch):
            ids = frames.ids[start : start + self.video_batch]
            read = self._read_graphs(ids)  # dropped with the batch
            clip = frames.frames[start : start + self.video_batch].to(self.device)
            features = self.host.encode_video(clip)
            rows, graphs = [], []
            for i, video_id in enumerate(ids):
                graph = self._dsg_data(video_id, read)
                if graph is not None:
                    rows.append(i)
                    graphs.append(_with_host_frames(graph, frames.indices[start + i]))
            batch = index = None
            if rows:
                batch = Batch.from_data_list(graphs).to(self.device)
                index = torch.tensor(rows, device=features.embedding.device)
            fused = self.model.fused_video_embeddings(features, batch, index)
            out.append(F.normalize(fused, dim=-1).cpu())
        return torch.cat(out) if out else torch.zeros((0, self.embed_dim))


def _with_host_frames(graph: Data, indices: Tensor) -> Data:
    """A copy of a DSG graph with ``host_frame``: the host frame nearest each node's frame."""
    copy = graph.clone()
    numbers = graph.frame_number
    distance = (numbers.view(-1, 1) - indices.view(1, -1)).abs()
    copy.host_frame = distance.argmin(dim=1) if numbers.numel() else numbers.clone()
    return copy


# -- sources of graphs ------------------------------------------------------------------------
def caption_graphs(datasets: Sequence[TaskDataset], tsg_file: Path) -> dict[str, TSG | None]:
    """Caption text -> TSG from a parse-text file, by caption id (then by text); captions the
    file lacks, or whose TSG is of another text, map to None (scored without a graph)."""
    from finsta_cli.align.data import read_tsgs

    if not tsg_file.is_file():
        raise MissingResourceError(f"{tsg_file}: TSG file not found (--tsg)")
    by_id = read_tsgs(tsg_file)
    out: dict[str, TSG | None] = {tsg.text: tsg for tsg in by_id.values()}
    mismatched = 0
    for dataset in datasets:
        for caption in dataset.captions:
            tsg = by_id.get(caption.text_id)
            if tsg is not None and tsg.text != caption.text:
                mismatched += 1
                tsg = None
            if tsg is not None:
                out[caption.text] = tsg
            elif caption.text not in out:
                out[caption.text] = None
    if mismatched:
        log.warning(
            "%d TSG(s) in %s are of another text than the caption with their id: left out",
            mismatched,
            tsg_file,
        )
    return out


def video_graphs(
    video_ids: Sequence[str],
    dsg_dir: Path,
    checkpoint: FusionCheckpoint,
    lacking: set[str] | None = None,
) -> dict[str, Data | None]:
    """Video id -> DSG graph from a build-dsg folder (None when it has none, lacks the detector
    region features a checkpoint trained with them needs: those ids are added to ``lacking``
    when given, else counted in a warning; or its files are refused: damaged, another video's,
    NaN or infinite values, each refusal logged with its file and reason)."""
    from finsta_cli.align.data import build_align_data

    data = build_align_data(
        [(video_id, []) for video_id in video_ids],
        tsg_file=None,
        dsg_dir=dsg_dir,
        hsg_dir=None,
        options=checkpoint.options,
        hops=0,
        vocab=(checkpoint.node_vocab, checkpoint.edge_vocab),
    )
    for reason in data.refused.values():
        log.warning("%s: scored without its DSG", reason)
    width = checkpoint.model.region_dim
    out: dict[str, Data | None] = {}
    no_features: set[str] = set()
    for video in data.videos:
        graph = video.dsg
        if graph is not None and width:
            region = getattr(graph, "region", None)
            if region is None:
                no_features.add(video.video_id)
                graph = None
            elif region.shape[1] != width:
                raise InputError(
                    f"{dsg_dir}: {video.video_id}'s region features are {region.shape[1]}-d, "
                    f"the checkpoint's scene-graph encoder reads {width}-d ones",
                    hint="build the DSGs with the detector the checkpoint was trained with",
                )
        elif graph is not None and "region" in graph:
            del graph.region  # trained without detector features: the host's patches only
        out[video.video_id] = graph
    if lacking is not None:
        lacking.update(no_features)
    elif no_features:
        _warn_no_features(len(no_features), dsg_dir)
    return out


def _warn_no_features(count: int, dsg_dir: Path | str) -> None:
    log.warning(
        "%d DSG(s) in %s have no region features (.pt), which this checkpoint needs: "
        "scored without their DSG",
        count,
        dsg_dir,
    )


def build_video_graphs(
    dataset: TaskDataset,
    video_ids: Sequence[str],
    work: Path,
    frames: int | None,
    *,
    device: str,
    threads: int | None,
    quiet: bool,
) -> Path:
    """Run build-dsg on ``video_ids`` into ``work / "dsg"`` (resumed when already there)."""
    from finsta_cli.io import JsonlWriter
    from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

    work.mkdir(parents=True, exist_ok=True)
    manifest = work / f"videos-{dataset.split}.jsonl"
    with JsonlWriter(manifest) as writer:
        for video_id in video_ids:
            ref = dataset.videos.get(video_id)
            if ref is not None and ref.path is not None:
                writer.write({"id": video_id, "path": str(Path(ref.path).resolve())})
    out = work / "dsg"
    options: dict[str, Any] = {"device": device, "threads": threads}
    if frames is not None:
        options["frames"] = frames
    config = BuildDSGConfig(**options)
    summary = run_build_dsg([manifest], out, config, quiet=quiet)
    if summary.failed:
        log.warning(
            "build-dsg failed on %d video(s) (see %s): scored without their DSG",
            summary.failed,
            out / "failures.jsonl",
        )
    return out


def check_sources(sources: GraphSources) -> None:
    """Missing ``--tsg`` / ``--dsg`` inputs exit 4 before anything is loaded."""
    if sources.tsg is not None and not sources.tsg.is_file():
        raise MissingResourceError(f"{sources.tsg}: TSG file not found (--tsg)")
    if sources.dsg is not None and not sources.dsg.is_dir():
        raise MissingResourceError(f"{sources.dsg}: DSG folder not found (--dsg)")


def prepare_fusion_embedder(
    checkpoint: Path,
    fusion: FusionCheckpoint,
    sources: GraphSources,
    datasets: Sequence[TaskDataset],
    video_ids: Sequence[Sequence[str]],
    *,
    device: str,
    threads: int | None,
    quiet: bool,
    cache: Path | None = None,
) -> FusionEmbedder:
    """The fused embeddings of ``fusion`` (loaded from ``checkpoint``) with the DSGs of
    ``video_ids`` (one list per dataset) and the caption TSGs of ``datasets``; its ``graph_origin``
    say where the graphs come from (for metrics.json). ``cache``: the eval's frame cache folder,
    where the parses of texts are kept (``tsg-parses/``); None: none kept."""
    check_sources(sources)
    parse_cache = cache / PARSE_CACHE if cache is not None else None
    texts = caption_graphs(datasets, sources.tsg) if sources.tsg is not None else None
    embedder = FusionEmbedder(fusion, device, texts, parse_cache=parse_cache)
    info: dict[str, Any] = {"graphs_tsg": str(sources.tsg) if sources.tsg else "parsed"}
    frames = sources.dsg_frames
    if sources.dsg is None and frames is None:
        frames = fusion.dsg_frames or recorded_dsg_frames(checkpoint)
    for dataset, ids in zip(datasets, video_ids, strict=True):
        if sources.dsg is not None:
            folder = sources.dsg
        else:
            folder = build_video_graphs(
                dataset, ids, sources.work, frames, device=device, threads=threads, quiet=quiet
            )
        embedder.add_video_folder(ids, folder)
        info["graphs_dsg"] = str(folder)
    if sources.dsg is None:
        from finsta_cli.video.stage import BuildDSGConfig

        info["graphs_dsg_frames"] = frames or BuildDSGConfig().frames
    embedder.graph_origin = info
    return embedder
