"""build-hsg: pair TSGs with DSGs and join them by cross-modal coreference edges."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, ValidationError

from finsta_cli.config import StageConfig
from finsta_cli.errors import InputError, UsageError
from finsta_cli.hsg.lexicon import load_lexicon
from finsta_cli.hsg.match import Matcher, MatchOptions, RuleMatcher
from finsta_cli.hsg.tensors import TENSORS_VERSION, tensors_file_intact, write_hsg_tensors
from finsta_cli.io import (
    JsonlWriter,
    Shard,
    StageItem,
    StagePaths,
    StageRun,
    atomic_write_json,
    hash_file,
    hash_json,
    iter_jsonl,
    output_path,
)
from finsta_cli.io.executor import ExecutorConfig
from finsta_cli.io.jsonl import BadInput, find_lone_surrogate, validate_record, validation_message
from finsta_cli.io.progress import get_logger
from finsta_cli.io.stage import StageSummary
from finsta_cli.schema import DSG, HSG, TSG

# A caption id that starts with its video's id: "VIDEO.c0", "VIDEO#2", "VIDEO:caption3".
_CAPTION_SUFFIX = re.compile(r"^(?P<video>.+?)[.#:/](?P<rest>[^.#:/]+)$")
EMBEDDING_MATCHERS = ("embed", "hybrid")
MatcherKind = Literal["rules", "embed", "hybrid"]
log = get_logger("build-hsg")


class BuildHSGConfig(StageConfig):
    """Options of ``finsta build-hsg``."""

    SECTION = "build_hsg"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"device", "executor"})

    matcher: MatcherKind = Field(
        default="rules",
        description="rules (lexicon), embed (a host's text encoder) or hybrid (rules, and "
        "embeddings for the words the lexicon does not know)",
    )
    top_k: int = Field(default=1, ge=1, description="tracks a text object may link to")
    threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="lowest linking score of the rules"
    )
    embed_threshold: float = Field(
        default=0.9, gt=0.0, le=1.0, description="lowest cosine that links an object (embed)"
    )
    embed_predicate_threshold: float = Field(
        default=0.6, gt=0.0, le=1.0, description="lowest cosine that links a predicate (embed)"
    )
    lexicon: Path | None = Field(
        default=None, description="extra lexicon merged with the shipped one"
    )
    host_checkpoint: Path | None = Field(
        default=None, description="finsta checkpoint whose host embeds labels (embed, hybrid)"
    )
    device: str = Field(default="auto", description="device of the host (embed, hybrid)")
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


@dataclass
class Pair:
    video_id: str
    text_id: str

    @property
    def pair_id(self) -> str:
        return f"{self.video_id}--{self.text_id}"


def read_pairs(path: Path, bad: list[BadInput]) -> list[Pair]:
    """Pairs from a JSONL file with ``video_id`` and ``text_id`` fields.

    A line that is not such a pair is appended to ``bad`` and left out; a pair given again is
    left out with a warning (it would be the same item twice).
    """
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    repeated = 0

    def on_error(line: int, reason: str) -> None:
        bad.append(BadInput.at_line(path, line, reason))

    for line, row in iter_jsonl(path, on_error=on_error):
        video, text = row.get("video_id"), row.get("text_id")
        if not isinstance(video, str) or not isinstance(text, str) or not video or not text:
            on_error(line, "a pair needs string fields video_id and text_id")
            continue
        if (video, text) in seen:
            repeated += 1
            continue
        seen.add((video, text))
        pairs.append(Pair(video, text))
    if repeated:
        log.warning("%s: %d pair(s) given again were left out", path, repeated)
    return pairs


@dataclass
class TextGraphs:
    """The usable TSGs of a file by id, the line of each, and the reason each unusable id
    (one whose line failed) could not be used."""

    records: dict[str, TSG]
    lines: dict[str, int]
    unusable: dict[str, str]


def read_tsgs(path: Path, bad: list[BadInput]) -> TextGraphs:
    """The TSGs of a parse-text JSONL file; each line that fails alone is appended to ``bad``.

    A line fails when it is not JSON, holds a lone surrogate, is not a valid TSG (an edge to a
    missing node, a span outside the text, another schema major version) or repeats an earlier
    id with other content: the first record of an id is used. A line that repeats an earlier
    record exactly is left out with a warning.
    """
    graphs = TextGraphs({}, {}, {})
    repeated = 0

    def failed(line: int, reason: str, item_id: object = None) -> None:
        failure = BadInput.at_line(path, line, reason, item_id)
        bad.append(failure)
        if isinstance(item_id, str) and item_id == failure.id:
            graphs.unusable.setdefault(item_id, failure.reason)

    for line, value in iter_jsonl(path, on_error=failed):
        try:
            record = validate_record(value, TSG)
        except InputError as exc:
            failed(line, exc.message, value.get("id"))
            continue
        first = graphs.records.get(record.id)
        if first is None:
            graphs.records[record.id] = record
            graphs.lines[record.id] = line
        elif first == record:
            repeated += 1
        else:
            reason = (
                f"TSG id {record.id!r} again, with other content than at line "
                f"{graphs.lines[record.id]} (which is used)"
            )
            bad.append(BadInput.at_line(path, line, reason, record.id))
    if repeated:
        log.warning("%s: %d line(s) repeat an earlier TSG exactly, left out", path, repeated)
    return graphs


def dsg_path(dsg_dir: Path, video_id: str) -> Path:
    return output_path(dsg_dir, video_id, ".json")


def default_pairs(tsg_ids: Sequence[str], dsg_dir: Path) -> list[Pair]:
    """Each caption whose id is its video's id plus a suffix (``VIDEO.c0``, ``VIDEO#1``) with
    that video, when ``dsg_dir`` holds its DSG."""
    pairs = []
    for text_id in tsg_ids:
        match = _CAPTION_SUFFIX.match(text_id)
        if match and dsg_path(dsg_dir, match.group("video")).is_file():
            pairs.append(Pair(match.group("video"), text_id))
    return pairs


def load_dsg(path: Path, video_id: str | None = None) -> DSG:
    """The DSG record in ``path``; with ``video_id``, it must be that video's (a file renamed
    or copied under another video's name would otherwise pair captions with the wrong video)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no DSG for this video") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable DSG JSON file ({exc})") from None
    surrogate = find_lone_surrogate(data)
    if surrogate is not None:
        raise InputError(f"{path}: not valid Unicode: {surrogate}")
    try:
        dsg = DSG.model_validate(data)
    except InputError as exc:
        raise type(exc)(f"{path}: {exc.message}", hint=exc.hint) from None
    except ValidationError as exc:
        raise InputError(f"{path}: not a valid DSG record: {validation_message(exc)}") from None
    if video_id is not None and dsg.video_id != video_id:
        raise InputError(
            f"{path}: holds the DSG of video {dsg.video_id!r}, not of {video_id!r} (a file "
            "renamed or copied?)",
            hint=f"build the DSG of {video_id!r} again with build-dsg, or pair its captions "
            f"with {dsg.video_id!r}",
        )
    return dsg


