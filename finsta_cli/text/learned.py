"""The learned TSG parser: a small torch model that re-decides the rule parser's choices.

The rules parse a caption; :func:`~finsta_cli.text.candidates.propose` reopens their choices as
slots (an object's name, each attribute, each relation's subject and predicate, bare objects);
a scorer (``SlotScorer``) scores every option of a slot from string features (words, lemmas,
tags and dependencies around it, the rules' own choice, FACTUAL train counts of the name or
predicate it writes), and an option other than the rules' wins a slot only when it scores
``margin`` higher; the choices are written back into the rules' TSG
(:func:`~finsta_cli.text.candidates.apply_choices`). The result is a full TSG record (spans,
adverbs, temporal edges of the predicates that stay), so ``--format tsg`` and ``--format
factual`` both work on any caption.

The model is a "wide and deep" scorer over the features seen at least twice in training (its
vocabulary): a linear term plus a one-hidden-layer MLP over the sum of feature embeddings;
within a slot the scores go through a softmax and training maximises the probability of the
options that agree with FACTUAL's gold graph (:func:`~finsta_cli.text.candidates.gold_targets`).
A model is a folder with ``weights.pt`` (a plain dict of tensors, loaded with
``weights_only=True``) and ``config.json`` (sizes, margin, feature vocabulary, the lexicon of
train counts, how it was trained). ``finsta train-parser`` trains one
(:func:`train_learned_parser`); ``assets/text/learned_parser/`` holds the shipped one.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli.assets import assets_dir
from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.io.finite import find_non_finite
from finsta_cli.io.hashing import hash_file, hash_text
from finsta_cli.io.torchfile import load_torch_file
from finsta_cli.text.candidates import (
    Lexicon,
    Proposal,
    apply_choices,
    gold_targets,
    propose,
)
from finsta_cli.text.conventions import Conventions, load_conventions
from finsta_cli.text.factual import Fact, fact_set, parse_facts, read_factual_csv, tsg_to_facts
from finsta_cli.text.tsg_score import CaptionScore, TSGMetrics, aggregate

if TYPE_CHECKING:
    import torch
    from spacy.language import Language
    from spacy.tokens import Doc

    from finsta_cli.text.tokens import LemmaCache

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


def _make_scorer(shape: ModelShape) -> torch.nn.Module:
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


# -- lexicon ---------------------------------------------------------------------------------
def lexicon_counts(rows: Iterable[Sequence[Fact]]) -> dict[str, Counter[str]]:
    """Counts of names, attribute values and predicates in gold fact lists."""
    names: Counter[str] = Counter()
    attributes: Counter[str] = Counter()
    predicates: Counter[str] = Counter()
    for facts in rows:
        names.update(_fact_names(facts))
        for fact in set(facts):
            if len(fact) == 3 and fact[1] == "is":
                attributes[fact[2]] += 1
            elif len(fact) == 3:
                predicates[fact[1]] += 1
    return {"names": names, "attributes": attributes, "predicates": predicates}


def _fact_names(facts: Iterable[Fact]) -> set[str]:
    found: set[str] = set()
    for fact in facts:
        found.add(fact[0])
        if len(fact) == 3 and fact[1] != "is":
            found.add(fact[2])
    return found


def learn_alternatives(
    rule_facts: Iterable[frozenset[Fact]],
    gold_facts: Iterable[frozenset[Fact]],
    *,
    min_count: int = 2,
    min_share: float = 0.02,
    keep: int = 6,
) -> dict[str, list[str]]:
    """Predicates gold writes instead of the rules' one between the same two objects.

    ``rev:PRED`` marks gold writing the two objects the other way round ("( plate , have ,
    food )" for the rules' "( food , on , plate )"). Kept: seen ``min_count`` times and in
    ``min_share`` of the rules' uses of the predicate, the ``keep`` most frequent.
    """
    from finsta_cli.text.candidates import _loose

    used: Counter[str] = Counter()
    seen: dict[str, Counter[str]] = {}
    for rules, gold in zip(rule_facts, gold_facts, strict=True):
        relations = [
            (_loose(f[0]), f[1], _loose(f[2])) for f in gold if len(f) == 3 and f[1] != "is"
        ]
        for fact in rules:
            if len(fact) != 3 or fact[1] == "is":
                continue
            used[fact[1]] += 1
            if fact in gold:
                continue
            subject, obj = _loose(fact[0]), _loose(fact[2])
            for gold_subject, predicate, gold_obj in relations:
                if subject & gold_subject and obj & gold_obj and predicate != fact[1]:
                    seen.setdefault(fact[1], Counter())[predicate] += 1
                elif subject & gold_obj and obj & gold_subject:
                    seen.setdefault(fact[1], Counter())["rev:" + predicate] += 1
    table: dict[str, list[str]] = {}
    for predicate, counter in sorted(seen.items()):
        chosen = [
            other
            for other, count in counter.most_common()
            if count >= min_count and count >= min_share * used[predicate]
        ][:keep]
        if chosen:
            table[predicate] = chosen
    return table


class _Without(Mapping[str, int]):
    """A count table minus one caption's own counts (leave-one-out features for training)."""

    def __init__(self, base: Mapping[str, int], own: Mapping[str, int]) -> None:
        self.base = base
        self.own = own

    def __getitem__(self, key: str) -> int:
        return self.base[key] - self.own.get(key, 0)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.base.get(key)
        if value is None:
            return default
        return value - self.own.get(key, 0)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


