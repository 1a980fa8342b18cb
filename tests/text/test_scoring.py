"""The scorers of parse-text's graphs: hand-written caption gold, synth order, predicate spans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsta_cli.errors import InputError
from finsta_cli.schema import TSG
from finsta_cli.text.scoring import (
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


def gold_line(**fields: Any) -> dict[str, Any]:
    return {"id": "v1", "caption": TEXT, **fields}


def write_gold(path: Path, *items: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_gold_items_found_and_missed(tmp_path: Path) -> None:
    gold = read_gold(
        write_gold(
            tmp_path / "gold.jsonl",
            gold_line(
                objects=["young woman", "hand", "surface", "towel"],
                attributes=[["woman", "young"], ["surface", "wet"]],
                predicates=[
                    {"agent": "woman", "verb": "wash", "object": "hands"},
                    {"agent": "woman", "verb": "clean", "object": "surface"},
                    {"agent": "man", "verb": "clean", "object": None},  # wrong agent
                    {"agent": None, "verb": "dry", "object": None},  # no such verb
                ],
                order=[
                    {"word": "then", "first": "wash", "relation": "before", "second": "clean"},
                    {"word": "x", "first": "clean", "relation": "before", "second": "wash"},
                    {"word": "y", "first": "wash@hand", "relation": "overlaps", "second": "clean"},
                ],
            ),
        )
    )
    score = score_gold(gold, [GRAPH])
    assert (score.objects.found, score.objects.total) == (3, 4)  # "young" counts as an attribute
    assert (score.object_precision.found, score.object_precision.total) == (3, 3)
    assert (score.attributes.found, score.attributes.total) == (1, 2)
    assert (score.predicates.found, score.predicates.total) == (2, 4)
    assert (score.order.found, score.order.total) == (1, 3)
    assert score.reversed_order == 1
    assert any("towel" in miss for miss in score.objects.misses)
    figures = score.figures()
    assert figures["predicates_with_arguments"] == {"found": 2, "total": 4, "rate": 0.5}


def test_a_dropped_scene_word_is_a_missing_object() -> None:
    # "polar bear" read as a bear without "polar" (neither in its name nor an attribute).
    graph = tsg([("object", "bear", (0, 4))], [])
    gold = [read_gold_item(objects=["polar bear"])]
    assert score_gold(gold, [graph]).objects.found == 0
    graph = tsg([("object", "polar bear", (0, 10))], [])
    assert score_gold(gold, [graph]).objects.found == 1


def read_gold_item(**fields: Any) -> Any:
    from finsta_cli.text.scoring import _gold_caption

    return _gold_caption(gold_line(**fields))


def test_passive_object_may_sit_in_the_agent_slot() -> None:
    # "the potatoes are eaten": without a "by" phrase the subject keeps the agent slot.
    graph = tsg(
        [("object", "potatoes", (0, 8)), ("predicate", "eat", (9, 12))], [(1, 0, "agent", None)]
    )
    plain = read_gold_item(predicates=[{"agent": None, "verb": "eat", "object": "potato"}])
    passive = read_gold_item(
        predicates=[{"agent": None, "verb": "eat", "object": "potato", "passive": True}]
    )
    assert score_gold([plain], [graph]).predicates.found == 0
    assert score_gold([passive], [graph]).predicates.found == 1


@pytest.mark.parametrize(
    "line",
    [
        "{not json",
        json.dumps({"caption": "no id"}),
        json.dumps(gold_line(order=[{"word": "w", "first": "a", "relation": "x", "second": "b"}])),
        json.dumps(gold_line(predicates=[{"agent": "a"}])),
    ],
)
def test_a_bad_gold_line_names_the_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(gold_line()) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"gold\.jsonl:2: not a gold caption"):
        read_gold(path)
    with pytest.raises(InputError, match="no such file"):
        read_gold(tmp_path / "missing.jsonl")


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
