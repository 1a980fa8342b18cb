"""Tests of finsta_cli/captioning/ptb.py: the Python tokenizer on captions whose PTB tokens
(Stanford PTBTokenizer 3.4.1 as pycocoevalcap runs it, then its punctuation list) were taken from
the jar; tests/captioning/test_metrics.py compares them with the jar itself when Java is here."""

from __future__ import annotations

import pytest

from finsta_cli.captioning.ptb import tokenize

# (caption, what the jar and coco-caption's punctuation filter make of it)
PTB_TOKENS = [
    ("A man's dog doesn't run.", "a man 's dog does n't run"),
    ('He can\'t go; she cannot "stay" (really).',
     "he ca n't go she can not stay -lrb- really -rrb-"),
    ("The U.S. team won 3.5 points, 1,000 times!", "the u.s. team won 3.5 points 1,000 times"),
    ("Mr. Smith and Dr. Who at 5 p.m.", "mr. smith and dr. who at 5 p.m."),
    ("a well-known man -- really - here...", "a well-known man really here"),
    ("cats/dogs & birds 50% $5 #1", "cats/dogs & birds 50 % $ 5 # 1"),
    ("She said 'hello' and it's fine", "she said hello and it 's fine"),
    ("gonna wanna gotta don't won't I'm you're we've they'd we'll",
     "gon na wan na got ta do n't wo n't i 'm you 're we 've they 'd we 'll"),
    ("What?! No... yes!!", "what ?! no yes !!"),
    ("x{y}z [box] a+b=c", "x -lcb- y -rcb- z -lsb- box -rsb- a + b = c"),
    ("people are dancing, singing and laughing at 10:30",
     "people are dancing singing and laughing at 10:30"),
    ("man 's foot on the snow board", "man 's foot on the snow board"),
    ("a trailer filled with luggage.a trailer", "a trailer filled with luggage.a trailer"),
    ("not to mention all that long attractive fur..... ok .. then",
     "not to mention all that long attractive fur ok then"),
    ("Putting [something] on [something]",
     "putting -lsb- something -rsb- on -lsb- something -rsb-"),
]  # fmt: skip


@pytest.mark.parametrize(("caption", "expected"), PTB_TOKENS)
def test_tokens_as_ptb_makes_them(caption: str, expected: str) -> None:
    assert tokenize(caption) == expected.split()


def test_curly_quotes_dashes_and_empty_text() -> None:
    assert tokenize("\u201cIt\u2019s\u201d \u2014 a dog\u2026") == ["it", "'s", "a", "dog"]
    assert tokenize("") == [] and tokenize(" ... !") == []
