"""The embedding matcher with a real tiny-host checkpoint (written by save_host, loaded back):
phrases, object and predicate links, the phrase cache, and the hybrid matcher's routing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from finsta_cli.hosts import build_host, save_host
from finsta_cli.hsg import RuleMatcher, load_lexicon
from finsta_cli.hsg.embed import EmbedMatcher, EmbedOptions, HybridMatcher, PhraseEncoder
from finsta_cli.hsg.match import PredicateArguments, VideoView
from finsta_cli.schema import DSG, TSG

CAPTIONS = [
    "the small red ball moves left",
    "a blue ball stays still",
    "the red cube moves right toward the ball",
    "the gizmo slides away",
]
HOST = {"frame_size": 32, "num_frames": 2, "feature_dim": 32, "embed_dim": 32, "heads": 2}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("host") / "checkpoint.pt"
    save_host(path, build_host("tiny", HOST, texts=CAPTIONS))
    return path


@pytest.fixture
def encoder(checkpoint: Path) -> PhraseEncoder:
    return PhraseEncoder.from_checkpoint(checkpoint)


def caption(text: str, nodes: list[tuple[str, str, str]], edges: list[tuple[int, int, str]]) -> TSG:
    """A TSG whose nodes carry the span of the first occurrence of their words in ``text``."""
    rows = []
    for i, (kind, label, words) in enumerate(nodes):
        start = text.index(words)
        rows.append({"id": i, "type": kind, "label": label, "span": [start, start + len(words)]})
    return TSG.model_validate(
        {
            "id": "c",
            "text": text,
            "nodes": rows,
            "edges": [{"source": s, "target": d, "type": k} for s, d, k in edges],
        }
    )


def video(tracks: list[dict[str, Any]]) -> DSG:
    return DSG.model_validate(
        {
            "video_id": "v",
            "frames": [
                {
                    "index": 0,
                    "time": 0.0,
                    "objects": [
                        {
                            "track_id": t["id"],
                            "label": t["label"],
                            "score": 0.9,
                            "box": [0.1, 0.1, 0.2, 0.2],
                        }
                        for t in tracks
                    ],
                    "relations": [],
                }
            ],
            "tracks": [
                {"track_id": t["id"], "label": t["label"], "frames": [0], "attributes": t["attrs"]}
                for t in tracks
            ],
        }
    )


# The red ball is neither the first track nor the only ball: a matcher blind to attributes
# would pick track 1 (ties go to the lower id), one blind to labels could pick the red cube.
TRACKS = [
    {"id": 1, "label": "ball", "attrs": {"colour": "blue", "size": "small", "motion": "still"}},
    {"id": 2, "label": "cube", "attrs": {"colour": "red", "size": "small", "motion": "right"}},
    {
        "id": 3,
        "label": "ball",
        "attrs": {"colour": "red", "size": "small", "motion": "left", "motions": "left,still"},
    },
]
RED_BALL = caption(
    "the small red ball moves left",
    [
        ("object", "ball", "ball"),
        ("attribute", "small", "small"),
        ("attribute", "red", "red"),
        ("predicate", "move", "moves"),
        ("pred_attr", "left", "left"),
    ],
    [(0, 1, "has_attribute"), (0, 2, "has_attribute"), (3, 0, "agent"), (3, 4, "pred_attr")],
)


def test_phrases() -> None:
    assert EmbedMatcher.object_phrase(RED_BALL, 0) == "small red ball"
    view = VideoView.of(video(TRACKS))
    assert EmbedMatcher.track_phrases(view.tracks[3]) == [
        "ball", "small ball", "red ball", "small red ball"
    ]  # fmt: skip
    assert EmbedMatcher.predicate_phrase(RED_BALL, 3, {}) == "moves left"


def test_red_ball_links_to_the_red_ball_and_its_motion(encoder: PhraseEncoder) -> None:
    edges = EmbedMatcher(encoder).match(RED_BALL, video(TRACKS))
    objects = [(e.text_node, e.track_id) for e in edges if e.type == "object"]
    assert objects == [(0, 3)]
    predicates = [
        (e.text_node, e.track_id, e.visual_predicate) for e in edges if e.type == "predicate"
    ]
    assert predicates == [(3, 3, "left")]  # "moves left", not the track's other motion "still"
    assert all(0.0 <= e.score <= 1.0 for e in edges)


def test_other_mentions_and_top_k(encoder: PhraseEncoder) -> None:
    blue = caption("a blue ball", [("object", "ball", "ball"), ("attribute", "blue", "blue")],
                   [(0, 1, "has_attribute")])  # fmt: skip
    cube = caption("the red cube", [("object", "cube", "cube"), ("attribute", "red", "red")],
                   [(0, 1, "has_attribute")])  # fmt: skip
    matcher = EmbedMatcher(encoder)
    assert [e.track_id for e in matcher.match(blue, video(TRACKS))] == [1]
    assert [e.track_id for e in matcher.match(cube, video(TRACKS))] == [2]
    # With top-k 3 and a low threshold every track is ranked, the best first.
    wide = EmbedMatcher(encoder, EmbedOptions(top_k=3, threshold=0.01, predicate_threshold=0.99))
    ranked = [
        (e.track_id, e.score) for e in wide.match(RED_BALL, video(TRACKS)) if e.type == "object"
    ]
    assert ranked[0] == (3, 1.0) and len(ranked) == 3 and ranked[1][1] < 1.0


def test_each_phrase_is_encoded_once(encoder: PhraseEncoder) -> None:
    matcher = EmbedMatcher(encoder)
    matcher.match(RED_BALL, video(TRACKS))
    first = encoder.encoded
    assert first == len(encoder._cache)
    matcher.match(RED_BALL, video(TRACKS))
    assert encoder.encoded == first


def test_hybrid_uses_embeddings_only_for_words_the_lexicon_lacks(encoder: PhraseEncoder) -> None:
    text = caption(
        "the red ball and the blue gizmo slides away",
        [
            ("object", "ball", "ball"),
            ("attribute", "red", "red"),
            ("object", "gizmo", "gizmo"),
            ("attribute", "blue", "blue"),
            ("predicate", "slide", "slides"),
            ("pred_attr", "away", "away"),
        ],
        [(0, 1, "has_attribute"), (2, 3, "has_attribute"), (4, 2, "agent"), (4, 5, "pred_attr")],
    )
    tracks = [*TRACKS, {"id": 4, "label": "cone", "attrs": {"colour": "blue", "motion": "leaving"}}]
    rules = RuleMatcher(load_lexicon())
    embed = EmbedMatcher(encoder, EmbedOptions(threshold=0.05, predicate_threshold=0.05))
    assert rules.knows_object(text, 0, video(tracks)) and not rules.knows_object(
        text, 2, video(tracks)
    )
    edges = HybridMatcher(rules, embed).match(text, video(tracks))
    rule_edges = rules.match(text, video(tracks))
    embed_edges = embed.match(text, video(tracks))
    # "red ball": the rules' edge; "gizmo" (no class, no synonym): the embedding's best track.
    assert [e for e in edges if e.text_node == 0] == [e for e in rule_edges if e.text_node == 0]
    assert [e for e in edges if e.text_node == 2] == [e for e in embed_edges if e.text_node == 2]
    assert not [e for e in rule_edges if e.text_node == 2]
    # "slides away" is lexicon vocabulary ("away" -> leaving): the rules read it, over the
    # hybrid's object links.
    links: dict[int, list[tuple[int, float]]] = {}
    for e in edges:
        if e.type == "object":
            links.setdefault(e.text_node, []).append((e.track_id, e.score))
    expected = rules.predicate_edges(
        text, 4, PredicateArguments.of(text), links, VideoView.of(video(tracks))
    )
    assert [e for e in edges if e.text_node == 4] == expected
    assert all(e.visual_predicate == "leaving" for e in expected)