def build_hsg(tsg: TSG, dsg: DSG, matcher: Matcher) -> HSG:
    """One HSG: the TSG, the DSG and the matcher's cross-modal edges."""
    return HSG(
        id=f"{dsg.video_id}--{tsg.id}",
        video_id=dsg.video_id,
        text_id=tsg.id,
        tsg=tsg,
        dsg=dsg,
        cross_edges=matcher.match(tsg, dsg),
    )


def make_matcher(config: BuildHSGConfig) -> tuple[Matcher, str | None]:
    """The configured matcher, and the content hash of its host checkpoint (None for rules).

    embed and hybrid need ``host_checkpoint``: a missing file exits 4, a file that is not a
    finsta checkpoint is an input error, both naming the file.
    """
    rules = RuleMatcher(
        load_lexicon(config.lexicon), MatchOptions(top_k=config.top_k, threshold=config.threshold)
    )
    if config.matcher not in EMBEDDING_MATCHERS:
        if config.host_checkpoint is not None:
            raise UsageError(
                f"--host-checkpoint is used by --matcher embed or hybrid, not {config.matcher}"
            )
        return rules, None
    if config.host_checkpoint is None:
        raise UsageError(
            f"--matcher {config.matcher} needs --host-checkpoint: a checkpoint written by "
            "finsta align-train, whose host's text encoder embeds the labels"
        )
    from finsta_cli.hsg.embed import EmbedMatcher, EmbedOptions, HybridMatcher, PhraseEncoder
    from finsta_cli.runtime import configure_threads, resolve_device

    configure_threads()
    encoder = PhraseEncoder.from_checkpoint(config.host_checkpoint, resolve_device(config.device))
    options = EmbedOptions(
        top_k=config.top_k,
        threshold=config.embed_threshold,
        predicate_threshold=config.embed_predicate_threshold,
    )
    embed = EmbedMatcher(encoder, options)
    matcher: Matcher = embed if config.matcher == "embed" else HybridMatcher(rules, embed)
    return matcher, hash_file(config.host_checkpoint)


def tensors_path(out: Path, pair_id: str) -> Path:
    return output_path(out, pair_id, ".pt")


def _dsg_hash(path: Path) -> str:
    """The DSG file's content hash; a missing or unreadable one fails when the pair runs."""
    try:
        return hash_file(path) if path.is_file() else "missing"
    except OSError as exc:
        return hash_json(["unreadable", exc.strerror or str(exc)])


