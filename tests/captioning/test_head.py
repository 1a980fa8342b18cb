"""The caption head (finsta_cli/captioning/head.py), its vocabulary and decoding: shapes, the
teacher-forced loss falling, greedy = beam 1, beam search beating greedy on log-prob, the vocab
and weight-file round trips, determinism with the seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from finsta_cli.captioning.config import CaptionHeadConfig
from finsta_cli.captioning.decode import beam_decode, decode_captions, greedy_decode
from finsta_cli.captioning.head import (
    CaptionHead,
    caption_loss,
    load_caption_head,
    save_caption_head,
    sequence_log_probs,
)
from finsta_cli.captioning.vocab import BOS, EOS, PAD, SPECIALS, UNK, CaptionVocab, caption_words
from finsta_cli.errors import InputError

SMALL = CaptionHeadConfig(width=32, heads=2, ff_width=64, dropout=0.0, max_length=8)
CAPTIONS = [
    "A red cube slides left.",
    "a blue ball rolls right",
    "The red cube slides left, then stops.",
    "a green cone spins",
]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread: on two busy cores more threads wait on each other (10x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_head(seed: int = 0, vocab: int = 20, config: CaptionHeadConfig = SMALL) -> CaptionHead:
    torch.manual_seed(seed)
    return CaptionHead(feature_dim=12, num_frames=4, vocab_size=vocab, config=config).eval()


def test_vocab_words_ids_and_round_trip() -> None:
    assert caption_words("The man's red CUBE, slides!") == ["the", "man's", "red", "cube", "slides"]
    vocab = CaptionVocab.build(CAPTIONS)
    assert tuple(vocab.words[:4]) == SPECIALS and (PAD, BOS, EOS, UNK) == (0, 1, 2, 3)
    # By falling count, ties alphabetical: "a" (3), then the words seen twice.
    assert vocab.words[4:9] == ["a", "cube", "left", "red", "slides"]
    ids = vocab.encode("a red cube slides left", max_length=8)
    assert ids[-1] == EOS and vocab.decode(ids) == "a red cube slides left"
    assert vocab.encode("a purple cube", 8)[1] == UNK
    assert vocab.encode("a red cube slides left", max_length=3) == [*ids[:2], EOS]
    again = CaptionVocab(list(vocab.words))
    assert again.index == vocab.index
    rare = CaptionVocab.build(CAPTIONS, min_count=2)
    assert "green" not in rare.index and "red" in rare.index
    with pytest.raises(InputError, match="must start with"):
        CaptionVocab(["a", "b"])


def test_head_shapes_and_refusals() -> None:
    head = small_head()
    frames = torch.randn(3, 4, 12)
    tokens = torch.tensor([[BOS, 5, 6], [BOS, 7, PAD], [BOS, 4, 4]])
    assert head.encode(frames).shape == (3, 4, 32)
    assert head(frames, tokens).shape == (3, 3, 20)
    assert head(frames[:, :2], tokens).shape == (3, 3, 20)  # fewer frames than built for
    with pytest.raises(InputError, match="do not fit"):
        head.encode(torch.randn(1, 5, 12))
    with pytest.raises(InputError, match="not a multiple"):
        CaptionHead(12, 4, 20, CaptionHeadConfig(width=30, heads=4))


def test_padding_does_not_change_the_logits_of_real_words() -> None:
    head = small_head()
    frames = torch.randn(1, 4, 12)
    short = head(frames, torch.tensor([[BOS, 5, 6]]))
    padded = head(frames, torch.tensor([[BOS, 5, 6, PAD, PAD]]))
    assert torch.allclose(short, padded[:, :3], atol=1e-5)


def fit(seed: int, steps: int = 40) -> tuple[CaptionHead, list[float]]:
    """A head taught two captions of two random 'videos'."""
    torch.manual_seed(seed)
    head = CaptionHead(12, 4, 20, CaptionHeadConfig(width=32, heads=2, ff_width=64, max_length=8))
    frames = torch.randn(2, 4, 12)
    targets = [[5, 6, 7, EOS], [8, 9, EOS]]
    optimizer = torch.optim.AdamW(head.parameters(), lr=3e-3)
    losses = []
    head.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = caption_loss(head, frames, targets, label_smoothing=0.1)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    head.eval()
    return head, losses


def test_teacher_forcing_learns_the_captions_deterministically() -> None:
    head, losses = fit(seed=0)
    assert losses[-1] < 0.5 * losses[0]
    _, again = fit(seed=0)
    assert again == losses  # same seed, same run
    _, other = fit(seed=1)
    assert other != losses
    torch.manual_seed(0)
    CaptionHead(12, 4, 20, CaptionHeadConfig(width=32, heads=2, ff_width=64, max_length=8))
    frames = torch.randn(2, 4, 12)
    decoded = greedy_decode(head, frames, max_length=8)
    assert [d.ids for d in decoded] == [[5, 6, 7, EOS], [8, 9, EOS]]


def test_greedy_equals_beam_of_one_and_scores_are_the_heads_log_probs() -> None:
    head = small_head(seed=3)
    frames = torch.randn(6, 4, 12)
    greedy = greedy_decode(head, frames, max_length=8)
    beam1 = beam_decode(head, frames, max_length=8, beam=1)
    assert [g.ids for g in greedy] == [b.ids for b in beam1]
    assert [g.log_prob for g in greedy] == pytest.approx([b.log_prob for b in beam1], abs=1e-4)
    finished = [g for g in greedy if g.ids[-1] == EOS]
    rows = [i for i, g in enumerate(greedy) if g.ids[-1] == EOS]
    assert finished, "no greedy caption ended within max_length: pick another seed"
    scored = sequence_log_probs(head, frames[rows], [g.ids for g in finished])
    assert scored.tolist() == pytest.approx([g.log_prob for g in finished], abs=1e-4)


def test_beam_search_finds_captions_greedy_misses() -> None:
    """An untrained head's next-word distributions are flat enough that the greedy path is
    not the most likely caption: a beam of 5 (raw log-prob) finds likelier ones."""
    head = small_head(seed=0, vocab=12)
    frames = torch.randn(16, 4, 12)
    greedy = greedy_decode(head, frames, max_length=6)
    beam = beam_decode(head, frames, max_length=6, beam=5, length_penalty=0.0)
    gains = [b.log_prob - g.log_prob for g, b in zip(greedy, beam, strict=True)]
    assert max(gains) > 0.1
    assert all(gain > -1e-4 for gain in gains)  # never worse here
    batched = decode_captions(head, frames, method="beam", max_length=6, beam=5,
                              length_penalty=0.0, batch=5)  # fmt: skip
    assert [d.ids for d in batched] == [d.ids for d in beam]  # batching changes nothing


def test_weight_file_round_trip(tmp_path: Path) -> None:
    head = small_head(seed=2, vocab=len(CaptionVocab.build(CAPTIONS)))
    vocab = CaptionVocab.build(CAPTIONS)
    path = tmp_path / "caption_head.pt"
    save_caption_head(path, head, vocab, split="test")
    loaded, loaded_vocab = load_caption_head(path)
    assert loaded_vocab.words == vocab.words and loaded.config == head.config
    frames = torch.randn(2, 4, 12)
    assert torch.equal(loaded(frames, torch.tensor([[BOS, 4], [BOS, 5]])),
                       head(frames, torch.tensor([[BOS, 4], [BOS, 5]])))  # fmt: skip
    (tmp_path / "other.pt").write_bytes(b"not torch")
    with pytest.raises(InputError):
        load_caption_head(tmp_path / "other.pt")
