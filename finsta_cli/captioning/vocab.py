"""The caption head's word vocabulary: lower-cased words of the training captions plus
``<pad>``, ``<bos>``, ``<eos>`` and ``<unk>``, saved with the head as a plain list of words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from finsta_cli.errors import InputError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
# Words are runs of letters and digits, an apostrophe suffix kept ("man's"): punctuation is not
# a word the head has to learn to place.
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def caption_words(text: str) -> list[str]:
    """The lower-cased words of a caption (punctuation dropped)."""
    return _WORD.findall(text.lower())


class CaptionVocab:
    """Word <-> id; ids 0-3 are :data:`SPECIALS`, then the words by falling count (ties in
    alphabetical order, so the same captions always give the same ids)."""

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if tuple(words[: len(SPECIALS)]) != SPECIALS or len(set(words)) != len(words):
            raise InputError(
                "not a caption vocabulary: it must start with "
                + ", ".join(SPECIALS)
                + " and hold each word once"
            )
        self.words = words
        self.index = {word: i for i, word in enumerate(words)}

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1) -> CaptionVocab:
        counts = Counter(word for text in captions for word in caption_words(text))
        kept = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str, max_length: int) -> list[int]:
        """The word ids of ``text`` then ``<eos>``, at most ``max_length`` ids (words cut)."""
        ids = [self.index.get(word, UNK) for word in caption_words(text)]
        return [*ids[: max_length - 1], EOS]

    def decode(self, ids: Iterable[int]) -> str:
        """The caption of ``ids``: words up to the first ``<eos>``; ``<pad>`` and ``<bos>``
        dropped, ``<unk>`` kept as written."""
        words = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.words[i])
        return " ".join(words)
