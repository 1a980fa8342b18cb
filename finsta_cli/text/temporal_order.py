"""The rule parser's last phase: ``before`` / ``overlaps`` edges between a caption's predicates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from finsta_cli.text.tokens import Tok
from finsta_cli.text.words import (
    BEFORE_AFTER,
    CLAUSE_OPENING_DEPS,
    DIRECTION_WORDS,
    OVERLAP_MARKERS,
    SEQUENCERS,
    SUBORDINATORS,
)

if TYPE_CHECKING:
    from finsta_cli.text.graph_builder import GraphBuilder, Predicate


class TemporalOrder:
    """Adds the ``before`` / ``overlaps`` edges to a graph whose predicates are built."""

    def __init__(self, graph: GraphBuilder) -> None:
        self.graph = graph
        self.tokens = graph.tokens
        self.predicates = graph.predicates  # verb token -> predicate

    def build(self) -> None:
        """Order the verb predicates.

        The words that state an order are read where they stand in the caption, since the
        small model often hangs the clauses wrongly ("A, then B" read with A a complement of
        B, "B after A" with the "after" under B's object): a sequencer ("then", "after that",
        "afterwards", ...) in front of a clause puts the clause before it after the one before
        it, even across sentences ("A. Then B."); a conjunction in front of a clause ("after",
        "before", "until", "while", "as", "when", ...) relates it to the clause it depends on,
        or to the main clause after it when it opens the sentence ("After A, B"). A sequencer
        with no verb after it repeats the verb before it ("pours water, then sauce"). Pairs
        no word orders fall back on the parse: conjoined verbs of one subject in clause order,
        participles of the same subject overlapping.
        """
        ordered: set[frozenset[int]] = set()
        self.sequencers_used: set[int] = set()  # sequencers that ordered a clause already
        self.sentences: list[int] = []  # token index -> sentence number
        sentence = 0
        for token in self.tokens:
            self.sentences.append(sentence)
            if token.lower_ in (".", "!", "?"):
                sentence += 1
        for verb_i in sorted(self.predicates):
            self._order_clause(self.tokens[verb_i], ordered)
        for token in self.tokens:
            if token.lower_ in SEQUENCERS and token.i not in self.sequencers_used:
                self._gapped_predicate(token, ordered)
        for predicate in sorted(self.predicates.values(), key=lambda p: p.token):
            self._order_by_parse(predicate, ordered)

    def _order(self, first: Tok, second: Tok, kind: str, ordered: set[frozenset[int]]) -> None:
        a, b = self.predicates[first.i].node, self.predicates[second.i].node
        if a != b:
            ordered.add(frozenset((a, b)))
            self.graph.add_edge(a, b, kind)

    def _clause_start(self, verb: Tok) -> int:
        """The first token of a verb's clause: its subject's (or auxiliary's) first word."""
        start = verb.i
        for child in self.graph.kids[verb.i]:
            if child.i < verb.i and child.dep_ in CLAUSE_OPENING_DEPS:
                start = min(start, min(self.graph.subtree(child)))
        return start

    def _connectives(self, verb: Tok) -> list[Tok]:
        """The order words in front of a verb's clause ("and then", ", after that ,", "while"),
        and a sequencer between its subject and the verb ("the cube then moves")."""
        start = self._clause_start(verb)
        found: list[Tok] = []
        j = start - 1
        while j >= 0:
            token = self.tokens[j]
            lower = token.lower_
            if lower in SEQUENCERS or lower in SUBORDINATORS:
                found.append(token)
            elif lower in ("that", "this") and j > 0 and self.tokens[j - 1].lower_ in BEFORE_AFTER:
                found.append(self.tokens[j - 1])  # "after that": a sequencer
                j -= 1
            elif not (token.is_punct or token.dep_ == "cc" or lower in ("and", "but", "first")):
                break
            j -= 1
        for token in self.tokens[start + 1 : verb.i]:
            if token.lower_ in SEQUENCERS and token.head is verb:
                found.append(token)
        return found

    def _governor(self, before: int, sentence_only: bool) -> Tok | None:
        """The verb a clause at token ``before`` follows: the last predicate verb before it,
        preferring main clauses to relative clauses and participles of nouns."""
        sentence = self.sentences[before]
        earlier = [
            self.tokens[i]
            for i in sorted(self.predicates)
            if i < before and (not sentence_only or self.sentences[i] == sentence)
        ]
        main = [t for t in earlier if t.dep_ not in ("relcl", "acl", "amod", "xcomp")]
        chosen = main or earlier
        return chosen[-1] if chosen else None

    def _main_after(self, verb: Tok) -> Tok | None:
        """The main clause after a sentence-opening subordinate clause ("After A, B")."""
        sentence = self.sentences[verb.i]
        later = [
            self.tokens[i]
            for i in sorted(self.predicates)
            if i > verb.i and self.sentences[i] == sentence
        ]
        after_comma = [
            t for t in later if any(self.tokens[k].lower_ in (",", ";") for k in range(verb.i, t.i))
        ]
        found = after_comma or later
        return found[0] if found else None

    def _order_clause(self, verb: Tok, ordered: set[frozenset[int]]) -> None:
        if verb.dep_ == "xcomp":
            return  # "returns later to add": a purpose, not a next event
        for word in self._connectives(verb):
            lower = word.lower_
            if lower in SEQUENCERS or (lower in ("after", "before") and self._is_anaphoric(word)):
                earlier = self._governor(self._clause_start(verb), sentence_only=False)
                if earlier is None:
                    continue
                self.sequencers_used.add(word.i)
                if lower == "before":  # "before that, B": B came first
                    self._order(verb, earlier, "before", ordered)
                else:
                    self._order(earlier, verb, "before", ordered)
                return
            relation = SUBORDINATORS[lower]
            main = self._governor(word.i, sentence_only=True)
            opening = main is None
            if opening:
                main = self._main_after(verb)
            if main is None:
                continue
            if relation == "overlaps":
                self._order(main, verb, "overlaps", ordered)
            elif relation == "after":  # "B after A", "After A, B": A first
                self._order(verb, main, "before", ordered)
            else:  # "A before B", "A until B", "Before B, A"
                self._order(main, verb, "before", ordered)
            return

    def _is_anaphoric(self, word: Tok) -> bool:
        """ "after that" / "before this": the preposition points back at the clause before."""
        following = self.tokens[word.i + 1] if word.i + 1 < len(self.tokens) else None
        return following is not None and following.lower_ in ("that", "this")

    def _gapped_predicate(self, word: Tok, ordered: set[frozenset[int]]) -> None:
        """ "drives a car onto a field and then back to the street", "pours water, then
        sauce": a sequencer before words with no verb of their own repeats the verb before it.
        The new predicate has that verb's label, span and agents, takes the words after the
        sequencer as its arguments (they leave the first predicate), and comes after it."""
        remnant = word.head
        if remnant is word or remnant.i < word.i or remnant.i in self.predicates:
            return
        verb = remnant.head
        while verb.i not in self.predicates and verb.head is not verb and verb.dep_ != "ROOT":
            verb = verb.head
        if verb.i not in self.predicates or verb.i > word.i:
            return
        first = self.predicates[verb.i]
        old = self.graph.nodes[first.node]
        moved: list[tuple[int, str, str | None]] = []  # (target, edge type, preposition)
        adverbs: list[Tok] = []
        if remnant.dep_ == "prep":
            label, objects, _ = self.graph.prep_targets(remnant)
            moved += [
                (node, "prep_arg", label) for obj in objects for node in self.graph.expand(obj)
            ]
        elif self.graph.object_for(remnant) is not None:
            for node in self.graph.expand_single(remnant):
                kind = "patient"
                for edge in self.graph.edges:
                    if edge["source"] == first.node and edge["target"] == node:
                        kind = edge["type"]
                        moved.append((node, kind, edge["preposition"]))
                        break
                else:
                    moved.append((node, kind, None))
        elif remnant.lower_ in DIRECTION_WORDS or remnant.pos_ == "ADV":
            adverbs.append(remnant)
            for child in self.graph.kids[remnant.i]:
                if child.dep_ == "prep":
                    label, objects, _ = self.graph.prep_targets(child)
                    moved += [
                        (node, "prep_arg", label)
                        for obj in objects
                        for node in self.graph.expand(obj)
                    ]
        if not moved and not adverbs:
            return
        node = self.graph.add_node("predicate", old["label"], old["span"], lemma=old["lemma"])
        for agent in first.agents:
            self.graph.add_edge(node, agent, "agent")
        for target, kind, preposition in moved:
            self._drop_edge(first.node, target)
            self.graph.add_edge(node, target, kind, preposition if kind == "prep_arg" else None)
        for adverb in adverbs:
            pred_attr = self.graph.add_node("pred_attr", adverb.lower_, self.graph.span([adverb]))
            self.graph.add_edge(node, pred_attr, "pred_attr")
        ordered.add(frozenset((first.node, node)))
        self.graph.add_edge(first.node, node, "before")
        self.sequencers_used.add(word.i)

    def _drop_edge(self, source: int, target: int) -> None:
        kept = []
        for edge in self.graph.edges:
            if edge["source"] == source and edge["target"] == target:
                self.graph.edge_keys.discard((source, target, edge["type"], edge["preposition"]))
            else:
                kept.append(edge)
        self.graph.edges[:] = kept

    def _order_by_parse(self, predicate: Predicate, ordered: set[frozenset[int]]) -> None:
        """Order a verb no word orders from the parse: a conjoined verb of the same subject
        after the first, a participle or "while" clause overlapping its head."""
        verb = self.tokens[predicate.token]
        head = verb.head
        markers = {
            c.lower_ for c in self.graph.kids[verb.i] if c.dep_ in ("advmod", "mark", "cc", "prep")
        }
        if verb.dep_ == "pcomp" and head.dep_ == "prep":
            if head.lower_ in ("about", "of", "on", "for"):
                return  # "talks about cooking pasta": a topic, not an event
            markers.add(head.lower_)  # "before running": the preposition is the marker
            head = head.head
        if head.i == verb.i or head.i not in self.predicates:
            return
        other = self.predicates[head.i]
        if frozenset((other.node, predicate.node)) in ordered:
            return
        if verb.dep_ == "conj":
            if markers & OVERLAP_MARKERS:
                self.graph.add_edge(other.node, predicate.node, "overlaps")
            elif set(predicate.agents) == set(other.agents):
                # "picks up the box and leaves": one subject's actions in the order told.
                self.graph.add_edge(other.node, predicate.node, "before")
        elif verb.dep_ in ("advcl", "prep", "pcomp"):
            if markers & {"after", "once"}:
                self.graph.add_edge(predicate.node, other.node, "before")
            elif markers & {"before", "until"}:
                self.graph.add_edge(other.node, predicate.node, "before")
            elif markers & OVERLAP_MARKERS or verb.tag_ == "VBG":
                self.graph.add_edge(other.node, predicate.node, "overlaps")
            elif markers & SEQUENCERS:
                self.graph.add_edge(other.node, predicate.node, "before")
