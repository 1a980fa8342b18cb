"""Stage machinery shared by every finsta stage: atomic files, JSONL, hashing, ids, shards, runs."""

from finsta_cli.io.atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)
from finsta_cli.io.hashing import hash_bytes, hash_file, hash_json, hash_text
from finsta_cli.io.jsonl import JsonlWriter, iter_jsonl, read_records
from finsta_cli.io.paths import output_path, safe_name
from finsta_cli.io.shard import Shard, parse_shard
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary

__all__ = [
    "JsonlWriter",
    "Shard",
    "StageItem",
    "StagePaths",
    "StageRun",
    "StageSummary",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "hash_bytes",
    "hash_file",
    "hash_json",
    "hash_text",
    "iter_jsonl",
    "output_path",
    "parse_shard",
    "read_records",
    "safe_name",
]
