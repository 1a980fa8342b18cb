"""Cross-edge precision and recall of HSGs built on ``finsta synth`` videos, against its truth.

For caption k of a synth record (text id ``VIDEO.ck``), each fact names its objects by colour and
shape, and so the ground-truth track of each mention.

- **Object edges.** A text object node *identifies* a mentioned object when its words hold the
  object's shape (or a lexicon synonym) and its colour, or the shape alone when no other object
  of the video has it. Gold edges join each identifying node to that object's track. Precision:
  the share of predicted object edges that are gold; recall: the share of mentioned objects
  (per caption) that some predicted edge links to their track from a node identifying them.
- **Predicate edges.** Each fact allows visual predicates of its subject's track: its motion in
  build-dsg's vocabulary (moves left -> left, enters from the left -> right, approaches ->
  approaching, retreats -> leaving, collides -> its direction or approaching, stays -> still,
  passes in front of / behind -> its direction, or the in-front-of / behind relation), or, for a
  spatial fact, its relation to the fact's object. A predicted predicate edge is correct when a
  fact of the caption allows its (track, predicate[, other track]); recall is the share of facts
  with at least one correct edge.

When the HSG's DSG comes from build-dsg, its tracks are first mapped to ground-truth objects: a
predicted track takes the object that most of its boxes overlap at IoU >= 0.5 in the same frame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finsta_cli.hsg.lexicon import Lexicon
from finsta_cli.schema import DSG, HSG
from finsta_cli.synth.scene import OPPOSITE
from finsta_cli.video.track import box_iou

_RELATION_OF_PASS = {"front": "in front of", "behind": "behind"}


@dataclass
class EdgeCounts:
    predicted: int = 0
    correct: int = 0
    gold: int = 0
    found: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 0.0

    def add(self, other: EdgeCounts) -> None:
        self.predicted += other.predicted
        self.correct += other.correct
        self.gold += other.gold
        self.found += other.found

    def to_json(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "predicted": self.predicted,
            "correct": self.correct,
            "gold": self.gold,
            "found": self.found,
        }


@dataclass
class CrossEdgeScore:
    objects: EdgeCounts = field(default_factory=EdgeCounts)
    predicates: EdgeCounts = field(default_factory=EdgeCounts)
    pairs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "object_edges": self.objects.to_json(),
            "predicate_edges": self.predicates.to_json(),
        }


def track_map(dsg: DSG, record: dict[str, Any], min_iou: float = 0.5) -> dict[int, int]:
    """Predicted track id -> ground-truth object id, by majority of IoU >= 0.5 overlaps."""
    gold = {
        int(frame["index"]): [
            (int(o["track_id"]), o["box"]) for o in frame["objects"] if o.get("box")
        ]
        for frame in record["frames"]
    }
    votes: dict[int, Counter[int]] = {}
    for frame in dsg.frames:
        for obj in frame.objects:
            best, best_iou = None, min_iou
            for track, box in gold.get(frame.index, []):
                iou = float(box_iou(np.array([obj.box]), np.array([box]))[0, 0])
                if iou >= best_iou:
                    best, best_iou = track, iou
            if best is not None:
                votes.setdefault(obj.track_id, Counter())[best] += 1
    return {track: counter.most_common(1)[0][0] for track, counter in votes.items()}


def allowed_predicates(
    fact: dict[str, Any], track_of: dict[tuple[str, str], int]
) -> set[tuple[int, str, int]]:
    """(subject track, visual predicate, other track or -1) that state ``fact``."""
    subject = track_of.get((fact["subject"]["colour"], fact["subject"]["shape"]))
    if subject is None:
        return set()
    other = -1
    if fact.get("object"):
        other = track_of.get((fact["object"]["colour"], fact["object"]["shape"]), -1)
    kind, direction = fact["kind"], fact.get("direction")
    out: set[tuple[int, str, int]] = set()
    if kind == "relation" and fact.get("relation") and other >= 0:
        out.add((subject, str(fact["relation"]), other))
    elif kind == "still":
        out.add((subject, "still", -1))
    elif kind == "approach":
        out.add((subject, "approaching", -1))
    elif kind == "retreat":
        out.add((subject, "leaving", -1))
    elif kind == "enter" and direction:
        out.add((subject, OPPOSITE[str(direction)], -1))
    elif kind in ("move", "leave") and direction:
        out.add((subject, str(direction), -1))
    elif kind == "collide":
        out.update({(subject, "approaching", -1), (subject, str(direction), -1)})
        if other >= 0:
            out.add((subject, "touching", other))
    elif kind == "pass":
        out.add((subject, str(direction), -1))
        relation = _RELATION_OF_PASS.get(str(fact.get("relation")))
        if relation and other >= 0:
            out.add((subject, relation, other))
    return out


def score_pair(
    hsg: HSG, record: dict[str, Any], caption: dict[str, Any], lexicon: Lexicon
) -> CrossEdgeScore:
    """Score one HSG (a synth caption with its video) against the record's truth."""
    objects = {int(o["track_id"]): o for o in record["objects"]}
    track_of = {(str(o["colour"]), str(o["shape"])): t for t, o in objects.items()}
    shape_count = Counter(str(o["shape"]) for o in objects.values())
    to_gold = track_map(hsg.dsg, record)
    attributes: dict[int, list[str]] = {}
    for text_edge in hsg.tsg.edges:
        if text_edge.type == "has_attribute":
            label = hsg.tsg.nodes[text_edge.target].label
            attributes.setdefault(text_edge.source, []).append(label)

    def identifies(node_id: int) -> int | None:
        node = hsg.tsg.nodes[node_id]
        words = set(
            " ".join([node.label, node.lemma or "", *attributes.get(node_id, [])]).lower().split()
        )
        shapes = {
            s for w in words for s in lexicon.object_words.get(w, frozenset()) if s in shape_count
        }
        shapes |= {w for w in words if w in shape_count}
        colours = {
            value
            for w in words
            for attribute, value in [lexicon.attribute_words.get(w, ("", ""))]
            if attribute == "colour"
        }
        candidates = [
            t
            for t, o in objects.items()
            if o["shape"] in shapes
            and (o["colour"] in colours or (not colours and shape_count[o["shape"]] == 1))
        ]
        return candidates[0] if len(candidates) == 1 else None

    score = CrossEdgeScore(pairs=1)
    mentioned = {
        track_of[(str(e["colour"]), str(e["shape"]))]
        for fact in caption["facts"]
        for e in (fact.get("subject"), fact.get("object"))
        if e and (str(e["colour"]), str(e["shape"])) in track_of
    }
    recalled: set[int] = set()
    for edge in hsg.cross_edges:
        if edge.type != "object":
            continue
        score.objects.predicted += 1
        gold_track = to_gold.get(edge.track_id)
        identified = identifies(edge.text_node)
        if identified is not None and identified == gold_track:
            score.objects.correct += 1
            recalled.add(identified)
    score.objects.gold = len(mentioned)
    score.objects.found = len(mentioned & recalled)

    allowed = [allowed_predicates(fact, track_of) for fact in caption["facts"]]
    union = set().union(*allowed) if allowed else set()
    hit: set[tuple[int, str, int]] = set()
    for edge in hsg.cross_edges:
        if edge.type != "predicate" or edge.visual_predicate is None:
            continue
        score.predicates.predicted += 1
        key = (
            to_gold.get(edge.track_id, -2),
            edge.visual_predicate,
            -1 if edge.object_track_id is None else to_gold.get(edge.object_track_id, -2),
        )
        motion_key = (key[0], key[1], -1)
        if key in union or motion_key in union:
            score.predicates.correct += 1
            hit.update({key, motion_key})
    score.predicates.gold = sum(1 for a in allowed if a)
    score.predicates.found = sum(1 for a in allowed if a & hit)
    return score


def score_hsg_folder(hsg_dir: Path, records: Iterable[dict[str, Any]]) -> CrossEdgeScore:
    """Score every HSG listed in ``hsg_dir/hsg.jsonl`` whose text id is ``VIDEO.cK`` (caption
    K of the synth record of VIDEO)."""
    from finsta_cli.hsg.lexicon import load_lexicon
    from finsta_cli.io import iter_jsonl

    by_id = {record["video_id"]: record for record in records}
    lexicon = load_lexicon()
    total = CrossEdgeScore()
    for _, row in iter_jsonl(hsg_dir / "hsg.jsonl"):
        hsg = HSG.model_validate_json((hsg_dir / row["path"]).read_text(encoding="utf-8"))
        record = by_id[hsg.video_id]
        caption = record["captions"][int(hsg.text_id.rsplit(".c", 1)[1])]
        score = score_pair(hsg, record, caption, lexicon)
        total.objects.add(score.objects)
        total.predicates.add(score.predicates)
        total.pairs += 1
    return total