def _pair_items(
    pairs: list[Pair], tsgs: dict[str, TSG], dsg_dir: Path, matcher_hash: str | None
) -> Iterator[StageItem[Pair]]:
    for pair in pairs:
        tsg = tsgs.get(pair.text_id)
        path = dsg_path(dsg_dir, pair.video_id)
        text_hash = hash_json(tsg.model_dump(mode="json")) if tsg is not None else "missing"
        dsg_hash = _dsg_hash(path)
        # The tensors format is part of the outputs: a new one redoes the pairs.
        inputs = [text_hash, dsg_hash, TENSORS_VERSION] + ([matcher_hash] if matcher_hash else [])
        yield StageItem(
            id=pair.pair_id,
            input_hash=hash_json(inputs),
            payload=pair,
            source=f"{pair.text_id} x {path}",
        )


def run_build_hsg(
    tsg_file: Path,
    dsg_dir: Path,
    out: Path,
    config: BuildHSGConfig,
    *,
    pairs_file: Path | None = None,
    force: bool = False,
    shard: Shard | None = None,
    limit: int | None = None,
    quiet: bool = False,
) -> StageSummary:
    """Write ``out/<video>--<text>.json`` (HSG) and ``.pt`` (its tensors, see
    :mod:`finsta_cli.hsg.tensors`) per pair and the index ``out/hsg.jsonl``."""
    if not dsg_dir.is_dir():
        raise UsageError(f"--dsg {dsg_dir} is not a folder of build-dsg outputs")
    # Bad lines of the inputs fail alone (failures.jsonl, exit 3); the other pairs go on.
    bad: list[BadInput] = []
    graphs = read_tsgs(tsg_file, bad)
    tsgs = graphs.records
    pairs = read_pairs(pairs_file, bad) if pairs_file else default_pairs(list(tsgs), dsg_dir)
    if not pairs and not bad:
        raise UsageError(
            f"no (video, text) pairs: give --pairs, or caption ids that start with a video id of "
            f"{dsg_dir} (VIDEO.c0, VIDEO#1)"
        )
    matcher, matcher_hash = make_matcher(config)
    paths = StagePaths.for_dir(out, shard)
    if not force:
        _drop_damaged_tensors(out, [p for p in pairs if paths.shard.contains(p.pair_id)])
    index: list[dict[str, object]] = []

    def process(item: StageItem[Pair]) -> list[Path]:
        pair = item.payload
        tsg = tsgs.get(pair.text_id)
        if tsg is None:
            unusable = graphs.unusable.get(pair.text_id)
            if unusable is not None:
                raise InputError(f"the TSG of {pair.text_id!r} cannot be used: {unusable}")
            raise InputError(f"{tsg_file}: no TSG with id {pair.text_id!r}")
        dsg = load_dsg(dsg_path(dsg_dir, pair.video_id), pair.video_id)
        hsg = build_hsg(tsg, dsg, matcher)
        path = output_path(out, hsg.id, ".json")
        atomic_write_json(path, hsg.model_dump(mode="json"), indent=None)
        tensors = tensors_path(out, hsg.id)
        write_hsg_tensors(tensors, hsg)
        return [path, tensors]

    stage = StageRun[Pair](
        "build-hsg", paths, config, force=force, limit=limit, quiet=quiet, total=len(pairs)
    )
    with stage as run:
        run.add_input(tsg_file, hash_file(tsg_file), len(tsgs))
        run.add_input(dsg_dir, None, None)
        if config.host_checkpoint is not None:
            run.add_input(config.host_checkpoint, matcher_hash, None)
        for failure in bad:
            if paths.shard.contains(failure.id):
                run.fail(failure.id, failure.reason, source=failure.source)
        with run.timed("match"):
            run.run(_pair_items(pairs, tsgs, dsg_dir, matcher_hash), process, config.executor)
        for pair in pairs:
            path = output_path(out, pair.pair_id, ".json")
            tensors = tensors_path(out, pair.pair_id)
            if paths.shard.contains(pair.pair_id) and path.is_file() and tensors.is_file():
                index.append(
                    {"id": pair.pair_id, "video_id": pair.video_id, "text_id": pair.text_id,
                     "path": path.name, "tensors": tensors.name}
                )  # fmt: skip
        with JsonlWriter(out / f"hsg{paths.shard.tag}.jsonl") as writer:
            for row in index:
                writer.write(row)
    assert stage.summary is not None
    return stage.summary


def _drop_damaged_tensors(out: Path, pairs: list[Pair]) -> None:
    """Remove ``.pt`` files that are not whole archives, so that resume redoes their pairs."""
    for pair in pairs:
        path = tensors_path(out, pair.pair_id)
        if path.is_file() and not tensors_file_intact(path):
            log.warning("%s: damaged HSG tensors file; the pair is built again", path)
            path.unlink()
