"""The ``parse-text`` stage: captions (text, JSONL, CSV or stdin) -> TSG or FACTUAL lines.

:func:`run_parse_text` reads the captions (:mod:`~finsta_cli.text.caption_input`), runs them
through spaCy's ``nlp.pipe``, turns each parse into a line (:class:`LineRenderer`: the rules or
the learned parser, TSG JSON or FACTUAL) and writes the lines in input order
(:class:`OrderedOutput`); with ``--executor ray``, Ray actors parse batches of captions
(:mod:`finsta_cli.text.remote`) and the lines are written here as locally. Captions longer
than ``max_chars`` are cut with a warning. Resume (same input text and config) copies an
item's earlier record instead of parsing it again.
"""

from __future__ import annotations

import gc
import itertools
import json
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from finsta_cli.config import StageConfig
from finsta_cli.errors import UsageError
from finsta_cli.io.atomic import atomic_open
from finsta_cli.io.executor import ExecutorConfig
from finsta_cli.io.hashing import hash_file, hash_text
from finsta_cli.io.jsonl import STDIO
from finsta_cli.io.progress import get_logger
from finsta_cli.io.shard import Shard
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary
from finsta_cli.schema import TSG
from finsta_cli.text.caption_input import CaptionInput, iter_captions
from finsta_cli.text.conventions import Conventions, load_conventions
from finsta_cli.text.factual import format_facts, tsg_to_facts
from finsta_cli.text.parser import bound_text, load_nlp, tsg_record
from finsta_cli.text.tokens import LemmaCache

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from finsta_cli.text.learned import LearnedParser

log = get_logger("text.parse")

OutputFormat = Literal["tsg", "factual"]
InputFormat = Literal["auto", "text", "jsonl", "csv"]
ParserKind = Literal["rules", "learned"]


class ParseTextConfig(StageConfig):
    """Options of ``finsta parse-text`` (section ``parse_text`` of a shared config file)."""

    SECTION: ClassVar[str] = "parse_text"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"batch_size", "n_process", "executor"})

    format: OutputFormat = Field(default="tsg", description="tsg records or FACTUAL lines")
    input_format: InputFormat = "auto"
    id_field: str = "id"
    text_field: str = "text"
    batch_size: int = Field(default=256, ge=1)
    n_process: int = Field(default=1, ge=1)
    spacy_model: str | None = None
    max_chars: int = Field(default=10_000, ge=1, description="longer captions are cut here")
    parser: ParserKind = Field(
        default="rules", description="rules, or the learned parser that edits their choices"
    )
    parser_model: str | None = Field(
        default=None, description="learned parser folder [assets/text/learned_parser]"
    )
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


class OutputWriter:
    """Writes TSG JSONL or FACTUAL lines to a file (atomically) or stdout, flushed per line."""

    def __init__(self, target: str, output_format: str) -> None:
        self.target = target
        self.format = output_format
        self._handle: IO[str] | None = None
        self._context: Any = None

    def __enter__(self) -> OutputWriter:
        if self.target == STDIO:
            self._handle = sys.stdout
        else:
            self._context = atomic_open(self.target, "w")
            self._handle = self._context.__enter__()
        return self

    def write_line(self, line: str) -> None:
        assert self._handle is not None
        self._handle.write(line + "\n")
        if self.target == STDIO:
            self._handle.flush()

    def __exit__(self, *exc: Any) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)
        self._handle = None


def factual_line(text: str, facts: str) -> str:
    """One ``--format factual`` line: the caption (tabs and newlines as spaces), TAB, facts."""
    caption = " ".join(text.replace("\t", " ").splitlines())
    return f"{caption}\t{facts}"


def _previous_records(out: str, output_format: str) -> dict[str, str]:
    """Lines of an earlier output, by id (TSG) or by caption (FACTUAL), for resume."""
    path = Path(out)
    if out == STDIO or not path.is_file():
        return {}
    records: dict[str, str] = {}
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if output_format == "factual":
                records[line.partition("\t")[0]] = line
                continue
            try:
                records[str(json.loads(line)["id"])] = line
            except (ValueError, KeyError, TypeError):
                continue
    return records


Item = StageItem[CaptionInput]
Rendered = tuple[Item, str | Exception]


