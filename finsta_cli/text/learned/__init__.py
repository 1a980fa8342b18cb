"""The learned TSG parser: a small torch model that re-decides the rule parser's choices.

The rules parse a caption; :func:`~finsta_cli.text.learned.proposals.propose` reopens their choices
as slots (:mod:`~finsta_cli.text.learned.slots`: an object's name, each attribute, each relation's
subject and predicate, bare objects); a scorer (``SlotScorer``) scores every option of a slot from
string features (words, lemmas, tags and dependencies around it, the rules' own choice, FACTUAL
train counts of the name or predicate it writes), and an option other than the rules' wins a slot
only when it scores ``margin`` higher; the choices are written back into the rules' TSG
(:func:`~finsta_cli.text.learned.apply.apply_choices`). The result is a full TSG record (spans,
adverbs, temporal edges of the predicates that stay), so ``--format tsg`` and ``--format factual``
both work on any caption.

The model is a "wide and deep" scorer over the features seen at least twice in training (its
vocabulary): a linear term plus a one-hidden-layer MLP over the sum of feature embeddings; within a
slot the scores go through a softmax and training maximises the probability of the options that
agree with FACTUAL's gold graph (:func:`~finsta_cli.text.learned.targets.gold_targets`). A model is
a folder with ``weights.pt`` (a plain dict of tensors, loaded with ``weights_only=True``) and
``config.json`` (sizes, margin, feature vocabulary, the lexicon of train counts, how it was trained;
:mod:`~finsta_cli.text.learned.model`). ``finsta train-parser`` trains one
(:func:`~finsta_cli.text.learned.training.train_learned_parser`); ``assets/text/learned_parser/``
holds the shipped one.
"""

from finsta_cli.text.learned.model import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    LearnedParser,
    ModelShape,
    default_model_path,
    load_learned_parser,
)
from finsta_cli.text.learned.training import (
    TrainOptions,
    TrainSummary,
    evaluate_parser,
    train_learned_parser,
)

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "LearnedParser",
    "ModelShape",
    "TrainOptions",
    "TrainSummary",
    "default_model_path",
    "evaluate_parser",
    "load_learned_parser",
    "train_learned_parser",
]
