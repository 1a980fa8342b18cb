"""Training the learned parser on FACTUAL's train split and scoring parsers on its dev split.

``finsta train-parser`` calls :func:`train_learned_parser`: parse the train captions, propose
their slots, label them with gold (:func:`prepare_training`), fit the scorer
(:func:`fit_scorer`), write the model folder and score rules and learned parser on dev
(:func:`evaluate_parser`, with :mod:`finsta_cli.text.tsg_score`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli.errors import InputError
from finsta_cli.text.conventions import Conventions, load_conventions
from finsta_cli.text.factual import (
    Fact,
    fact_set,
    parse_facts,
    read_factual_csv,
    tsg_to_facts,
)
from finsta_cli.text.learned.counts import (
    TrainCounts,
    learn_alternatives,
    leave_one_out,
    lexicon_counts,
)
from finsta_cli.text.learned.model import WEIGHT_NAMES, LearnedParser, ModelShape, make_scorer
from finsta_cli.text.learned.proposals import propose
from finsta_cli.text.learned.slots import Proposal
from finsta_cli.text.learned.targets import gold_targets
from finsta_cli.text.tsg_score import CaptionScore, TSGMetrics, aggregate

if TYPE_CHECKING:
    import torch
    from spacy.language import Language
    from spacy.tokens import Doc


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
    lexicon: TrainCounts
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
            lexicon = leave_one_out(counts, sorted(facts), alternatives)
            proposal = propose(doc, str(index + 1), conventions, lexicon, rows[index][0])
            yield proposal, gold_targets(proposal, facts, conventions)

    data, features = _collect(labelled(), min_count)
    lexicon = TrainCounts(
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
    model = make_scorer(shape)
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
