"""The ``parse-text`` stage: read captions (text, JSONL, CSV or stdin), write TSG or FACTUAL lines.

Input formats (``auto`` picks by suffix; stdin is JSONL when its first line starts with ``{``):

- ``text``: one caption per line; the id is the line number; an empty line is a caption with
  an empty graph;
- ``jsonl``: one object per line, caption under ``text_field``, id under ``id_field`` (the
  line number when absent); blank lines are skipped;
- ``csv``: a header row, caption in column ``text_field``, id in ``id_field`` (the row number,
  1 = first data row, when the column is absent). FACTUAL's CSVs read with
  ``--text-field caption``.

Lines are decoded one by one: undecodable bytes, a JSON error or a missing field fail that item
only (``failures.jsonl``, exit 3) and the others go on. Captions longer than ``max_chars`` are
cut with a warning. Outputs keep input order; resume (same input text and config) copies an
item's earlier record instead of parsing it again.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import json
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from finsta_cli.config import StageConfig
from finsta_cli.errors import InputError, UsageError
from finsta_cli.io.atomic import atomic_open
from finsta_cli.io.hashing import hash_file, hash_text
from finsta_cli.io.jsonl import STDIO, surrogate_reason
from finsta_cli.io.progress import get_logger
from finsta_cli.io.shard import Shard
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary

if TYPE_CHECKING:
    from spacy.tokens import Doc

log = get_logger("text.parse")

OutputFormat = Literal["tsg", "factual"]
InputFormat = Literal["auto", "text", "jsonl", "csv"]
ParserKind = Literal["rules", "learned"]
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


class ParseTextConfig(StageConfig):
    """Options of ``finsta parse-text`` (section ``parse_text`` of a shared config file)."""

    SECTION: ClassVar[str] = "parse_text"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"batch_size", "n_process"})

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


@dataclass
class CaptionInput:
    """A caption read from the input, or why its line could not be read (``error``)."""

    text: str
    error: str | None = None


def _input_format(source: str, config: ParseTextConfig, first_line: bytes) -> str:
    if config.input_format != "auto":
        return config.input_format
    if source == STDIO:
        return "jsonl" if first_line.lstrip().startswith(b"{") else "text"
    suffix = Path(source).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "text"


def _open_binary(source: str) -> IO[bytes]:
    if source == STDIO:
        return sys.stdin.buffer
    path = Path(source)
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"


def _strip_newline(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def iter_captions(source: str, config: ParseTextConfig) -> Iterator[StageItem[CaptionInput]]:
    """Stream the input's items, lazily, each with its id and input hash."""
    name = "<stdin>" if source == STDIO else source
    handle = _open_binary(source)
    try:
        kind: str | None = config.input_format if config.input_format != "auto" else None
        if kind is None and source != STDIO:
            kind = _input_format(source, config, b"")
        if kind == "csv":
            yield from _csv_items(handle, name, config)
            return
        first = handle.readline()
        if kind is None:  # stdin: JSONL when its first line is an object
            kind = _input_format(source, config, first)
        lines = itertools.chain([first] if first else [], handle)
        for line_number, raw in enumerate(lines, start=1):
            where = f"{name}:{line_number}"
            text, error = _decode(raw)
            if text is not None:
                text = _strip_newline(text).rstrip("\r")
            if kind == "text":
                item_id = str(line_number)
                if error is not None or text is None:
                    yield StageItem(item_id, hash_text(repr(raw)), CaptionInput("", error), where)
                else:
                    yield StageItem(item_id, hash_text(text), CaptionInput(text), where)
                continue
            if text is not None and not text.strip():
                continue
            yield _jsonl_item(text, error, line_number, where, config)
    finally:
        if source != STDIO:
            handle.close()


