"""The rule matcher's lexicon: object synonyms, attribute words and predicate words."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finsta_cli.assets import assets_dir
from finsta_cli.errors import InputError


@dataclass(frozen=True)
class Lexicon:
    """What words mean to the matcher.

    ``object_words``: word -> visual classes it names; ``generic``: words naming any object;
    ``attribute_words``: word -> (attribute, canonical value); ``predicate_words``: word ->
    visual predicates (motions or relations) it can describe.
    """

    object_words: dict[str, frozenset[str]] = field(default_factory=dict)
    generic: frozenset[str] = frozenset()
    attribute_words: dict[str, tuple[str, str]] = field(default_factory=dict)
    predicate_words: dict[str, frozenset[str]] = field(default_factory=dict)
    motion_verbs: frozenset[str] = frozenset()

    def classes_named(self, word: str, known_classes: set[str]) -> set[str]:
        """Visual classes that ``word`` names: itself when it is a class, and its synonyms."""
        named = set(self.object_words.get(word, frozenset()))
        if word in known_classes:
            named.add(word)
        return named


def default_lexicon_path() -> Path:
    return assets_dir() / "hsg" / "lexicon.yaml"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read lexicon ({exc.strerror})") from None
    except yaml.YAMLError:
        raise InputError(f"{path}: lexicon is not valid YAML") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a lexicon is a mapping of sections")
    return data


def load_lexicon(extra: Path | None = None) -> Lexicon:
    """The shipped lexicon, with the lists of ``extra`` (same layout) merged in."""
    sources = [_read(default_lexicon_path())]
    if extra is not None:
        sources.append(_read(extra))
    object_words: dict[str, set[str]] = {}
    generic: set[str] = set()
    attribute_words: dict[str, tuple[str, str]] = {}
    predicate_words: dict[str, set[str]] = {}
    motion_verbs: set[str] = set()
    for data in sources:
        for visual_class, words in (data.get("object_synonyms") or {}).items():
            for word in [visual_class, *(words or [])]:
                object_words.setdefault(str(word).lower(), set()).add(str(visual_class).lower())
        generic.update(str(w).lower() for w in data.get("generic_objects") or [])
        motion_verbs.update(str(w).lower() for w in data.get("motion_verbs") or [])
        aliases = {
            str(k).lower(): str(v).lower() for k, v in (data.get("attribute_aliases") or {}).items()
        }
        for attribute, words in (data.get("attributes") or {}).items():
            for word in words or []:
                word = str(word).lower()
                attribute_words[word] = (str(attribute), aliases.get(word, word))
        for word, value in aliases.items():
            if value in attribute_words and word not in attribute_words:
                attribute_words[word] = (attribute_words[value][0], value)
        for word, predicates in (data.get("predicates") or {}).items():
            predicate_words.setdefault(str(word).lower(), set()).update(
                str(p).lower() for p in predicates or []
            )
    return Lexicon(
        object_words={k: frozenset(v) for k, v in object_words.items()},
        generic=frozenset(generic),
        attribute_words=attribute_words,
        predicate_words={k: frozenset(v) for k, v in predicate_words.items()},
        motion_verbs=frozenset(motion_verbs),
    )
