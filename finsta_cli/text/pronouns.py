"""Pronoun resolution for the graph builder: "it", "they", "he", "who" -> an earlier object node."""

from __future__ import annotations

from typing import TYPE_CHECKING

from finsta_cli.text.tokens import Tok
from finsta_cli.text.words import (
    INDEFINITE_PEOPLE,
    OBJECT_DEPS,
    PERSON_NOUNS,
    PERSON_PRONOUNS,
    SUBJECT_DEPS,
)

if TYPE_CHECKING:
    from finsta_cli.text.graph_builder import GraphBuilder


class PronounResolver:
    """Finds the object node a pronoun refers to, in a graph whose objects are being built.

    "it" / "they" resolve to the nearest earlier object of the same number that is not an
    argument of the pronoun's own verb (an object pronoun first to the subject of a clause
    before); "he" / "she" to a person word before, or a new "man" / "woman" node when there is
    none; "who" / "that" to the noun their relative clause modifies.
    """

    def __init__(self, graph: GraphBuilder) -> None:
        self.graph = graph

    def resolve(self, token: Tok) -> int | None:
        """The object node a pronoun (or "who" / "that" of a relative clause) stands for."""
        lower = token.lower_
        if lower in ("who", "that", "which", "whom"):
            verb = token.head
            while verb.dep_ == "conj" and verb.head.i != verb.i:
                verb = verb.head
            if verb.dep_ in ("relcl", "acl") and verb.head.i in self.graph.objects:
                return self.graph.objects[verb.head.i]
            return None
        if lower in ("it", "its", "he", "him", "she", "her"):
            want = "singular"
        elif lower in ("they", "them", "their"):
            want = "plural"
        else:
            return None
        # The nearest earlier object of that number that is not an argument of the same verb.
        own = self.graph.subtree(token.head) if token.dep_ != "nsubj" else set()
        own_subjects = {c.i for c in self.graph.kids[token.head.i] if c.dep_ in SUBJECT_DEPS}
        if token.dep_ == "pobj" and token.head.head.pos_ == "VERB":
            # "puts butter on it", "the dog runs after it": neither the butter nor the dog
            # ("pours a glass of milk into it": nor the milk).
            for c in self.graph.kids[token.head.head.i]:
                if c.dep_ in OBJECT_DEPS:
                    own_subjects |= self.graph.subtree(c)
                elif c.dep_ in SUBJECT_DEPS:
                    own_subjects.add(c.i)
        if lower in ("it", "them") and token.dep_ != "nsubj":
            # "a car stops at the light and then a bus passes it": an object pronoun points
            # back at the subject of a clause before, when one fits, before the nearest noun.
            subject = self._earlier_subject(token, want, own_subjects)
            if subject is not None:
                return subject
        if lower in PERSON_PRONOUNS:
            # "when the food is ready he serves it": a person word before any subject.
            for candidate in reversed(range(token.i)):
                node_id = self.graph.objects.get(candidate)
                if node_id is None or candidate in own_subjects:
                    continue
                if self._is_person_word(self.graph.tokens[candidate]):
                    return node_id
        for candidate in reversed(range(token.i)):
            node_id = self.graph.objects.get(candidate)
            if node_id is None or candidate in own_subjects:
                continue
            if token.dep_ == "pobj" and candidate in own and self._is_agent_of(candidate, token):
                continue
            if lower in PERSON_PRONOUNS and not self._is_person(self.graph.tokens[candidate]):
                continue
            if self.graph.nodes[node_id].get("number") in (want, None):
                return node_id
        if lower in PERSON_PRONOUNS and token.dep_ != "poss":
            # "he threw the ball": with no earlier person, FACTUAL names him "man".
            node = self.graph.add_node(
                "object",
                PERSON_PRONOUNS[lower],
                self.graph.span([token]),
                lemma=PERSON_PRONOUNS[lower],
                number="singular",
            )
            self.graph.objects[token.i] = node
            return node
        return None

    def _earlier_subject(self, pronoun: Tok, number: str, excluded: set[int]) -> int | None:
        """The object node of the nearest subject before the pronoun's clause that is not a
        person, of the pronoun's number, and not one of ``excluded``; when that subject is a
        person (or the clause shares the pronoun's subject), the nearest direct object before
        of the pronoun's number ("a man pours milk into a glass then drinks it": the milk)."""
        verb = pronoun.head.head if pronoun.dep_ == "pobj" else pronoun.head
        excluded = set(excluded)
        while verb.head is not verb and verb.dep_ in ("conj", "xcomp", "advcl", "dep"):
            if any(c.dep_ in ("nsubj", "nsubjpass") for c in self.graph.kids[verb.i]):
                break
            # "a dog runs to the ball and picks it up": the dog picks; "it" is not the dog.
            verb = verb.head
            excluded |= {c.i for c in self.graph.kids[verb.i] if c.dep_ in ("nsubj", "nsubjpass")}
        for candidate in reversed(range(pronoun.i)):
            token = self.graph.tokens[candidate]
            if token.dep_ not in ("nsubj", "nsubjpass") or candidate in excluded:
                continue
            node_id = self.graph.objects.get(candidate)
            if node_id is not None and self._is_person_word(token):
                return self._earlier_object(pronoun, number, excluded)
            if node_id is None:
                return None
            return node_id if self.graph.nodes[node_id].get("number") in (number, None) else None
        return self._earlier_object(pronoun, number, excluded)

    def _earlier_object(self, pronoun: Tok, number: str, excluded: set[int]) -> int | None:
        for candidate in reversed(range(pronoun.i)):
            token = self.graph.tokens[candidate]
            if token.dep_ != "dobj" or candidate in excluded or self._is_person_word(token):
                continue
            node_id = self.graph.object_for(token) if token.pos_ != "PRON" else None
            if node_id is not None and self.graph.nodes[node_id].get("number") in (number, None):
                return node_id
        return None

    def _is_person_word(self, token: Tok) -> bool:
        return token.lemma_.lower() in PERSON_NOUNS or token.lower_ in INDEFINITE_PEOPLE

    def _is_person(self, token: Tok) -> bool:
        return token.lemma_.lower() in PERSON_NOUNS or token.dep_ in ("nsubj", "nsubjpass")

    def _is_agent_of(self, candidate: int, pronoun: Tok) -> bool:
        verb = pronoun.head.head if pronoun.dep_ == "pobj" else pronoun.head
        return any(
            agent == self.graph.objects.get(candidate) for agent in self.graph.agents_of(verb)
        )
