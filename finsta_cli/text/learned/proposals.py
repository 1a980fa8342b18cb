"""Proposing slots: the rules run on one caption and their choices reopened with features.

:func:`propose` runs the rule parser's graph builder, then :class:`_Proposer` reads its tokens
and graph and adds the ``name``, ``attr``, ``rel`` and ``bare`` slots
(:mod:`~finsta_cli.text.learned.slots`), each option with the string features the model scores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from finsta_cli.text.conventions import Conventions
from finsta_cli.text.factual import (
    normalise_text,
)
from finsta_cli.text.graph_builder import GraphBuilder, tsg_dict
from finsta_cli.text.learned.counts import TrainCounts
from finsta_cli.text.learned.slots import (
    Attr,
    Name,
    Option,
    Proposal,
    Rel,
    Slot,
    predicate_text,
    render_name,
)
from finsta_cli.text.tokens import LemmaCache, Tok
from finsta_cli.text.verb_lexicon import VERB_LEMMAS
from finsta_cli.text.words import COLOUR_WORDS, NUMBER_WORDS, SHADES

if TYPE_CHECKING:
    from spacy.tokens import Doc


# Dependencies of words in front of a noun that may belong to its name.
NAME_DEPS = frozenset({"compound", "amod", "nmod", "npadvmod"})
# Dependencies of a noun's modifiers that may be attributes of it.
ATTR_DEPS = frozenset({"amod", "compound", "nummod", "acl", "npadvmod", "nmod", "advmod", "appos"})
ATTR_POS = frozenset({"ADJ", "VERB", "NOUN", "PROPN", "NUM", "ADV"})
PREPOSITION_WORDS = frozenset({
    "on", "in", "at", "of", "with", "by", "near", "under", "over", "above", "below", "behind",
    "beside", "between", "inside", "outside", "into", "onto", "to", "from", "across", "through",
    "along", "around", "against", "beneath", "underneath", "atop", "toward", "towards", "up",
    "down", "off", "out", "for", "about", "past", "like", "than", "within", "without",
})  # fmt: skip
# How many objects before a preposition or verb are offered as its subject.
MAX_AGENTS = 4
_HYPHEN = re.compile(r"\s*-\s*")


def count_bucket(count: int) -> str:
    if count <= 0:
        return "0"
    if count == 1:
        return "1"
    if count < 5:
        return "2-4"
    if count < 20:
        return "5-19"
    if count < 100:
        return "20-99"
    return "100+"


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def spelling_fix(word: str, table: Mapping[str, int], min_count: int = 5) -> str | None:
    """The most frequent word of ``table`` one edit away from ``word`` ("palte" -> "plate"),
    when ``word`` itself is rare there; None otherwise."""
    if len(word) < 4 or not word.isalpha() or (table.get(word) or 0) >= 2:
        return None
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    edits |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    edits |= {a + c + b for a, b in splits for c in _LETTERS}
    edits.discard(word)
    best, best_count = None, min_count - 1
    for candidate in sorted(edits):
        count = table.get(candidate) or 0
        if count > best_count:
            best, best_count = candidate, count
    return best


def _distance_bucket(distance: int) -> str:
    return str(distance) if abs(distance) < 4 else ("far" if distance > 0 else "-far")


class _Proposer:
    """Builds the slots of one caption from the rules' graph builder after it ran."""

    def __init__(self, builder: GraphBuilder, record: dict[str, Any], lexicon: TrainCounts) -> None:
        self.b = builder
        self.record = record
        self.lex = lexicon
        self.conv: Conventions = builder.conv
        self.tokens = builder.tokens
        self.text = builder.text
        self.nodes: list[dict[str, Any]] = record["nodes"]
        self.edges: list[dict[str, Any]] = record["edges"]
        self.start_token = {t.idx: t.i for t in self.tokens}
        self.object_heads: dict[int, int] = {}
        for token_index, node in builder.objects.items():
            self.object_heads.setdefault(node, token_index)
        self.head_object = {head: node for node, head in self.object_heads.items()}
        self.names: dict[int, list[Name]] = {}
        self.slots: list[Slot] = []
        self.extra_objects: dict[int, Name] = {}
        self.extra_heads: dict[int, int] = {}  # token -> virtual node
        self.fixed: list[Rel] = []

    # -- helpers -----------------------------------------------------------------------------
    def node_token(self, node: int) -> int | None:
        span = self.nodes[node]["span"]
        return None if span is None else self.start_token.get(span[0])

    def span_text(self, indices: Sequence[int]) -> str:
        start = min(self.tokens[i].idx for i in indices)
        end = max(self.tokens[i].idx + len(self.tokens[i].text) for i in indices)
        return normalise_text(self.text[start:end])

    def tok(self, prefix: str, token: Tok) -> list[str]:
        return [
            f"{prefix}w={token.lower_}",
            f"{prefix}l={token.lemma_.lower()}",
            f"{prefix}p={token.pos_}|{token.tag_}",
            f"{prefix}d={token.dep_}|{token.head.pos_}",
        ]

    def object_lemma(self, node: int) -> str:
        if node in self.extra_objects:
            return self.tokens[self.extra_objects[node].tokens[-1]].lemma_.lower()
        head = self.object_heads.get(node)
        if head is None:
            return str(self.nodes[node].get("lemma") or self.nodes[node]["label"])
        return self.tokens[head].lemma_.lower()

    # -- names -------------------------------------------------------------------------------
    def name_chain(self, head: Tok) -> list[int]:
        """Token indices of the modifiers right in front of ``head`` that could join its name."""
        chain: list[int] = []
        members = {head.i}
        j = head.i - 1
        while j >= 0:
            token = self.tokens[j]
            attached = token.head.i in members
            hyphen = token.text == "-" and j > 0
            modifier = (
                token.dep_ in NAME_DEPS
                and token.pos_ in ("NOUN", "PROPN", "ADJ", "VERB")
                and token.i not in self.b.objects
            )
            if not attached or not (hyphen or modifier):
                break
            chain.append(j)
            members.add(j)
            j -= 1
        return sorted(chain)

    def propose_names(self) -> None:
        for node, head_index in self.object_heads.items():
            head = self.tokens[head_index]
            rule_label = self.nodes[node]["label"]
            span = self.nodes[node]["span"]
            rule_tokens = tuple(
                t.i for t in self.tokens if span and span[0] <= t.idx < span[1] and not t.is_punct
            ) or (head_index,)
            options = [Name(rule_label, rule_tokens, "rule")]
            seen = {rule_label}
            if head.lower_ != rule_label.split(" ")[-1]:
                self.names[node] = options  # a pronoun or "one": the rules' name stands
                continue
            chain = self.name_chain(head)
            for k in range(len(chain) + 1):
                words = [*chain[k:], head_index]
                if self.tokens[words[0]].text == "-":
                    continue
                text = self.span_text(words)
                variants = [(text, "span")]
                if "-" in text:
                    variants.append((_HYPHEN.sub(" ", text), "unhyphen"))
                if " " in text:
                    joined = text.replace(" ", "")
                    if self.lex.names.get(joined, 0) >= 2:
                        variants.append((joined, "joined"))
                    hyphened = text.replace(" ", "-")
                    if self.lex.names.get(hyphened, 0) >= 2:
                        variants.append((hyphened, "hyphened"))
                for variant, kind in variants:
                    if variant not in seen:
                        seen.add(variant)
                        options.append(Name(variant, tuple(words), kind))
            fixed = spelling_fix(head.lower_, self.lex.names)
            if fixed is not None:
                for name in list(options):
                    text = name.text.rsplit(" ", 1)[0] + " " + fixed if " " in name.text else fixed
                    if text not in seen:
                        seen.add(text)
                        options.append(Name(text, name.tokens, "spell"))
            self.names[node] = options
            if len(options) < 2:
                continue
            slot_options = [
                Option(self.name_features(head, name, chain, i == 0), name)
                for i, name in enumerate(options)
            ]
            self.slots.append(Slot("name", (node,), slot_options, 0))

    def name_features(self, head: Tok, name: Name, chain: list[int], is_rule: bool) -> list[str]:
        inside = set(name.tokens)
        out = [
            f"n:kind={name.kind}",
            f"n:rule={is_rule}",
            f"n:len={min(len(name.tokens), 4)}",
            f"n:text={name.text}",
            f"n:lex={count_bucket(self.lex.names.get(render_name(name.text, self.conv), 0))}",
            f"n:head={head.lemma_.lower()}|{name.kind}",
        ]
        for i in chain:
            modifier = self.tokens[i]
            if modifier.text == "-":
                continue
            where = "in" if i in inside else "out"
            policy = self.b.modifier_policy(modifier, head)
            out += [
                f"n:{where}w={modifier.lower_}",
                f"n:{where}p={modifier.pos_}|{modifier.dep_}",
                f"n:{where}pair={modifier.lower_}|{head.lower_}",
                f"n:{where}conv={policy}",
                f"n:{where}colour={modifier.lower_ in COLOUR_WORDS}",
            ]
        return out

    # -- attributes --------------------------------------------------------------------------
    def attribute_words(self, modifier: Tok) -> list[tuple[str, tuple[int, ...], str]]:
        """Spellings of the attribute a modifier gives: the word, with its adverbs, a number."""
        variants: list[tuple[str, tuple[int, ...], str]] = []
        count = NUMBER_WORDS.get(modifier.lower_)
        if count is None and modifier.text.isascii() and modifier.text.isdigit():
            count = int(modifier.text)
        if count is not None and modifier.pos_ == "NUM":
            variants.append((str(count), (modifier.i,), "count"))
        variants.append((modifier.lower_, (modifier.i,), "word"))
        left = [
            c.i
            for c in self.b.kids[modifier.i]
            if c.i < modifier.i
            and (
                c.dep_ in ("advmod", "npadvmod", "compound", "amod")
                or c.text == "-"
                or c.lower_ in SHADES
            )
            and c.pos_ not in ("DET", "PRON")
        ]
        right = [c.i for c in self.b.kids[modifier.i] if c.i > modifier.i and c.dep_ == "prt"]
        if left or right:
            words = sorted([*left, modifier.i, *right])
            if words == list(range(words[0], words[-1] + 1)):
                text = self.span_text(words)
                variants.append((text, tuple(words), "phrase"))
                if "-" in text:
                    variants.append((_HYPHEN.sub(" ", text), tuple(words), "phrase-unhyphen"))
        return variants

    def propose_attributes(self) -> None:
        # The rules' attributes, by object node and the token their span starts at.
        rule_attrs: dict[tuple[int, int], list[Attr]] = {}
        for edge in self.edges:
            if edge["type"] != "has_attribute":
                continue
            attribute = self.nodes[edge["target"]]
            token = self.node_token(edge["target"])
            if token is None:
                continue
            span = attribute["span"]
            words = tuple(t.i for t in self.tokens if span[0] <= t.idx < span[1])
            attr = Attr(edge["source"], attribute["label"], words or (token,))
            rule_attrs.setdefault((edge["source"], token), []).append(attr)
        anchors: dict[tuple[int, int], str] = {key: "rule" for key in rule_attrs}
        for node, head_index in self.object_heads.items():
            head = self.tokens[head_index]
            if head.lower_ != self.nodes[node]["label"].split(" ")[-1]:
                continue
            hosts = [head, *(self.tokens[i] for i in self.name_chain(head))]
            for host in hosts:
                for child in self.b.kids[host.i]:
                    if (
                        child.dep_ in ATTR_DEPS
                        and child.pos_ in ATTR_POS
                        and child.i not in self.b.objects
                    ):
                        anchors.setdefault((node, child.i), child.dep_)
                        for conj in self.b.kids[child.i]:
                            if conj.dep_ == "conj" and conj.pos_ in ("ADJ", "VERB", "NUM"):
                                anchors.setdefault((node, conj.i), "conj")
        for (node, token_index), source in anchors.items():
            modifier = self.tokens[token_index]
            rules = rule_attrs.get((node, token_index), [])
            values: list[Attr] = list(rules)
            seen = {a.text for a in values}
            for text, words, _ in self.attribute_words(modifier):
                if text not in seen:
                    seen.add(text)
                    values.append(Attr(node, text, words))
            head = self.tokens[self.object_heads[node]]
            drop = Option(["a:drop", f"a:drop|src={source}", f"a:drop|rule={bool(rules)}"], None)
            options = [drop]
            for attr in values:
                options.append(
                    Option(self.attr_features(attr, modifier, head, source, attr in rules), attr)
                )
            self.slots.append(
                Slot("attr", (node, token_index), options, 1 if rules else 0, anchor=token_index)
            )

    def attr_features(
        self, attr: Attr, modifier: Tok, head: Tok, source: str, is_rule: bool
    ) -> list[str]:
        policy = self.b.modifier_policy(modifier, head) if source != "rule" else "rule"
        side = "before" if modifier.i < head.i else "after"
        return [
            "a:keep",
            f"a:rule={is_rule}",
            f"a:src={source}",
            f"a:text={attr.text}",
            f"a:nwords={min(len(attr.tokens), 3)}",
            f"a:lex={count_bucket(self.lex.attributes.get(attr.text, 0))}",
            f"a:pair={attr.text}|{head.lemma_.lower()}",
            f"a:conv={policy}",
            f"a:side={side}|{source}",
            f"a:hd={head.dep_}",
            f"a:colour={modifier.lower_ in COLOUR_WORDS}",
            *self.tok("a:m", modifier),
            f"a:mp={modifier.tag_}|{source}|{side}",
        ]

    # -- relations ---------------------------------------------------------------------------
    def rule_relations(self) -> list[Rel]:
        agents: dict[int, list[int]] = {}
        args: dict[int, list[tuple[int, str | None, bool]]] = {}
        for edge in self.edges:
            if edge["type"] == "agent":
                agents.setdefault(edge["source"], []).append(edge["target"])
            elif edge["type"] in ("patient", "prep_arg"):
                args.setdefault(edge["source"], []).append(
                    (edge["target"], edge["preposition"], edge["type"] == "patient")
                )
        relations: list[Rel] = []
        for node in self.nodes:
            if node["type"] != "predicate":
                continue
            span = node["span"]
            words = tuple(t.i for t in self.tokens if span and span[0] <= t.idx < span[1])
            label = node["label"]
            lemma = str(node.get("lemma") or label)
            for agent in agents.get(node["id"], []):
                targets = args.get(node["id"], [])
                if not targets:
                    surface = normalise_text(self.text[span[0] : span[1]]) if span else label
                    relations.append(
                        Rel(agent, surface, None, False, None, words, node["id"], lemma)
                    )
                for target, prep, patient in targets:
                    relations.append(
                        Rel(agent, label, prep, patient, target, words, node["id"], lemma)
                    )
        return relations

    def agent_candidates(
        self, position: int, rule_agent: int | None, target: int | None
    ) -> list[int]:
        before = sorted(
            (head, node)
            for node, head in self.object_heads.items()
            if head < position and node != target
        )
        found = [node for _, node in reversed(before)][:MAX_AGENTS]
        if rule_agent is not None and rule_agent not in found:
            found.insert(0, rule_agent)
        elif rule_agent is not None:
            found.remove(rule_agent)
            found.insert(0, rule_agent)
        return found

    def is_clause_verb(self, token: Tok) -> bool:
        """A finite verb, or one with an auxiliary ("is sitting"); not a bare participle
        ("two women skiing", "man walking")."""
        if token.pos_ not in ("VERB", "AUX"):
            return False
        if token.tag_ in ("VBZ", "VBD", "VBP", "MD"):
            return True
        return any(child.dep_ in ("aux", "auxpass") for child in self.b.kids[token.i])

    def verb_of(self, words: tuple[int, ...]) -> Tok | None:
        """The verb a preposition's relation may be read with: its head, or the participle
        right before the noun it follows."""
        if not words:
            return None
        first = self.tokens[words[0]]
        head = first.head
        if head.pos_ == "VERB" and head.i < first.i and head.i not in self.b.objects:
            return head
        return None

    def label_options(self, rel: Rel) -> list[tuple[str, str | None, bool, str, str]]:
        """(label, prep, patient, lemma, kind) spellings of a relation's predicate; kind
        ``alt-rev`` swaps subject and object ("food on plate" -> "plate have food")."""
        found = [(rel.label, rel.prep, rel.patient, rel.lemma, "rule")]
        if rel.target is None:
            return found
        written = predicate_text(rel.label, rel.prep, rel.patient)
        for other in self.lex.alternatives.get(self.conv.predicate_names.get(written, written), ()):
            kind = "alt"
            if other.startswith("rev:"):
                other, kind = other[4:], "alt-rev"
            elif other == written:
                continue
            # A preposition-like spelling keeps a prep_arg edge, a verb-like one a patient.
            if other.rsplit(" ", 1)[-1] in PREPOSITION_WORDS:
                found.append((other, other, False, other.split(" ")[0], kind))
            else:
                found.append((other, None, True, other.split(" ")[0], kind))
        if rel.prep and not rel.patient and rel.prep != rel.label:
            found.append((rel.prep, rel.prep, False, rel.prep, "prep"))  # "sit on" -> "on"
        if rel.prep is None or rel.prep == rel.label:
            verb = self.verb_of(rel.tokens)
            if verb is not None and rel.prep:
                lemma = self.conv.verb_lemmas.get(verb.lower_, verb.lemma_.lower())
                found.append((lemma, rel.prep, False, lemma, "verb"))  # "on" -> "lay on"
        return found

    def rel_features(
        self, rel: Rel, kind: str, agent_rank: int, source: str, is_rule_agent: bool
    ) -> list[str]:
        predicate = predicate_text(rel.label, rel.prep, rel.patient)
        agent_head = self.object_heads.get(rel.agent)
        if rel.agent in self.extra_objects:
            agent_head = self.extra_objects[rel.agent].tokens[-1]
        anchor = rel.tokens[0] if rel.tokens else None
        agent_lemma = self.object_lemma(rel.agent)
        target_lemma = "_" if rel.target is None else self.object_lemma(rel.target)
        out = [
            "r:keep",
            f"r:src={source}",
            f"r:lkind={kind}",
            f"r:arank={agent_rank}|{source}",
            f"r:arule={is_rule_agent}|{source}",
            f"r:pred={predicate}",
            f"r:lex={count_bucket(self.lex.predicates.get(predicate, 0))}",
            f"r:lexk={count_bucket(self.lex.predicates.get(predicate, 0))}|{kind}",
            f"r:a={agent_lemma}",
            f"r:t={target_lemma}",
            f"r:ap={agent_lemma}|{predicate}",
            f"r:pt={predicate}|{target_lemma}",
            f"r:apt={agent_lemma}|{predicate}|{target_lemma}",
            f"r:intrans={rel.target is None}",
            f"r:patient={rel.patient}",
        ]
        if agent_head is not None:
            agent_token = self.tokens[agent_head]
            out += [f"r:ad={agent_token.dep_}|{is_rule_agent}", f"r:atag={agent_token.tag_}"]
            if anchor is not None:
                between = sum(1 for h in self.object_heads.values() if agent_head < h < anchor)
                out += [
                    f"r:adist={_distance_bucket(anchor - agent_head)}",
                    f"r:abetween={min(between, 3)}|{agent_rank}",
                ]
                if self.tokens[anchor].head.i == agent_head:
                    out.append("r:attached")
        if anchor is not None:
            token = self.tokens[anchor]
            out += self.tok("r:v", token)
            out.append(f"r:vhead={token.head.lower_}|{token.dep_}")
            verb = self.verb_of(rel.tokens)
            if verb is not None:
                out.append(f"r:gov={verb.lemma_.lower()}|{kind}")
                out.append(f"r:govdep={verb.dep_}|{kind}")
        return out

    def relation_slot(
        self,
        rel: Rel | None,
        candidates: list[Rel],
        source: str,
        agents_given: list[int] | None = None,
        droppable: bool = True,
    ) -> None:
        options = [Option(["r:drop", f"r:drop|src={source}"], None)] if droppable else []
        seen: set[tuple[Any, ...]] = set()
        rule_index = 0
        for candidate in candidates:
            agents = agents_given or self.agent_candidates(
                candidate.tokens[0] if candidate.tokens else 0, candidate.agent, candidate.target
            )
            for rank, agent in enumerate(agents):
                for label, prep, patient, lemma, kind in self.label_options(candidate):
                    if kind == "alt-rev":
                        if rank or candidate.target is None:
                            continue
                        value = Rel(
                            candidate.target, label, prep, patient, agent, candidate.tokens,
                            None, lemma,
                        )  # fmt: skip
                    else:
                        value = Rel(
                            agent, label, prep, patient, candidate.target, candidate.tokens,
                            candidate.origin if kind == "rule" else None, lemma,
                        )  # fmt: skip
                    key = (value.agent, predicate_text(label, prep, patient), value.target)
                    if key in seen:
                        continue
                    seen.add(key)
                    is_rule = rel is not None and value == rel
                    features = self.rel_features(
                        value, kind, rank, source, agent == candidate.agent
                    )
                    options.append(Option(features, value))
                    if is_rule:
                        rule_index = len(options) - 1
        if len(options) > 1:
            first = candidates[0]
            slot_key = (source, first.tokens, first.target, first.agent)
            self.slots.append(Slot("rel", slot_key, options, rule_index))

    def propose_relations(self) -> None:
        relations = self.rule_relations()
        # Predicates with adverbs or in a temporal order ("moves right after ...") carry what
        # FACTUAL's graphs never write, so its annotations cannot judge them: they stay.
        kept = {
            edge["source"]
            for edge in self.edges
            if edge["type"] in ("pred_attr", "before", "overlaps")
        } | {edge["target"] for edge in self.edges if edge["type"] in ("before", "overlaps")}
        used_tokens: set[int] = set()
        for rel in relations:
            used_tokens.update(rel.tokens)
            # A clause's own verb ("the ring hits the cube") is kept; its subject and
            # spelling may change. Participles ("man walking") and prepositions may go.
            clausal = bool(rel.tokens) and self.is_clause_verb(self.tokens[rel.tokens[0]])
            if rel.origin in kept or (clausal and rel.target is None):
                self.fixed.append(rel)
                continue
            source = "rule" if rel.target is not None else "intrans"
            self.relation_slot(rel, [rel], source, droppable=not clausal)
        # Prepositions between two objects that gave no relation ("fence and building on ...").
        for token in self.tokens:
            if token.i in used_tokens or token.dep_ not in ("prep", "agent"):
                continue
            label, objects, words = self.b.prep_targets(token)
            if any(w.i in used_tokens for w in words):
                continue
            targets = [self.head_object[o.i] for o in objects if o.i in self.head_object]
            for target in targets:
                if any(
                    rel.target == target and label in (rel.prep, rel.label) for rel in relations
                ):
                    continue  # the rules read it with its verb ("sitting on the bench")
                head = token.head
                spacy_agent = self.head_object.get(head.i)
                rel = Rel(
                    spacy_agent if spacy_agent is not None else -1,
                    label, label, False, target, tuple(w.i for w in words), None, label,
                )  # fmt: skip
                if spacy_agent is None:
                    agents = self.agent_candidates(token.i, None, target)
                    if not agents:
                        continue
                    rel = Rel(agents[0], *_rest(rel))
                self.relation_slot(None, [rel], "newprep")
        self.propose_verbs(relations)

    def virtual_object(self, token: Tok) -> int:
        """The node of a noun the rules made no object of (created when a slot uses it)."""
        node = self.extra_heads.get(token.i)
        if node is None:
            words = [
                c.i for c in self.b.kids[token.i]
                if c.dep_ == "compound" and c.i < token.i and c.pos_ in ("NOUN", "PROPN")
            ]  # fmt: skip
            indices = tuple(sorted([*words, token.i]))
            node = len(self.nodes) + len(self.extra_objects)
            self.extra_objects[node] = Name(self.span_text(indices), indices, "virtual")
            self.extra_heads[token.i] = node
        return node

    def nominal_before(self, position: int, limit: int = 2) -> list[int]:
        """Object nodes (or nouns the rules dropped) right before a token, nearest first."""
        in_names = {i for names in self.names.values() for i in names[0].tokens}
        found: list[int] = []
        for j in range(position - 1, -1, -1):
            token = self.tokens[j]
            if j in self.head_object:
                found.append(self.head_object[j])
            elif (
                (
                    token.pos_ in ("NOUN", "PROPN")
                    or (token.lower_ in self.conv.nouns and token.pos_ in ("ADV", "ADJ", "VERB"))
                )
                and j not in in_names
                and not token.is_punct
            ):
                found.append(self.virtual_object(token))
            if len(found) >= limit:
                break
        return found

    def object_after(self, position: int) -> int | None:
        """The first object node (or dropped noun) after a token, before any verb or ADP."""
        for j in range(position + 1, len(self.tokens)):
            token = self.tokens[j]
            if token.pos_ in ("VERB", "AUX", "ADP", "PUNCT", "CCONJ", "SCONJ"):
                return None
            node = self.head_object.get(j)
            if node is not None:
                return node
            if token.pos_ in ("NOUN", "PROPN") and (
                j + 1 == len(self.tokens) or self.tokens[j + 1].pos_ not in ("NOUN", "PROPN")
            ):
                return self.virtual_object(token)
        return None

    def verb_lemma(self, token: Tok) -> str | None:
        """The verb lemma of a verb, or of an "-ing" word the small model tagged otherwise."""
        if token.pos_ == "VERB" or token.tag_.startswith("VB"):
            return self.conv.verb_lemmas.get(token.lower_, token.lemma_.lower())
        word = token.lower_
        if word.endswith("ing") and len(word) > 5:
            stem = word[:-3]
            for base in (stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else ""):
                if base in VERB_LEMMAS:
                    return self.conv.verb_lemmas.get(word, base)
        return None

    def propose_verbs(self, relations: list[Rel]) -> None:
        """Verbs the rules read no relation with an object from ("lady holding baby", a
        fragment whose subject spaCy hung elsewhere): subject before, object after."""
        used = {i for rel in relations if rel.target is not None for i in rel.tokens}
        for token in self.tokens:
            if token.i in used or token.dep_ in ("aux", "auxpass") or token.lemma_ == "be":
                continue
            lemma = self.verb_lemma(token)
            if lemma is None or token.i == 0:
                continue
            agents = self.nominal_before(token.i)
            if not agents:
                continue
            following = self.tokens[token.i + 1] if token.i + 1 < len(self.tokens) else None
            particle = following if following is not None and following.dep_ == "prt" else None
            label = lemma if particle is None else f"{lemma} {particle.lower_}"
            words = (token.i,) if particle is None else (token.i, particle.i)
            start = words[-1]
            candidates: list[Rel] = []
            target = self.object_after(start)
            if target is not None and target not in agents:
                candidates.append(Rel(agents[0], label, None, True, target, words, None, lemma))
            nxt = self.tokens[start + 1] if start + 1 < len(self.tokens) else None
            if nxt is not None and nxt.pos_ == "ADP":
                prep_label, objects, _ = self.b.prep_targets(nxt)
                for obj in objects[:1]:
                    node = self.head_object.get(obj.i)
                    if node is None and obj.pos_ in ("NOUN", "PROPN"):
                        node = self.virtual_object(obj)
                    if node is not None and node not in agents:
                        candidates.append(
                            Rel(agents[0], label, prep_label, False, node, words, None, lemma)
                        )
            for candidate in candidates:
                self.relation_slot(None, [candidate], "verb", agents)

    def propose_bare(self) -> None:
        for node, head_index in self.object_heads.items():
            head = self.tokens[head_index]
            features = [
                "b:keep",
                f"b:w={head.lemma_.lower()}",
                f"b:d={head.dep_}|{head.head.pos_}",
                f"b:hw={head.head.lower_}|{head.dep_}",
                f"b:lex={count_bucket(self.lex.names.get(self.nodes[node]['label'], 0))}",
                f"b:first={head_index == 0}",
            ]
            options = [Option(["b:drop"], False), Option(features, True)]
            self.slots.append(Slot("bare", (node,), options, 1))


def _rest(rel: Rel) -> tuple[Any, ...]:
    return (rel.label, rel.prep, rel.patient, rel.target, rel.tokens, rel.origin, rel.lemma)


def propose(
    doc: Doc,
    item_id: str,
    conventions: Conventions,
    lexicon: TrainCounts,
    text: str | None = None,
    lemmas: LemmaCache | None = None,
) -> Proposal:
    """Run the rules on one parsed caption and reopen their choices as slots."""
    text = doc.text if text is None else text
    if not text.strip():
        return Proposal(text, tsg_dict(item_id, text, [], []), [], {}, {})
    builder = GraphBuilder(doc, conventions, text, lemmas)
    record = builder.build(item_id)
    proposer = _Proposer(builder, record, lexicon)
    proposer.propose_names()
    proposer.propose_attributes()
    proposer.propose_relations()
    proposer.propose_bare()
    return Proposal(
        text, record, builder.tokens, proposer.object_heads, proposer.names, proposer.slots,
        proposer.extra_objects, proposer.fixed,
    )  # fmt: skip
