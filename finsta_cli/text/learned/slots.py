"""The learned parser's decision slots: the rules' choices reopened as mutually exclusive options.

The rule parser (:mod:`finsta_cli.text.parser`) makes one choice at each point where FACTUAL's
annotators could have written a fact in several ways.
:func:`~finsta_cli.text.learned.proposals.propose` reopens those choices as *slots*, each a small
set of mutually exclusive *options* (the rules' own choice among them):

- ``name``: the words of an object's name: the rules' name, the head noun alone, or the head with
  more of the modifiers in front of it ("cloth", "table cloth", "paisley table cloth"), a
  spelling FACTUAL uses for the same words ("wet suit" -> "wetsuit"), or a rare word mended to
  a frequent train name one edit away ("palte" -> "plate");
- ``attr``: one modifier of an object (an adjective, participle, number or noun in front of it,
  or an attribute the rules found elsewhere): dropped, or kept as one of its spellings
  ("dark green" / "green");
- ``rel``: one relation fact of the rules (``( man , sit on , bench )``), or one preposition or
  verb the rules read no relation from: dropped, or kept with one of several subjects (the
  rules', the word spaCy attached it to, the objects before it) and one of several predicate
  spellings (the verb with its preposition, the preposition alone, what FACTUAL's train split
  writes instead, ...). Predicates with adverbs or temporal edges ("moves right after ...")
  are left as the rules made them: FACTUAL's graphs have no place for what they carry;
- ``bare``: whether an object that ends up in no fact is kept as ``( obj )`` or left out.

Each option carries string features (the model's inputs) and a payload that
:func:`~finsta_cli.text.learned.apply.apply_choices` writes back into a TSG record: node labels
and spans change, attribute and predicate nodes are added or removed, and the rules' temporal
and adverb edges follow the predicates they belong to.
:func:`~finsta_cli.text.learned.targets.gold_targets` marks the options that agree with a
FACTUAL gold graph, for training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from finsta_cli.text.conventions import Conventions
from finsta_cli.text.factual import (
    Fact,
    normalise_text,
)
from finsta_cli.text.tokens import Tok

SLOT_KINDS: tuple[str, ...] = ("name", "attr", "rel", "bare")


@dataclass(frozen=True)
class Name:
    """An object's name: its text (as the TSG label) and the tokens whose span it takes."""

    text: str
    tokens: tuple[int, ...]
    kind: str


@dataclass(frozen=True)
class Attr:
    """An attribute fact: ``( obj , is , text )``."""

    obj: int  # object node
    text: str
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class Rel:
    """A relation fact ``( agent , label [prep] , target )``, or ``( agent , is , label )``.

    ``origin`` is the rules' predicate node it came from (its temporal and adverb edges follow
    it) and ``verb`` whether ``label`` is the predicate node's own label; a relation with
    ``target`` None is an intransitive verb, written as its caption form.
    """

    agent: int
    label: str
    prep: str | None
    patient: bool
    target: int | None
    tokens: tuple[int, ...]
    origin: int | None
    lemma: str


@dataclass
class Option:
    features: list[str]
    value: Any  # Name, Attr, Rel, bool (bare: keep) or None (drop)


@dataclass
class Slot:
    kind: str  # one of SLOT_KINDS
    key: tuple[Any, ...]
    options: list[Option]
    rule: int  # index of the option the rules chose
    anchor: int | None = None  # attr slots: the modifier token (suppressed when in a name)


@dataclass
class Proposal:
    """One caption's rule graph, its objects' tokens and the slots reopened on it."""

    text: str
    record: dict[str, Any]
    tokens: list[Tok]
    object_heads: dict[int, int]  # object node -> head token
    names: dict[int, list[Name]]  # object node -> its name options (index 0: the rules')
    slots: list[Slot] = field(default_factory=list)
    # Nouns the rules made no object of, offered as the subject or object of a verb the rules
    # read no relation from: virtual node id (after the record's nodes) -> its name.
    extra_objects: dict[int, Name] = field(default_factory=dict)
    fixed: list[Rel] = field(default_factory=list)  # the rules' relations no slot reopens


def predicate_text(label: str, prep: str | None, patient: bool) -> str:
    """The predicate word FACTUAL writes for a relation (before the conventions' rewrites)."""
    if patient or not prep or prep == label:
        return label
    return f"{label} {prep}"


# -- gold ------------------------------------------------------------------------------------
def render_name(name: str, conventions: Conventions) -> str:
    label = normalise_text(name)
    return conventions.object_names.get(label, label)


def render_relation(rel: Rel, names: Mapping[int, str], conventions: Conventions) -> Fact:
    subject = names[rel.agent]
    if rel.target is None:
        return (subject, "is", normalise_text(rel.label))
    target = names[rel.target]
    predicate = normalise_text(predicate_text(rel.label, rel.prep, rel.patient))
    predicate = conventions.predicate_names.get(
        f"{predicate}|{target}", conventions.predicate_names.get(predicate, predicate)
    )
    return (subject, predicate, target)


def same_object_keys(name: str) -> set[str]:
    """Keys under which two spellings of an object count as the same object for labels."""
    last = name.rsplit(" ", 1)[-1]
    return {name, last, last[:-1] if last.endswith("s") else last + "s"}
