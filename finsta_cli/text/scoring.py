"""Scores parse-text's graphs against hand-written caption gold and against synth captions' facts.

Three measures of the rule parser on video captions (``benchmarks/parse_text_quality.py``):

- :func:`score_gold` compares TSGs with a gold file written by hand (:func:`read_gold`):
  objects, the modifier words a caption gives them, predicates with their arguments,
  relations between nouns, and the order words ("then", "while", ...) as ``before`` /
  ``overlaps`` edges between the right predicates. Everything is matched by character
  position in the caption, not by label, so a predicate counts only when its span lies on its
  verb (align-train pools the host's tokens over a predicate's span).
- :func:`score_synth_order` finds the clause of each ground-truth fact of a ``finsta synth``
  caption and counts the ordered event pairs whose predicates (the clause's predicates with
  the fact's subject, shape and colour, as agent) get the right ``before`` edge, the reversed
  one, or none.
- :func:`spans_off_the_verb` lists the predicates whose span misses their verb.

Gold file format, one block per caption (``#`` starts a comment line)::

    = ID | the caption, exactly as parsed
    O man car            objects that must be nodes (a word; "man#2" = its second occurrence)
    O? crowd             objects that may be nodes or not (never counted against the parser)
    M car: black old     words that must stay with the object (in its name or an attribute)
    P drives: man > car ; onto field ; ?to street
    P cleans+off: nurse > surface
    P shown: > pictures !pass
    P drives|back/2: man ; to street
    P? called            a predicate that may be there or not
    R man in|inside car  a relation between two nouns (preposition alternatives split by |)
    R? coke in hands
    T washes < cleans then      the first predicate happens before the second ("then")
    T sings ~ watch while       the two overlap (either direction)

A predicate line names its verb (alternative words by ``|``, ``/N`` to tell two predicates on
one verb apart, ``+prt`` its particle), then agents ``>`` patients, then ``; PREP OBJECT``
arguments; an argument written ``?x`` may be there or not, ``a|b`` is either object.
``!pass``: a passive without agent, whose subject may be read as the agent or the patient.
A predicate is *right* when a predicted predicate's span covers its verb and its agents,
patients and prepositional arguments are the gold ones (optional ones aside). A patient with
particle ``off`` also matches the prepositional argument "off"; a preposition matches when
one of its alternatives equals the predicted one. ``T`` lines name predicates by the word
before the colon (``a|b`` tries each).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsta_cli.errors import InputError
from finsta_cli.schema import TSG

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@dataclass(frozen=True)
class GoldArg:
    """An argument: any of ``objects`` (word references); ``optional`` ones may be missing."""

    objects: tuple[str, ...]
    optional: bool = False
    prepositions: tuple[str, ...] = ("",)  # "" for a patient


@dataclass
class GoldPredicate:
    key: str
    anchors: tuple[str, ...]
    particle: str = ""
    agents: list[GoldArg] = field(default_factory=list)
    arguments: list[GoldArg] = field(default_factory=list)
    passive: bool = False
    optional: bool = False


@dataclass(frozen=True)
class GoldRelation:
    subject: str
    prepositions: tuple[str, ...]
    object: str
    optional: bool = False


@dataclass(frozen=True)
class GoldOrder:
    first: tuple[str, ...]
    second: tuple[str, ...]
    kind: str  # "before" or "overlaps"
    word: str


@dataclass
class GoldCaption:
    id: str
    text: str
    objects: list[str] = field(default_factory=list)
    optional_objects: list[str] = field(default_factory=list)
    modifiers: list[tuple[str, str]] = field(default_factory=list)
    predicates: list[GoldPredicate] = field(default_factory=list)
    relations: list[GoldRelation] = field(default_factory=list)
    orders: list[GoldOrder] = field(default_factory=list)

    def word_span(self, reference: str) -> tuple[int, int]:
        """The character span of ``word`` or ``word#N`` (its N-th occurrence) in the caption."""
        word, _, nth = reference.partition("#")
        count = int(nth) if nth else 1
        seen = 0
        for match in _WORD_RE.finditer(self.text):
            if match.group().lower() == word.lower():
                seen += 1
                if seen == count:
                    return match.start(), match.end()
        raise ValueError(f"{self.id}: no {reference!r} in {self.text!r}")