def _leave_one_out(
    counts: Mapping[str, Counter[str]],
    facts: Sequence[Fact],
    alternatives: Mapping[str, Sequence[str]],
) -> Lexicon:
    own = lexicon_counts([facts])
    return Lexicon(
        _Without(counts["names"], own["names"]),
        _Without(counts["attributes"], own["attributes"]),
        _Without(counts["predicates"], own["predicates"]),
        alternatives,
    )


# -- the parser ------------------------------------------------------------------------------
@dataclass
class LearnedParser:
    """A trained slot scorer with its lexicon; turns parsed Docs into TSG records."""

    shape: ModelShape
    weights: dict[str, torch.Tensor]
    lexicon: Lexicon
    conventions: Conventions
    features: Sequence[str]
    info: dict[str, Any] = field(default_factory=dict)
    margin: float = 0.0
    path: str = "(in memory)"  # the folder it was loaded from
    digest: str = ""  # sha256 over its two files: resume redoes items when it changes

    def __post_init__(self) -> None:
        import torch

        self.vocab = FeatureVocab(self.features)
        self.scorer = _make_scorer(self.shape)
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
) -> tuple[ModelShape, dict[str, Any], Lexicon, list[str], dict[str, Any], float, str]:
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
        lexicon = Lexicon(
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


# -- training --------------------------------------------------------------------------------
@dataclass
class _Data:
    """Training slots as flat tensors: option feature ids, option and slot offsets, targets."""

    ids: torch.Tensor  # (F,)
    option_start: torch.Tensor  # (O,)
    option_length: torch.Tensor  # (O,)
    slot_start: torch.Tensor  # (S,) first option of each slot
    slot_size: torch.Tensor  # (S,)
    positive: torch.Tensor  # (O,) bool


class _Interner:
    """Feature strings -> provisional ids with their counts (one pass over the training set)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.counts: list[int] = []

    def ids(self, features: Iterable[str]) -> list[int]:
        out = []
        for feature in features:
            value = self.index.get(feature)
            if value is None:
                value = self.index[feature] = len(self.counts)
                self.counts.append(0)
            self.counts[value] += 1
            out.append(value)
        return out

    def vocabulary(self, min_count: int) -> tuple[list[str], list[int]]:
        """The features seen ``min_count`` times (sorted), and provisional id -> id (or -1)."""
        kept = sorted(f for f, i in self.index.items() if self.counts[i] >= min_count)
        final = {feature: i for i, feature in enumerate(kept)}
        remap = [-1] * len(self.counts)
        for feature, provisional in self.index.items():
            remap[provisional] = final.get(feature, -1)
        return kept, remap


def _collect(
    proposals: Iterable[tuple[Proposal, list[list[int]]]], min_count: int
) -> tuple[_Data, list[str]]:
    import array

    import torch

    interner = _Interner()
    ids = array.array("q")
    option_length: list[int] = []
    slot_start: list[int] = []
    slot_size: list[int] = []
    positive: list[bool] = []
    for proposal, targets in proposals:
        for slot, good in zip(proposal.slots, targets, strict=True):
            if not good:
                continue  # no option is known to be right: nothing to learn
            slot_start.append(len(option_length))
            slot_size.append(len(slot.options))
            for index, option in enumerate(slot.options):
                features = interner.ids(option.features)
                option_length.append(len(features))
                ids.extend(features)
                positive.append(index in good)
    vocabulary, remap = interner.vocabulary(min_count)
    mapped = torch.tensor(remap, dtype=torch.long)[torch.tensor(ids, dtype=torch.long)]
    lengths = torch.tensor(option_length, dtype=torch.long)
    owner = torch.repeat_interleave(torch.arange(len(option_length)), lengths)
    known = mapped >= 0
    kept_lengths = torch.bincount(owner[known], minlength=len(option_length))
    data = _Data(
        mapped[known],
        torch.cumsum(kept_lengths, 0) - kept_lengths,
        kept_lengths,
        torch.tensor(slot_start, dtype=torch.long),
        torch.tensor(slot_size, dtype=torch.long),
        torch.tensor(positive, dtype=torch.bool),
    )
    return data, vocabulary


def _batch_loss(model: torch.nn.Module, data: _Data, slots: torch.Tensor) -> torch.Tensor:
    import torch

    sizes = data.slot_size[slots]
    first = data.slot_start[slots]
    # Option indices of the batch's slots, slot after slot.
    slot_of = torch.repeat_interleave(torch.arange(len(slots)), sizes)
    within = torch.arange(int(sizes.sum())) - torch.repeat_interleave(
        torch.cumsum(sizes, 0) - sizes, sizes
    )
    options = first[slot_of] + within
    lengths = data.option_length[options]
    starts = data.option_start[options]
    feature_within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(
        torch.cumsum(lengths, 0) - lengths, lengths
    )
    ids = data.ids[torch.repeat_interleave(starts, lengths) + feature_within]
    offsets = torch.cumsum(lengths, 0) - lengths
    scores = model(ids, offsets)
    table = torch.full((len(slots), int(sizes.max())), float("-inf"))
    table[slot_of, within] = scores
    good = torch.full_like(table, float("-inf"))
    good[slot_of, within] = torch.where(
        data.positive[options], scores, torch.full_like(scores, float("-inf"))
    )
    return (torch.logsumexp(table, 1) - torch.logsumexp(good, 1)).mean()


def record_facts(record: Mapping[str, Any], conventions: Conventions) -> frozenset[Fact]:
    """A TSG record's facts as ``--format factual`` writes them."""
    from finsta_cli.schema import TSG

    tsg = TSG.model_validate(record)
    return fact_set(
        tsg_to_facts(
            tsg,
            object_names=conventions.object_names,
            predicate_names=conventions.predicate_names,
            drop_attribute=conventions.drops_attribute,
        )
    )


@dataclass
class TrainSummary:
    """What :func:`train_learned_parser` did: sizes, times and dev figures."""

    out: str
    train_captions: int
    train_slots: int
    epochs: int
    seed: int
    seconds: float
    dev_rules: TSGMetrics | None
    dev_learned: TSGMetrics | None
    losses: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "train_captions": self.train_captions,
            "train_slots": self.train_slots,
            "epochs": self.epochs,
            "seed": self.seed,
            "seconds": round(self.seconds, 1),
            "dev_rules": self.dev_rules.headline_json() if self.dev_rules else None,
            "dev_learned": self.dev_learned.headline_json() if self.dev_learned else None,
            "losses": [round(loss, 4) for loss in self.losses],
        }


