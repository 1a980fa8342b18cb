"""The rule parser's public API: the spaCy pipeline, and captions or Docs -> :class:`TSG` records.

``parse_texts(texts)`` runs spaCy's ``nlp.pipe`` (tagger, parser, lemmatizer; no NER) in batches
and turns each parse into a TSG. The rules live beside this module: word lists
(:mod:`~finsta_cli.text.words`), spaCy tokens copied fast (:mod:`~finsta_cli.text.tokens`), the
small model's tagging mistakes mended (:mod:`~finsta_cli.text.verb_repair`) and the graph built
(:mod:`~finsta_cli.text.graph_builder`, which documents what becomes a node or an edge).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from finsta_cli.io.progress import get_logger
from finsta_cli.schema import TSG
from finsta_cli.text.conventions import Conventions, load_conventions
from finsta_cli.text.graph_builder import GraphBuilder, tsg_dict
from finsta_cli.text.tokens import LemmaCache
from finsta_cli.text.verb_lexicon import register_verb_lexicon

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


log = get_logger("text.parser")

# The components the rules read: POS tags, dependencies, lemmas. NER is never needed.
SPACY_EXCLUDE: tuple[str, ...] = ("ner", "senter", "textcat", "entity_ruler")
MAX_CHARS_DEFAULT = 10_000


@lru_cache(maxsize=4)
def _cached_nlp(name: str | None) -> Language:
    import spacy

    from finsta_cli.text.spacy_model import resolve_spacy_model

    info = resolve_spacy_model(name)
    # info.name is the package name, or the folder's path for a pipeline saved with to_disk.
    nlp = spacy.load(info.name, exclude=list(SPACY_EXCLUDE))
    register_verb_lexicon(nlp)
    return nlp


def load_nlp(name: str | None = None) -> Language:
    """The spaCy pipeline with only the components the parser reads (cached per name)."""
    return _cached_nlp(name)


def tsg_record(
    doc: Doc,
    item_id: str,
    conventions: Conventions | None = None,
    text: str | None = None,
    lemmas: LemmaCache | None = None,
) -> dict[str, Any]:
    """The TSG of one Doc as a JSON-ready dict, not validated: the stage's fast path.

    The rules only build well-formed graphs (ids are positions, spans lie in the text, edges
    join the node types their type names); :func:`parse_doc` validates the same record.
    ``text`` is the string the Doc was made from, when the caller has it (``Doc.text`` joins
    the tokens again on every read). ``lemmas`` fills the lemmas of a Doc parsed without the
    lemmatizer (:class:`LemmaCache`).
    """
    conv = conventions if conventions is not None else load_conventions()
    text = doc.text if text is None else text
    if not text.strip():
        return tsg_dict(item_id, text, [], [])
    return GraphBuilder(doc, conv, text, lemmas).build(item_id)


def parse_doc(doc: Doc, item_id: str, conventions: Conventions | None = None) -> TSG:
    """The TSG of one spaCy Doc."""
    return TSG.model_validate(tsg_record(doc, item_id, conventions))


def parse_docs(
    docs: Iterable[Doc],
    ids: Iterable[str] | None = None,
    *,
    conventions: Conventions | None = None,
) -> Iterator[TSG]:
    """TSGs of already parsed Docs; ids default to 1, 2, ... (line numbers)."""
    conv = conventions if conventions is not None else load_conventions()
    id_iter = iter(ids) if ids is not None else (str(n) for n in _count_from(1))
    for doc in docs:
        item_id = next(id_iter, None)
        if item_id is None:
            raise ValueError("parse_docs: fewer ids than texts")
        yield parse_doc(doc, item_id, conv)


def _count_from(start: int) -> Iterator[int]:
    n = start
    while True:
        yield n
        n += 1


def parse_texts(
    texts: Iterable[str],
    ids: Iterable[str] | None = None,
    *,
    nlp: Language | None = None,
    spacy_model: str | None = None,
    batch_size: int = 256,
    n_process: int = 1,
    conventions: Conventions | None = None,
    max_chars: int = MAX_CHARS_DEFAULT,
) -> Iterator[TSG]:
    """Parse captions into TSGs lazily, in order, with ``nlp.pipe`` batching.

    Captions longer than ``max_chars`` are cut there (with a warning) so that one huge line
    cannot stall a batch; the TSG keeps the cut text. ``ids`` default to 1, 2, ...
    """
    pipeline = nlp if nlp is not None else load_nlp(spacy_model)
    bounded = (bound_text(text, max_chars, f"caption {n}") for n, text in enumerate(texts, start=1))
    docs = pipeline.pipe(bounded, batch_size=batch_size, n_process=n_process)
    yield from parse_docs(docs, ids, conventions=conventions)


def bound_text(text: str, max_chars: int, where: str | None = None) -> str:
    """``text`` cut to ``max_chars`` characters, with a warning when it was longer."""
    if len(text) <= max_chars:
        return text
    log.warning("%s has %d characters: cut to %d", where or "caption", len(text), max_chars)
    return text[:max_chars]