def _arg(text: str, prepositions: tuple[str, ...] = ("",)) -> GoldArg:
    optional = text.startswith("?")
    return GoldArg(tuple(text.lstrip("?").split("|")), optional, prepositions)


def _predicate(line: str, optional: bool) -> GoldPredicate:
    head, _, body = line.partition(":")
    passive = "!pass" in body
    body = body.replace("!pass", "")
    key, _, particle = head.strip().partition("+")
    anchors = tuple(key.split("/")[0].split("|"))
    predicate = GoldPredicate(key, anchors, particle, passive=passive, optional=optional)
    core, *preps = body.split(";")
    agents, _, patients = core.partition(">")
    predicate.agents = [_arg(a.strip()) for a in agents.split(",") if a.strip()]
    patient_preps = ("", particle) if particle else ("",)
    predicate.arguments = [_arg(p.strip(), patient_preps) for p in patients.split(",") if p.strip()]
    for prep in preps:
        words = prep.split()
        if len(words) < 2:
            raise ValueError(f"argument {prep!r} needs a preposition and an object")
        optional_arg = words[0].startswith("?")
        alternatives = tuple(
            " ".join(a.split()) for a in " ".join(words[:-1]).lstrip("?").split("|")
        )
        predicate.arguments.append(GoldArg(tuple(words[-1].split("|")), optional_arg, alternatives))
    return predicate


def parse_gold(text: str, source: str = "gold") -> list[GoldCaption]:
    """Gold captions from the text of a gold file (format in this module's docstring)."""
    captions: list[GoldCaption] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tag, _, rest = line.partition(" ")
            if tag == "=":
                item_id, _, caption = rest.partition("|")
                captions.append(GoldCaption(item_id.strip(), caption.strip()))
                continue
            if not captions:
                raise ValueError("a line before the first '= ID | caption' line")
            gold = captions[-1]
            if tag in ("O", "O?"):
                (gold.objects if tag == "O" else gold.optional_objects).extend(rest.split())
            elif tag == "M":
                obj, _, kept = rest.partition(":")
                gold.modifiers += [(obj.strip(), word) for word in kept.split()]
            elif tag in ("P", "P?"):
                gold.predicates.append(_predicate(rest, tag == "P?"))
            elif tag in ("R", "R?"):
                words = rest.split()
                if len(words) < 3:
                    raise ValueError("a relation needs a subject, a preposition and an object")
                prepositions = tuple(" ".join(p.split()) for p in " ".join(words[1:-1]).split("|"))
                gold.relations.append(GoldRelation(words[0], prepositions, words[-1], tag == "R?"))
            elif tag == "T":
                first, sign, second, word = rest.split()
                if sign not in ("<", "~"):
                    raise ValueError(f"order {sign!r}: '<' (before) or '~' (overlaps)")
                kind = "before" if sign == "<" else "overlaps"
                gold.orders.append(
                    GoldOrder(tuple(first.split("|")), tuple(second.split("|")), kind, word)
                )
            else:
                raise ValueError(f"unknown line type {tag!r}")
        except ValueError as exc:
            raise InputError(f"{source}:{number}: {exc}") from None
    for gold in captions:
        _check_references(gold, source)
    return captions


def _check_references(gold: GoldCaption, source: str) -> None:
    """Every word a caption's gold names is in the caption, every order names a predicate."""
    refs = [*gold.objects, *gold.optional_objects, *(m for pair in gold.modifiers for m in pair)]
    for predicate in gold.predicates:
        refs += predicate.anchors
        for arg in [*predicate.agents, *predicate.arguments]:
            refs += arg.objects
    for relation in gold.relations:
        refs += [relation.subject, relation.object]
    try:
        for ref in refs:
            gold.word_span(ref)
    except ValueError as exc:
        raise InputError(f"{source}: {exc}") from None
    keys = {p.key for p in gold.predicates} | {a for p in gold.predicates for a in p.anchors}
    for order in gold.orders:
        for name in (*order.first, *order.second):
            joined = ("|".join(order.first), "|".join(order.second))
            if name not in keys and not any(j in keys for j in joined):
                raise InputError(f"{source}: {gold.id}: order names no predicate {name!r}")


