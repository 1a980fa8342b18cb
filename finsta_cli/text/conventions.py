"""FACTUAL naming conventions the rule parser follows: the :class:`Conventions` tables, their file.

FACTUAL's annotators decided, modifier by modifier, whether a noun modifier is an attribute
("brick wall" -> ``( wall , is , brick )``), part of the name ("coffee table"), a separate
object that has the head ("clock face" -> ``( clock , have , face )``) or nothing; how "X of Y"
reads ("bunch of birds" -> birds, "wing of plane" -> ``( plane , have , wing )``); and how
names and predicates are spelled ("guy" -> "person"). :mod:`finsta_cli.text.learn_conventions`
counts these decisions on FACTUAL's train split; the result ships as
``assets/text/factual_conventions.json`` and is loaded by default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from finsta_cli.assets import assets_dir
from finsta_cli.errors import InputError

ModifierPolicy = Literal["attribute", "merge", "have", "drop"]
MODIFIER_POLICIES: tuple[str, ...] = ("attribute", "merge", "have", "drop")
CONVENTIONS_FILE = "text/factual_conventions.json"


@dataclass
class Conventions:
    """Lookup tables the parser and the FACTUAL writer consult; empty tables mean defaults.

    ``modifiers``: ``"amod:red"`` / ``"compound:clock"`` / ``"nummod:one"`` -> policy;
    ``pairs``: ``"clock face"`` -> policy (wins over ``modifiers``);
    ``of_heads``: head noun of "X of Y" -> ``drop`` (X is a quantity: "bunch"),
    ``rev:PRED`` (``( Y , PRED , X )``: "wing of plane" -> plane have wing, "picture of people"
    -> people in picture) or ``fwd:PRED`` (``( X , PRED , Y )``: "field of snow");
    ``verb_lemmas``: verb forms whose spaCy lemma FACTUAL writes otherwise ("lying" -> lay);
    ``default_compound``: what an unseen noun compound does;
    ``object_names`` / ``predicate_names``: FACTUAL spellings of names and predicates.
    """

    modifiers: dict[str, str] = field(default_factory=dict)
    pairs: dict[str, str] = field(default_factory=dict)
    of_heads: dict[str, str] = field(default_factory=dict)
    object_names: dict[str, str] = field(default_factory=dict)
    predicate_names: dict[str, str] = field(default_factory=dict)
    default_of: str = "rev:have"
    default_compound: str = "merge"
    verb_lemmas: dict[str, str] = field(default_factory=dict)
    nouns: frozenset[str] = frozenset()

    def modifier_policy(self, dep: str, modifier: str, head: str, default: str) -> str:
        pair = self.pairs.get(f"{modifier} {head}")
        if pair is not None:
            return pair
        return self.modifiers.get(f"{dep}:{modifier}", default)

    def drops_attribute(self, attribute: str, head: str) -> bool:
        """Whether FACTUAL leaves out this modifier in front of this noun ("snowy" of "snowy
        hill"): the TSG keeps such scene words as attributes, the FACTUAL writer drops them."""
        pair = self.pairs.get(f"{attribute} {head}")
        if pair is not None:
            return pair == "drop"
        policy = self.modifiers.get(
            f"amod:{attribute}", self.modifiers.get(f"compound:{attribute}")
        )
        return policy == "drop"

    def of_policy(self, head: str) -> str:
        return self.of_heads.get(head, self.default_of)

    def to_json(self) -> dict[str, Any]:
        return {
            "modifiers": dict(sorted(self.modifiers.items())),
            "pairs": dict(sorted(self.pairs.items())),
            "of_heads": dict(sorted(self.of_heads.items())),
            "object_names": dict(sorted(self.object_names.items())),
            "predicate_names": dict(sorted(self.predicate_names.items())),
            "default_of": self.default_of,
            "default_compound": self.default_compound,
            "verb_lemmas": dict(sorted(self.verb_lemmas.items())),
            "nouns": sorted(self.nouns),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conventions:
        return cls(
            modifiers=dict(data.get("modifiers", {})),
            pairs=dict(data.get("pairs", {})),
            of_heads=dict(data.get("of_heads", {})),
            object_names=dict(data.get("object_names", {})),
            predicate_names=dict(data.get("predicate_names", {})),
            default_of=str(data.get("default_of", "rev:have")),
            default_compound=str(data.get("default_compound", "merge")),
            verb_lemmas=dict(data.get("verb_lemmas", {})),
            nouns=frozenset(data.get("nouns", [])),
        )


def conventions_path() -> Path:
    return assets_dir() / CONVENTIONS_FILE


@lru_cache(maxsize=4)
def _load(path: str) -> Conventions:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read conventions ({exc.strerror})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    return Conventions.from_json(data)


def load_conventions(path: str | Path | None = None) -> Conventions:
    """The shipped conventions (or those in ``path``); no file at the default path = none."""
    target = Path(path) if path is not None else conventions_path()
    if path is None and not target.is_file():
        return Conventions()
    return _load(str(target))
