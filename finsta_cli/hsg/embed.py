"""Cross-modal coreference by embeddings: text and visual labels compared in a host's text space.

``EmbedMatcher`` embeds short phrases with the text encoder of a host (a finsta checkpoint) and
links by cosine similarity, so words that no lexicon lists can still link, as far as the host's
text encoder knows them.

Objects. A text object's phrase is its attribute words and its label, in caption order
("small red ball"). A track is described by its class label with each subset of its attributes
(at most three; motions and actions left out: they say what it does, not what it looks like) in
English adjective order: "ball", "red ball", "small ball", "small red ball". A caption may name an
object with any of its attributes, so the score of a (text object, track) pair is the highest
cosine between the text phrase and one of the track's phrases. The top ``top_k`` tracks whose
score is at least ``threshold`` are linked.

Predicates. A text predicate's phrase is its words as written ("moves", "slides"), its
particles and adverbs, the prepositions of its arguments, and the words of those arguments that
are linked to no track (places and directions: "to the left", "from the top"), in caption
order: "slides to left". Its candidates are the motions of its subject's linked tracks and the
relations between a subject track and a track linked to another argument (as the rule matcher
reads them from the DSG). A visual predicate is phrased in words (:data:`VISUAL_PHRASES`: left
-> "moves left", approaching -> "moves toward"; a relation is its own label, "left of"). The
``top_k`` best candidates at or above ``predicate_threshold`` are linked, with the cosine as
score.

``HybridMatcher`` runs the rule matcher first and uses embeddings only for what the lexicon does
not know: a text object none of whose words names a class or a generic object, a text predicate
none of whose words is a predicate word.

Every distinct phrase is embedded once per run (:class:`PhraseEncoder` keeps the unit vectors).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

from finsta_cli.hsg.match import (
    ARGUMENT_EDGES,
    Links,
    PredicateArguments,
    RuleMatcher,
    TrackView,
    VideoView,
    object_edges,
    rank_links,
)
from finsta_cli.schema import DSG, TSG, CrossModalEdge

if TYPE_CHECKING:
    import torch

    from finsta_cli.hosts.base import HostVLM

# Build-dsg's motions in words; other visual predicates (relations) are phrased as their label.
VISUAL_PHRASES: dict[str, str] = {
    "left": "moves left",
    "right": "moves right",
    "up": "moves up",
    "down": "moves down",
    "still": "stays still",
    "approaching": "moves toward",
    "leaving": "moves away",
}
# English adjective order: size before shape-like attributes before colour before material.
ATTRIBUTE_ORDER: dict[str, int] = {"size": 0, "colour": 2, "color": 2, "material": 3}
# What a track does, not what it looks like: left out of its phrases.
MOTION_ATTRIBUTES = frozenset({"motion", "motions", "action", "actions"})
MAX_PHRASE_ATTRIBUTES = 3


def normalise_phrase(text: str) -> str:
    return " ".join(text.lower().split())


def visual_phrase(predicate: str) -> str:
    """A visual predicate (a motion or relation of the DSG) in words."""
    return VISUAL_PHRASES.get(predicate, predicate)


class PhraseEncoder:
    """Unit-length text embeddings of short phrases from a host, each phrase encoded once.

    ``vectors(phrases)`` is (len(phrases), E) float32 on the CPU; ``encoded`` counts the
    distinct phrases the host has encoded, ``batches`` its ``encode_text`` calls.
    """

    def __init__(self, host: HostVLM, *, batch_size: int = 256) -> None:
        self.host = host
        self.batch_size = batch_size
        self._cache: dict[str, torch.Tensor] = {}
        self.encoded = 0
        self.batches = 0

    @classmethod
    def from_checkpoint(cls, path: Path, device: str = "cpu") -> PhraseEncoder:
        """The host of a finsta checkpoint (``align-train`` output), in eval mode on ``device``.

        A missing file is a :class:`MissingResourceError` (exit 4), a file that is not a finsta
        checkpoint an :class:`InputError`, both naming the file.
        """
        from finsta_cli.hosts.factory import host_from_payload, load_checkpoint

        host = host_from_payload(load_checkpoint(path), path)
        host.to(device)
        host.eval()
        return cls(host)

    def embed(self, phrases: Iterable[str]) -> None:
        """Encode the phrases not seen before, in batches."""
        import torch

        new = sorted({p for p in map(normalise_phrase, phrases) if p not in self._cache})
        for start in range(0, len(new), self.batch_size):
            batch = new[start : start + self.batch_size]
            with torch.inference_mode():
                vectors = self.host.encode_text(batch).embedding.float()
                vectors = torch.nn.functional.normalize(vectors, dim=-1).cpu()
            for phrase, vector in zip(batch, vectors, strict=True):
                self._cache[phrase] = vector
            self.encoded += len(batch)
            self.batches += 1

    def vectors(self, phrases: Sequence[str]) -> torch.Tensor:
        import torch

        keys = [normalise_phrase(p) for p in phrases]
        self.embed(keys)
        if not keys:
            return torch.zeros(0, 0)
        return torch.stack([self._cache[k] for k in keys])

    def similarity(self, first: Sequence[str], second: Sequence[str]) -> torch.Tensor:
        """Cosine similarities, (len(first), len(second))."""
        import torch

        if not first or not second:
            return torch.zeros(len(first), len(second))
        self.embed([*first, *second])
        return self.vectors(first) @ self.vectors(second).T


@dataclass(frozen=True)
class EmbedOptions:
    """How many tracks (or visual predicates) a text node may link to, and the lowest cosine
    that links an object (``threshold``) and a predicate (``predicate_threshold``).

    Defaults chosen on synth with the tiny host (docs/build-hsg.md): a caption names an
    object with the very words of one of the track's phrases, so object cosines of the right
    track are near 1; a predicate is worded freely ("heads down", "slides downward") against a
    fixed phrase ("moves down"), and its candidates are already narrowed to the subject's tracks.
    """

    top_k: int = 1
    threshold: float = 0.9
    predicate_threshold: float = 0.6


def _spanned(tsg: TSG, node_id: int) -> tuple[int, str]:
    """(position in the caption, the node's words as written; its label without a span)."""
    node = tsg.nodes[node_id]
    if node.span is None:
        return (10**9 + node_id, node.label)
    return (node.span[0], tsg.text[node.span[0] : node.span[1]])


def _phrase(pieces: list[tuple[float, str]]) -> str:
    """Words of the pieces in caption order, a word repeated right after itself dropped."""
    words: list[str] = []
    for _, text in sorted(pieces, key=lambda piece: piece[0]):
        for word in normalise_phrase(text.replace("-", " ")).split():
            if not words or words[-1] != word:
                words.append(word)
    return " ".join(words)


class EmbedMatcher:
    """Links the nodes of a TSG to the tracks of a DSG by phrase embeddings (module docstring)."""

    def __init__(self, encoder: PhraseEncoder, options: EmbedOptions | None = None) -> None:
        self.encoder = encoder
        self.options = options or EmbedOptions()

    # -- phrases --------------------------------------------------------------------------
    @staticmethod
    def object_phrase(tsg: TSG, node_id: int) -> str:
        """The text object's attribute words and label, in caption order ("small red ball")."""
        node = tsg.nodes[node_id]
        position = node.span[0] if node.span is not None else 10**9
        pieces: list[tuple[float, str]] = [(position, node.label)]
        for edge in tsg.edges:
            if edge.source == node_id and edge.type == "has_attribute":
                target = tsg.nodes[edge.target]
                at = target.span[0] if target.span is not None else position - 0.5
                pieces.append((at, target.label))
        return _phrase(pieces)

    @staticmethod
    def track_phrases(track: TrackView) -> list[str]:
        """The track's label with each subset of its attributes, in adjective order."""
        values = sorted(
            (ATTRIBUTE_ORDER.get(name, 1), name, value.lower())
            for name, value in track.attributes.items()
            if name not in MOTION_ATTRIBUTES and value.strip()
        )[:MAX_PHRASE_ATTRIBUTES]
        phrases = []
        for size in range(len(values) + 1):
            for chosen in combinations(values, size):
                phrases.append(
                    normalise_phrase(" ".join([*(v for _, _, v in chosen), track.label]))
                )
        return phrases

    @staticmethod
    def predicate_phrase(tsg: TSG, node_id: int, links: Links) -> str:
        """The predicate's words, particles, adverbs, argument prepositions and unlinked
        argument words, in caption order ("slides to left")."""
        own = _spanned(tsg, node_id)
        own_words = set(normalise_phrase(own[1]).split())
        pieces: list[tuple[float, str]] = [own]
        for edge in tsg.edges:
            if edge.source != node_id:
                continue
            target = tsg.nodes[edge.target]
            at, words = _spanned(tsg, edge.target)
            if edge.type == "pred_attr":
                pieces.append((at, words))
            elif edge.type in ARGUMENT_EDGES:
                # A preposition the predicate already says ("above" of "is above") is not
                # repeated.
                if edge.preposition and not set(edge.preposition.lower().split()) <= own_words:
                    pieces.append((at - 0.5, edge.preposition))
                if target.type == "object" and not links.get(edge.target):
                    pieces.append((at, target.label))
        return _phrase(pieces)

    # -- objects --------------------------------------------------------------------------
    def object_scores(
        self, tsg: TSG, video: VideoView, nodes: Iterable[int] | None = None
    ) -> dict[int, dict[int, float]]:
        """text object node -> {track id: best cosine over the track's phrases}."""
        wanted = [n.id for n in tsg.nodes if n.type == "object"] if nodes is None else list(nodes)
        tracks = list(video.tracks.values())
        if not wanted:
            return {}
        if not tracks:
            return {node: {} for node in wanted}
        text = [self.object_phrase(tsg, node) for node in wanted]
        visual: list[str] = []
        owners: list[int] = []
        for track in tracks:
            for phrase in self.track_phrases(track):
                visual.append(phrase)
                owners.append(track.track_id)
        similarity = self.encoder.similarity(text, visual)
        scores: dict[int, dict[int, float]] = {}
        for row, node in enumerate(wanted):
            per_track: dict[int, float] = {}
            for column, track_id in enumerate(owners):
                value = float(similarity[row, column])
                per_track[track_id] = max(per_track.get(track_id, -1.0), value)
            scores[node] = per_track
        return scores

    def link_objects(self, scores: dict[int, dict[int, float]]) -> Links:
        return rank_links(scores, self.options.top_k, self.options.threshold)

    # -- predicates -----------------------------------------------------------------------
    def predicate_edges(
        self,
        tsg: TSG,
        node_id: int,
        arguments: PredicateArguments,
        links: Links,
        video: VideoView,
    ) -> list[CrossModalEdge]:
        """The best ``top_k`` visual predicates of the subject's tracks for one text predicate."""
        candidates: set[tuple[int, str, int]] = set()  # (track, visual predicate, other or -1)
        for subject in arguments.subjects[node_id]:
            for track, _ in links.get(subject, []):
                candidates.update((track, m, -1) for m in video.tracks[track].motions)
                for other in arguments.others[node_id]:
                    for other_track, _ in links.get(other, []):
                        candidates.update(
                            (s, relation, o)
                            for s, relation, o in video.relations
                            if s == track and o == other_track
                        )
        if not candidates:
            return []
        ordered = sorted(candidates)
        phrase = self.predicate_phrase(tsg, node_id, links)
        similarity = self.encoder.similarity([phrase], [visual_phrase(c[1]) for c in ordered])[0]
        scored = sorted(
            ((float(similarity[i]), key) for i, key in enumerate(ordered)),
            key=lambda item: (-item[0], item[1]),
        )
        return [
            CrossModalEdge(
                type="predicate",
                text_node=node_id,
                track_id=track,
                visual_predicate=concept,
                object_track_id=None if other < 0 else other,
                score=round(min(1.0, score), 4),
            )
            for score, (track, concept, other) in scored[: self.options.top_k]
            if score >= self.options.predicate_threshold
        ]

    def match(self, tsg: TSG, dsg: DSG) -> list[CrossModalEdge]:
        """Every cross-modal edge between ``tsg`` and ``dsg``, objects first."""
        video = VideoView.of(dsg)
        links = _clamped(self.link_objects(self.object_scores(tsg, video)))
        edges = object_edges(links)
        arguments = PredicateArguments.of(tsg)
        for node in tsg.nodes:
            if node.type == "predicate":
                edges += self.predicate_edges(tsg, node.id, arguments, links, video)
        return edges


def _clamped(links: Links) -> Links:
    """Cosines a rounding error above 1 brought back to 1 (edge scores lie in [0, 1])."""
    return {node: [(t, min(1.0, s)) for t, s in tracks] for node, tracks in links.items()}


class HybridMatcher:
    """The rule matcher, with embeddings for the words its lexicon does not know."""

    def __init__(self, rules: RuleMatcher, embed: EmbedMatcher) -> None:
        self.rules = rules
        self.embed = embed

    def match(self, tsg: TSG, dsg: DSG) -> list[CrossModalEdge]:
        video = VideoView.of(dsg)
        objects = [n.id for n in tsg.nodes if n.type == "object"]
        unknown = [n for n in objects if not self.rules.knows_object(tsg, n, dsg)]
        rule_scores = self.rules.object_scores(tsg, dsg)
        links = self.rules.link_objects(
            {n: s for n, s in rule_scores.items() if n not in set(unknown)}
        )
        links.update(
            _clamped(self.embed.link_objects(self.embed.object_scores(tsg, video, unknown)))
        )
        edges = object_edges(links)
        arguments = PredicateArguments.of(tsg)
        for node in tsg.nodes:
            if node.type != "predicate":
                continue
            matcher: RuleMatcher | EmbedMatcher = (
                self.rules if self.rules.knows_predicate(tsg, node.id) else self.embed
            )
            edges += matcher.predicate_edges(tsg, node.id, arguments, links, video)
        return edges
