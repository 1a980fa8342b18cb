"""Learning FACTUAL's conventions from (caption, gold) rows, and the script that writes them."""

from __future__ import annotations

import json
from pathlib import Path

from finsta_cli.text.learn_conventions import learn_conventions, main

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


def test_main_writes_a_conventions_file(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    body = "".join(f'{n},{n},"{c}","{g}"\n' for n, (c, g) in enumerate(ROWS))
    train.write_text("image_id,region_id,caption,scene_graph\n" + body)
    out = tmp_path / "conventions.json"
    assert main([str(train), str(out)]) == 0
    assert json.loads(out.read_text())["of_heads"]["bunch"] == "drop"
    assert main([]) == 2
