"""Decoding captions from a trained :class:`~finsta_cli.captioning.head.CaptionHead`: greedy and
beam search, a batch of videos at a time.

Both return, per video, the word ids up to and including ``<eos>`` (or ``max_length`` ids
without one) and their log-probability under the head. Beam search keeps the ``beam`` best
prefixes by summed log-probability; a finished prefix stays in the beam unchanged, and the
final beams are ranked by log-prob / length ** ``length_penalty`` (0: the raw log-prob).
With ``beam`` 1 it is greedy decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from finsta_cli.captioning.head import CaptionHead
from finsta_cli.captioning.vocab import BOS, EOS, PAD


@dataclass(frozen=True)
class Decoded:
    """One video's caption: word ids (ending with ``<eos>`` unless cut at the maximum length)
    and their summed log-probability."""

    ids: list[int]
    log_prob: float


def _trim(row: list[int]) -> list[int]:
    """Ids up to and including the first ``<eos>``, padding dropped."""
    out = []
    for i in row:
        if i == PAD:
            break
        out.append(i)
        if i == EOS:
            break
    return out


@torch.no_grad()
def greedy_decode(head: CaptionHead, frames: Tensor, max_length: int) -> list[Decoded]:
    """The most likely next word at each step, for each of the (B, T, D) ``frames``."""
    memory = head.encode(frames)
    b = frames.shape[0]
    tokens = torch.full((b, 1), BOS, dtype=torch.long, device=frames.device)
    scores = torch.zeros(b, device=frames.device)
    done = torch.zeros(b, dtype=torch.bool, device=frames.device)
    for _ in range(max_length):
        logp = head.next_word_logits(memory, tokens)[:, -1].log_softmax(-1)
        logp[:, [PAD, BOS]] = float("-inf")  # never words of a caption (as in beam_decode)
        word = logp.argmax(-1)
        word = torch.where(done, torch.full_like(word, PAD), word)
        scores = scores + torch.where(done, 0.0, logp.gather(1, word.clamp(min=0)[:, None])[:, 0])
        tokens = torch.cat([tokens, word[:, None]], dim=1)
        done = done | (word == EOS)
        if bool(done.all()):
            break
    return [
        Decoded(_trim(row[1:]), float(s)) for row, s in zip(tokens.tolist(), scores, strict=True)
    ]


@torch.no_grad()
def beam_decode(
    head: CaptionHead,
    frames: Tensor,
    max_length: int,
    beam: int = 3,
    length_penalty: float = 1.0,
) -> list[Decoded]:
    """Beam search (module docstring) for each of the (B, T, D) ``frames``."""
    if beam < 1:
        raise ValueError(f"beam must be at least 1 (got {beam})")
    device = frames.device
    b, k = frames.shape[0], beam
    memory = head.encode(frames).repeat_interleave(k, dim=0)  # (B*K, T, width)
    tokens = torch.full((b * k, 1), BOS, dtype=torch.long, device=device)
    # Only the first beam of each video is live at the start: K copies of <bos> would fill
    # the beam with the same prefix.
    scores = torch.full((b, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    lengths = torch.zeros(b * k, dtype=torch.long, device=device)
    done = torch.zeros(b * k, dtype=torch.bool, device=device)
    base = (torch.arange(b, device=device) * k)[:, None]
    for _ in range(max_length):
        logp = head.next_word_logits(memory, tokens)[:, -1].log_softmax(-1)  # (B*K, V)
        vocab = logp.shape[-1]
        # A finished beam can only be continued by <pad>, at no cost.
        finished = torch.full_like(logp, float("-inf"))
        finished[:, PAD] = 0.0
        logp[:, [PAD, BOS]] = float("-inf")  # never words of a caption
        logp = torch.where(done[:, None], finished, logp)
        candidates = (scores.reshape(b * k, 1) + logp).reshape(b, k * vocab)
        scores, flat = candidates.topk(k, dim=1)
        source = (base + flat // vocab).reshape(-1)
        word = (flat % vocab).reshape(-1)
        tokens = torch.cat([tokens[source], word[:, None]], dim=1)
        was_done = done[source]
        lengths = lengths[source] + (~was_done).long()
        done = was_done | (word == EOS)
        if bool(done.all()):
            break
    ranked = scores / lengths.reshape(b, k).clamp(min=1).float() ** length_penalty
    best = ranked.argmax(dim=1)
    out = []
    for video in range(b):
        row = int(base[video, 0] + best[video])
        out.append(Decoded(_trim(tokens[row, 1:].tolist()), float(scores[video, best[video]])))
    return out


def decode_captions(
    head: CaptionHead,
    frames: Tensor,
    *,
    method: str,
    max_length: int,
    beam: int = 3,
    length_penalty: float = 1.0,
    batch: int = 64,
) -> list[Decoded]:
    """Greedy or beam decoding of (N, T, D) ``frames``, ``batch`` videos at a time."""
    head.eval()
    out: list[Decoded] = []
    device = next(head.parameters()).device
    for start in range(0, frames.shape[0], batch):
        chunk = frames[start : start + batch].to(device)
        if method == "greedy":
            out += greedy_decode(head, chunk, max_length)
        else:
            out += beam_decode(head, chunk, max_length, beam, length_penalty)
    return out
