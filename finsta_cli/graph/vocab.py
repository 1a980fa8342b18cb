"""Label vocabularies: node and relation labels of scene graphs mapped to embedding indices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

UNKNOWN = "<unk>"


@dataclass
class LabelVocab:
    """An ordered label list; index 0 is ``<unk>``, used for labels not seen when it was built.

    Labels are compared lower-cased with folded whitespace, so "Red  Ball" and "red ball" agree.
    """

    labels: list[str] = field(default_factory=lambda: [UNKNOWN])

    def __post_init__(self) -> None:
        if not self.labels or self.labels[0] != UNKNOWN:
            self.labels = [UNKNOWN, *[lab for lab in self.labels if lab != UNKNOWN]]
        self._index = {normalise_label(label): i for i, label in enumerate(self.labels)}

    @classmethod
    def build(cls, labels: Iterable[str], min_count: int = 1) -> LabelVocab:
        """A vocabulary of the labels seen at least ``min_count`` times, in first-seen order."""
        counts: dict[str, int] = {}
        for label in labels:
            key = normalise_label(label)
            if key:
                counts[key] = counts.get(key, 0) + 1
        return cls([UNKNOWN, *[lab for lab, n in counts.items() if n >= min_count]])

    def add(self, label: str) -> int:
        key = normalise_label(label)
        if key not in self._index:
            self._index[key] = len(self.labels)
            self.labels.append(key)
        return self._index[key]

    def index(self, label: str | None) -> int:
        if label is None:
            return 0
        return self._index.get(normalise_label(label), 0)

    def __len__(self) -> int:
        return len(self.labels)

    def to_list(self) -> list[str]:
        return list(self.labels)


def normalise_label(label: str) -> str:
    return " ".join(label.lower().split())
