"""Training targets: the options of each slot that agree with a FACTUAL gold graph."""

from __future__ import annotations

import re
from collections.abc import Iterable

from finsta_cli.text.conventions import Conventions
from finsta_cli.text.factual import (
    Fact,
    normalise_text,
)
from finsta_cli.text.learned.slots import Proposal, render_name, render_relation, same_object_keys


def gold_targets(
    proposal: Proposal, gold: Iterable[Fact], conventions: Conventions
) -> list[list[int]]:
    """For each slot, the indices of its options that agree with the gold facts.

    Names agree when gold writes them. An attribute or relation agrees when gold has it with
    one of its objects' name options, or else, failing that, with names that share the head
    word (so a relation is not learned as wrong for a spelling the name slot decides); a slot
    with no agreeing keep option has "drop" as its target; a name slot with none has no target.
    """
    gold_set = set(gold)
    gold_names = {part for fact in gold_set for part in (fact[0], fact[-1])}
    gold_names |= {fact[0] for fact in gold_set if len(fact) == 3 and fact[1] == "is"}
    variants: dict[int, set[str]] = {
        node: {render_name(n.text, conventions) for n in names}
        for node, names in proposal.names.items()
    }
    for node in range(len(proposal.record["nodes"])):
        if node not in variants and proposal.record["nodes"][node]["type"] == "object":
            variants[node] = {render_name(proposal.record["nodes"][node]["label"], conventions)}
    for node, name in proposal.extra_objects.items():
        variants[node] = {render_name(name.text, conventions)}
    loose_keys = {
        node: set().union(*(same_object_keys(n) for n in names)) for node, names in variants.items()
    }
    # Gold facts by their predicate (or attribute value), with their names' loose keys.
    loose_gold: dict[str, list[tuple[set[str], set[str]]]] = {}
    for fact in gold_set:
        if len(fact) == 3:
            loose_gold.setdefault(fact[1] + "\t" + (fact[2] if fact[1] == "is" else ""), []).append(
                (same_object_keys(fact[0]), same_object_keys(fact[2]))
            )

    gold_pairs = [
        (same_object_keys(fact[0]), same_object_keys(fact[2]))
        for fact in gold_set
        if len(fact) == 3 and fact[1] != "is"
    ]
    gold_values = " ".join(fact[2] for fact in gold_set if len(fact) == 3 and fact[1] == "is")

    def linked(agent: int, target: int) -> bool:
        """Whether gold relates these two objects somehow (in either direction)."""
        a, t = loose_keys.get(agent, set()), loose_keys.get(target, set())
        return any((s & a and o & t) or (s & t and o & a) for s, o in gold_pairs)

    def loose_match(subject: int, predicate: str, value: str, target: int | None) -> bool:
        for subject_keys, target_keys in loose_gold.get(predicate + "\t" + value, []):
            if subject_keys & loose_keys.get(subject, set()) and (
                target is None or target_keys & loose_keys.get(target, set())
            ):
                return True
        return False

    targets: list[list[int]] = []
    for slot in proposal.slots:
        good: list[int] = []
        if slot.kind == "name":
            good = [
                i
                for i, option in enumerate(slot.options)
                if render_name(option.value.text, conventions) in gold_names
            ]
        elif slot.kind == "attr":
            for i, option in enumerate(slot.options):
                attr = option.value
                if attr is not None and any(
                    (name, "is", normalise_text(attr.text)) in gold_set
                    for name in variants[attr.obj]
                ):
                    good.append(i)
            if not good:
                good = [
                    i
                    for i, option in enumerate(slot.options)
                    if option.value is not None
                    and loose_match(option.value.obj, "is", normalise_text(option.value.text), None)
                ]
            if not good and any(
                o.value is not None and re.search(rf"\b{re.escape(o.value.text)}\b", gold_values)
                for o in slot.options
            ):
                targets.append([])  # gold writes it another way (or on another object)
                continue
        elif slot.kind == "rel":
            loose: list[int] = []
            for i, option in enumerate(slot.options):
                rel = option.value
                if rel is None:
                    continue
                found = False
                for subject in variants.get(rel.agent, ()):
                    targets_ = (
                        [None] if rel.target is None else sorted(variants.get(rel.target, ()))
                    )
                    for target in targets_:
                        names = {rel.agent: subject}
                        if rel.target is not None:
                            names[rel.target] = str(target)
                        if render_relation(rel, names, conventions) in gold_set:
                            found = True
                            break
                    if found:
                        break
                if found:
                    good.append(i)
                    continue
                if rel.target is None:
                    value = normalise_text(rel.label)
                    if loose_match(rel.agent, "is", value, None):
                        loose.append(i)
                    continue
                names = {
                    rel.agent: next(iter(sorted(variants.get(rel.agent, {"_"})))),
                    rel.target: next(iter(sorted(variants.get(rel.target, {"_"})))),
                }
                predicate = render_relation(rel, names, conventions)[1]
                if loose_match(rel.agent, predicate, "", rel.target):
                    loose.append(i)
            good = good or loose
            if not good and any(
                o.value is not None
                and o.value.target is not None
                and linked(o.value.agent, o.value.target)
                for o in slot.options
            ):
                targets.append([])  # gold relates them with a predicate not offered: no lesson
                continue
        elif slot.kind == "bare":
            node = slot.key[0]
            good = [1] if any(name in gold_names for name in variants[node]) else [0]
        if not good and slot.kind in ("attr", "rel") and slot.options[0].value is None:
            good = [0]  # drop
        targets.append(good)
    return targets
