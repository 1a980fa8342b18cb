"""The learned parser's model: the slot scorer, its folder (weights.pt, config.json), the parser.

:class:`LearnedParser` proposes slots for parsed Docs, scores their options and applies the
choices; :func:`load_learned_parser` reads a folder that ``finsta train-parser`` wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli.assets import assets_dir
from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.io.finite import find_non_finite
from finsta_cli.io.hashing import hash_file, hash_text
from finsta_cli.io.torchfile import load_torch_file
from finsta_cli.text.conventions import Conventions, load_conventions
from finsta_cli.text.learned.apply import apply_choices
from finsta_cli.text.learned.counts import TrainCounts
from finsta_cli.text.learned.proposals import propose
from finsta_cli.text.learned.slots import Proposal
from finsta_cli.text.tokens import LemmaCache

if TYPE_CHECKING:
    import torch
    from spacy.tokens import Doc


MODEL_FORMAT = "finsta-learned-parser"
MODEL_VERSION = 1
WEIGHTS_FILE = "weights.pt"
CONFIG_FILE = "config.json"
DEFAULT_MODEL_DIR = "text/learned_parser"
WEIGHT_NAMES = ("embed", "wide", "hidden.weight", "hidden.bias", "out.weight", "out.bias")


def default_model_path() -> Path:
    return assets_dir() / DEFAULT_MODEL_DIR


@dataclass(frozen=True)
class ModelShape:
    """Sizes of a :class:`SlotScorer`: known features, embedding, hidden layer."""

    features: int
    dim: int = 32
    hidden: int = 64

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {
            "embed": (self.features, self.dim),
            "wide": (self.features, 1),
            "hidden.weight": (self.hidden, self.dim),
            "hidden.bias": (self.hidden,),
            "out.weight": (1, self.hidden),
            "out.bias": (1,),
        }
        return shapes


def make_scorer(shape: ModelShape) -> torch.nn.Module:
    import torch

    class SlotScorer(torch.nn.Module):
        """Scores options from their feature ids.

        Shapes: ``ids`` (F,) int64 feature ids of all options, ``offsets`` (O,) where each
        option's ids start; returns (O,) scores.
        """

        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.EmbeddingBag(shape.features, shape.dim, mode="sum")
            self.wide = torch.nn.EmbeddingBag(shape.features, 1, mode="sum")
            self.hidden = torch.nn.Linear(shape.dim, shape.hidden)
            self.out = torch.nn.Linear(shape.hidden, 1)
            torch.nn.init.normal_(self.embed.weight, std=0.02)
            torch.nn.init.zeros_(self.wide.weight)

        def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
            deep = self.out(torch.relu(self.hidden(self.embed(ids, offsets))))
            return (deep + self.wide(ids, offsets)).squeeze(-1)

    return SlotScorer()


class FeatureVocab:
    """Feature strings seen often enough in training -> ids; other features are ignored."""

    def __init__(self, features: Sequence[str]) -> None:
        self.features = list(features)
        self.index = {feature: i for i, feature in enumerate(self.features)}

    def ids(self, features: Iterable[str]) -> list[int]:
        index = self.index
        return [index[f] for f in features if f in index]


# -- the parser ------------------------------------------------------------------------------
@dataclass
class LearnedParser:
    """A trained slot scorer with its lexicon; turns parsed Docs into TSG records."""

    shape: ModelShape
    weights: dict[str, torch.Tensor]
    lexicon: TrainCounts
    conventions: Conventions
    features: Sequence[str]
    info: dict[str, Any] = field(default_factory=dict)
    margin: float = 0.0
    path: str = "(in memory)"  # the folder it was loaded from
    digest: str = ""  # sha256 over its two files: resume redoes items when it changes

    def __post_init__(self) -> None:
        import torch

        self.vocab = FeatureVocab(self.features)
        self.scorer = make_scorer(self.shape)
        state = {
            "embed.weight": self.weights["embed"].float(),
            "wide.weight": self.weights["wide"].float(),
            **{name: self.weights[name].float() for name in WEIGHT_NAMES[2:]},
        }
        self.scorer.load_state_dict(state)
        self.scorer.eval()
        self._torch = torch

    # -- scoring ---------------------------------------------------------------------------
    def choose(self, proposals: Sequence[Proposal]) -> list[list[int]]:
        """The best option of every slot of each proposal (one model call for all)."""
        torch = self._torch
        ids: list[int] = []
        offsets: list[int] = []
        for proposal in proposals:
            for slot in proposal.slots:
                for option in slot.options:
                    offsets.append(len(ids))
                    ids.extend(self.vocab.ids(option.features))
        if not offsets:
            return [[] for _ in proposals]
        with torch.inference_mode():
            scores = self.scorer(
                torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)
            ).tolist()
        margin = self.margin
        choices: list[list[int]] = []
        position = 0
        for proposal in proposals:
            chosen: list[int] = []
            for slot in proposal.slots:
                n = len(slot.options)
                block = scores[position : position + n]
                best = max(range(n), key=block.__getitem__)
                # Overrule the rules only when the model is clearly surer of another option.
                chosen.append(best if block[best] - block[slot.rule] > margin else slot.rule)
                position += n
            choices.append(chosen)
        return choices

    def propose(
        self, doc: Doc, item_id: str, text: str | None = None, lemmas: LemmaCache | None = None
    ) -> Proposal:
        return propose(doc, item_id, self.conventions, self.lexicon, text, lemmas)

    def parse(
        self,
        docs: Sequence[Doc],
        ids: Sequence[str],
        texts: Sequence[str] | None = None,
        lemmas: LemmaCache | None = None,
    ) -> list[tuple[dict[str, Any], bool]]:
        """TSG records (plain dicts, the schema's shape) of a batch of parsed captions, each
        with whether the model changed the rules' graph (False: the rules' record itself)."""
        proposals = [
            self.propose(doc, item_id, None if texts is None else texts[i], lemmas)
            for i, (doc, item_id) in enumerate(zip(docs, ids, strict=True))
        ]
        out = []
        for proposal, chosen in zip(proposals, self.choose(proposals), strict=True):
            record = apply_choices(proposal, chosen)
            out.append((record, record is not proposal.record))
        return out

    def records(
        self,
        docs: Sequence[Doc],
        ids: Sequence[str],
        texts: Sequence[str] | None = None,
        lemmas: LemmaCache | None = None,
    ) -> list[dict[str, Any]]:
        """TSG records (plain dicts, the schema's shape) of a batch of parsed captions."""
        return [record for record, _ in self.parse(docs, ids, texts, lemmas)]

    # -- files -----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``weights.pt`` and ``config.json`` into ``folder`` (atomically each)."""
        import io

        import torch

        from finsta_cli.io.atomic import atomic_write_bytes, atomic_write_json

        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save({name: self.weights[name].contiguous() for name in WEIGHT_NAMES}, buffer)
        atomic_write_bytes(target / WEIGHTS_FILE, buffer.getvalue())
        config = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "shape": {"features": self.shape.features, "dim": self.shape.dim,
                      "hidden": self.shape.hidden},
            "margin": self.margin,
            "info": self.info,
            "lexicon": {
                "names": dict(sorted(self.lexicon.names.items())),
                "attributes": dict(sorted(self.lexicon.attributes.items())),
                "predicates": dict(sorted(self.lexicon.predicates.items())),
                "alternatives": {k: list(v) for k, v in sorted(self.lexicon.alternatives.items())},
            },
            "features": list(self.features),
        }  # fmt: skip
        atomic_write_json(target / CONFIG_FILE, config)
        return target


