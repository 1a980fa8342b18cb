"""Hard-negative captions made from a caption's TSG: its events in the other order, its spatial
words and relation arguments swapped.

A contrast over a batch of unrelated videos never needs order or direction: any caption is told
from the others by its nouns and colours, so a host trained on it embeds "A, then B" and "B,
then A" alike (cosine 0.999 on synth, measured). The TSG knows which clause is which event and
which word is a direction, so it can write the caption that differs in that one respect:

- ``temporal``: for a ``before`` edge between two predicates of a caption that states an order
  ("then", "after", "before", ...), the two clauses (each predicate
  with its arguments, their attributes and adverbs, and a determiner in front) trade places:
  "The cube moves up after the ring enters." -> "The ring enters after the cube moves up.";
- ``spatial``: a direction word in a predicate, an adverb or a relation phrase becomes its
  opposite ("moves left" -> "moves right", "in front of" -> "behind"); and the agent and the
  object of a spatial relation trade places ("the ring passes in front of the cone" -> "the cone
  passes in front of the ring").

Each negative changes the text only inside the TSG nodes' spans, so it stays a sentence of the
caption's own words. align-train scores each video against its caption and the caption's
negatives (``neg`` loss in finsta_cli/align/model.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from finsta_cli.schema import TSG

# Direction words and their opposites, matched as whole words (longest phrase first).
OPPOSITES = {
    "left": "right", "right": "left", "up": "down", "down": "up", "above": "below",
    "below": "above", "over": "under", "under": "over", "in front of": "behind",
    "behind": "in front of", "towards": "away from", "toward": "away from",
    "away from": "towards", "into": "out of", "out of": "into", "on top of": "underneath",
    "underneath": "on top of", "inside": "outside", "outside": "inside",
}  # fmt: skip
_OPPOSITE_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(OPPOSITES, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# Relations whose two arguments can trade places for a different spatial meaning.
SPATIAL_RELATIONS = frozenset(
    {"left of", "right of", "above", "below", "over", "under", "in front of", "behind",
     "on top of", "underneath", "beside", "next to", "near", "past", "towards", "toward"}
)  # fmt: skip
# Adverbs that order events rather than describe one: not part of a clause.
ORDER_WORDS = frozenset({"first", "then", "later", "finally", "next", "afterwards", "again"})
# A clause order the text states (a bare "and" may join states that hold at once).
_ORDER_MARKER = re.compile(
    r"\b(then|after|before|afterwards|later|next|until|once|finally|first|in the end)\b",
    re.IGNORECASE,
)
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "his", "her", "its", "their", "another"})
_CLAUSE_EDGES = frozenset({"agent", "patient", "prep_arg", "pred_attr"})


@dataclass(frozen=True)
class Negative:
    aspect: str  # "temporal" or "spatial"
    text: str


def _spans_of(tsg: TSG, node_ids: set[int]) -> list[tuple[int, int]]:
    return [tsg.nodes[i].span for i in sorted(node_ids) if tsg.nodes[i].span is not None]  # type: ignore[misc]


def _clause(tsg: TSG, predicate: int) -> tuple[int, int] | None:
    """[start, end) of a predicate's clause: it, its arguments with their attributes, its
    adverbs (not the ordering ones), and a determiner right before the first word."""
    members = {predicate}
    for edge in tsg.edges:
        if edge.source != predicate or edge.type not in _CLAUSE_EDGES:
            continue
        target = tsg.nodes[edge.target]
        if target.type == "pred_attr" and target.label.lower() in ORDER_WORDS:
            continue
        members.add(edge.target)
    for edge in tsg.edges:
        if edge.source in members and edge.type == "has_attribute" and edge.source != predicate:
            members.add(edge.target)
    return _extent(tsg, members, predicate)


def _extent(tsg: TSG, members: set[int], head: int) -> tuple[int, int] | None:
    """[start, end) covering the members' spans and a determiner right before them."""
    spans = _spans_of(tsg, members)
    if tsg.nodes[head].span is None or not spans:
        return None
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    match = re.search(r"(\w+)\s+$", tsg.text[:start])
    if match and match.group(1).lower() in DETERMINERS:
        start = match.start(1)
    return start, end


