"""build-hsg: pair TSGs with DSGs and join them by cross-modal coreference edges."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from finsta_cli.config import StageConfig
from finsta_cli.errors import InputError, UsageError
from finsta_cli.hsg.lexicon import load_lexicon
from finsta_cli.hsg.match import MatchOptions, RuleMatcher
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
    read_records,
)
from finsta_cli.io.jsonl import validation_message
from finsta_cli.io.stage import StageSummary
from finsta_cli.schema import DSG, HSG, TSG

# A caption id that starts with its video's id: "VIDEO.c0", "VIDEO#2", "VIDEO:caption3".
_CAPTION_SUFFIX = re.compile(r"^(?P<video>.+?)[.#:/](?P<rest>[^.#:/]+)$")


class BuildHSGConfig(StageConfig):
    """Options of ``finsta build-hsg``."""

    SECTION = "build_hsg"

    matcher: Literal["rules"] = "rules"
    top_k: int = Field(default=1, ge=1, description="tracks a text object may link to")
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="lowest linking score")
    lexicon: Path | None = Field(
        default=None, description="extra lexicon merged with the shipped one"
    )


@dataclass
class Pair:
    video_id: str
    text_id: str

    @property
    def pair_id(self) -> str:
        return f"{self.video_id}--{self.text_id}"


def read_pairs(path: Path) -> list[Pair]:
    """Pairs from a JSONL file with ``video_id`` and ``text_id`` fields."""
    pairs = []
    for line, row in iter_jsonl(path):
        video, text = row.get("video_id"), row.get("text_id")
        if not isinstance(video, str) or not isinstance(text, str) or not video or not text:
            raise InputError(f"{path}:{line}: a pair needs string fields video_id and text_id")
        pairs.append(Pair(video, text))
    return pairs


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


def load_dsg(path: Path) -> DSG:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no DSG for this video") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable DSG JSON file ({exc})") from None
    try:
        return DSG.model_validate(data)
    except InputError as exc:
        raise type(exc)(f"{path}: {exc.message}", hint=exc.hint) from None
    except ValidationError as exc:
        raise InputError(f"{path}: not a valid DSG record: {validation_message(exc)}") from None


def build_hsg(tsg: TSG, dsg: DSG, matcher: RuleMatcher) -> HSG:
    """One HSG: the TSG, the DSG and the matcher's cross-modal edges."""
    return HSG(
        id=f"{dsg.video_id}--{tsg.id}",
        video_id=dsg.video_id,
        text_id=tsg.id,
        tsg=tsg,
        dsg=dsg,
        cross_edges=matcher.match(tsg, dsg),
    )


def _pair_items(
    pairs: list[Pair], tsgs: dict[str, TSG], dsg_dir: Path
) -> Iterator[StageItem[Pair]]:
    for pair in pairs:
        tsg = tsgs.get(pair.text_id)
        path = dsg_path(dsg_dir, pair.video_id)
        text_hash = hash_json(tsg.model_dump(mode="json")) if tsg is not None else "missing"
        dsg_hash = hash_file(path) if path.is_file() else "missing"
        yield StageItem(
            id=pair.pair_id,
            input_hash=hash_json([text_hash, dsg_hash]),
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
    """Write ``out/<video>--<text>.json`` (HSG) per pair and the index ``out/hsg.jsonl``."""
    if not dsg_dir.is_dir():
        raise UsageError(f"--dsg {dsg_dir} is not a folder of build-dsg outputs")
    tsgs: dict[str, TSG] = {}
    for record in read_records(tsg_file, TSG):
        tsgs[record.id] = record
    pairs = read_pairs(pairs_file) if pairs_file else default_pairs(list(tsgs), dsg_dir)
    if not pairs:
        raise UsageError(
            f"no (video, text) pairs: give --pairs, or caption ids that start with a video id of "
            f"{dsg_dir} (VIDEO.c0, VIDEO#1)"
        )
    lexicon = load_lexicon(config.lexicon)
    matcher = RuleMatcher(lexicon, MatchOptions(top_k=config.top_k, threshold=config.threshold))
    paths = StagePaths.for_dir(out, shard)
    index: list[dict[str, object]] = []

    def process(item: StageItem[Pair]) -> list[Path]:
        pair = item.payload
        tsg = tsgs.get(pair.text_id)
        if tsg is None:
            raise InputError(f"{tsg_file}: no TSG with id {pair.text_id!r}")
        hsg = build_hsg(tsg, load_dsg(dsg_path(dsg_dir, pair.video_id)), matcher)
        path = output_path(out, hsg.id, ".json")
        atomic_write_json(path, hsg.model_dump(mode="json"), indent=None)
        return [path]

    stage = StageRun[Pair](
        "build-hsg", paths, config, force=force, limit=limit, quiet=quiet, total=len(pairs)
    )
    with stage as run:
        run.add_input(tsg_file, hash_file(tsg_file), len(tsgs))
        run.add_input(dsg_dir, None, None)
        with run.timed("match"):
            run.run(_pair_items(pairs, tsgs, dsg_dir), process)
        for pair in pairs:
            path = output_path(out, pair.pair_id, ".json")
            if paths.shard.contains(pair.pair_id) and path.is_file():
                index.append(
                    {"id": pair.pair_id, "video_id": pair.video_id, "text_id": pair.text_id,
                     "path": path.name}
                )  # fmt: skip
        with JsonlWriter(out / f"hsg{paths.shard.tag}.jsonl") as writer:
            for row in index:
                writer.write(row)
    assert stage.summary is not None
    return stage.summary