def read_gold(path: Path) -> list[GoldCaption]:
    """Read a gold file; a missing file or a malformed line is an :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read gold file {path}: {exc.strerror or exc}") from None
    return parse_gold(text, str(path))


@dataclass
class GoldScores:
    """Counts over a gold set; :meth:`figures` turns them into the reported figures."""

    captions: int = 0
    objects: int = 0
    objects_found: int = 0
    predicted_objects: int = 0
    predicted_objects_right: int = 0
    modifiers: int = 0
    modifiers_kept: int = 0
    predicates: int = 0
    predicates_on_verb: int = 0
    predicates_right: int = 0
    predicted_predicates: int = 0
    predicted_predicates_unmatched: int = 0
    relations: int = 0
    relations_right: int = 0
    orders: int = 0
    orders_right: int = 0
    orders_reversed: int = 0
    orders_by_kind: dict[str, list[int]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        def share(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        return {
            "captions": self.captions,
            "objects": {
                "gold": self.objects,
                "recall": share(self.objects_found, self.objects),
                "precision": share(self.predicted_objects_right, self.predicted_objects),
            },
            "modifier_words_kept": {
                "gold": self.modifiers,
                "share": share(self.modifiers_kept, self.modifiers),
            },
            "predicates": {
                "gold": self.predicates,
                "span_on_verb": share(self.predicates_on_verb, self.predicates),
                "right_arguments": share(self.predicates_right, self.predicates),
                "predicted": self.predicted_predicates,
                "predicted_not_in_gold": self.predicted_predicates_unmatched,
            },
            "relations": {
                "gold": self.relations,
                "right": share(self.relations_right, self.relations),
            },
            "order": {
                "gold": self.orders,
                "right": share(self.orders_right, self.orders),
                "reversed": self.orders_reversed,
                "by_word": {
                    word: {"gold": counts[0], "right": counts[1]}
                    for word, counts in sorted(self.orders_by_kind.items())
                },
            },
        }


class _Graph:
    """A TSG read for matching: nodes by type, edges by predicate, gold words per node."""

    def __init__(self, tsg: TSG, gold: GoldCaption) -> None:
        self.tsg = tsg
        self.gold = gold
        self.spans = {node.id: node.span for node in tsg.nodes}
        self.objects = [node.id for node in tsg.nodes if node.type == "object"]
        self.predicates = [node.id for node in tsg.nodes if node.type == "predicate"]
        self.agents: dict[int, list[int]] = {}
        self.arguments: dict[int, list[tuple[str, int]]] = {}
        self.attributes: dict[int, list[int]] = {}
        self.order: set[tuple[int, int, str]] = set()
        for edge in tsg.edges:
            if edge.type == "agent":
                self.agents.setdefault(edge.source, []).append(edge.target)
            elif edge.type == "patient":
                self.arguments.setdefault(edge.source, []).append(("", edge.target))
            elif edge.type == "prep_arg":
                prep = " ".join((edge.preposition or "").lower().split())
                self.arguments.setdefault(edge.source, []).append((prep, edge.target))
            elif edge.type == "has_attribute":
                self.attributes.setdefault(edge.source, []).append(edge.target)
            elif edge.type in ("before", "overlaps"):
                self.order.add((edge.source, edge.target, edge.type))

    def covers(self, node: int, reference: str) -> bool:
        span = self.spans.get(node)
        if span is None:
            return False
        start, end = self.gold.word_span(reference)
        return span[0] <= start and end <= span[1]

    def label(self, node: int) -> str:
        return " ".join(self.tsg.nodes[node].label.lower().split())


def _arg_matches(graph: _Graph, node: int, prep: str, arg: GoldArg, label: str) -> bool:
    if not any(graph.covers(node, ref) for ref in arg.objects):
        return False
    particles = label.split()[1:]
    for wanted in arg.prepositions:
        if prep == wanted:
            return True
        # "look after" + patient, or "clean" + prep_arg "off" for gold "cleans+off".
        if prep == "" and wanted and wanted.split() == particles[-len(wanted.split()) :]:
            return True
    return False


def _args_right(
    graph: _Graph, predicted: Sequence[tuple[str, int]], gold: Sequence[GoldArg], label: str
) -> bool:
    for arg in gold:
        if not arg.optional and not any(
            _arg_matches(graph, node, prep, arg, label) for prep, node in predicted
        ):
            return False
    return all(
        any(_arg_matches(graph, node, prep, arg, label) for arg in gold) for prep, node in predicted
    )


def _predicate_right(graph: _Graph, node: int, gold: GoldPredicate) -> bool:
    label = graph.label(node)
    agents = [("", target) for target in graph.agents.get(node, [])]
    arguments = graph.arguments.get(node, [])
    if gold.passive:
        # No agent named: the subject may sit in either slot (finsta keeps it as the agent);
        # prepositional arguments ("shown on the screen") stay prepositional.
        gold_preps = [a for a in gold.arguments if a.prepositions != ("",)]
        gold_patients = [a for a in gold.arguments if a.prepositions == ("",)]
        pooled = [GoldArg(a.objects, a.optional) for a in [*gold.agents, *gold_patients]]
        patients = [(p, n) for p, n in arguments if p == ""]
        others = [(p, n) for p, n in arguments if p != ""]
        return _args_right(graph, agents + patients, pooled, label) and _args_right(
            graph, others, gold_preps, label
        )
    return _args_right(graph, agents, gold.agents, label) and _args_right(
        graph, arguments, gold.arguments, label
    )


def _relation_right(graph: _Graph, node: int, gold: GoldRelation) -> bool:
    if graph.label(node) not in gold.prepositions:
        return False
    if not any(graph.covers(agent, gold.subject) for agent in graph.agents.get(node, [])):
        return False
    return any(
        graph.covers(target, gold.object) and prep in gold.prepositions
        for prep, target in graph.arguments.get(node, [])
    )


def score_caption(gold: GoldCaption, tsg: TSG, scores: GoldScores) -> None:
    """Add one caption's counts to ``scores`` (misses are listed in ``scores.misses``)."""
    graph = _Graph(tsg, gold)
    miss: dict[str, Any] = {"id": gold.id, "text": gold.text}
    scores.captions += 1
    # Objects: a gold object is found when an object node's span covers its word.
    wanted = gold.objects
    found = [ref for ref in wanted if any(graph.covers(node, ref) for node in graph.objects)]
    scores.objects += len(wanted)
    scores.objects_found += len(found)
    every = [*gold.objects, *gold.optional_objects]
    extra = [n for n in graph.objects if not any(graph.covers(n, ref) for ref in every)]
    scores.predicted_objects += len(graph.objects)
    scores.predicted_objects_right += len(graph.objects) - len(extra)
    if len(found) < len(wanted):
        miss["objects_missed"] = [ref for ref in wanted if ref not in found]
    if extra:
        miss["objects_extra"] = [graph.label(n) for n in extra]
    # Modifier words: in the name of the object's node or in one of its attributes.
    for obj, word in gold.modifiers:
        scores.modifiers += 1
        nodes = [n for n in graph.objects if graph.covers(n, obj)]
        kept = any(
            graph.covers(n, word) or any(graph.covers(a, word) for a in graph.attributes.get(n, []))
            for n in nodes
        )
        scores.modifiers_kept += kept
        if not kept:
            miss.setdefault("modifiers_dropped", []).append(f"{obj}: {word}")
    # Predicates: candidates are predicted predicates whose span covers the verb.
    used: set[int] = set()
    matched: dict[str, int] = {}
    for gold_predicate in sorted(gold.predicates, key=lambda p: p.optional):
        candidates = [
            node
            for node in graph.predicates
            if node not in used and any(graph.covers(node, a) for a in gold_predicate.anchors)
        ]
        right = [n for n in candidates if _predicate_right(graph, n, gold_predicate)]
        chosen = right[0] if right else (candidates[0] if candidates else None)
        if chosen is not None:
            used.add(chosen)
            matched[gold_predicate.key] = chosen
            for anchor in gold_predicate.anchors:
                matched.setdefault(anchor, chosen)
        if gold_predicate.optional:
            continue
        scores.predicates += 1
        scores.predicates_on_verb += chosen is not None
        scores.predicates_right += bool(right)
        if not right:
            miss.setdefault("predicates_wrong", []).append(
                gold_predicate.key
                + (f" -> {_describe(graph, chosen)}" if chosen is not None else " (no predicate)")
            )
    for relation in sorted(gold.relations, key=lambda r: r.optional):
        node = next(
            (n for n in graph.predicates if n not in used and _relation_right(graph, n, relation)),
            None,
        )
        if node is not None:
            used.add(node)
        if not relation.optional:
            scores.relations += 1
            scores.relations_right += node is not None
            if node is None:
                miss.setdefault("relations_missed", []).append(
                    f"{relation.subject} {'|'.join(relation.prepositions)} {relation.object}"
                )
    unmatched = [n for n in graph.predicates if n not in used and graph.label(n) != "have"]
    scores.predicted_predicates += len(graph.predicates)
    scores.predicted_predicates_unmatched += len(unmatched)
    if unmatched:
        miss["predicates_extra"] = [_describe(graph, n) for n in unmatched]
    # Order words: the edge between the predicates the two sides matched.
    for order in gold.orders:
        scores.orders += 1
        counts = scores.orders_by_kind.setdefault(order.word, [0, 0])
        counts[0] += 1
        firsts = [matched[k] for k in _keys(order.first) if k in matched]
        seconds = [matched[k] for k in _keys(order.second) if k in matched]
        pairs = [(a, b) for a in firsts for b in seconds if a != b]
        if order.kind == "before":
            ok = any((a, b, "before") in graph.order for a, b in pairs)
            reversed_ = any((b, a, "before") in graph.order for a, b in pairs)
        else:
            ok = any(
                (a, b, "overlaps") in graph.order or (b, a, "overlaps") in graph.order
                for a, b in pairs
            )
            reversed_ = False
        scores.orders_right += ok
        counts[1] += ok
        scores.orders_reversed += reversed_ and not ok
        if not ok:
            miss.setdefault("orders_missed", []).append(
                f"{'|'.join(order.first)} {'<' if order.kind == 'before' else '~'} "
                f"{'|'.join(order.second)} ({order.word})"
            )
    if len(miss) > 2:
        scores.misses.append(miss)


