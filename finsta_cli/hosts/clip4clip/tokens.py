"""CLIP's BPE tokenisation replayed with character offsets into the original text.

open_clip's ``SimpleTokenizer`` cleans the text (ftfy, HTML unescaping, whitespace, lower case)
before splitting it, so its tokens carry no positions in the caption. :func:`bpe_pieces` replays
its steps and maps every piece back to the characters it came from; the ids equal
``tokenizer.encode(text)``. The clip4clip host's ``offsets`` come from
:func:`tokenize_with_offsets`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor


def align_cleaned_text(original: str, cleaned: str) -> list[tuple[int, int]]:
    """For each character of ``cleaned`` (the tokenizer's cleaned text), its span in ``original``.

    CLIP's tokenizer fixes mojibake (ftfy), unescapes HTML, collapses whitespace and lower-cases.
    The common case (only whitespace and case change) is one walk over both strings, each
    character mapping to one. Otherwise difflib's opcodes between ``cleaned`` and a copy of
    ``original`` lower-cased character by character (so indices stay those of ``original``) say
    what changed: equal runs map one to one; a replaced run maps every cleaned character onto the
    whole original run (``&#39;`` -> ``'``, ``Ã©`` -> ``é``, ``ﬁ`` -> ``fi``); original text the
    cleaning dropped right after a character joins that character's span (``&amp;`` -> ``&``);
    cleaned characters with no source (a combining mark that lower-casing added) take the span of
    the character before them. Whitespace never joins a span.
    """
    lowered = "".join((c.lower() or c)[0] for c in original)
    spans = [(-1, -1)] * len(cleaned)
    i, n = 0, len(original)
    for j, ch in enumerate(cleaned):
        if ch.isspace():
            if i < n and not original[i].isspace():
                break
            continue
        while i < n and original[i].isspace():
            i += 1
        if i >= n or lowered[i] != ch:
            break
        spans[j] = (i, i + 1)
        i += 1
    else:
        return spans
    spans = [(-1, -1)] * len(cleaned)
    matcher = difflib.SequenceMatcher(None, cleaned, lowered, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(a2 - a1):
                spans[a1 + k] = (b1 + k, b1 + k + 1)
        elif tag == "replace":
            lo, hi = b1, b2
            while lo < hi and original[lo].isspace():
                lo += 1
            while hi > lo and original[hi - 1].isspace():
                hi -= 1
            for k in range(a1, a2):
                spans[k] = (lo, hi) if lo < hi else (-1, -1)
        elif tag == "insert" and a1 > 0 and spans[a1 - 1][1] == b1:
            end = b1
            while end < b2 and not original[end].isspace():
                end += 1
            spans[a1 - 1] = (spans[a1 - 1][0], end)
    previous = (-1, -1)
    for k, span in enumerate(spans):
        if span[0] < 0 and not cleaned[k].isspace():
            spans[k] = previous
        elif span[0] >= 0:
            previous = span
    return spans


def _original_span(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The span of the original text that cleaned characters [start, end) came from."""
    found = [span for span in spans[start:end] if span[0] >= 0]
    if not found:
        return -1, -1
    return min(lo for lo, _ in found), max(hi for _, hi in found)


def bpe_pieces(tokenizer: Any, text: str) -> list[tuple[int, int, int]]:
    """``text`` as CLIP BPE token ids with [start, end) character spans in ``text``.

    The tokenizer's own steps are replayed: ``clean_fn`` (cleaned text), its pre-token regex
    (``pat.finditer`` gives each pre-token's span in the cleaned text), byte-level BPE of each
    pre-token (each piece covers a run of the pre-token's UTF-8 bytes; a piece that splits a
    multi-byte character covers that whole character). Cleaned spans are mapped back with
    :func:`align_cleaned_text`. The ids equal ``tokenizer.encode(text)``.
    """
    cleaned = tokenizer.clean_fn(text)
    spans = align_cleaned_text(text, cleaned)
    pieces: list[tuple[int, int, int]] = []
    for match in tokenizer.pat.finditer(cleaned):
        word = match.group(0)
        byte_to_char: list[int] = []
        for index, char in enumerate(word):
            byte_to_char.extend([index] * len(char.encode("utf-8")))
        unicode_word = "".join(tokenizer.byte_encoder[b] for b in word.encode("utf-8"))
        position = 0
        for piece in tokenizer.bpe(unicode_word).split(" "):
            size = len(piece) - (4 if piece.endswith("</w>") else 0)
            first = byte_to_char[min(position, len(byte_to_char) - 1)]
            last = byte_to_char[min(position + size, len(byte_to_char)) - 1]
            position += size
            span = _original_span(spans, match.start() + first, match.start() + last + 1)
            pieces.append((tokenizer.encoder[piece], *span))
    return pieces


def tokenize_with_offsets(
    tokenizer: Any, texts: Sequence[str], max_tokens: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Token ids (B, L), real-token lengths (B,) and character offsets (B, L, 2), L = max_tokens.

    Each row is ``<start_of_text> pieces... <end_of_text>`` then padding (id 0); texts with more
    than ``max_tokens - 2`` pieces are truncated, keeping the end-of-text token, as open_clip does.
    Start, end and padding tokens have offsets (-1, -1).
    """
    ids = torch.zeros(len(texts), max_tokens, dtype=torch.long)
    offsets = torch.full((len(texts), max_tokens, 2), -1, dtype=torch.long)
    lengths = torch.zeros(len(texts), dtype=torch.long)
    for row, text in enumerate(texts):
        pieces = bpe_pieces(tokenizer, text)[: max_tokens - 2]
        n = len(pieces)
        ids[row, 0] = tokenizer.sot_token_id
        if n:
            ids[row, 1 : n + 1] = torch.tensor([p[0] for p in pieces], dtype=torch.long)
            offsets[row, 1 : n + 1] = torch.tensor([p[1:] for p in pieces], dtype=torch.long)
        ids[row, n + 1] = tokenizer.eot_token_id
        lengths[row] = n + 2
    return ids, lengths, offsets
