"""CLIP's tokenizer replayed with character offsets: the ids are open_clip's own, and every piece
points at the characters of the original text it came from."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip(
    "open_clip", reason="open_clip_torch is not installed (pip install 'finsta[clip]')"
)

from finsta_cli.hosts.clip4clip.tokens import tokenize_with_offsets  # noqa: E402

SENTENCE = "A man, quickly, picks up a red cup."


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    """The tokenizer of the clip4clip host's default architecture (ViT-B-32)."""
    return open_clip.get_tokenizer("ViT-B-32")


def test_offsets_point_into_the_original_text(tokenizer: Any) -> None:
    _ids, lengths, offsets = tokenize_with_offsets(tokenizer, [SENTENCE], 77)
    start = SENTENCE.index("picks")
    end = start + len("picks")
    spans = [tuple(o) for o in offsets[0, 1 : int(lengths[0]) - 1].tolist()]
    covering = [(s, e) for s, e in spans if s < end and e > start]
    assert covering, spans
    assert all(start <= s and e <= end for s, e in covering)
    assert min(s for s, _ in covering) == start and max(e for _, e in covering) == end
    # Every content span is non-empty and lies inside the text; "A" keeps its capital.
    assert all(0 <= s < e <= len(SENTENCE) for s, e in spans)
    assert SENTENCE[spans[0][0] : spans[0][1]] == "A"


@pytest.mark.parametrize(
    "text",
    [
        SENTENCE,
        "  Tom &amp; Jerry&#39;s   café — naïve\tfaçade  ",
        "İstanbul ÇAĞ straße 🙂👍🏽 日本語",
        "don't WON'T they'll 3.14",
        "",
        " ".join(["word"] * 120),  # longer than 77 tokens: truncated, EOT kept
    ],
)
def test_ids_match_open_clip_tokenizer(tokenizer: Any, text: str) -> None:
    ids, lengths, offsets = tokenize_with_offsets(tokenizer, [text], 77)
    assert torch.equal(ids, tokenizer([text]))
    n = int(lengths[0])
    assert ids[0, n - 1] == tokenizer.eot_token_id
    for s, e in offsets[0, 1 : n - 1].tolist():
        assert 0 <= s < e <= len(text)


def test_html_entities_map_to_their_source(tokenizer: Any) -> None:
    text = "Tom &amp; Jerry"
    _ids, lengths, offsets = tokenize_with_offsets(tokenizer, [text], 77)
    pieces = [text[s:e] for s, e in offsets[0, 1 : int(lengths[0]) - 1].tolist()]
    assert pieces == ["Tom", "&amp;", "Jerry"]