def _parse_rows(nlp: Language, rows: Sequence[tuple[str, str]], batch_size: int = 256) -> list[Doc]:
    return list(nlp.pipe((caption for caption, _ in rows), batch_size=batch_size))


def evaluate_parser(
    parser: LearnedParser | None,
    docs: Sequence[Doc],
    rows: Sequence[tuple[str, str]],
    conventions: Conventions,
    batch: int = 256,
) -> TSGMetrics:
    """Score the learned parser (or the rules, ``parser`` None) on parsed gold rows."""
    from finsta_cli.text.parser import tsg_record

    predicted: list[frozenset[Fact]] = []
    for start in range(0, len(docs), batch):
        chunk = docs[start : start + batch]
        texts = [caption for caption, _ in rows[start : start + batch]]
        ids = [str(start + i + 1) for i in range(len(chunk))]
        if parser is None:
            records = [
                tsg_record(doc, item_id, conventions, text)
                for doc, item_id, text in zip(chunk, ids, texts, strict=True)
            ]
        else:
            records = parser.records(chunk, ids, texts)
        predicted += [record_facts(record, conventions) for record in records]
    gold = [fact_set(parse_facts(graph)) for _, graph in rows]
    return aggregate(
        [
            CaptionScore(index, caption, gold_facts, predicted_facts)
            for index, ((caption, _), gold_facts, predicted_facts) in enumerate(
                zip(rows, gold, predicted, strict=True)
            )
        ]
    )


