"""How often FACTUAL's train split writes each name, attribute and predicate: :class:`TrainCounts`.

The proposals' features read these counts ("a name gold writes 100+ times"); training counts
them leave-one-out (:func:`leave_one_out`, a caption's own facts taken away) so that a feature
does not simply remember the caption it is learned from. :func:`learn_alternatives` finds the
predicates gold writes instead of the rules' one between the same two objects. (The class was
``candidates.Lexicon``; renamed so as not to be taken for :class:`finsta_cli.hsg.lexicon.Lexicon`,
which maps words to visual classes.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from finsta_cli.text.factual import (
    Fact,
)
from finsta_cli.text.learned.slots import same_object_keys


@dataclass(frozen=True)
class TrainCounts:
    """How often FACTUAL's train split writes a name, an attribute or a predicate."""

    names: Mapping[str, int]
    attributes: Mapping[str, int]
    predicates: Mapping[str, int]
    # Predicates gold writes instead of the rules' one for the same two objects ("with" ->
    # "have"): offered as other spellings of a relation.
    alternatives: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> TrainCounts:
        return cls({}, {}, {})


# -- lexicon ---------------------------------------------------------------------------------
def lexicon_counts(rows: Iterable[Sequence[Fact]]) -> dict[str, Counter[str]]:
    """Counts of names, attribute values and predicates in gold fact lists."""
    names: Counter[str] = Counter()
    attributes: Counter[str] = Counter()
    predicates: Counter[str] = Counter()
    for facts in rows:
        names.update(_fact_names(facts))
        for fact in set(facts):
            if len(fact) == 3 and fact[1] == "is":
                attributes[fact[2]] += 1
            elif len(fact) == 3:
                predicates[fact[1]] += 1
    return {"names": names, "attributes": attributes, "predicates": predicates}


def _fact_names(facts: Iterable[Fact]) -> set[str]:
    found: set[str] = set()
    for fact in facts:
        found.add(fact[0])
        if len(fact) == 3 and fact[1] != "is":
            found.add(fact[2])
    return found


def learn_alternatives(
    rule_facts: Iterable[frozenset[Fact]],
    gold_facts: Iterable[frozenset[Fact]],
    *,
    min_count: int = 2,
    min_share: float = 0.02,
    keep: int = 6,
) -> dict[str, list[str]]:
    """Predicates gold writes instead of the rules' one between the same two objects.

    ``rev:PRED`` marks gold writing the two objects the other way round ("( plate , have ,
    food )" for the rules' "( food , on , plate )"). Kept: seen ``min_count`` times and in
    ``min_share`` of the rules' uses of the predicate, the ``keep`` most frequent.
    """
    used: Counter[str] = Counter()
    seen: dict[str, Counter[str]] = {}
    for rules, gold in zip(rule_facts, gold_facts, strict=True):
        relations = [
            (same_object_keys(f[0]), f[1], same_object_keys(f[2]))
            for f in gold
            if len(f) == 3 and f[1] != "is"
        ]
        for fact in rules:
            if len(fact) != 3 or fact[1] == "is":
                continue
            used[fact[1]] += 1
            if fact in gold:
                continue
            subject, obj = same_object_keys(fact[0]), same_object_keys(fact[2])
            for gold_subject, predicate, gold_obj in relations:
                if subject & gold_subject and obj & gold_obj and predicate != fact[1]:
                    seen.setdefault(fact[1], Counter())[predicate] += 1
                elif subject & gold_obj and obj & gold_subject:
                    seen.setdefault(fact[1], Counter())["rev:" + predicate] += 1
    table: dict[str, list[str]] = {}
    for predicate, counter in sorted(seen.items()):
        chosen = [
            other
            for other, count in counter.most_common()
            if count >= min_count and count >= min_share * used[predicate]
        ][:keep]
        if chosen:
            table[predicate] = chosen
    return table


class _Without(Mapping[str, int]):
    """A count table minus one caption's own counts (leave-one-out features for training)."""

    def __init__(self, base: Mapping[str, int], own: Mapping[str, int]) -> None:
        self.base = base
        self.own = own

    def __getitem__(self, key: str) -> int:
        return self.base[key] - self.own.get(key, 0)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.base.get(key)
        if value is None:
            return default
        return value - self.own.get(key, 0)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


def leave_one_out(
    counts: Mapping[str, Counter[str]],
    facts: Sequence[Fact],
    alternatives: Mapping[str, Sequence[str]],
) -> TrainCounts:
    own = lexicon_counts([facts])
    return TrainCounts(
        _Without(counts["names"], own["names"]),
        _Without(counts["attributes"], own["attributes"]),
        _Without(counts["predicates"], own["predicates"]),
        alternatives,
    )
