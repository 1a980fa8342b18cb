"""Learning FACTUAL's conventions from (caption, gold) rows, and the shipped table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.text.conventions import (
    Conventions,
    conventions_path,
    learn_conventions,
    load_conventions,
    main,
    read_factual_csv,
)

ROWS = [
    ("a brick wall", "( wall , is , brick )"),
    ("the brick wall", "( wall , is , brick )"),
    ("brick wall near a tree", "( wall , is , brick ) , ( wall , near , tree )"),
    ("a guy on a bike", "( person , on , bike )"),
    ("guy on a horse", "( person , on , horse )"),
    ("the guy on the bench", "( person , on , bench )"),
    ("a bunch of birds", "( birds )"),
    ("bunch of bananas", "( bananas )"),
    ("coffee table in a room", "( coffee table , in , room )"),
    ("a coffee table", "( coffee table )"),
]


def test_learns_modifier_name_and_of_decisions() -> None:
    conventions = learn_conventions(ROWS)
    assert conventions.modifier_policy("compound", "brick", "wall", "merge") == "attribute"
    assert conventions.modifier_policy("compound", "coffee", "table", "x") == "merge"
    assert conventions.of_policy("bunch") == "drop"
    assert conventions.object_names.get("guy") == "person"
    assert "wall" in conventions.nouns and "birds" not in conventions.nouns  # seen < 3 times


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


def test_main_writes_a_conventions_file(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    body = "".join(f'{n},{n},"{c}","{g}"\n' for n, (c, g) in enumerate(ROWS))
    train.write_text("image_id,region_id,caption,scene_graph\n" + body)
    out = tmp_path / "conventions.json"
    assert main([str(train), str(out)]) == 0
    assert json.loads(out.read_text())["of_heads"]["bunch"] == "drop"
    assert main([]) == 2


def test_read_factual_csv_names_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_factual_csv(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"caption,scene_graph\n\xff,x\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_factual_csv(bad)
    bad.write_text('caption,scene_graph\n"a dog,( dog )\na cat,( cat )\n')
    with pytest.raises(InputError, match=r"bad.csv:2: a quote opened on this line is never"):
        read_factual_csv(bad)
    bad.write_text('image_id,caption,scene_graph\n1,"a dog\nruns","( dog , run )"\n2,a cat\n')
    assert read_factual_csv(bad) == [("a dog\nruns", "( dog , run )"), ("a cat", "")]