@dataclass
class TrainingSet:
    """Labelled slots of the train split, its feature vocabulary and lexicon."""

    data: _Data
    features: list[str]
    lexicon: Lexicon
    captions: int

    @property
    def slots(self) -> int:
        return len(self.data.slot_start)


def prepare_training(
    docs: Sequence[Doc],
    rows: Sequence[tuple[str, str]],
    conventions: Conventions,
    *,
    min_count: int = 2,
) -> TrainingSet:
    """Propose slots on every train caption and label them against its gold graph.

    Counts in the lexicon features leave the caption's own gold out (a name seen only in this
    caption counts 0, as an unseen name does at test time); features seen fewer than
    ``min_count`` times are dropped.
    """
    from finsta_cli.text.parser import tsg_record

    gold = [fact_set(parse_facts(graph)) for _, graph in rows]
    counts = lexicon_counts([sorted(facts) for facts in gold])
    rules = [
        record_facts(tsg_record(doc, str(i + 1), conventions, caption), conventions)
        for i, (doc, (caption, _)) in enumerate(zip(docs, rows, strict=True))
    ]
    alternatives = learn_alternatives(rules, gold)

    def labelled() -> Iterator[tuple[Proposal, list[list[int]]]]:
        for index, (doc, facts) in enumerate(zip(docs, gold, strict=True)):
            lexicon = _leave_one_out(counts, sorted(facts), alternatives)
            proposal = propose(doc, str(index + 1), conventions, lexicon, rows[index][0])
            yield proposal, gold_targets(proposal, facts, conventions)

    data, features = _collect(labelled(), min_count)
    lexicon = Lexicon(
        dict(counts["names"]), dict(counts["attributes"]), dict(counts["predicates"]), alternatives
    )
    return TrainingSet(data, features, lexicon, len(rows))