class LineRenderer:
    """Each parsed caption's line: TSG JSON or FACTUAL, by the rules or the learned parser."""

    def __init__(
        self,
        config: ParseTextConfig,
        conventions: Conventions,
        lemmas: LemmaCache | None,
        learned: LearnedParser | None,
    ) -> None:
        self.config = config
        self.conventions = conventions
        self.lemmas = lemmas
        self.learned = learned

    def render(self, doc: Doc, item_id: str, text: str) -> str:
        """One caption's line."""
        if self.learned is not None:
            return self._learned_line(*self.learned.parse([doc], [item_id], [text], self.lemmas)[0])
        return self._line(tsg_record(doc, item_id, self.conventions, text, self.lemmas))

    def lines(self, docs: Iterable[tuple[Doc, Item]]) -> Iterator[Rendered]:
        """Each item's output line, or the error that failed it, in input order."""
        if self.learned is None:
            for doc, item in docs:
                text = item.payload.text[: self.config.max_chars]  # as fed to nlp.pipe
                try:
                    yield item, self.render(doc, item.id, text)
                except Exception as exc:
                    yield item, exc
            return
        # The learned parser scores a batch of captions in one model call.
        batch: list[tuple[Doc, Item]] = []
        for pair in itertools.chain(docs, [None]):
            if pair is not None:
                batch.append(pair)
                if len(batch) < self.config.batch_size:
                    continue
            yield from self._learned_batch(batch)
            batch = []

    def _learned_batch(self, batch: list[tuple[Doc, Item]]) -> Iterator[Rendered]:
        assert self.learned is not None
        texts = [item.payload.text[: self.config.max_chars] for _, item in batch]
        try:
            parsed = self.learned.parse(
                [doc for doc, _ in batch], [item.id for _, item in batch], texts, self.lemmas
            )
            lines: list[str | Exception] = [self._learned_line(*pair) for pair in parsed]
        except Exception:  # find the caption that failed: one at a time
            lines = []
            for (doc, item), text in zip(batch, texts, strict=True):
                try:
                    lines.append(self.render(doc, item.id, text))
                except Exception as exc:
                    lines.append(exc)
        yield from zip((item for _, item in batch), lines, strict=True)

    def _line(self, record: dict[str, Any]) -> str:
        if self.config.format == "factual":
            conventions = self.conventions
            tsg = TSG.model_validate(record)
            facts = tsg_to_facts(
                tsg,
                object_names=conventions.object_names,
                predicate_names=conventions.predicate_names,
                drop_attribute=conventions.drops_attribute,
            )
            return factual_line(tsg.text, format_facts(facts))
        # The record has the TSG schema's shape (tests check it validates to the same JSON);
        # skipping pydantic here keeps the stage near bare nlp.pipe speed.
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    def _learned_line(self, record: dict[str, Any], edited: bool) -> str:
        # A graph the learned parser rewrote (not the rules' own) is validated.
        if self.config.format == "tsg" and edited:
            TSG.model_validate(record)
        return self._line(record)


class OrderedOutput:
    """Writes the lines in input order, the items resume skips among the parsed ones.

    A skipped item's line is copied from the earlier output (``previous``), or parsed again
    when that output lost it. :meth:`track` notes every item the run is offered, in order;
    :meth:`flush_until` writes the skipped items' lines that come before a parsed one.
    """

    def __init__(
        self,
        writer: OutputWriter,
        renderer: LineRenderer,
        nlp: Language,
        previous: dict[str, str],
    ) -> None:
        self.writer = writer
        self.renderer = renderer
        self.nlp = nlp
        self.previous = previous
        self.pending: deque[list[Any]] = deque()  # [item, skipped] in input order

    def track(self, items: Iterable[Item], run: StageRun[CaptionInput]) -> Iterator[Item]:
        """``items``, each noted as pending, and as skipped when the run skipped it."""
        for item in items:
            entry: list[Any] = [item, False]
            self.pending.append(entry)
            skipped_before = run.counts.skipped
            yield item
            if run.counts.skipped > skipped_before:
                entry[1] = True

    def flush_until(self, item: Item | None) -> None:
        """Write the skipped items' lines before ``item`` (all of them with None)."""
        pending = self.pending
        while pending:
            head, skipped = pending[0]
            if item is not None and head is item:
                pending.popleft()
                return
            if item is not None and not skipped and head.id == item.id:
                pending.popleft()
                return
            pending.popleft()
            if skipped:
                self._write_skipped(head)

    def _write_skipped(self, item: Item) -> None:
        config = self.renderer.config
        key = item.id
        if config.format == "factual":
            key = factual_line(item.payload.text, "").rstrip("\t")
        line = self.previous.get(key)
        if line is None:  # the earlier output lost it: parse it again
            text = bound_text(item.payload.text, config.max_chars, item.source)
            line = self.renderer.render(self.nlp(text), item.id, text)
        self.writer.write_line(line)


def _keyed_by_model(items: Iterable[Item], digest: str) -> Iterator[Item]:
    """Another model gives other records: its digest in the input hash makes resume redo them."""
    for item in items:
        item.input_hash = hash_text(f"{digest}:{item.input_hash}")
        yield item


