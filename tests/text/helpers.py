"""Helpers of the text tests: a spaCy ``Doc`` built from hand-written parse rows, a TSG's facts and
edges, and the word list of the property tests."""

from __future__ import annotations

from collections.abc import Sequence

import spacy
from spacy.tokens import Doc

from finsta_cli.schema import TSG
from finsta_cli.text.conventions import Conventions
from finsta_cli.text.factual import tsg_to_facts

VOCAB = spacy.blank("en").vocab


def make_doc(rows: Sequence[tuple[str, int, str, str, str, str]]) -> Doc:
    """A parsed Doc from (word, head, dep, pos, tag, lemma) rows; heads are token indices."""
    words, heads, deps, pos, tags, lemmas = (list(column) for column in zip(*rows, strict=True))
    return Doc(VOCAB, words=words, heads=heads, deps=deps, pos=pos, tags=tags, lemmas=lemmas)


def facts_of(tsg: TSG, conventions: Conventions | None = None) -> set[tuple[str, ...]]:
    conv = conventions or Conventions()
    return set(
        tsg_to_facts(tsg, object_names=conv.object_names, predicate_names=conv.predicate_names)
    )


def edges_by_type(tsg: TSG, kind: str) -> list[tuple[str, str]]:
    return [
        (tsg.nodes[e.source].label, tsg.nodes[e.target].label) for e in tsg.edges if e.type == kind
    ]


# Caption words the strategies draw from (tests/text/learned/test_training.py adds to them).
VOCABULARY = [
    "a",
    "the",
    "man",
    "men",
    "two",
    "red",
    "cup",
    "on",
    "table",
    "in",
    "front",
    "of",
    "is",
    "was",
    "by",
    "and",
    "then",
    "it",
    "they",
    "who",
    "holding",
    "sits",
    "quickly",
    "next",
    "to",
    "'s",
    ",",
    ".",
    "of",
    "bunch",
]