def _match_case(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def _place(clause: str, initial: bool) -> str:
    """A clause moved to the sentence start (capitalised) or away from it (a capitalised
    determiner lowered)."""
    if initial:
        return clause[:1].upper() + clause[1:]
    first = clause.split(" ", 1)[0]
    if first.lower() in DETERMINERS and first[:1].isupper():
        return first.lower() + clause[len(first) :]
    return clause


def swap_clauses(text: str, a: tuple[int, int], b: tuple[int, int]) -> str | None:
    """The text with the (non-overlapping) spans a and b exchanged; None when they overlap."""
    (s1, e1), (s2, e2) = sorted([a, b])
    if e1 > s2 or s1 == e1 or s2 == e2:
        return None
    first, second = text[s1:e1], text[s2:e2]
    initial = not text[:s1].strip()
    return text[:s1] + _place(second, initial) + text[e1:s2] + _place(first, False) + text[e2:]


def _temporal(tsg: TSG) -> list[str]:
    out: list[str] = []
    if not _ORDER_MARKER.search(tsg.text):
        return out
    for edge in tsg.edges:
        if edge.type != "before":
            continue
        a, b = _clause(tsg, edge.source), _clause(tsg, edge.target)
        if a is not None and b is not None:
            swapped = swap_clauses(tsg.text, a, b)
            if swapped is not None:
                out.append(swapped)
    return out


def _flip_words(text: str, start: int, end: int) -> str | None:
    """The text with every direction word inside [start, end) replaced by its opposite."""
    piece = text[start:end]

    def opposite(match: re.Match[str]) -> str:
        return _match_case(OPPOSITES[match.group(0).lower()], match.group(0))

    flipped = _OPPOSITE_RE.sub(opposite, piece)
    return None if flipped == piece else text[:start] + flipped + text[end:]


def _spatial(tsg: TSG) -> list[str]:
    out = []
    text = tsg.text
    for node in tsg.nodes:
        if node.type in ("predicate", "pred_attr") and node.span is not None:
            flipped = _flip_words(text, *node.span)
            if flipped is not None:
                out.append(flipped)
    for edge in tsg.edges:
        if edge.type != "prep_arg" or not edge.preposition:
            continue
        predicate, obj = tsg.nodes[edge.source], tsg.nodes[edge.target]
        if predicate.span is None or obj.span is None or obj.span[0] <= predicate.span[1]:
            continue
        # The relation phrase lies between the predicate and its object ("passes in front of").
        flipped = _flip_words(text, predicate.span[1], obj.span[0])
        if flipped is not None:
            out.append(flipped)
        if edge.preposition.lower() not in SPATIAL_RELATIONS:
            continue
        agents = [e.target for e in tsg.edges if e.source == edge.source and e.type == "agent"]
        if len(agents) != 1:
            continue
        subject = _noun_phrase(tsg, agents[0])
        other = _noun_phrase(tsg, edge.target)
        if subject is not None and other is not None:
            swapped = swap_clauses(text, subject, other)
            if swapped is not None:
                out.append(swapped)
    return out


def _noun_phrase(tsg: TSG, node: int) -> tuple[int, int] | None:
    """[start, end) of an object node with its attributes and determiner."""
    attributes = {e.target for e in tsg.edges if e.source == node and e.type == "has_attribute"}
    return _extent(tsg, {node} | attributes, node)


def structural_negatives(tsg: TSG, limit: int = 4) -> list[Negative]:
    """Up to ``limit`` distinct hard-negative captions of a TSG, temporal ones first, none
    equal to the caption itself (a swap of two identical phrases changes nothing)."""
    seen = {tsg.text.strip().lower()}
    out: list[Negative] = []
    for aspect, texts in (("temporal", _temporal(tsg)), ("spatial", _spatial(tsg))):
        for text in texts:
            key = text.strip().lower()
            if key not in seen and len(out) < limit:
                seen.add(key)
                out.append(Negative(aspect, text))
    return out
