"""Scores parse-text's graphs against hand-written caption gold and against synth captions' facts.

Two measurements that FACTUAL's scorer (exact fact sets of region captions) does not make:

- :func:`score_gold` reads a gold file written by hand for video captions (:func:`read_gold`,
  one JSON object per line) and asks of each caption's TSG: are the objects there with every
  word of their names (in the name or as an attribute: a scene word dropped is a miss, whether
  the conventions merge it or not), the attributes, each predicate with its agent and its
  object, and each order word turned into a ``before`` / ``overlaps`` edge between the right
  predicates;
- :func:`score_synth_order` finds the clause of each ground-truth fact of a ``finsta synth``
  caption and counts the ordered event pairs whose predicates (the clause's predicates with the
  fact's subject, shape and colour, as agent) get the right ``before`` edge, the reversed one,
  or none.

A gold line (``a|b`` lists alternatives; ``null`` is an argument the gold does not check)::

    {"id": "v1", "caption": "a woman washes her hands and then cleans off a surface",
     "objects": ["woman", "hands", "surface"], "attributes": [["woman", "young"]],
     "predicates": [{"agent": "woman", "verb": "wash", "object": "hands"},
                    {"agent": "woman", "verb": "clean off", "object": "surface"}],
     "order": [{"word": "then", "first": "wash", "relation": "before", "second": "clean"}]}

An object is found when a node has its head word (plural endings aside) and every other word
of its name in the node's name or attributes. A predicate is found when a predicate node has
the verb (its label's first word), the agent among its ``agent`` edges and the object among its
``patient`` / ``prep_arg`` edges (``"passive": true``: among any of its arguments, since a
passive without a "by" phrase keeps its subject in the agent slot). An order reference is a
verb, ``verb@word`` (its predicate with an argument named ``word``) or ``verb#n`` (the n-th
predicate with that verb in caption order); ``overlaps`` is checked in both directions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsta_cli.errors import InputError
from finsta_cli.schema import TSG


@dataclass(frozen=True)
class GoldPredicate:
    verb: str
    agent: str | None = None
    object: str | None = None
    passive: bool = False


@dataclass(frozen=True)
class GoldOrder:
    word: str
    first: str
    relation: str  # "before" or "overlaps"
    second: str


@dataclass
class GoldCaption:
    id: str
    caption: str
    objects: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str]] = field(default_factory=list)
    predicates: list[GoldPredicate] = field(default_factory=list)
    order: list[GoldOrder] = field(default_factory=list)


@dataclass
class Tally:
    """Found / total for one kind of gold item, with the misses kept for reading."""

    found: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, miss: str) -> None:
        self.total += 1
        if ok:
            self.found += 1
        else:
            self.misses.append(miss)

    @property
    def rate(self) -> float:
        return self.found / self.total if self.total else 0.0

    def figures(self) -> dict[str, Any]:
        return {"found": self.found, "total": self.total, "rate": round(self.rate, 4)}


@dataclass
class GoldScore:
    captions: int = 0
    objects: Tally = field(default_factory=Tally)
    object_precision: Tally = field(default_factory=Tally)
    attributes: Tally = field(default_factory=Tally)
    predicates: Tally = field(default_factory=Tally)
    order: Tally = field(default_factory=Tally)
    reversed_order: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "captions": self.captions,
            "objects_recall": self.objects.figures(),
            "objects_precision": self.object_precision.figures(),
            "attributes_recall": self.attributes.figures(),
            "predicates_with_arguments": self.predicates.figures(),
            "order_edges": {**self.order.figures(), "reversed": self.reversed_order},
        }


def read_gold(path: str | Path) -> list[GoldCaption]:
    """The gold captions of a JSONL file; a bad line is an :class:`InputError` naming it."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text ({exc.reason})") from None
    items: list[GoldCaption] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(_gold_caption(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{source}:{number}: not a gold caption ({exc!r})") from None
    return items


def _gold_caption(data: dict[str, Any]) -> GoldCaption:
    order = []
    for item in data.get("order", []):
        if item["relation"] not in ("before", "overlaps"):
            raise ValueError(f"relation {item['relation']!r} is not before or overlaps")
        order.append(GoldOrder(item["word"], item["first"], item["relation"], item["second"]))
    return GoldCaption(
        id=str(data["id"]),
        caption=str(data["caption"]),
        objects=[str(name) for name in data.get("objects", [])],
        attributes=[(str(a), str(b)) for a, b in data.get("attributes", [])],
        predicates=[
            GoldPredicate(
                verb=str(p["verb"]),
                agent=p.get("agent"),
                object=p.get("object"),
                passive=bool(p.get("passive", False)),
            )
            for p in data.get("predicates", [])
        ],
        order=order,
    )


def _forms(word: str) -> set[str]:
    """A word with the plural endings a caption's nouns may carry taken off."""
    word = word.lower()
    found = {word}
    if word.endswith("ies") and len(word) > 4:
        found.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        found.add(word[:-2])
    if word.endswith("s") and len(word) > 2:
        found.add(word[:-1])
    return found


def _same_word(a: str, b: str) -> bool:
    return bool(_forms(a) & _forms(b))


class _Graph:
    """The parts of one TSG the scorer reads."""

    def __init__(self, tsg: TSG) -> None:
        self.nodes = tsg.nodes
        self.words: dict[int, set[str]] = {}  # object -> words of its name and attributes
        self.args: dict[int, dict[str, set[int]]] = {}  # predicate -> edge type -> objects
        self.edges = {(e.source, e.target, e.type) for e in tsg.edges}
        for node in tsg.nodes:
            if node.type == "object":
                self.words[node.id] = set(node.label.lower().split()) | {(node.lemma or "").lower()}
            elif node.type == "predicate":
                self.args[node.id] = {"agent": set(), "patient": set(), "prep_arg": set()}
        for edge in tsg.edges:
            if edge.type == "has_attribute" and edge.source in self.words:
                self.words[edge.source] |= set(self.nodes[edge.target].label.lower().split())
            elif edge.source in self.args and edge.type in self.args[edge.source]:
                self.args[edge.source][edge.type].add(edge.target)

    def heads(self, node: int) -> set[str]:
        label = self.nodes[node].label.lower().split()
        return {label[-1] if label else "", (self.nodes[node].lemma or "").lower()}

    def names(self, node: int, name: str) -> bool:
        """Whether an object node stands for ``name``: its head word, and every other word
        of the name in the node's name or attributes."""
        if node not in self.words:
            return False
        words = name.lower().split()
        if not words or not any(_same_word(words[-1], head) for head in self.heads(node)):
            return False
        return all(any(_same_word(w, have) for have in self.words[node]) for w in words[:-1])

    def named(self, spec: str) -> set[int]:
        """Object nodes for one of the names ``a|b``, matched on the head word alone."""
        found: set[int] = set()
        for name in spec.split("|"):
            head = name.lower().split()[-1]
            found |= {n for n in self.words if any(_same_word(head, h) for h in self.heads(n))}
        return found

    def predicates(self, verb: str) -> list[int]:
        """Predicate nodes with this verb, in caption order."""
        wanted = verb.lower().split()[0]
        found = [n for n in self.args if (self.nodes[n].label.lower().split() or [""])[0] == wanted]
        return sorted(found, key=lambda n: ((self.nodes[n].span or (0, 0))[0], n))


def _predicate_found(graph: _Graph, gold: GoldPredicate) -> bool:
    agents = graph.named(gold.agent) if gold.agent else None
    objects = graph.named(gold.object) if gold.object else None
    for node in graph.predicates(gold.verb):
        args = graph.args[node]
        if agents is not None and not agents & args["agent"]:
            continue
        if objects is not None:
            slots = args["patient"] | args["prep_arg"]
            if gold.passive:
                slots |= args["agent"]
            if not objects & slots:
                continue
        return True
    return False


def _resolve(graph: _Graph, spec: str) -> set[int]:
    """The predicate nodes an order reference names: ``verb``, ``verb@word``, ``verb#n``;
    ``a|b`` for either."""
    found: set[int] = set()
    for ref in spec.split("|"):
        verb, _, argument = ref.partition("@")
        verb, _, nth = verb.partition("#")
        nodes = graph.predicates(verb)
        if nth:
            nodes = nodes[int(nth) - 1 : int(nth)]
        if argument:
            wanted = graph.named(argument)
            nodes = [n for n in nodes if wanted & set().union(*graph.args[n].values())]
        found.update(nodes)
    return found


def score_gold(items: Sequence[GoldCaption], tsgs: Iterable[TSG]) -> GoldScore:
    """Score TSGs (in the order of ``items``) against the gold captions."""
    score = GoldScore()
    for gold, tsg in zip(items, tsgs, strict=True):
        score.captions += 1
        graph = _Graph(tsg)
        where = f"{gold.id}: {gold.caption}"
        free = set(graph.words)
        for name in gold.objects:
            match = next((n for n in sorted(free) if graph.names(n, name)), None)
            if match is None:  # a name the caption gives twice may share one node
                match = next((n for n in graph.words if graph.names(n, name)), None)
            free.discard(match if match is not None else -1)
            score.objects.add(match is not None, f"{where} | object {name!r}")
        for node in graph.words:
            label = graph.nodes[node].label
            ok = any(graph.names(node, name.split()[-1]) for name in gold.objects)
            score.object_precision.add(ok, f"{where} | extra object {label!r}")
        for name, attribute in gold.attributes:
            nodes = [n for n in graph.words if graph.names(n, name)]
            ok = any(
                all(any(_same_word(w, have) for have in graph.words[n]) for w in attribute.split())
                for n in nodes
            )
            score.attributes.add(ok, f"{where} | attribute ({name}, {attribute})")
        for predicate in gold.predicates:
            ok = _predicate_found(graph, predicate)
            score.predicates.add(
                ok, f"{where} | ({predicate.agent}, {predicate.verb}, {predicate.object})"
            )
        for order in gold.order:
            first, second = _resolve(graph, order.first), _resolve(graph, order.second)
            pairs = [(a, b) for a in first for b in second]
            if order.relation == "before":
                ok = any((a, b, "before") in graph.edges for a, b in pairs)
                if not ok and any((b, a, "before") in graph.edges for a, b in pairs):
                    score.reversed_order += 1
            else:
                ok = any(
                    (a, b, "overlaps") in graph.edges or (b, a, "overlaps") in graph.edges
                    for a, b in pairs
                )
            score.order.add(
                ok, f"{where} | {order.word}: {order.first} {order.relation} {order.second}"
            )
    return score


# -- finsta synth captions ---------------------------------------------------------------------
@dataclass
class SynthOrderScore:
    pairs: int = 0
    right: int = 0
    reversed: int = 0
    none: int = 0
    by_template: dict[str, list[int]] = field(default_factory=dict)  # template -> [right, total]
    misses: list[str] = field(default_factory=list)
    # Events told as simultaneous ("A while B", "A, and B"): pairs, with overlaps, with before.
    concurrent: int = 0
    concurrent_overlaps: int = 0
    concurrent_before: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "concurrent_pairs": self.concurrent,
            "concurrent_overlaps": self.concurrent_overlaps,
            "concurrent_before": self.concurrent_before,
            "pairs": self.pairs,
            "right": self.right,
            "reversed": self.reversed,
            "none": self.none,
            "rate": round(self.right / self.pairs, 4) if self.pairs else 0.0,
            "by_template": {k: {"right": v[0], "pairs": v[1]} for k, v in self.by_template.items()},
        }


def _clause_range(text: str, fact: dict[str, Any], taken: set[int]) -> tuple[int, int] | None:
    """Where the caption words this fact: the generator's clause, in any of its wordings."""
    from finsta_cli.data.synth_text import clause

    lowered = text.lower()
    for sizes in (False, True):
        for variant in range(4):
            words = clause(fact, variant, sizes).lower()
            start = lowered.find(words)
            while start >= 0 and start in taken:
                start = lowered.find(words, start + 1)
            if start >= 0:
                return start, start + len(words)
    return None


def _fact_predicates(graph: _Graph, fact: dict[str, Any], where: tuple[int, int]) -> set[int]:
    """Predicate nodes in the fact's clause whose agent is the fact's subject (its shape with
    its colour)."""
    subject = fact["subject"]
    subjects = {
        n
        for n in graph.words
        if _same_word(subject["shape"], graph.nodes[n].lemma or graph.nodes[n].label)
        and subject["colour"] in graph.words[n]
    }
    return {
        n
        for n in graph.args
        if graph.args[n]["agent"] & subjects
        and where[0] <= (graph.nodes[n].span or (-1, -1))[0] < where[1]
    }


def _pair_predicates(
    graph: _Graph, caption: dict[str, Any], first: int, second: int
) -> tuple[set[int], set[int]]:
    """The predicates of two facts of a synth caption, each found in its own clause."""
    taken: set[int] = set()
    ranges = []
    for index in (first, second):
        found = _clause_range(caption["text"], caption["facts"][index], taken)
        ranges.append(found or (0, 0))
        taken.add(ranges[-1][0])
    return (
        _fact_predicates(graph, caption["facts"][first], ranges[0]),
        _fact_predicates(graph, caption["facts"][second], ranges[1]),
    )


def score_synth_order(captions: Iterable[dict[str, Any]], tsgs: Iterable[TSG]) -> SynthOrderScore:
    """Ordered event pairs of synth captions (``{"text", "facts", "order", "template"}``, as in
    the records of ``finsta synth``) that their TSGs order right (a ``before`` edge from the
    first event's predicate to the second's), the wrong way round, or not at all."""
    from finsta_cli.data.synth_text import CONCURRENT

    score = SynthOrderScore()
    for caption, tsg in zip(captions, tsgs, strict=True):
        graph = _Graph(tsg)
        if caption.get("template") in CONCURRENT and not caption.get("order"):
            a, b = _pair_predicates(graph, caption, 0, 1)
            score.concurrent += 1
            edges = [(x, y) for x in a for y in b] + [(y, x) for x in a for y in b]
            score.concurrent_overlaps += any((x, y, "overlaps") in graph.edges for x, y in edges)
            score.concurrent_before += any((x, y, "before") in graph.edges for x, y in edges)
        for first, second in caption.get("order") or []:
            a, b = _pair_predicates(graph, caption, first, second)
            score.pairs += 1
            tally = score.by_template.setdefault(str(caption.get("template")), [0, 0])
            tally[1] += 1
            if any((x, y, "before") in graph.edges for x in a for y in b):
                score.right += 1
                tally[0] += 1
            elif any((y, x, "before") in graph.edges for x in a for y in b):
                score.reversed += 1
                score.misses.append(f"reversed: {caption['text']}")
            else:
                score.none += 1
                score.misses.append(f"none: {caption['text']}")
    return score


def spans_off_the_verb(tsg: TSG, tokens: Iterable[tuple[int, str]]) -> list[str]:
    """Predicates whose verb is in the caption but whose span does not cover it.

    ``tokens`` are the caption's words as (character offset, lemma) from its spaCy parse. A
    verb's predicate ("give" in "giving a review on a car") must cover the verb, not the
    preposition of a phrase read elsewhere: align-train pools the host's tokens over the span.
    Relations that no word of the caption names ("have" read from "of") are not counted.
    """
    starts: dict[str, list[int]] = {}
    for offset, lemma in tokens:
        starts.setdefault(lemma.lower(), []).append(offset)
    wrong = []
    for node in tsg.nodes:
        if node.type != "predicate" or node.span is None:
            continue
        verb = (node.label.split() or [""])[0]
        offsets = starts.get(verb, [])
        if offsets and not any(node.span[0] <= at < node.span[1] for at in offsets):
            wrong.append(f"{node.label} -> {tsg.text[node.span[0] : node.span[1]]!r}")
    return wrong
