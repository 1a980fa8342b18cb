"""parse-text on Ray actors (``--executor ray``): each parses batches of captions, in order.

:class:`CaptionBatchParser` is what each actor holds: the first batch it is handed loads spaCy
(and the learned parser), once per actor; every batch goes through ``nlp.pipe`` and the same
:class:`~finsta_cli.text.parse_stage.LineRenderer` as on the local path. :func:`lines_on_ray`
hands out the batches and gives each caption's line back in input order, so that the driver
writes them through the same :class:`~finsta_cli.text.parse_stage.OrderedOutput`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from finsta_cli.errors import FinstaError
from finsta_cli.io.stage import StageRun, describe_error
from finsta_cli.text.caption_input import CaptionInput

if TYPE_CHECKING:
    from spacy.language import Language

    from finsta_cli.text.parse_stage import Item, LineRenderer, ParseTextConfig, Rendered

# A caption's answer from an actor: (True, its line) or (False, why it failed).
Answer = tuple[bool, str]


class CaptionBatchParser:
    """Parses a batch of ``(text, item)`` pairs into each caption's answer, in order."""

    def __init__(self, config: ParseTextConfig) -> None:
        self.config = config
        self._loaded: tuple[Language, LineRenderer, list[str]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None}

    def _load(self) -> tuple[Language, LineRenderer, list[str]]:
        if self._loaded is None:
            from finsta_cli.text.conventions import load_conventions
            from finsta_cli.text.parse_stage import LineRenderer, load_learned
            from finsta_cli.text.parser import load_nlp
            from finsta_cli.text.tokens import LemmaCache

            nlp = load_nlp(self.config.spacy_model)
            conventions = load_conventions()
            learned = load_learned(self.config, conventions)
            lemmas = (
                LemmaCache(nlp, attribute_ruler=True) if "lemmatizer" in nlp.pipe_names else None
            )
            skip = lemmas.skipped_components if lemmas is not None else []
            self._loaded = nlp, LineRenderer(self.config, conventions, lemmas, learned), skip
        return self._loaded

    def __call__(self, batch: list[tuple[str, Item]]) -> list[Answer]:
        nlp, renderer, skip = self._load()
        docs = nlp.pipe(batch, as_tuples=True, batch_size=self.config.batch_size, disable=skip)
        return [
            (False, describe_error(line)) if isinstance(line, Exception) else (True, line)
            for _, line in renderer.lines(docs)
        ]


def lines_on_ray(
    run: StageRun[CaptionInput], to_parse: Iterable[tuple[str, Item]], config: ParseTextConfig
) -> Iterator[Rendered]:
    """Each caption's line, or the error that failed it, in input order, parsed on a pool of
    Ray actors in batches of ``batch_size`` (the batches the local path's learned parser
    scores together, so its lines are the same)."""
    from finsta_cli.io.executor import map_on_ray, started_pool

    pairs = iter(to_parse)
    batches = iter(lambda: list(itertools.islice(pairs, config.batch_size)), [])
    with started_pool(run, CaptionBatchParser(config), config.executor) as pool:
        for batch, ok, answers in map_on_ray(pool, batches):
            for k, (_, item) in enumerate(batch):
                if not ok:
                    yield item, FinstaError(answers)
                    continue
                good, line = answers[k]
                yield item, line if good else FinstaError(line)
