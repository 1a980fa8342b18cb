"""Helpers of the learned-parser tests: tiny FACTUAL-like rows and the CSV file they are written
to."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

PEOPLE = ["man", "woman", "boy", "girl", "person", "child", "lady", "player"]
VERBS = ["skiing", "walking", "smiling", "running", "sitting", "standing", "waiting"]
THINGS = ["car", "bus", "dog", "cat", "bench", "table", "boat", "kite"]
COLOURS = ["red", "blue", "green", "white", "black", "yellow"]
PLACES = ["street", "beach", "grass", "road", "field", "sand"]


def tiny_rows(start: int, count: int) -> list[tuple[str, str]]:
    """FACTUAL-like rows where gold, unlike the rules, never writes "( x , is , walking )":
    "two women skiing" -> "( women , is , 2 )" only."""
    rows: list[tuple[str, str]] = []
    combos = itertools.islice(
        itertools.product(PEOPLE, VERBS, THINGS, COLOURS, PLACES), start * 7, None, 7
    )
    for person, verb, thing, colour, place in itertools.islice(combos, count):
        rows.append((f"two {person}s {verb}", f"( {person}s , is , 2 )"))
        rows.append(
            (
                f"a {colour} {thing} on the {place}",
                f"( {thing} , is , {colour} ) , ( {thing} , on , {place} )",
            )
        )
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "region_id", "caption", "scene_graph"])
        for i, (caption, graph) in enumerate(rows):
            writer.writerow([i, i, caption, graph])
    return path