def _model_files(path: Path) -> tuple[Path, Path]:
    folder = path.parent if path.is_file() else path
    return folder / WEIGHTS_FILE, folder / CONFIG_FILE


def load_learned_parser(
    path: str | Path | None = None, conventions: Conventions | None = None
) -> LearnedParser:
    """Load a model folder (or a file in it); the shipped one by default.

    A missing folder or file is a :class:`MissingResourceError` (exit 4) and so is one that
    cannot be read as a model (corrupt, truncated, another format), naming the file.
    """
    target = Path(path) if path is not None else default_model_path()
    weights_path, config_path = _model_files(target)
    hint = "train one with finsta train-parser, or use --parser rules"
    stamps: list[tuple[int, int]] = []
    for needed in (weights_path, config_path):
        if not needed.is_file():
            raise MissingResourceError(f"{needed}: learned parser file not found", hint=hint)
        stat = needed.stat()
        stamps.append((stat.st_mtime_ns, stat.st_size))
    parts = _load_files(str(weights_path.resolve()), str(config_path.resolve()), tuple(stamps))
    shape, weights, lexicon, features, info, margin, digest = parts
    return LearnedParser(
        shape,
        weights,
        lexicon,
        conventions if conventions is not None else load_conventions(),
        features,
        info,
        margin,
        str(weights_path.parent),
        digest,
    )


@lru_cache(maxsize=4)
def _load_files(
    weights_file: str, config_file: str, _stamps: tuple[tuple[int, int], ...]
) -> tuple[ModelShape, dict[str, Any], TrainCounts, list[str], dict[str, Any], float, str]:
    import torch

    weights_path, config_path = Path(weights_file), Path(config_file)
    hint = "train one with finsta train-parser, or use --parser rules"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("format") != MODEL_FORMAT:
            raise ValueError(f"format is {config.get('format')!r}, expected {MODEL_FORMAT!r}")
        if int(config.get("version", 0)) > MODEL_VERSION:
            raise ValueError(f"version {config.get('version')} is newer than this finsta reads")
        shape = ModelShape(**{k: int(v) for k, v in config["shape"].items()})
        lex = config["lexicon"]
        lexicon = TrainCounts(
            {str(k): int(v) for k, v in lex["names"].items()},
            {str(k): int(v) for k, v in lex["attributes"].items()},
            {str(k): int(v) for k, v in lex["predicates"].items()},
            {str(k): [str(x) for x in v] for k, v in lex["alternatives"].items()},
        )
        features = [str(feature) for feature in config["features"]]
        margin = float(config.get("margin", 0.0))
        if len(features) != shape.features:
            raise ValueError(f"{len(features)} features listed, shape says {shape.features}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MissingResourceError(
            f"{config_path}: not a learned parser config ({exc})", hint=hint
        ) from None
    try:
        weights = load_torch_file(weights_path, unreadable="not a learned parser weights file")
    except InputError as exc:  # exit 4 like a missing model: the parser cannot run without it
        raise MissingResourceError(exc.message, hint=hint) from None
    try:
        if not isinstance(weights, dict) or set(weights) != set(WEIGHT_NAMES):
            raise ValueError(f"expected tensors {', '.join(WEIGHT_NAMES)}")
        expected = shape.weight_shapes()
        for name, size in expected.items():
            tensor = weights[name]
            if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != size:
                raise ValueError(f"{name} is not a tensor of shape {size}")
        found = find_non_finite(weights)
        if found is not None:
            raise ValueError(f"the weights are not finite: {found.describe()}")
    except Exception as exc:  # torch raises many kinds on a corrupt or foreign file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MissingResourceError(
            f"{weights_path}: not a learned parser weights file ({reason})", hint=hint
        ) from None
    digest = hash_text(hash_file(weights_path) + hash_file(config_path))
    return shape, weights, lexicon, features, dict(config.get("info", {})), margin, digest
