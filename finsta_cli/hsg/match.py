"""Cross-modal coreference by rules: text objects to visual tracks, text predicates to motions
and relations.

Objects. A text object names visual classes through its words (the class name or a synonym from
the lexicon: "sphere" ~ ball); a generic word ("object", "thing") names any class with a low
score. Its attribute words (from attribute nodes, or left in a merged name such as "cyan cone")
are compared with the track's attributes: an agreeing colour keeps the score, a disagreeing
colour divides it by ten, so "the red ball" prefers the red one of two balls. The top ``top_k``
tracks with a score of at least ``threshold`` are linked.

Predicates. The words of a text predicate (its verb or preposition, particles, adverbs, the
prepositions of its arguments and direction words among their objects) name visual predicates
through the lexicon ("slides toward" -> approaching; "enters from the left" -> right, since a
direction introduced by "from" is where the motion starts; "does not move" -> still, for a
negated verb of motion; other negated predicates link nothing). A predicate is linked to a track of
its agent when the video shows one of those: a motion of that track (``motion`` / ``motions``
attributes of the DSG track) or, with a second argument, a relation between the two tracks in
some frame. Nothing is linked when the video contradicts the caption.

The pieces shared with the embedding matcher (``finsta_cli/hsg/embed.py``) live here too: the
video view, the top-k ranking of object links and the predicates' arguments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from finsta_cli.hsg.lexicon import Lexicon
from finsta_cli.schema import DSG, TSG, CrossModalEdge

GENERIC_SCORE = 0.4
UNKNOWN_ATTRIBUTE_FACTOR = 0.8
DISAGREE_FACTOR = {"colour": 0.1}
DEFAULT_DISAGREE_FACTOR = 0.7
DIRECTIONS = {"left": "right", "right": "left", "up": "down", "down": "up", "top": "down",
              "bottom": "up"}  # fmt: skip
INVERSE_RELATIONS = {
    "left of": "right of", "right of": "left of", "above": "below", "below": "above",
    "in front of": "behind", "behind": "in front of", "touching": "touching", "near": "near",
}  # fmt: skip
ARGUMENT_EDGES = ("patient", "prep_arg")

Links = dict[int, list[tuple[int, float]]]  # text object node -> [(track id, score)], best first


@dataclass(frozen=True)
class MatchOptions:
    """How many tracks a text object may link to, and the lowest score that links."""

    top_k: int = 1
    threshold: float = 0.5


class Matcher(Protocol):
    """What build-hsg needs of a matcher: the cross-modal edges of one (TSG, DSG) pair."""

    def match(self, tsg: TSG, dsg: DSG) -> list[CrossModalEdge]: ...


def rank_links(scores: dict[int, dict[int, float]], top_k: int, threshold: float) -> Links:
    """The best ``top_k`` tracks scoring at least ``threshold`` per text node (ties: lower id)."""
    links = {}
    for node, per_track in scores.items():
        ranked = sorted(per_track.items(), key=lambda kv: (-kv[1], kv[0]))
        links[node] = [(track, score) for track, score in ranked[:top_k] if score >= threshold]
    return links


def object_edges(links: Links) -> list[CrossModalEdge]:
    """One ``object`` edge per link, by text node."""
    return [
        CrossModalEdge(type="object", text_node=node, track_id=track, score=round(score, 4))
        for node, tracks in sorted(links.items())
        for track, score in tracks
    ]


def _words(*texts: str | None) -> list[str]:
    return [w for text in texts if text for w in text.lower().replace("-", " ").split()]


@dataclass
class TrackView:
    track_id: int
    label: str
    attributes: dict[str, str]
    motions: set[str]


@dataclass
class VideoView:
    """A DSG's tracks with their motions, and every (subject, relation, object) of its frames
    (with the inverse of each relation)."""

    tracks: dict[int, TrackView]
    relations: set[tuple[int, str, int]] = field(default_factory=set)

    @classmethod
    def of(cls, dsg: DSG) -> VideoView:
        tracks = {}
        for track in dsg.tracks:
            motions = set(_words(track.attributes.get("motion")))
            motions.update(
                m.strip() for m in track.attributes.get("motions", "").split(",") if m.strip()
            )
            tracks[track.track_id] = TrackView(
                track.track_id, track.label.lower(), dict(track.attributes), motions
            )
        view = cls(tracks)
        for frame in dsg.frames:
            for rel in frame.relations:
                view.relations.add((rel.subject, rel.predicate, rel.object))
                inverse = INVERSE_RELATIONS.get(rel.predicate)
                if inverse:
                    view.relations.add((rel.object, inverse, rel.subject))
        return view


@dataclass
class PredicateArguments:
    """The object arguments of each text predicate: its subjects (the agents, or else the first
    argument) and its other arguments."""

    subjects: dict[int, list[int]]
    others: dict[int, list[int]]

    @classmethod
    def of(cls, tsg: TSG) -> PredicateArguments:
        agents: dict[int, list[int]] = defaultdict(list)
        arguments: dict[int, list[int]] = defaultdict(list)
        for edge in tsg.edges:
            if edge.type == "agent":
                agents[edge.source].append(edge.target)
            elif edge.type in ARGUMENT_EDGES and tsg.nodes[edge.target].type == "object":
                arguments[edge.source].append(edge.target)
        subjects: dict[int, list[int]] = {}
        others: dict[int, list[int]] = {}
        for node in tsg.nodes:
            if node.type == "predicate":
                subjects[node.id] = agents[node.id] or arguments[node.id][:1]
                others[node.id] = [a for a in arguments[node.id] if a not in subjects[node.id]]
        return cls(subjects, others)


class RuleMatcher:
    """Links the nodes of a TSG to the tracks of a DSG (see the module docstring)."""

    def __init__(self, lexicon: Lexicon, options: MatchOptions | None = None) -> None:
        self.lexicon = lexicon
        self.options = options or MatchOptions()

    # -- objects --------------------------------------------------------------------------
    def object_scores(self, tsg: TSG, dsg: DSG) -> dict[int, dict[int, float]]:
        """text object node -> {track id: score} for every track with a positive score."""
        video = VideoView.of(dsg)
        known = {t.label for t in video.tracks.values()}
        attributes: dict[int, list[str]] = defaultdict(list)
        for edge in tsg.edges:
            if edge.type == "has_attribute":
                attributes[edge.source].append(tsg.nodes[edge.target].label)
        scores: dict[int, dict[int, float]] = {}
        for node in tsg.nodes:
            if node.type != "object":
                continue
            words = _words(node.label, node.lemma)
            classes = set().union(*(self.lexicon.classes_named(w, known) for w in words))
            generic = any(w in self.lexicon.generic for w in words)
            wanted = [
                self.lexicon.attribute_words[w]
                for w in _words(node.label, *attributes[node.id])
                if w in self.lexicon.attribute_words
            ]
            per_track: dict[int, float] = {}
            for track in video.tracks.values():
                if classes:
                    score = 1.0 if track.label in classes else 0.0
                else:
                    score = GENERIC_SCORE if generic else 0.0
                for attribute, value in wanted:
                    have = track.attributes.get(attribute)
                    if have is None:
                        score *= UNKNOWN_ATTRIBUTE_FACTOR
                    elif have.lower() != value:
                        score *= DISAGREE_FACTOR.get(attribute, DEFAULT_DISAGREE_FACTOR)
                if score > 0:
                    per_track[track.track_id] = score
            scores[node.id] = per_track
        return scores

    def link_objects(self, scores: dict[int, dict[int, float]]) -> Links:
        """The top-k tracks at or above the threshold for each text object."""
        return rank_links(scores, self.options.top_k, self.options.threshold)

    def knows_object(self, tsg: TSG, node_id: int, dsg: DSG) -> bool:
        """Whether some word of a text object names a class (through the lexicon or as the
        label of one of ``dsg``'s tracks) or is a generic object word; else the rules score
        it 0 against every track."""
        node = tsg.nodes[node_id]
        classes = {track.label.lower() for track in dsg.tracks}
        return any(
            w in self.lexicon.object_words or w in self.lexicon.generic or w in classes
            for w in _words(node.label, node.lemma)
        )

    # -- predicates -----------------------------------------------------------------------
    def predicate_concepts(self, tsg: TSG, node_id: int) -> set[str]:
        """The visual predicates that a text predicate's words can describe."""
        node = tsg.nodes[node_id]
        words = _words(node.label, node.lemma)
        flipped: list[str] = []
        for edge in tsg.edges:
            if edge.source != node_id:
                continue
            target = tsg.nodes[edge.target]
            if edge.type == "pred_attr":
                words += _words(target.label)
            elif edge.type in ARGUMENT_EDGES:
                words += _words(edge.preposition)
                for word in _words(target.label):
                    if word in DIRECTIONS:
                        from_side = edge.preposition is not None and "from" in _words(
                            edge.preposition
                        )
                        (flipped if from_side else words).append(word)
        concepts: set[str] = set()
        for word in words:
            concepts.update(self.lexicon.predicate_words.get(word, ()))
        for word in flipped:
            concepts.add(DIRECTIONS[word])
        if {"from"} & set(_words(node.label)):
            concepts = {DIRECTIONS.get(c, c) for c in concepts}
        if "not" in words or "n't" in words:
            # "does not move": a negated motion verb states stillness; other negations state
            # nothing the DSG can confirm.
            verb = set(_words(node.lemma or node.label))
            return {"still"} if verb & self.lexicon.motion_verbs else set()
        return concepts

    def knows_predicate(self, tsg: TSG, node_id: int) -> bool:
        """Whether the rules read something from a text predicate: one of its words (verb,
        particles, adverbs, argument prepositions, argument words) is in the lexicon's
        predicate words, or it is negated (read as "still", or as nothing)."""
        node = tsg.nodes[node_id]
        words = _words(node.label, node.lemma)
        for edge in tsg.edges:
            if edge.source != node_id:
                continue
            if edge.type == "pred_attr":
                words += _words(tsg.nodes[edge.target].label)
            elif edge.type in ARGUMENT_EDGES:
                words += _words(edge.preposition, tsg.nodes[edge.target].label)
        return any(w in self.lexicon.predicate_words or w in ("not", "n't") for w in words)

    def match(self, tsg: TSG, dsg: DSG) -> list[CrossModalEdge]:
        """Every cross-modal edge between ``tsg`` and ``dsg``, objects first."""
        video = VideoView.of(dsg)
        links = self.link_objects(self.object_scores(tsg, dsg))
        edges = object_edges(links)
        arguments = PredicateArguments.of(tsg)
        for node in tsg.nodes:
            if node.type == "predicate":
                edges += self.predicate_edges(tsg, node.id, arguments, links, video)
        return edges

    def predicate_edges(
        self,
        tsg: TSG,
        node_id: int,
        arguments: PredicateArguments,
        links: Links,
        video: VideoView,
    ) -> list[CrossModalEdge]:
        """The edges of one text predicate, given the object links."""
        concepts = self.predicate_concepts(tsg, node_id)
        if not concepts:
            return []
        subjects, others = arguments.subjects[node_id], arguments.others[node_id]
        return self._predicate_edges(node_id, subjects, others, concepts, links, video)

    def _predicate_edges(
        self,
        node_id: int,
        subjects: list[int],
        others: list[int],
        concepts: set[str],
        links: Links,
        video: VideoView,
    ) -> list[CrossModalEdge]:
        best: dict[tuple[int, str, int], float] = {}  # (track, concept, other track or -1)
        for subject in subjects:
            for track, subject_score in links.get(subject, []):
                for concept in concepts & video.tracks[track].motions:
                    key = (track, concept, -1)
                    best[key] = max(best.get(key, 0.0), subject_score)
                for other in others:
                    for other_track, other_score in links.get(other, []):
                        for concept in concepts:
                            if (track, concept, other_track) in video.relations:
                                key = (track, concept, other_track)
                                score = subject_score * other_score
                                best[key] = max(best.get(key, 0.0), score)
        return [
            CrossModalEdge(
                type="predicate",
                text_node=node_id,
                track_id=track,
                visual_predicate=concept,
                object_track_id=None if other_track < 0 else other_track,
                score=round(score, 4),
            )
            for (track, concept, other_track), score in sorted(best.items())
        ]
