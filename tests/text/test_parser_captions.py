"""The rule parser on video captions: predicate spans, order across clauses, action labels and
the scene words a caption depends on.

Hand-built parses reproduce en_core_web_sm's parses of the sentences (so the rules are tested
whatever the model does); the sentences are this file's own, not any dataset's.
"""

from __future__ import annotations

import pytest

from finsta_cli.schema import TSG
from finsta_cli.text.conventions import Conventions
from finsta_cli.text.parser import load_nlp, parse_doc

from .test_parser import edges_by_type, make_doc


@pytest.fixture(scope="module", autouse=True)
def _verb_lexicon() -> None:
    load_nlp()  # loading the pipeline registers its lemmatizer's verb lexicon


def span_text(tsg: TSG, label: str) -> list[str]:
    return [
        tsg.text[node.span[0] : node.span[1]]
        for node in tsg.nodes
        if node.type == "predicate" and node.label == label and node.span is not None
    ]


def test_a_verbs_span_stays_on_the_verb_when_its_phrase_places_the_object() -> None:
    # "a man is giving a review on a vehicle": "on a vehicle" places the review (review on
    # vehicle); the verb's own predicate kept the preposition's span before.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 3, "nsubj", "NOUN", "NN", "man"),
        ("is", 3, "aux", "AUX", "VBZ", "be"),
        ("giving", 3, "ROOT", "VERB", "VBG", "give"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("review", 3, "dobj", "NOUN", "NN", "review"),
        ("on", 3, "prep", "ADP", "IN", "on"),
        ("a", 8, "det", "DET", "DT", "a"),
        ("vehicle", 6, "pobj", "NOUN", "NN", "vehicle"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert span_text(tsg, "give") == ["giving"]
    assert span_text(tsg, "on") == ["on"]
    assert ("on", "review") in edges_by_type(tsg, "agent")
