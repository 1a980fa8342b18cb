"""The rule parser's graph builder: one caption's repaired tokens -> a TSG record as plain data.

:class:`GraphBuilder` reads the tokens (:mod:`finsta_cli.text.tokens`, after
:mod:`finsta_cli.text.verb_repair`) and builds, phase by phase:

- objects: nouns and proper nouns (not pronouns: "it" / "they" are resolved to the nearest
  earlier object of the same number; "who" / "that" to the noun a relative clause modifies;
  :class:`~finsta_cli.text.pronouns.PronounResolver`);
  quantity nouns ("a bunch of birds") give way to what they count;
- attributes: adjectives (with their adverbs: "partly cloudy"), numbers ("two" -> 2),
  predicate adjectives ("the car is red"), and noun compounds where FACTUAL's conventions make
  them attributes ("brick wall"); other compounds are merged into the name ("coffee table") or
  become an object that has the head ("clock face" -> clock have face);
- predicates: verbs with agent / patient / prepositional-argument edges (passives with a "by"
  agent reversed, phrasal verbs "pick up", intransitive verbs kept), prepositions between nouns
  ("cup on the table"), multi-word prepositions ("in front of", "next to", "on top of"),
  possession ("man's face" -> man have face);
- predicate attributes: adverbs of a verb ("quickly", "again");
- conjunctions expanded over subjects, objects, verbs and adjectives;
- temporal order of predicates: ``before`` (clause order, "then", "after", "before") and
  ``overlaps`` ("while", "as", participles of the same subject), the last phase
  (:class:`~finsta_cli.text.temporal_order.TemporalOrder`).

Every node keeps its character span in the caption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from finsta_cli.schema import TSG
from finsta_cli.text.conventions import Conventions
from finsta_cli.text.pronouns import PronounResolver
from finsta_cli.text.temporal_order import TemporalOrder
from finsta_cli.text.tokens import LemmaCache, Tok, copy_tokens, is_nominal
from finsta_cli.text.verb_repair import repair_verbs
from finsta_cli.text.words import (
    ACTION_PREPOSITIONS,
    ASPECT_NOUNS,
    BARE_PLACE_NOUNS,
    BY_PLACES,
    CLAUSE_PREPOSITIONS,
    COLOUR_WORDS,
    COMPANION_NOUNS,
    DIRECTION_SIDES,
    DIRECTION_WORDS,
    EXPLETIVES,
    INDEFINITE_PEOPLE,
    INSTRUMENT_NOUNS,
    MEDIA_NOUNS,
    NON_INSTRUMENT_VERBS,
    NON_MANNER_ADVERBS,
    NON_SCENE_MODIFIERS,
    NUMBER_WORDS,
    OBJECT_DEPS,
    PATH_PREPOSITIONS,
    PERSON_NOUNS,
    PLACE_VERBS,
    RELATIONAL_NOUNS,
    SEQUENCERS,
    SHADES,
    SHOWING_NOUNS,
    SIDE_PREPOSITIONS,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc


@dataclass
class Predicate:
    """A verb's predicate node, the verb's token index and the predicate's agent nodes."""

    node: int
    token: int
    agents: list[int] = field(default_factory=list)