def _to_parse(
    run: StageRun[CaptionInput], items: Iterable[Item], max_chars: int
) -> Iterator[tuple[str, Item]]:
    """The captions the run selects, cut to ``max_chars``; unreadable ones fail here."""
    for item in run.select(items):
        if item.payload.error is not None:
            run.fail(item, item.payload.error)
            continue
        yield bound_text(item.payload.text, max_chars, item.source), item


def load_learned(config: ParseTextConfig, conventions: Conventions) -> LearnedParser | None:
    if config.parser != "learned":
        return None
    from finsta_cli.runtime import configure_threads
    from finsta_cli.text.learned import load_learned_parser

    learned = load_learned_parser(config.parser_model, conventions)
    # The scorer runs small batches (a few thousand options): torch's thread pool only
    # adds synchronisation (about 30x slower with 2 threads on a busy 2-core machine).
    configure_threads(1)
    return learned


def run_parse_text(
    source: str,
    out: str,
    config: ParseTextConfig,
    *,
    shard: Shard | None = None,
    force: bool = False,
    limit: int | None = None,
    quiet: bool = False,
) -> StageSummary:
    """Parse every caption of ``source`` into ``out``; returns the run's summary.

    ``out`` is a file, or ``-`` for stdout (then there is no manifest or resume, and failures
    are reported on stderr only).
    """
    if out != STDIO and Path(out).is_dir():
        raise UsageError(f"--out {out} is a folder: parse-text writes one file (or - for stdout)")
    if source != STDIO and out != STDIO and Path(source).resolve() == Path(out).resolve():
        raise UsageError(f"--out {out} is the input file: choose another output file")
    nlp = load_nlp(config.spacy_model)
    conventions = load_conventions()
    learned = load_learned(config, conventions)
    # spaCy's lemmatizer sets every token's lemma in Python; the rules get the same lemmas from
    # a cache keyed on what the lemmatizer reads (word, POS, morphology), so nlp.pipe skips it.
    lemmas = LemmaCache(nlp, attribute_ruler=True) if "lemmatizer" in nlp.pipe_names else None
    skip = lemmas.skipped_components if lemmas is not None else []
    renderer = LineRenderer(config, conventions, lemmas, learned)
    # The model's ~250k Python objects live as long as the process: keep the cyclic garbage
    # collector from scanning them again and again (about 0.05 ms per caption otherwise).
    gc.collect()
    gc.freeze()
    to_stdout = out == STDIO
    scratch = tempfile.mkdtemp(prefix="finsta-parse-text-") if to_stdout else None
    paths = (
        StagePaths.for_dir(scratch, shard)
        if scratch is not None
        else StagePaths.for_file(out, shard)
    )
    # Without the earlier output there is nothing to resume from: every item is parsed.
    force = force or to_stdout or not Path(out).is_file()
    previous: dict[str, str] = {}
    run: StageRun[CaptionInput]
    try:
        with StageRun[CaptionInput](
            "parse-text",
            paths,
            config,
            force=force,
            limit=limit,
            quiet=quiet,
            output_file=None if to_stdout else out,
        ) as run:
            if not force:  # read under the run's lock, as the file its ledger describes
                previous = _previous_records(out, config.format)
            if source != STDIO and Path(source).is_file():
                run.add_input(source, hash_file(source), None)
            else:
                run.add_input(source, None, None)
            items: Iterable[Item] = iter_captions(source, config)
            if learned is not None:
                run.add_input(learned.path, learned.digest, None)
                items = _keyed_by_model(items, learned.digest)
            with OutputWriter(out, config.format) as writer, run.timed("parse"):
                output = OrderedOutput(writer, renderer, nlp, previous)
                to_parse = _to_parse(run, output.track(items, run), config.max_chars)
                rendered: Iterable[Rendered]
                if config.executor.kind == "ray":
                    from finsta_cli.text.remote import lines_on_ray

                    rendered = lines_on_ray(run, to_parse, config)
                else:
                    docs = nlp.pipe(
                        to_parse,
                        as_tuples=True,
                        batch_size=config.batch_size,
                        n_process=config.n_process,
                        disable=skip,
                    )
                    rendered = renderer.lines(docs)
                for item, line in rendered:
                    output.flush_until(item)
                    if isinstance(line, Exception):  # a rule that trips on one parse
                        run.fail(item, line)
                        continue
                    writer.write_line(line)
                    # Outputs are not listed per item: all go to one file, which the ledger's
                    # snapshot describes as a whole (StageRun's output_file).
                    run.done(item, [])
                output.flush_until(None)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    assert run.summary is not None
    summary = run.summary
    if to_stdout:
        summary.manifest = ""
        summary.failures = None
    return summary


__all__ = [
    "LineRenderer",
    "OrderedOutput",
    "OutputWriter",
    "ParseTextConfig",
    "factual_line",
    "run_parse_text",
]
