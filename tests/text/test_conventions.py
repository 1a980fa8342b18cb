"""The :class:`Conventions` tables: their JSON file and the shipped table."""

from __future__ import annotations

import json
from pathlib import Path

from finsta_cli.text.conventions import Conventions, conventions_path, load_conventions


def test_conventions_round_trip_through_json(tmp_path: Path) -> None:
    conventions = Conventions(modifiers={"amod:red": "attribute"}, nouns=frozenset({"cup"}))
    path = tmp_path / "c.json"
    path.write_text(json.dumps(conventions.to_json()))
    assert load_conventions(path) == conventions


def test_shipped_conventions_are_present_and_substantial() -> None:
    assert conventions_path().is_file()
    shipped = load_conventions()
    assert len(shipped.modifiers) > 100 and len(shipped.nouns) > 1000
    assert shipped.verb_lemmas and shipped.predicate_names