def _keys(names: tuple[str, ...]) -> list[str]:
    return ["|".join(names), *names]


def _describe(graph: _Graph, node: int) -> str:
    parts = [graph.label(node)]
    parts += [f"agent={graph.label(a)}" for a in graph.agents.get(node, [])]
    parts += [f"{p or 'patient'}={graph.label(t)}" for p, t in graph.arguments.get(node, [])]
    span = graph.spans.get(node)
    if span is not None:
        parts.append(f"span={graph.tsg.text[span[0] : span[1]]!r}")
    return " ".join(parts)


def score_gold(gold: Sequence[GoldCaption], tsgs: Iterable[TSG]) -> GoldScores:
    """Score TSGs against gold captions, paired in order (their texts must be the same)."""
    scores = GoldScores()
    graphs = list(tsgs)
    if len(graphs) != len(gold):
        raise InputError(f"{len(graphs)} graphs for {len(gold)} gold captions")
    for caption, tsg in zip(gold, graphs, strict=True):
        if tsg.text != caption.text:
            raise InputError(f"{caption.id}: graph of {tsg.text!r}, gold of {caption.text!r}")
        score_caption(caption, tsg, scores)
    return scores


# -- finsta synth captions ---------------------------------------------------------------------
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


class _SynthGraph:
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
    from finsta_cli.synth.text import clause

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


def _fact_predicates(graph: _SynthGraph, fact: dict[str, Any], where: tuple[int, int]) -> set[int]:
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
    graph: _SynthGraph, caption: dict[str, Any], first: int, second: int
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
    from finsta_cli.synth.text import CONCURRENT

    score = SynthOrderScore()
    for caption, tsg in zip(captions, tsgs, strict=True):
        graph = _SynthGraph(tsg)
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
