"""Property test: any unicode text parses into a valid TSG, never an exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from finsta_cli.schema import TSG
from finsta_cli.text.factual import format_facts, parse_facts, tsg_to_facts
from finsta_cli.text.parser import load_nlp, parse_texts, tsg_record
from tests.text.helpers import VOCABULARY

WORDS = st.sampled_from(VOCABULARY)
TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(WORDS, max_size=20).map(" ".join),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(TEXTS, min_size=1, max_size=4))
@example(texts=["to of TO au", "¹ Æ"])  # once crashed: a preposition without object, "¹"
def test_random_text_never_crashes(texts: list[str]) -> None:
    nlp = load_nlp()
    tsgs = list(parse_texts(texts, nlp=nlp, batch_size=3))
    assert len(tsgs) == len(texts)
    for text, tsg in zip(texts, tsgs, strict=True):
        assert tsg.text == text
        TSG.model_validate(tsg.model_dump())  # spans inside the text, edges well typed
        line = format_facts(tsg_to_facts(tsg))
        assert "\n" not in line
        assert len(parse_facts(line)) == line.count("(")
        # The stage's unvalidated fast path writes exactly the validated record.
        record = json.loads(json.dumps(tsg_record(nlp(text), tsg.id)))
        assert record == tsg.model_dump(mode="json")