def fit_scorer(
    training: TrainingSet,
    shape: ModelShape,
    *,
    epochs: int,
    seed: int,
    learning_rate: float = 3e-3,
    weight_decay: float = 0.0,
    batch_slots: int = 512,
    log: Callable[[str], None] | None = None,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Train a scorer on the labelled slots; returns its weights (embeddings in float16)."""
    import torch

    say = log or (lambda message: None)
    torch.manual_seed(seed)
    model = _make_scorer(shape)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    order_rng = random.Random(seed)
    losses: list[float] = []
    n_slots = training.slots
    for epoch in range(epochs):
        order = list(range(n_slots))
        order_rng.shuffle(order)
        total = 0.0
        batches = 0
        model.train()
        for start in range(0, n_slots, batch_slots):
            slots = torch.tensor(order[start : start + batch_slots], dtype=torch.long)
            loss = _batch_loss(model, training.data, slots)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            batches += 1
        losses.append(total / max(batches, 1))
        say(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}")
    state = model.state_dict()
    weights = {
        "embed": state["embed.weight"].detach().to(torch.float16),
        "wide": state["wide.weight"].detach().to(torch.float16),
        **{name: state[name].detach().clone() for name in WEIGHT_NAMES[2:]},
    }
    return weights, losses


@dataclass
class TrainOptions:
    """Hyper-parameters of :func:`train_learned_parser` (the defaults give the shipped model)."""

    epochs: int = 2
    seed: int = 0
    dim: int = 32
    hidden: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    batch_slots: int = 512
    min_count: int = 2
    margin: float = 1.0


def train_learned_parser(
    train_csv: str | Path,
    out: str | Path,
    *,
    dev_csv: str | Path | None = None,
    options: TrainOptions | None = None,
    limit: int | None = None,
    spacy_model: str | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainSummary:
    """Train a learned parser on a FACTUAL CSV (the train split) and save it to ``out``.

    Deterministic for a given seed, data and thread count. ``dev_csv`` is scored with the
    rules and with the trained model at the end (reported, not used to pick anything).
    """
    from finsta_cli.text.parser import load_nlp

    say = log or (lambda message: None)
    options = options or TrainOptions()
    started = time.perf_counter()
    rows = read_factual_csv(train_csv)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise InputError(f"{train_csv}: no training rows")
    conventions = load_conventions()
    nlp = load_nlp(spacy_model)
    say(f"parsing {len(rows)} train captions with spaCy")
    docs = _parse_rows(nlp, rows)
    say("proposing and labelling candidate edits")
    training = prepare_training(docs, rows, conventions, min_count=options.min_count)
    say(f"{training.slots} slots with a target, {len(training.features)} features")
    shape = ModelShape(len(training.features), options.dim, options.hidden)
    weights, losses = fit_scorer(
        training,
        shape,
        epochs=options.epochs,
        seed=options.seed,
        learning_rate=options.learning_rate,
        weight_decay=options.weight_decay,
        batch_slots=options.batch_slots,
        log=say,
    )
    info: dict[str, Any] = {
        "train": Path(train_csv).name,
        "train_captions": len(rows),
        "train_slots": training.slots,
        "options": {
            key: getattr(options, key)
            for key in (
                "epochs",
                "seed",
                "learning_rate",
                "weight_decay",
                "batch_slots",
                "min_count",
            )
        },
        "spacy_model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}",
    }
    parser = LearnedParser(
        shape, weights, training.lexicon, conventions, training.features, info, options.margin
    )
    dev_rules = dev_learned = None
    if dev_csv is not None:
        dev_rows = read_factual_csv(dev_csv)
        say(f"scoring {len(dev_rows)} dev captions")
        dev_docs = _parse_rows(nlp, dev_rows)
        dev_rules = evaluate_parser(None, dev_docs, dev_rows, conventions)
        dev_learned = evaluate_parser(parser, dev_docs, dev_rows, conventions)
        info["dev"] = {
            "file": Path(dev_csv).name,
            "rules": dev_rules.headline_json(),
            "learned": dev_learned.headline_json(),
        }
    seconds = time.perf_counter() - started
    info["train_seconds"] = round(seconds, 1)
    parser.save(out)
    return TrainSummary(
        str(out), len(rows), training.slots, options.epochs, options.seed, seconds,
        dev_rules, dev_learned, losses,
    )  # fmt: skip


__all__ = [
    "LearnedParser",
    "ModelShape",
    "TrainOptions",
    "TrainSummary",
    "default_model_path",
    "evaluate_parser",
    "load_learned_parser",
    "train_learned_parser",
]
