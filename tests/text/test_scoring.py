"""The scorers of parse-text's graphs: hand-written caption gold, synth order, predicate spans."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.schema import TSG
from finsta_cli.text.scoring import (
    parse_gold,
    read_gold,
    score_gold,
    score_synth_order,
    spans_off_the_verb,
)

TEXT = "a young woman washes her hands and then cleans a surface"


def tsg(nodes: list[tuple[str, str, tuple[int, int] | None]], edges: list[tuple]) -> TSG:
    """A TSG of the caption TEXT from (type, label, span) nodes and (source, target, type,
    preposition) edges."""
    return TSG.model_validate({
        "id": "1",
        "text": TEXT,
        "nodes": [
            {"id": i, "type": kind, "label": label, "span": span, "lemma": label}
            for i, (kind, label, span) in enumerate(nodes)
        ],
        "edges": [
            {"source": s, "target": t, "type": kind, "preposition": p} for s, t, kind, p in edges
        ],
    })  # fmt: skip


def word(text: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(text, start + 1)
    return start, start + len(text)


GRAPH = tsg(
    [
        ("object", "woman", word("woman")),  # 0
        ("attribute", "young", word("young")),  # 1
        ("object", "hands", word("hands")),  # 2
        ("object", "surface", word("surface")),  # 3
        ("predicate", "wash", word("washes")),  # 4
        ("predicate", "clean", word("cleans")),  # 5
    ],
    [
        (0, 1, "has_attribute", None),
        (4, 0, "agent", None),
        (4, 2, "patient", None),
        (5, 0, "agent", None),
        (5, 3, "patient", None),
        (4, 5, "before", None),
    ],
)

GOLD = f"""# own caption, written for this test
= c1 | {TEXT}
O woman hands surface
M woman: young
P washes: woman > hands
P cleans: woman > surface
T washes < cleans then
"""


def test_gold_items_found() -> None:
    figures = score_gold(parse_gold(GOLD), [GRAPH]).figures()
    assert figures["objects"] == {"gold": 3, "recall": 1.0, "precision": 1.0}
    assert figures["modifier_words_kept"]["share"] == 1.0
    assert figures["predicates"]["right_arguments"] == 1.0
    assert figures["predicates"]["span_on_verb"] == 1.0
    assert figures["order"]["right"] == 1.0
    assert figures["order"]["by_word"] == {"then": {"gold": 1, "right": 1}}


def test_gold_misses_are_counted_and_listed() -> None:
    # No attribute, the second predicate's span on "then", the order edge reversed.
    graph = tsg(
        [
            ("object", "woman", word("woman")),
            ("object", "hands", word("hands")),
            ("object", "surface", word("surface")),
            ("predicate", "wash", word("washes")),
            ("predicate", "clean", word("then")),
        ],
        [(3, 0, "agent", None), (3, 1, "patient", None), (4, 0, "agent", None),
         (4, 2, "patient", None), (4, 3, "before", None)],
    )  # fmt: skip
    scores = score_gold(parse_gold(GOLD), [graph])
    figures = scores.figures()
    assert figures["modifier_words_kept"]["share"] == 0.0
    assert figures["predicates"]["span_on_verb"] == 0.5
    assert figures["predicates"]["right_arguments"] == 0.5
    assert figures["order"]["right"] == 0.0
    miss = scores.misses[0]
    assert miss["modifiers_dropped"] == ["woman: young"]
    assert miss["predicates_wrong"] == ["cleans (no predicate)"]


def test_a_wrong_argument_is_a_wrong_predicate() -> None:
    graph = tsg(
        [
            ("object", "woman", word("woman")),
            ("object", "hands", word("hands")),
            ("predicate", "wash", word("washes")),
        ],
        [(2, 1, "agent", None), (2, 0, "patient", None)],
    )
    gold = parse_gold(f"= c1 | {TEXT}\nP washes: woman > hands\n")
    assert score_gold(gold, [graph]).figures()["predicates"]["right_arguments"] == 0.0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("O woman\n", "before the first"),
        (f"= c1 | {TEXT}\nO giraffe\n", "no 'giraffe'"),
        (f"= c1 | {TEXT}\nT washes < dries then\n", "names no predicate"),
        (f"= c1 | {TEXT}\nX woman\n", "unknown line type"),
        (f"= c1 | {TEXT}\nT washes ? cleans then\n", "before"),
    ],
)
def test_a_bad_gold_file_names_the_file_and_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "gold.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=reason) as info:
        read_gold(path)
    assert str(path) in str(info.value)
    with pytest.raises(InputError, match="cannot read gold file"):
        read_gold(tmp_path / "missing.txt")


def test_graphs_for_other_captions_are_refused() -> None:
    other = GRAPH.model_copy(update={"text": "something else"})
    with pytest.raises(InputError, match="graph of"):
        score_gold(parse_gold(GOLD), [other])


def synth_fact(colour: str, shape: str, kind: str = "move", direction: str = "left") -> dict:
    return {
        "kind": kind,
        "subject": {"colour": colour, "shape": shape},
        "object": None,
        "direction": direction,
        "relation": None,
        "when": None,
    }


def synth_graph(text: str, before: bool, reverse: bool = False) -> TSG:
    cube, ball = text.index("cube"), text.index("ball")
    moves, enters = text.index("moves"), text.index("enters")
    edge = (3, 2) if reverse else (2, 3)
    return TSG.model_validate({
        "id": "1", "text": text,
        "nodes": [
            {"id": 0, "type": "object", "label": "cube", "lemma": "cube", "span": (cube, cube + 4)},
            {"id": 1, "type": "object", "label": "ball", "lemma": "ball", "span": (ball, ball + 4)},
            {"id": 2, "type": "predicate", "label": "move", "span": (moves, moves + 5)},
            {"id": 3, "type": "predicate", "label": "enter", "span": (enters, enters + 6)},
            {"id": 4, "type": "attribute", "label": "red", "span": None},
            {"id": 5, "type": "attribute", "label": "blue", "span": None},
        ],
        "edges": [
            {"source": 0, "target": 4, "type": "has_attribute"},
            {"source": 1, "target": 5, "type": "has_attribute"},
            {"source": 2, "target": 0, "type": "agent"},
            {"source": 3, "target": 1, "type": "agent"},
        ] + ([{"source": edge[0], "target": edge[1], "type": "before"}] if before else []),
    })  # fmt: skip


def test_synth_order_counts_right_reversed_and_missing_edges() -> None:
    text = "The red cube moves left, then the blue ball enters from the top."
    facts = [synth_fact("red", "cube"), synth_fact("blue", "ball", "enter", "up")]
    caption = {"text": text, "facts": facts, "order": [[0, 1]], "template": "then"}
    graphs = [synth_graph(text, True), synth_graph(text, True, True), synth_graph(text, False)]
    score = score_synth_order([caption] * 3, graphs)
    assert (score.pairs, score.right, score.reversed, score.none) == (3, 1, 1, 1)
    assert score.figures()["by_template"] == {"then": {"right": 1, "pairs": 3}}
    # Told as simultaneous: a before edge between them is counted as wrong.
    text = "The red cube moves left while the blue ball enters from the top."
    caption = {"text": text, "facts": facts, "order": [], "template": "while"}
    score = score_synth_order([caption], [synth_graph(text, True)])
    assert (score.pairs, score.concurrent, score.concurrent_before) == (0, 1, 1)


def test_spans_off_the_verb() -> None:
    text = "a man is giving a review on a car"
    good = TSG.model_validate({
        "id": "1", "text": text,
        "nodes": [{"id": 0, "type": "predicate", "label": "give", "span": (9, 15)}], "edges": [],
    })  # fmt: skip
    bad = TSG.model_validate({
        "id": "1", "text": text,
        "nodes": [{"id": 0, "type": "predicate", "label": "give", "span": (25, 27)}], "edges": [],
    })  # fmt: skip
    tokens = [(9, "give"), (25, "on")]
    assert spans_off_the_verb(good, tokens) == []
    assert spans_off_the_verb(bad, tokens) == ["give -> 'on'"]
    # A relation no word of the caption names ("have" read from "of") is not counted.
    assert spans_off_the_verb(bad, [(25, "on")]) == []


@pytest.mark.parametrize(
    ("subject_edge", "right"),
    [("agent", 1.0), ("patient", 1.0)],
)
def test_a_passive_without_agent_keeps_its_prepositional_argument(
    subject_edge: str, right: float
) -> None:
    # "!pass": the subject may sit in the agent or the patient slot; "on the screen" stays a
    # prepositional argument (it was pooled with the subject before, so never matched).
    text = "numbers are displayed on the screen"
    graph = TSG.model_validate({
        "id": "1",
        "text": text,
        "nodes": [
            {"id": 0, "type": "object", "label": "numbers", "span": (0, 7)},
            {"id": 1, "type": "object", "label": "screen", "span": (29, 35)},
            {"id": 2, "type": "predicate", "label": "display", "span": (12, 21)},
        ],
        "edges": [
            {"source": 2, "target": 0, "type": subject_edge},
            {"source": 2, "target": 1, "type": "prep_arg", "preposition": "on"},
        ],
    })  # fmt: skip
    gold = parse_gold(f"= c1 | {text}\nP displayed: > numbers ; on screen !pass\n")
    assert score_gold(gold, [graph]).figures()["predicates"]["right_arguments"] == right
    wrong = parse_gold(f"= c1 | {text}\nP displayed: > numbers ; in screen !pass\n")
    assert score_gold(wrong, [graph]).figures()["predicates"]["right_arguments"] == 0.0