class GraphBuilder:
    """Builds one caption's TSG from its spaCy Doc, phase by phase (:meth:`build`)."""

    def __init__(
        self,
        doc: Doc,
        conventions: Conventions,
        text: str | None = None,
        lemmas: LemmaCache | None = None,
    ) -> None:
        self.doc = doc
        self.text = doc.text if text is None else text  # Doc.text joins its tokens each call
        self.tokens: list[Tok] = copy_tokens(doc, self.text, lemmas)
        repair_verbs(self.tokens, conventions.nouns)
        self.kids: list[list[Tok]] = [[] for _ in self.tokens]  # children, built once
        for token in self.tokens:
            if token.head.i != token.i:
                self.kids[token.head.i].append(token)
        self.conv = conventions
        self.pronouns = PronounResolver(self)
        # Plain dicts, validated once as a TSG record at the end (one pydantic call per caption).
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.edge_keys: set[tuple[int, int, str, str | None]] = set()
        self.objects: dict[int, int] = {}  # token index -> object node
        self.absorbed: set[int] = set()  # tokens merged into a name or a preposition
        self.dropped: set[int] = set()  # quantity nouns: "bunch" of birds
        self.predicates: dict[int, Predicate] = {}  # verb token -> predicate
        self.fronted: dict[int, Tok] = {}  # verb token -> object fronted before its subject
        self.gerund_compounds: dict[int, Tok] = {}  # noun token -> "cutting" of cutting board
        self.name_words: dict[int, list[Tok]] = {}  # object token -> other words of its name

    def is_nominal(self, token: Tok) -> bool:
        return is_nominal(token, self.kids[token.i], self.conv.nouns)

    # -- nodes and edges -------------------------------------------------------------------
    def add_node(self, kind: str, label: str, span: tuple[int, int] | None, **extra: Any) -> int:
        label = " ".join(label.split())
        if not label:  # a token of symbols or spaces: name it by its caption text
            label = " ".join(self.text[span[0] : span[1]].split()) if span else ""
        node = {
            "id": len(self.nodes), "type": kind, "label": label or "_", "lemma": None,
            "span": span, "number": None, "count": None,
        }  # fmt: skip
        node.update(extra)
        self.nodes.append(node)
        return len(self.nodes) - 1

    def add_edge(self, source: int, target: int, kind: str, preposition: str | None = None) -> None:
        key = (source, target, kind, preposition)
        if source == target or key in self.edge_keys:
            return
        self.edge_keys.add(key)
        edge = {"source": source, "target": target, "type": kind, "preposition": preposition}
        self.edges.append(edge)

    def span(self, tokens: Sequence[Tok]) -> tuple[int, int]:
        if len(tokens) == 1:
            token = tokens[0]
            return token.idx, token.idx + len(token.text)
        start = min(t.idx for t in tokens)
        end = max(t.idx + len(t.text) for t in tokens)
        return start, end

    # -- objects -----------------------------------------------------------------------------
    def object_for(self, token: Tok) -> int | None:
        """The object node a token stands for (resolving pronouns and quantity nouns)."""
        seen = 0
        while token.i in self.dropped and seen < 4:
            target = self._of_object(token)
            if target is None:
                return None
            token, seen = target, seen + 1
        if token.i in self.objects:
            return self.objects[token.i]
        if token.pos_ == "PRON" or token.lower_ in EXPLETIVES:
            return self.pronouns.resolve(token)
        return None

    def _of_object(self, token: Tok) -> Tok | None:
        for child in self.kids[token.i]:
            if child.dep_ == "prep" and child.lower_ == "of":
                for grandchild in self.kids[child.i]:
                    if grandchild.dep_ == "pobj":
                        return grandchild
        return None

    def subtree(self, token: Tok) -> set[int]:
        found = {token.i}
        for child in self.kids[token.i]:
            found |= self.subtree(child)
        return found

    def agents_of(self, verb: Tok) -> list[int]:
        """The agent object nodes of a verb's predicate (none before it is built)."""
        predicate = self.predicates.get(verb.i)
        return predicate.agents if predicate else []

    def dangling_prep(self, verb: Tok) -> Tok | None:
        """A preposition that ends the caption with no object: "the water the bird stands on"."""
        for child in self.kids[verb.i]:
            if (
                child.dep_ in ("prep", "prt")
                and child.i > verb.i
                and not any(c.dep_ in ("pobj", "pcomp") for c in self.kids[child.i])
            ):
                rest = [t for t in self.tokens[child.i + 1 :] if not t.is_punct]
                if not rest:
                    return child
        return None

    def _find_fronted_objects(self) -> None:
        # "stool man is sitting on": spaCy reads "stool man" as one compound; the first noun is
        # the object the dangling preposition points back to.
        for verb in self.tokens:
            if verb.dep_ != "ROOT" or self.dangling_prep(verb) is None:
                continue
            for subject in (c for c in self.kids[verb.i] if c.dep_ in ("nsubj", "nsubjpass")):
                compounds = [
                    c
                    for c in self.kids[subject.i]
                    if c.dep_ in ("compound", "amod")
                    and c.i < subject.i
                    and c.pos_ in ("NOUN", "PROPN")
                    and c.lower_ not in COLOUR_WORDS  # "the cyan cylinder moves up"
                ]
                if compounds:
                    self.fronted[verb.i] = compounds[0]

    def _find_gerund_compounds(self) -> None:
        # "on cutting board": the small model reads "cutting" as a verb taking "board"
        # ("after baking it", "before eating lunch": an action, not a name).
        for token in self.tokens:
            if token.dep_ == "pcomp" and token.tag_ == "VBG" and token.i + 1 < len(self.tokens):
                following = self.tokens[token.i + 1]
                if following.pos_ == "PRON" or token.head.lower_ in (
                    CLAUSE_PREPOSITIONS | ACTION_PREPOSITIONS
                ):
                    continue
                if following.dep_ == "dobj" and following.head.i == token.i:
                    self.gerund_compounds[following.i] = token
                    self.absorbed.add(token.i)

    def build_objects(self) -> None:
        self._find_gerund_compounds()
        self._find_fronted_objects()
        for fronted in self.fronted.values():
            self._add_object(fronted)
        for token in self.tokens:
            if not self.is_nominal(token) or (token.dep_ == "compound" and token.head.i != token.i):
                continue
            if self._is_relational_prep_noun(token):
                continue
            if (
                token.dep_ == "pobj"
                and self._is_bare_relational(token)
                and not self._is_verb_direction(token)
            ):
                continue  # "windows on the front" (but "slides to the right" keeps "right")
            if token.dep_ in ("npadvmod", "amod", "advmod") and token.head.pos_ in ("ADJ", "VERB"):
                continue  # "white whipped cream": an attribute word, read with its head
            if token.dep_ == "amod" and token.head.pos_ in ("NOUN", "PROPN"):
                continue  # "white string": an attribute the small model tagged as a name
            if self._is_quantity(token):
                self.dropped.add(token.i)
                continue
            self._add_object(token)
        # Compound modifiers that are objects of their own ("clock face" -> clock have face).
        for token in self.tokens:
            if token.dep_ == "compound" and token.head.i in self.objects:
                policy = self.modifier_policy(token, token.head)
                if policy == "have" and self.is_nominal(token):
                    node = self.add_node(
                        "object",
                        token.lower_,
                        self.span([token]),
                        lemma=token.lemma_.lower(),
                        number="plural" if token.tag_ in ("NNS", "NNPS") else "singular",
                    )
                    self.objects[token.i] = node
                    self._possession(node, self.objects[token.head.i], token)

    def _is_relational_prep_noun(self, token: Tok) -> bool:
        # "in front of the car": front is part of the preposition, not an object.
        return (
            token.lower_ in RELATIONAL_NOUNS
            and token.dep_ == "pobj"
            and token.head.dep_ in ("prep", "agent")
            and self._of_object(token) is not None
        )

    def _is_verb_direction(self, token: Tok) -> bool:
        """ "slides to the right", "enters from the left": the side a motion goes to or comes
        from is kept as the verb's prepositional argument (an object named by the side)."""
        prep = token.head
        return (
            token.lower_ in DIRECTION_SIDES
            and prep.dep_ == "prep"
            and prep.lower_ in SIDE_PREPOSITIONS
            and prep.head.pos_ == "VERB"
            and prep.head is not prep
        )

    def _is_bare_relational(self, token: Tok) -> bool:
        return token.lower_ in BARE_PLACE_NOUNS and not any(
            c.dep_ in ("prep", "amod", "compound", "poss", "nummod") for c in self.kids[token.i]
        )

    def _is_quantity(self, token: Tok) -> bool:
        if self._of_object(token) is None:
            return False
        return self._of_reading(token) == "drop"

    def _of_reading(self, token: Tok) -> str:
        """How "X of Y" reads for the noun X: FACTUAL's convention, or "X of Y" for what a
        video shows ("a video of a car")."""
        if token.lower_ not in self.conv.of_heads:
            if token.lower_ in MEDIA_NOUNS:
                return "fwd:of"
            if token.lower_ in ASPECT_NOUNS:
                return "rev:have"  # "the features of a phone": the phone has them
        return self.conv.of_policy(token.lower_)

    def _name_tokens(self, token: Tok) -> list[Tok]:
        """The head noun with the compounds merged into its name, in caption order."""
        merged: list[Tok] = []

        def visit(head: Tok) -> None:
            for child in self.kids[head.i]:
                if (
                    (child.dep_ == "compound" or (child.dep_ == "amod" and child.i == head.i - 1))
                    and child.i < head.i
                    and child.i not in self.objects
                    and self.modifier_policy(child, token) == "merge"
                ):
                    merged.append(child)
                    visit(child)

        visit(token)
        if token.i in self.gerund_compounds:
            merged.append(self.gerund_compounds[token.i])
        return sorted([*merged, token], key=lambda t: t.i)

    def modifier_policy(self, modifier: Tok, head: Tok) -> str:
        """What the conventions make of ``modifier`` before ``head`` (attribute, merge, ...)."""
        default = self.conv.default_compound if modifier.dep_ == "compound" else "attribute"
        if modifier.dep_ == "compound" and (
            modifier.pos_ not in ("NOUN", "PROPN") or modifier.lower_ in COLOUR_WORDS
        ):
            default = "attribute"  # "cyan cone": a colour is the cone's attribute
        dep = modifier.dep_ if modifier.dep_ in ("amod", "compound", "nummod") else "amod"
        return self.conv.modifier_policy(dep, modifier.lower_, head.lower_, default)

    def _add_object(self, token: Tok) -> None:
        words = self._name_tokens(token)
        for word in words:
            if word.i != token.i:
                self.absorbed.add(word.i)
        self.name_words[token.i] = [word for word in words if word.i != token.i]
        label = " ".join(word.lower_ for word in words)
        lemma = token.lemma_.lower()
        if token.lower_ in INDEFINITE_PEOPLE:
            label = lemma = "person"  # "someone is cooking": FACTUAL's name for them
        if token.lower_ == "one" and self.objects:
            # "a red motorcycle beside a black one": one names the earlier object again.
            earlier = self.nodes[self.objects[max(self.objects)]]
            label, lemma = earlier["label"], earlier.get("lemma") or earlier["label"]
        plural = token.plural
        node = self.add_node(
            "object",
            label,
            self.span(words),
            lemma=lemma,
            number="plural" if plural else "singular",
        )
        self.objects[token.i] = node

    # -- attributes --------------------------------------------------------------------------
    def build_attributes(self) -> None:
        for token_index, node_id in list(self.objects.items()):
            token = self.tokens[token_index]
            if self.nodes[node_id]["label"] != token.lower_ and token_index in self.absorbed:
                continue
            for child in self.kids[token.i]:
                self._modifier(node_id, token, child)
            for word in self.name_words.get(token_index, ()):
                # "teal canopy umbrella": "teal" hangs on "canopy", merged into the name.
                for child in self.kids[word.i]:
                    if child.i not in self.absorbed and self._nested_attribute(child, token):
                        self._modifier(node_id, token, child)
            # "a pair of shoes": the dropped quantity noun counts what it names.
            if (
                token.dep_ == "pobj"
                and token.head.lower_ == "of"
                and token.head.head.i in self.dropped
            ):
                quantity = token.head.head
                count = NUMBER_WORDS.get(quantity.lower_)
                if count is not None and count > 1:
                    self._count(node_id, count, quantity)
                for child in self.kids[quantity.i]:
                    if child.dep_ in ("amod", "nummod"):
                        self._modifier(node_id, token, child)

    def _nested_attribute(self, child: Tok, head: Tok) -> bool:
        """Whether a modifier of a word merged into a name describes the object: an adjective,
        a colour, or a noun the conventions read as an attribute ("metal street sign")."""
        if child.dep_ == "amod" or (child.dep_ == "compound" and child.lower_ in COLOUR_WORDS):
            return True
        return child.dep_ == "compound" and (
            self.conv.modifier_policy("compound", child.lower_, head.lower_, "drop") == "attribute"
        )

    def _modifier(self, node_id: int, head: Tok, child: Tok) -> None:
        dep = child.dep_
        if dep in ("amod", "nummod", "compound") and child.i not in self.absorbed:
            if dep == "compound" and child.i in self.objects:
                return  # an object of its own ("clock face")
            policy = self.modifier_policy(child, head)
            if policy == "merge" and dep != "compound":
                return  # "polar bear": in the name (_name_tokens)
            if policy == "drop":
                if self._kept_scene_word(child, head):
                    self._attribute(node_id, child, nested=False)  # the word alone
                return
            if dep == "nummod" or child.pos_ == "NUM":
                count = NUMBER_WORDS.get(child.lower_)
                if count is None and child.text.isascii() and child.text.isdigit():
                    count = int(child.text)
                if count is not None:
                    self._count(node_id, count, child)
                    return
            for adjective in self._conjuncts(child):
                self._attribute(node_id, adjective)
        elif dep == "poss":
            owner = self.object_for(child)
            if owner is not None and child.pos_ != "PRON":
                self._possession(owner, node_id, child)

    def _kept_scene_word(self, modifier: Tok, head: Tok) -> bool:
        """Whether a modifier FACTUAL drops stays an attribute: it says what the object is like
        ("snowy", "bathroom" of "bathroom floor"), not how many or which ("other", "several")
        and is not a number. Only words in front of the object that the FACTUAL writer knows to
        leave out again (:meth:`Conventions.drops_attribute`) are kept, so FACTUAL facts stay
        as they were."""
        return (
            modifier.i < head.i
            and self.conv.drops_attribute(modifier.lower_, head.lower_)
            and modifier.dep_ != "nummod"
            and modifier.pos_ in ("ADJ", "NOUN", "PROPN", "VERB", "X")  # "snowy": X (FW)
            and modifier.text.isalpha()
            and len(modifier.text) > 1
            and modifier.lower_ not in NON_SCENE_MODIFIERS
            and modifier.lower_ not in NUMBER_WORDS
        )

    def _count(self, node_id: int, count: int, token: Tok) -> None:
        self.nodes[node_id]["count"] = count
        if count > 1:
            attribute = self.add_node("attribute", str(count), self.span([token]))
            self.add_edge(node_id, attribute, "has_attribute")

    def _attribute(self, node_id: int, adjective: Tok, nested: bool = True) -> None:
        words = [adjective]
        for child in self.kids[adjective.i] if nested else ():
            if child.i > adjective.i:
                if child.dep_ == "prt":
                    words.append(child)  # "lit up"
            elif child.dep_ in ("advmod", "npadvmod", "amod", "compound"):
                if (child.pos_ == "ADV" and child.lower_ not in NON_MANNER_ADVERBS) or (
                    child.lower_ in SHADES
                ):
                    words.append(child)  # "partly cloudy", "dark brown"
                elif child.pos_ in ("ADJ", "NOUN", "PROPN", "VERB"):
                    self._attribute(node_id, child)  # "white whipped cream": two attributes
        words.sort(key=lambda t: t.i)
        label = " ".join(w.lower_ for w in words)
        attribute = self.add_node("attribute", label, self.span(words))
        self.add_edge(node_id, attribute, "has_attribute")

    def _conjuncts(self, token: Tok) -> list[Tok]:
        found = [token]
        for child in self.kids[token.i]:
            if child.dep_ == "conj" and child.pos_ in ("ADJ", "VERB", "NOUN", "PROPN", "NUM"):
                found.extend(self._conjuncts(child))
        return found

    def _possession(self, owner: int, owned: int, token: Tok) -> None:
        predicate = self.add_node("predicate", "have", self.span([token]), lemma="have")
        self.add_edge(predicate, owner, "agent")
        self.add_edge(predicate, owned, "patient")

    # -- arguments ---------------------------------------------------------------------------
    def expand(self, token: Tok) -> list[int]:
        """The object nodes a token stands for, with its conjuncts ("a man and a woman")."""
        found: list[int] = []
        node = self.object_for(token)
        if node is not None:
            found.append(node)
        for child in self.kids[token.i]:
            if child.dep_ == "conj":
                found.extend(self.expand(child))
            if child.dep_ == "appos":
                found.extend(self.expand(child)[1:])
        return found

    def _conjoined_preps(self, prep: Tok) -> list[Tok]:
        """Prepositions conjoined to ``prep`` ("about X and about Y"), found through the
        conjunct's place in the parse: under the preposition or under its object."""
        found = []
        for head in [prep, *(c for c in self.kids[prep.i] if c.dep_ == "pobj")]:
            for child in self.kids[head.i]:
                if child.dep_ == "conj" and child.pos_ == "ADP":
                    found.append(child)
                    found.extend(self._conjoined_preps(child))
        return found

    def _is_prep_adverb(self, token: Tok) -> bool:
        # "next to", "close to", "away from": an adverb heading the preposition.
        return token.dep_ in ("advmod", "amod", "npadvmod") and any(
            c.dep_ == "prep" for c in self.kids[token.i]
        )

    def prep_targets(self, prep: Tok) -> tuple[str, list[Tok], list[Tok]]:
        """A preposition's label (multi-word ones joined), its objects and its words."""
        if prep.dep_ not in ("prep", "agent") and not (prep.dep_ == "conj" and prep.pos_ == "ADP"):
            inner_prep = next((c for c in self.kids[prep.i] if c.dep_ == "prep"), None)
            if inner_prep is None:
                return prep.lower_, [], [prep]
            label, objs, more = self.prep_targets(inner_prep)
            return f"{prep.lower_} {label}", objs, [prep, *more]
        words = [prep]
        label_words = [prep.lower_]
        objects = [c for c in self.kids[prep.i] if c.dep_ in ("pobj", "pcomp") and c.pos_ != "ADP"]
        objects = [
            next((g for g in self.kids[c.i] if g.i in self.gerund_compounds), c) for c in objects
        ]
        inner = [
            c
            for c in self.kids[prep.i]
            if c.dep_ == "prep" or (c.dep_ == "pcomp" and c.pos_ == "ADP")
        ]
        if not objects and inner:
            # "in between the tracks", "out of the box"
            label, objs, more = self.prep_targets(inner[0])
            return f"{prep.lower_} {label}", objs, [prep, *more]
        if (
            objects
            and objects[0].lower_ in RELATIONAL_NOUNS
            and self._is_relational_prep_noun(objects[0])
        ):
            noun = objects[0]
            of = next(c for c in self.kids[noun.i] if c.dep_ == "prep" and c.lower_ == "of")
            words += [noun, of]
            label_words += [noun.lower_, "of"]
            objects = [c for c in self.kids[of.i] if c.dep_ == "pobj"]
        return " ".join(label_words), objects, words

    def build_predicates(self) -> None:
        for token in self.tokens:
            if token.i in self.objects or token.i in self.dropped or token.i in self.absorbed:
                continue
            if token.lemma_ == "have" and token.dep_ == "aux" and token.head.i in self.objects:
                self._have_aux(token)
            elif token.pos_ in ("VERB", "AUX") and not self._is_auxiliary(token):
                self._verb(token)
        for token in self.tokens:
            if token.i in self.objects or token.i in self.dropped:
                self._noun_relations(token)
        self._copulas()

    def _have_aux(self, token: Tok) -> None:
        # "the bird has beak": the small model makes "has" an auxiliary of the noun.
        owned = token.head
        for subject in (c for c in self.kids[owned.i] if c.dep_ in ("nsubj", "nsubjpass")):
            for owner in self.expand(subject):
                for target in self.expand(owned):
                    self._possession(owner, target, token)

    def _is_auxiliary(self, token: Tok) -> bool:
        if token.dep_ in ("aux", "auxpass"):
            return True
        # A copula's arguments are read in _copulas.
        return token.lemma_ == "be"

    def _verb_subjects(self, verb: Tok) -> tuple[list[int], bool]:
        """The verb's agents and whether it is passive with the agent unknown."""
        agents: list[int] = []
        passive = False
        for child in self.kids[verb.i]:
            if child.dep_ in ("nsubj", "csubj"):
                agents += self.expand(child)
            elif child.dep_ == "nsubjpass":
                passive = True
                agents += self.expand(child)
        head = verb.head
        if not agents and verb.dep_ in ("acl", "relcl", "amod") and head.i != verb.i:
            agents = self.expand(head) if verb.dep_ == "acl" else self.expand_single(head)
            if verb.dep_ == "acl" and head.dep_ == "dobj" and head.head.lemma_.lower() == "wear":
                # "a girl wearing a dress sleeping": the wearer sleeps, not the dress.
                wearer = self.agents_of(head.head) or self._verb_subjects(head.head)[0]
                agents = list(wearer) or agents
            if verb.dep_ == "acl" and head.dep_ == "pobj" and head.head.lower_ in ("with", "in"):
                # "woman with long hair sitting on the bus", "a man in a tshirt playing
                # guitar": the woman sits, the man plays.
                owner = head.head.head
                if owner.lemma_ == "be":
                    # "friends are in a room talking": the friends talk, not the room.
                    owner = next(
                        (c for c in self.kids[owner.i] if c.dep_ in ("nsubj", "expl")), owner
                    )
                if (
                    self.object_for(owner) is not None
                    and owner.lower_ not in SHOWING_NOUNS  # "a scene with soldiers marching"
                    and not (
                        head.lemma_.lower() in PERSON_NOUNS
                        and owner.lemma_.lower() not in PERSON_NOUNS
                    )  # "a car with a guy speaking about it": the guy speaks
                ):
                    agents = self.expand_single(owner)
        elif not agents and head.i != verb.i and (verb.dep_ == "conj" or self._sequenced(verb)):
            agents = list(self.agents_of(head)) or self._verb_subjects(head)[0]
        elif (
            not agents
            and verb.dep_ == "xcomp"
            and verb.tag_ == "VBG"
            and (seen := next((c for c in self.kids[head.i] if c.dep_ == "dobj"), None)) is not None
            and seen.i < verb.i
        ):
            agents = self.expand(seen)  # "a screen showing some people talking": they talk
        elif not agents and verb.dep_ in ("advcl", "xcomp") and head.i != verb.i:
            agents = list(self.agents_of(head)) or self._verb_subjects(head)[0]
            if not agents and head.i in self.objects:
                agents = self.expand_single(head)
        elif not agents and verb.dep_ == "ROOT":
            # A fragment parsed as a verb-led sentence ("zebra grazing ...") may put the
            # subject under an npadvmod or dep.
            for child in self.kids[verb.i]:
                if child.dep_ in ("npadvmod", "dep") and child.i < verb.i:
                    agents += self.expand(child)
        elif (
            not agents
            and verb.dep_ == "pcomp"
            and (pobj := self._pobj_before(head, verb)) is not None
        ):
            agents = self.expand(pobj)  # "a cartoon of a boy running": the boy runs
        elif not agents and verb.dep_ == "pcomp" and head.head.i in self.objects:
            agents = self.expand_single(head.head)
        elif not agents and verb.dep_ == "pcomp" and head.head.pos_ in ("VERB", "AUX"):
            # "play on the beach before running into the water"
            governor = head.head
            agents = list(self.agents_of(governor)) or self._verb_subjects(governor)[0]
        return agents, passive

    def _pobj_before(self, prep: Tok, verb: Tok) -> Tok | None:
        """The object of ``prep`` in front of a verb that is the preposition's other
        complement ("of a boy running"), if there is one."""
        return next(
            (
                c
                for c in self.kids[prep.i]
                if c.dep_ == "pobj" and c.i < verb.i and c.pos_ != "PRON"
            ),
            None,
        )

    def _sequenced(self, verb: Tok) -> bool:
        """ "a man demonstrates a product then shows the price": a verb after "then" that the
        small model hung loosely (``dep``) on the verb before it shares its subject."""
        head = verb.head
        return (
            verb.dep_ == "dep"
            and head.pos_ == "VERB"
            and head.i < verb.i
            and any(c.lower_ in SEQUENCERS and c.i < verb.i for c in self.kids[verb.i])
        )

    def _is_instrument(self, lemma: str, preposition: str, target: int) -> bool:
        """ "slices an onion with a knife", "hitting ball with racket" (FACTUAL: woman hit with
        racket): a tool after "with" is the action's, not the object's."""
        node = self.nodes[target]
        if preposition != "with":
            return False
        words = {node["lemma"], node["label"]}
        if words & COMPANION_NOUNS:
            return True  # "playing badminton with a team": who one plays with
        return lemma not in NON_INSTRUMENT_VERBS and bool(words & INSTRUMENT_NOUNS)

    def _is_by_agent(self, verb: Tok, child: Tok) -> bool:
        """Whether ``child`` is a "by" phrase naming the agent ("hit by the man").

        "parked by the side of the road" names a place instead: no object after "by".
        """
        if not (child.dep_ == "agent" or (child.dep_ == "prep" and child.lower_ == "by")):
            return False
        if verb.tag_ != "VBN" and child.dep_ != "agent":
            return False
        pobjs = [c for c in self.kids[child.i] if c.dep_ == "pobj"]
        # "interviewed by a beach": a place, not the interviewer.
        place_verb = verb.lemma_.lower() in PLACE_VERBS
        return any(
            self.object_for(p) is not None and (place_verb or p.lemma_.lower() not in BY_PLACES)
            for p in pobjs
        )

    def _gap_target(self, verb: Tok, agents: list[int]) -> int | None:
        """The object a clause without its object points back to, if any."""
        if verb.i in self.fronted:
            return self.objects.get(self.fronted[verb.i].i)
        own_subject = [c for c in self.kids[verb.i] if c.dep_ in ("nsubj", "nsubjpass")]
        if (
            verb.dep_ == "relcl"
            and own_subject
            and own_subject[0].lower_ not in ("who", "that", "which")
        ):
            head = self.object_for(verb.head)
            if head is not None and head not in agents:
                return head
        return None

    def expand_single(self, token: Tok) -> list[int]:
        node = self.object_for(token)
        return [node] if node is not None else []

    def _verb(self, verb: Tok) -> None:
        agents, passive = self._verb_subjects(verb)
        particles = [c for c in self.kids[verb.i] if c.dep_ == "prt"]
        words = [verb, *particles]
        lemma = verb.lemma_.lower()
        if " " in lemma:  # "horse ride": one action of two words keeps both
            first, _, rest = lemma.partition(" ")
            lemma = f"{first} {self.conv.verb_lemmas.get(verb.lower_, rest)}"
        else:
            lemma = self.conv.verb_lemmas.get(verb.lower_, lemma)
        label = " ".join([lemma] + [p.lower_ for p in particles])
        patients: list[int] = []
        prep_args: list[tuple[str, int]] = []
        by_agents: list[int] = []
        adverbs: list[Tok] = []
        prep_spans: dict[str, list[Tok]] = {}
        for child in self.kids[verb.i]:
            if child.dep_ in OBJECT_DEPS:
                patients += self.expand(child)
            elif child.dep_ == "prt":
                # "puts on his helmet": the small model hangs the object on the particle.
                for pobj in (c for c in self.kids[child.i] if c.dep_ == "pobj"):
                    patients += self.expand(pobj)
            elif self._is_by_agent(verb, child):
                for pobj in (c for c in self.kids[child.i] if c.dep_ == "pobj"):
                    by_agents += self.expand(pobj)
            elif child.dep_ in ("prep", "agent") or self._is_prep_adverb(child):
                # "talking about deforestation and about climate change": both phrases.
                for prep in [child, *self._conjoined_preps(child)]:
                    prep_label, objects, prep_words = self.prep_targets(prep)
                    prep_spans[prep_label] = prep_words
                    for obj in objects:
                        prep_args += [(prep_label, node) for node in self.expand(obj)]
            elif child.lower_ in DIRECTION_WORDS and child.dep_ in (
                "advmod",
                "npadvmod",
                "acomp",
                "dobj",
                "oprd",
            ):
                adverbs.append(child)  # "moves right": the direction, whatever its tag
            elif child.dep_ == "neg":
                adverbs.append(child)  # "does not move": the negation stays with the verb
            elif child.dep_ == "advmod" and child.pos_ == "ADV":
                if child.lower_ not in NON_MANNER_ADVERBS and child.tag_ not in ("WRB",):
                    adverbs.append(child)
            elif child.dep_ == "acomp" and agents:
                for agent in agents:
                    for adjective in self._conjuncts(child):
                        self._attribute(agent, adjective)
        dangling = self.dangling_prep(verb)
        gap_target = self._gap_target(verb, agents)
        if dangling is not None and gap_target is not None:
            # "the water the bird is standing on" -> bird stand on water
            if dangling.dep_ == "prt":
                label = " ".join(label.split(" ")[:-1]) or label
            prep_args.append((dangling.lower_, gap_target))
            prep_spans.setdefault(dangling.lower_, [dangling])
        elif gap_target is not None and not patients and verb.dep_ == "relcl":
            patients.append(gap_target)  # "rope the man is holding"
        # "fries them in a pan": a pronoun object places nothing; the phrase is the verb's.
        noun_objects = [c for c in self.kids[verb.i] if c.dep_ in OBJECT_DEPS and c.pos_ != "PRON"]
        if patients and prep_args and not by_agents and noun_objects:
            # "holding a ball in the air": a phrase after the object places the object
            # (FACTUAL writes ball in air, not person hold in air); a path ("riding a bike
            # down the street") stays with the action.
            kept = []
            for preposition, target in prep_args:
                if preposition.split(" ")[0] in PATH_PREPOSITIONS or self._is_instrument(
                    lemma, preposition, target
                ):
                    kept.append((preposition, target))
                    continue
                # The relation's span is its preposition's; ``words`` stay the verb's.
                prep_words = prep_spans.get(preposition, [verb])
                for patient in patients:
                    self._relation(patient, preposition, target, prep_words)
            prep_args = kept
        if by_agents:
            # "the ball is hit by the man": the man is the agent, the ball the patient.
            patients = agents + patients
            agents = by_agents
        elif passive and verb.dep_ not in ("acl", "relcl"):
            pass  # "the fence is painted": the subject keeps the agent slot, as FACTUAL does
        if (
            not agents
            and not patients
            and not prep_args
            and not (" " in lemma and verb.dep_ == "ROOT")
        ):
            return  # (an action label of two words, "Arm wrestling", stands alone)
        node = self.add_node("predicate", label, self.span(words), lemma=lemma)
        self.predicates[verb.i] = Predicate(node=node, token=verb.i, agents=agents)
        for agent in agents:
            self.add_edge(node, agent, "agent")
        for patient in patients:
            self.add_edge(node, patient, "patient")
        for preposition, target in prep_args:
            self.add_edge(node, target, "prep_arg", preposition)
        for adverb in adverbs:
            label = "not" if adverb.dep_ == "neg" else adverb.lower_  # "n't" -> not
            pred_attr = self.add_node("pred_attr", label, self.span([adverb]))
            self.add_edge(node, pred_attr, "pred_attr")

    def _noun_relations(self, token: Tok) -> None:
        # A quantity noun's phrases describe what it counts: "a crowd of people behind a fence".
        subjects = self.expand_single(token)
        for child in self.kids[token.i]:
            if child.dep_ != "prep" and not self._is_prep_adverb(child):
                continue
            if token.i in self.dropped and child.lower_ == "of":
                continue
            label, objects, words = self.prep_targets(child)
            targets = [node for obj in objects for node in self.expand(obj)]
            if not targets:
                continue
            if label == "of":
                direction, _, predicate = self._of_reading(token).partition(":")
                for subject in subjects:
                    for target in targets:
                        owner, owned = (
                            (target, subject) if direction == "rev" else (subject, target)
                        )
                        if predicate == "have":
                            self._possession(owner, owned, child)
                        elif predicate:
                            self._relation(owner, predicate, owned, words)
                continue
            if objects and self._is_bare_relational(objects[0]):
                continue  # "windows on the front": FACTUAL keeps no fact for it
            own_back = self._back_reference(token, conjuncts=False)
            if label == "with" and objects and own_back is not None and own_back.i > child.i:
                back: Tok | None = own_back  # "a cart with luggage on it", "on" under "cart"
            elif label == "with" and objects:
                back = self._back_reference(objects[0])
            else:
                back = None
            if back is not None:
                # "a plate with food on it": the food is on the plate.
                back_label, _, back_words = self.prep_targets(back)
                for subject in subjects:
                    for target in targets:
                        self._relation(target, back_label, subject, back_words)
                continue
            if token.dep_ == "conj" and label not in ("of", "with"):
                # "a vase and a candle holder on the table": both are on the table.
                first = token
                while first.dep_ == "conj" and first.head.i != first.i:
                    first = first.head
                if not any(c.dep_ == "conj" for c in self.kids[token.i]):
                    for subject in self.expand(first):
                        for target in targets:
                            self._relation(subject, label, target, words)
                    continue
            if self._back_reference(token) is child and token.head.lower_ == "with":
                continue  # read from the "with" side above
            if own_back is child and any(
                c.dep_ == "prep" and c.lower_ == "with" and c.i < child.i
                for c in self.kids[token.i]
            ):
                continue  # "a cart with luggage on it": read with the "with" phrase
            for subject in subjects:
                for target in targets:
                    self._relation(subject, label, target, words)

    def _back_reference(self, token: Tok, conjuncts: bool = True) -> Tok | None:
        """The preposition of "... on it" after a noun (or its last conjunct), if any."""
        chain = [token]
        while conjuncts:
            nxt = next((c for c in self.kids[chain[-1].i] if c.dep_ == "conj"), None)
            if nxt is None:
                break
            chain.append(nxt)
        for noun in chain:
            for child in self.kids[noun.i]:
                if child.dep_ == "prep" and any(
                    c.dep_ == "pobj" and c.lower_ in ("it", "them") for c in self.kids[child.i]
                ):
                    return child
        return None

    def _relation(self, subject: int, label: str, target: int, words: Sequence[Tok]) -> None:
        if subject == target:
            return  # "a mint on it" resolved to the mint itself
        node = self.add_node("predicate", label, self.span(words), lemma=label)
        self.add_edge(node, subject, "agent")
        self.add_edge(node, target, "prep_arg", label)

    def _copulas(self) -> None:
        """ "the car is red", "the cup is on the table", "there is a plane in the sky"."""
        for verb in self.tokens:
            if verb.lemma_ != "be" or verb.dep_ in ("aux", "auxpass"):
                continue
            subjects: list[int] = []
            complements: list[Tok] = []
            attrs: list[Tok] = []
            preps: list[Tok] = []
            for child in self.kids[verb.i]:
                if child.dep_ in ("nsubj", "nsubjpass"):
                    subjects += self.expand(child)
                elif child.dep_ == "acomp":
                    complements.append(child)
                elif child.dep_ == "attr":
                    attrs.append(child)
                elif child.dep_ == "prep":
                    preps.append(child)
            if not subjects and verb.dep_ in ("relcl", "acl") and verb.head.i in self.objects:
                subjects = [self.objects[verb.head.i]]
            expletive = not subjects
            if expletive:
                # "there is a plane in the sky": the attribute noun is the subject.
                for attr in attrs:
                    subjects += self.expand(attr)
            dangling = self.dangling_prep(verb)
            gap = self._gap_target(verb, subjects) if dangling is not None else None
            for subject in subjects:
                if dangling is not None and gap is not None:
                    self._relation(subject, dangling.lower_, gap, [dangling])
                for complement in complements:
                    for adjective in self._conjuncts(complement):
                        if adjective.pos_ in ("ADJ", "VERB", "NUM", "ADV"):
                            self._attribute(subject, adjective)
                    for prep in (c for c in self.kids[complement.i] if c.dep_ == "prep"):
                        self._prep_relation(subject, prep)
                for prep in preps:
                    self._prep_relation(subject, prep)
                if not expletive:
                    for attr in attrs:
                        if attr.pos_ == "ADJ":
                            self._attribute(subject, attr)

    def _prep_relation(self, subject: int, prep: Tok) -> None:
        label, objects, words = self.prep_targets(prep)
        for obj in objects:
            for target in self.expand(obj):
                self._relation(subject, label, target, words)

    def build_temporal(self) -> None:
        """Order the verb predicates (:class:`~finsta_cli.text.temporal_order.TemporalOrder`)."""
        TemporalOrder(self).build()

    def build(self, item_id: str) -> dict[str, Any]:
        self.build_objects()
        self.build_predicates()
        self.build_attributes()
        self.build_temporal()
        return tsg_dict(item_id, self.text, self.nodes, self.edges)


def tsg_dict(
    item_id: str, text: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> dict[str, Any]:
    """A TSG record as plain data, keys in the schema's order (what ``model_dump`` gives)."""
    return {
        "schema_version": TSG.SCHEMA_VERSION,
        "record": "tsg",
        "id": item_id,
        "text": text,
        "nodes": nodes,
        "edges": edges,
    }
