"""Hard-negative captions from TSGs (finsta_cli/align/negatives.py): hand-built graphs for the
exact rewrites, the rules parser on real-world captions for the end-to-end path."""

from __future__ import annotations

import pytest
import torch

from finsta_cli.align.losses import hard_negative_loss
from finsta_cli.align.negatives import structural_negatives, swap_clauses
from finsta_cli.schema import TSG


def _tsg(text: str, nodes: list[tuple[str, str, str]], edges: list[tuple[int, str, int]]) -> TSG:
    """Nodes as (type, label, the words in ``text`` it spans, found left to right)."""
    records, cursor = [], 0
    for number, (kind, label, words) in enumerate(nodes):
        start = text.index(words, cursor if kind != "attribute" else 0)
        records.append({"id": number, "type": kind, "label": label,
                        "span": [start, start + len(words)]})  # fmt: skip
        cursor = start if kind == "attribute" else start + len(words)
    return TSG.model_validate({
        "id": "c1", "text": text, "nodes": records,
        "edges": [{"source": s, "target": t, "type": k} for s, k, t in edges],
    })  # fmt: skip


def test_swap_clauses_moves_the_capital_with_the_sentence_start() -> None:
    text = "The cube moves up after the ring enters."
    assert swap_clauses(text, (0, 17), (24, 39)) == "The ring enters after the cube moves up."
    assert swap_clauses(text, (0, 17), (10, 20)) is None  # overlapping spans


def test_temporal_negative_swaps_the_ordered_clauses() -> None:
    text = "The red cube moves up after the blue ring enters."
    tsg = _tsg(
        text,
        [
            ("object", "cube", "cube"),
            ("predicate", "move up", "moves up"),
            ("object", "ring", "ring"),
            ("predicate", "enter", "enters"),
            ("attribute", "red", "red"),
            ("attribute", "blue", "blue"),
        ],
        [
            (1, "agent", 0),
            (3, "agent", 2),
            (0, "has_attribute", 4),
            (2, "has_attribute", 5),
            (3, "before", 1),
        ],
    )
    negatives = structural_negatives(tsg)
    assert negatives[0].aspect == "temporal"
    assert negatives[0].text == "The blue ring enters after the red cube moves up."
    spatial = [n.text for n in negatives if n.aspect == "spatial"]
    assert spatial == ["The red cube moves down after the blue ring enters."]


def test_no_temporal_negative_without_a_stated_order() -> None:
    # "and" may join two states that hold at once: swapping them is not a different video.
    text = "The cube stays, and the ring spins."
    tsg = _tsg(
        text,
        [
            ("object", "cube", "cube"),
            ("predicate", "stay", "stays"),
            ("object", "ring", "ring"),
            ("predicate", "spin", "spins"),
        ],
        [(1, "agent", 0), (3, "agent", 2), (1, "before", 3)],
    )
    assert structural_negatives(tsg) == []


def test_spatial_relation_flips_the_word_and_the_arguments() -> None:
    text = "A ring passes in front of a cone."
    tsg = _tsg(
        text,
        [("object", "ring", "ring"), ("predicate", "pass", "passes"), ("object", "cone", "cone")],
        [(1, "agent", 0), (1, "prep_arg", 2)],
    )
    tsg.edges[1].preposition = "in front of"
    texts = [n.text for n in structural_negatives(tsg)]
    assert texts == ["A ring passes behind a cone.", "A cone passes in front of a ring."]


def test_limit_and_no_copy_of_the_caption() -> None:
    # Two identical clauses: the swap gives the caption back, so it is no negative.
    text = "The cube moves left, then the cube moves left."
    tsg = _tsg(
        text,
        [
            ("object", "cube", "cube"),
            ("predicate", "move", "moves"),
            ("pred_attr", "left", "left"),
            ("object", "cube", "cube"),
            ("predicate", "move", "moves"),
            ("pred_attr", "left", "left"),
        ],
        [
            (1, "agent", 0),
            (1, "pred_attr", 2),
            (4, "agent", 3),
            (4, "pred_attr", 5),
            (1, "before", 4),
        ],
    )
    negatives = structural_negatives(tsg)
    assert text not in [n.text for n in negatives]
    assert [n.aspect for n in negatives] == ["spatial", "spatial"]
    assert len(structural_negatives(tsg, limit=1)) == 1


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        (
            "After the dog jumps over the fence, a boy throws a ball to the left.",
            "After a boy throws a ball to the left, the dog jumps over the fence.",
        ),
        (
            "A cat sits on top of the table while a man cooks.",
            "A cat sits underneath the table while a man cooks.",
        ),
    ],
)
def test_parsed_real_captions(caption: str, expected: str) -> None:
    from finsta_cli.text.parser import parse_texts

    (tsg,) = list(parse_texts([caption]))
    assert expected in [n.text for n in structural_negatives(tsg)]


def test_hard_negative_loss_is_low_when_the_caption_wins() -> None:
    video = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.1], [0.1, 1.0]])
    owner = torch.tensor([0, 0, 1])
    right = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]])  # each far from its video
    wrong = text[owner]  # each as close as the caption: log 2
    assert float(hard_negative_loss(text, video, right, owner, 10.0)) < 0.01
    assert float(hard_negative_loss(text, video, wrong, owner, 10.0)) == pytest.approx(0.6931, 1e-4)
    assert float(hard_negative_loss(text, video, right[:0], owner[:0], 10.0)) == 0.0