def _jsonl_item(
    text: str | None, error: str | None, line_number: int, where: str, config: ParseTextConfig
) -> StageItem[CaptionInput]:
    fallback_id = str(line_number)
    if error is not None or text is None:
        return StageItem(fallback_id, hash_text(where), CaptionInput("", error), where)
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON ({exc.msg} at column {exc.colno})"
        return StageItem(fallback_id, hash_text(text), CaptionInput("", reason), where)
    if not isinstance(value, dict):
        reason = f"expected a JSON object, found {type(value).__name__}"
        return StageItem(fallback_id, hash_text(text), CaptionInput("", reason), where)
    raw_id = value.get(config.id_field)
    item_id = str(raw_id) if raw_id not in (None, "") else fallback_id
    not_unicode = surrogate_reason(text, value)
    if not_unicode is not None:
        return StageItem(item_id, hash_text(where), CaptionInput("", not_unicode), where)
    caption = value.get(config.text_field)
    if not isinstance(caption, str):
        reason = (
            f"no '{config.text_field}' field"
            if caption is None
            else f"'{config.text_field}' is {type(caption).__name__}, expected a string"
        )
        return StageItem(item_id, hash_text(text), CaptionInput("", reason), where)
    return StageItem(item_id, hash_text(caption), CaptionInput(caption), where)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _csv_items(
    handle: IO[bytes], name: str, config: ParseTextConfig
) -> Iterator[StageItem[CaptionInput]]:
    # surrogateescape keeps undecodable bytes visible per row instead of failing the file.
    text_stream = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
    # strict: a quote left open fails at the end of the file instead of swallowing every row
    # after it into one caption; a stray quote after a quoted field fails that row alone.
    # (io.csvfile.iter_csv_rows, which the dataset readers use, refuses the whole file instead:
    # here each row is an item that fails alone.)
    reader = csv.reader(text_stream, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{name}: not valid CSV ({exc})") from None
    if header is None:
        return
    header = [column.strip() for column in header]
    if config.text_field not in header:
        raise InputError(
            f"{name}: no column '{config.text_field}' (columns: {', '.join(header)})",
            hint="name the caption column with --text-field",
        )
    text_column = header.index(config.text_field)
    id_column = header.index(config.id_field) if config.id_field in header else None
    row_number = 0
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_number += 1
            where = f"{name}:row {row_number}"
            reason = str(exc)
            if reason == "unexpected end of data":
                reason = (
                    f"a quoted field opened on line {first_line} is never closed: lines "
                    f"{first_line}-{reader.line_num} (the end of the file) were read into it"
                )
            yield StageItem(str(row_number), hash_text(where), CaptionInput("", reason), where)
            continue
        row_number += 1
        where = f"{name}:row {row_number}"
        item_id = str(row_number)
        if id_column is not None and id_column < len(row) and row[id_column].strip():
            item_id = row[id_column].strip()
        if text_column >= len(row):
            reason = f"row has {len(row)} columns, no '{config.text_field}'"
            yield StageItem(item_id, hash_text(where), CaptionInput("", reason), where)
            continue
        caption = row[text_column]
        if _has_surrogates(caption) or _has_surrogates(item_id):
            reason = "not UTF-8 text"
            yield StageItem(item_id, hash_text(repr(caption)), CaptionInput("", reason), where)
            continue
        yield StageItem(item_id, hash_text(caption), CaptionInput(caption), where)
    text_stream.detach()


class _OutputWriter:
    """Writes TSG JSONL or FACTUAL lines to a file (atomically) or stdout, flushed per line."""

    def __init__(self, target: str, output_format: str) -> None:
        self.target = target
        self.format = output_format
        self._handle: IO[str] | None = None
        self._context: Any = None

    def __enter__(self) -> _OutputWriter:
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
    from finsta_cli.schema import TSG
    from finsta_cli.text.conventions import load_conventions
    from finsta_cli.text.factual import format_facts, tsg_to_facts
    from finsta_cli.text.parser import bound_text, load_nlp, tsg_record
    from finsta_cli.text.tokens import LemmaCache

    if out != STDIO and Path(out).is_dir():
        raise UsageError(f"--out {out} is a folder: parse-text writes one file (or - for stdout)")
    if source != STDIO and out != STDIO and Path(source).resolve() == Path(out).resolve():
        raise UsageError(f"--out {out} is the input file: choose another output file")
    nlp = load_nlp(config.spacy_model)
    conventions = load_conventions()
    learned = None
    if config.parser == "learned":
        from finsta_cli.runtime import configure_threads
        from finsta_cli.text.learned import load_learned_parser

        learned = load_learned_parser(config.parser_model, conventions)
        digest = learned.digest
        # The scorer runs small batches (a few thousand options): torch's thread pool only
        # adds synchronisation (about 30x slower with 2 threads on a busy 2-core machine).
        configure_threads(1)
    # spaCy's lemmatizer sets every token's lemma in Python; the rules get the same lemmas from
    # a cache keyed on what the lemmatizer reads (word, POS, morphology), so nlp.pipe skips it.
    lemmas = LemmaCache(nlp, attribute_ruler=True) if "lemmatizer" in nlp.pipe_names else None
    skip = lemmas.skipped_components if lemmas is not None else []
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

    def render(doc: Doc, item_id: str, text: str) -> str:
        if learned is not None:
            return line_of_learned(*learned.parse([doc], [item_id], [text], lemmas)[0])
        return line_of(tsg_record(doc, item_id, conventions, text, lemmas))

    def line_of(record: dict[str, Any]) -> str:
        if config.format == "factual":
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

    def line_of_learned(record: dict[str, Any], edited: bool) -> str:
        # A graph the learned parser rewrote (not the rules' own) is validated.
        if config.format == "tsg" and edited:
            TSG.model_validate(record)
        return line_of(record)

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
            if learned is not None:
                run.add_input(learned.path, digest, None)
            pending: deque[list[Any]] = deque()  # [item, skipped] in input order

            def tracked() -> Iterator[StageItem[CaptionInput]]:
                for item in iter_captions(source, config):
                    if learned is not None:
                        # Another model gives other records: resume redoes the item.
                        item.input_hash = hash_text(f"{digest}:{item.input_hash}")
                    entry: list[Any] = [item, False]
                    pending.append(entry)
                    skipped_before = run.counts.skipped
                    yield item
                    if run.counts.skipped > skipped_before:
                        entry[1] = True

            def feed() -> Iterator[tuple[str, StageItem[CaptionInput]]]:
                for item in run.select(tracked()):
                    if item.payload.error is not None:
                        run.fail(item, item.payload.error)
                        continue
                    yield bound_text(item.payload.text, config.max_chars, item.source), item

            def rendered(
                docs: Iterator[tuple[Doc, StageItem[CaptionInput]]],
            ) -> Iterator[tuple[StageItem[CaptionInput], str | Exception]]:
                """Each item's output line, or the error that failed it, in input order."""
                if learned is None:
                    for doc, item in docs:
                        text = item.payload.text[: config.max_chars]  # as fed to nlp.pipe
                        try:
                            yield item, render(doc, item.id, text)
                        except Exception as exc:
                            yield item, exc
                    return
                # The learned parser scores a batch of captions in one model call.
                batch: list[tuple[Doc, StageItem[CaptionInput]]] = []
                for pair in itertools.chain(docs, [None]):
                    if pair is not None:
                        batch.append(pair)
                        if len(batch) < config.batch_size:
                            continue
                    yield from learned_batch(batch)
                    batch = []

            def learned_batch(
                batch: list[tuple[Doc, StageItem[CaptionInput]]],
            ) -> Iterator[tuple[StageItem[CaptionInput], str | Exception]]:
                assert learned is not None
                texts = [item.payload.text[: config.max_chars] for _, item in batch]
                try:
                    parsed = learned.parse(
                        [doc for doc, _ in batch], [item.id for _, item in batch], texts, lemmas
                    )
                    lines: list[str | Exception] = [line_of_learned(*pair) for pair in parsed]
                except Exception:  # find the caption that failed: one at a time
                    lines = []
                    for (doc, item), text in zip(batch, texts, strict=True):
                        try:
                            lines.append(render(doc, item.id, text))
                        except Exception as exc:
                            lines.append(exc)
                yield from zip((item for _, item in batch), lines, strict=True)

            def write_skipped(writer: _OutputWriter, item: StageItem[CaptionInput]) -> None:
                key = item.id
                if config.format == "factual":
                    key = factual_line(item.payload.text, "").rstrip("\t")
                line = previous.get(key)
                if line is None:  # the earlier output lost it: parse it again
                    text = bound_text(item.payload.text, config.max_chars, item.source)
                    line = render(nlp(text), item.id, text)
                writer.write_line(line)

            def flush_until(writer: _OutputWriter, item: StageItem[CaptionInput] | None) -> None:
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
                        write_skipped(writer, head)

            with _OutputWriter(out, config.format) as writer, run.timed("parse"):
                docs = nlp.pipe(
                    feed(),
                    as_tuples=True,
                    batch_size=config.batch_size,
                    n_process=config.n_process,
                    disable=skip,
                )
                for item, line in rendered(docs):
                    flush_until(writer, item)
                    if isinstance(line, Exception):  # a rule that trips on one parse
                        run.fail(item, line)
                        continue
                    writer.write_line(line)
                    # Outputs are not listed per item: all go to one file, which the ledger's
                    # snapshot describes as a whole (StageRun's output_file).
                    run.done(item, [])
                flush_until(writer, None)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    assert run.summary is not None
    summary = run.summary
    if to_stdout:
        summary.manifest = ""
        summary.failures = None
    return summary


__all__ = ["ParseTextConfig", "iter_captions", "run_parse_text"]
