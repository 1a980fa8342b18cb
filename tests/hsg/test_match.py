"""The rule matcher: objects by class, synonym and attributes; predicates by motion and relation."""

from __future__ import annotations

from typing import Any

import pytest

from finsta_cli.hsg import MatchOptions, RuleMatcher, load_lexicon
from finsta_cli.schema import DSG, TSG


def tsg(
    text: str, nodes: list[tuple[str, str]], edges: list[tuple[int, int, str, str | None]]
) -> TSG:
    return TSG.model_validate(
        {
            "id": "c",
            "text": text,
            "nodes": [{"id": i, "type": t, "label": label} for i, (t, label) in enumerate(nodes)],
            "edges": [
                {"source": s, "target": d, "type": k, "preposition": p} for s, d, k, p in edges
            ],
        }
    )


def dsg(tracks: list[dict[str, Any]], relations: list[tuple[int, str, int]] = ()) -> DSG:  # type: ignore[assignment]
    objects = [
        {
            "track_id": t["id"],
            "label": t["label"],
            "score": 0.9,
            "box": [0.1 * t["id"], 0.1, 0.1 * t["id"] + 0.05, 0.2],
        }
        for t in tracks
    ]
    return DSG.model_validate(
        {
            "video_id": "v",
            "frames": [
                {
                    "index": 0,
                    "time": 0.0,
                    "objects": objects,
                    "relations": [
                        {"subject": s, "predicate": p, "object": o} for s, p, o in relations
                    ],
                }
            ],
            "tracks": [
                {
                    "track_id": t["id"],
                    "label": t["label"],
                    "frames": [0],
                    "attributes": t.get("attrs", {}),
                }
                for t in tracks
            ],
        }
    )


BALLS = [
    {"id": 1, "label": "ball", "attrs": {"colour": "blue", "motion": "still", "motions": "still"}},
    {
        "id": 2,
        "label": "ball",
        "attrs": {"colour": "red", "motion": "approaching", "motions": "approaching,left"},
    },
    {"id": 3, "label": "cube", "attrs": {"colour": "red", "motion": "right", "motions": "right"}},
]


@pytest.fixture(scope="module")
def matcher() -> RuleMatcher:
    return RuleMatcher(load_lexicon())


def objects(edges: list) -> dict[int, int]:  # type: ignore[type-arg]
    return {e.text_node: e.track_id for e in edges if e.type == "object"}


def predicates(edges: list) -> set[tuple[int, int, str, int | None]]:  # type: ignore[type-arg]
    return {
        (e.text_node, e.track_id, e.visual_predicate, e.object_track_id)
        for e in edges
        if e.type == "predicate"
    }


def test_attribute_agreement_picks_the_red_ball(matcher: RuleMatcher) -> None:
    graph = tsg(
        "the red ball", [("object", "ball"), ("attribute", "red")], [(0, 1, "has_attribute", None)]
    )
    edges = matcher.match(graph, dsg(BALLS))
    assert objects(edges) == {0: 2}
    assert [e.score for e in edges] == [1.0]


def test_synonyms_merged_names_and_generic_words(matcher: RuleMatcher) -> None:
    graph = tsg(
        "a blue sphere and a red block and an object",
        [("object", "blue sphere"), ("object", "block"), ("object", "object")],
        [],
    )
    scores = matcher.object_scores(graph, dsg(BALLS))
    assert max(scores[0], key=scores[0].get) == 1  # "blue" inside the merged name still counts
    assert set(scores[1]) == {3}
    assert scores[2] == {1: 0.4, 2: 0.4, 3: 0.4}  # generic: every track, below the threshold
    assert 2 not in objects(matcher.match(graph, dsg(BALLS)))
    wide = RuleMatcher(load_lexicon(), MatchOptions(top_k=3, threshold=0.3))
    assert sorted(e.track_id for e in wide.match(graph, dsg(BALLS)) if e.text_node == 2) == [
        1,
        2,
        3,
    ]


def test_unknown_or_contradicted_objects_are_not_linked(matcher: RuleMatcher) -> None:
    graph = tsg(
        "the green ball and a giraffe",
        [("object", "ball"), ("attribute", "green"), ("object", "giraffe")],
        [(0, 1, "has_attribute", None)],
    )
    assert objects(matcher.match(graph, dsg(BALLS))) == {}


def test_predicates_link_to_motions_and_relations(matcher: RuleMatcher) -> None:
    text = "the red ball rolls toward the blue ball and the red cube enters from the left"
    nodes = [
        ("object", "ball"), ("attribute", "red"), ("predicate", "roll"), ("object", "ball"),
        ("attribute", "blue"), ("object", "cube"), ("attribute", "red"), ("predicate", "enter"),
        ("object", "left"),
    ]  # fmt: skip
    edges = [(0, 1, "has_attribute", None), (3, 4, "has_attribute", None), (2, 0, "agent", None),
             (2, 3, "prep_arg", "toward"), (5, 6, "has_attribute", None), (7, 5, "agent", None),
             (7, 8, "prep_arg", "from")]  # fmt: skip
    found = predicates(matcher.match(tsg(text, nodes, edges), dsg(BALLS)))
    assert (2, 2, "approaching", None) in found
    assert (7, 3, "right", None) in found  # entering from the left is moving right
    assert not any(p == "left" for _, _, p, _ in found if _ == 3)


def test_relations_need_the_video_to_show_them(matcher: RuleMatcher) -> None:
    nodes = [
        ("object", "cube"),
        ("predicate", "left of"),
        ("object", "ball"),
        ("attribute", "blue"),
    ]
    edges = [(1, 0, "agent", None), (1, 2, "prep_arg", "left of"), (2, 3, "has_attribute", None)]
    graph = tsg("the cube is left of the blue ball", nodes, edges)
    shown = matcher.match(graph, dsg(BALLS, relations=[(1, "right of", 3)]))
    assert predicates(shown) == {(1, 3, "left of", 1)}  # stated the other way round in the DSG
    assert predicates(matcher.match(graph, dsg(BALLS, relations=[(1, "left of", 3)]))) == set()


def test_lexicon_extension(tmp_path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "lex.yaml"
    extra.write_text("object_synonyms:\n  ball: [bauble]\npredicates:\n  zoom: [right]\n")
    lexicon = load_lexicon(extra)
    assert lexicon.object_words["bauble"] == {"ball"} and "sphere" in lexicon.object_words
    assert lexicon.predicate_words["zoom"] == {"right"}
    assert lexicon.attribute_words["grey"] == ("colour", "gray")


def test_negated_motion_means_still(matcher: RuleMatcher) -> None:
    nodes = [("object", "cube"), ("attribute", "red"), ("predicate", "move"), ("pred_attr", "not")]
    edges = [(0, 1, "has_attribute", None), (2, 0, "agent", None), (2, 3, "pred_attr", None)]
    graph = tsg("the red cube does not move", nodes, edges)
    still = [{"id": 3, "label": "cube", "attrs": {"colour": "red", "motions": "still"}}]
    assert predicates(matcher.match(graph, dsg(still))) == {(2, 3, "still", None)}
    assert predicates(matcher.match(graph, dsg(BALLS))) == set()  # the red cube moves right
