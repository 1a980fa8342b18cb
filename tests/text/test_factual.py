"""FACTUAL fact strings: reading, writing, and flattening a TSG into facts; FACTUAL CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsta_cli.errors import InputError
from finsta_cli.schema import TSG, TSGEdge, TSGNode
from finsta_cli.text.factual import (
    fact_set,
    format_facts,
    parse_facts,
    read_factual_csv,
    tsg_to_facts,
)


def test_parse_facts_reads_relations_attributes_and_objects() -> None:
    text = "( girl , sit on , Bed ) , ( girl ,  is , young ) , ( pole )"
    assert parse_facts(text) == [("girl", "sit on", "bed"), ("girl", "is", "young"), ("pole",)]


def test_parse_facts_keeps_malformed_facts_scorable() -> None:
    assert parse_facts("( a , b )") == [("a", "is", "b")]
    assert parse_facts("( a , b , c , d )") == [("a", "b c", "d")]
    assert parse_facts("") == [] and parse_facts("( )") == []


def test_format_facts_round_trips_and_deduplicates() -> None:
    facts = [("man", "wear", "hat"), ("hat", "is", "red"), ("man", "wear", "hat"), ("dog",)]
    text = format_facts(facts)
    assert text == "( man , wear , hat ) , ( hat , is , red ) , ( dog )"
    assert parse_facts(text) == [*facts[:2], ("dog",)]


def test_format_facts_removes_syntax_characters_from_names() -> None:
    assert format_facts([("a, b", "is", "(c)")]) == "( a b , is , c )"


def test_fact_set_normalises_case_and_whitespace() -> None:
    assert fact_set([("Man ", "sit  on", "BED")]) == {("man", "sit on", "bed")}


def _cup_on_table() -> TSG:
    text = "two red cups on the table , a man sleeps"
    nodes = [
        TSGNode(id=0, type="object", label="cups", span=(8, 12), number="plural", count=2),
        TSGNode(id=1, type="attribute", label="red", span=(4, 7)),
        TSGNode(id=2, type="attribute", label="2", span=(0, 3)),
        TSGNode(id=3, type="predicate", label="on", span=(13, 15)),
        TSGNode(id=4, type="object", label="table", span=(20, 25)),
        TSGNode(id=5, type="object", label="man", span=(30, 33)),
        TSGNode(id=6, type="predicate", label="sleep", span=(34, 40)),
        TSGNode(id=7, type="object", label="guy"),
    ]
    edges = [
        TSGEdge(source=0, target=1, type="has_attribute"),
        TSGEdge(source=0, target=2, type="has_attribute"),
        TSGEdge(source=3, target=0, type="agent"),
        TSGEdge(source=3, target=4, type="prep_arg", preposition="on"),
        TSGEdge(source=6, target=5, type="agent"),
    ]
    return TSG(id="1", text=text, nodes=nodes, edges=edges)


def test_tsg_to_facts_flattens_every_kind_of_node() -> None:
    facts = tsg_to_facts(_cup_on_table())
    assert set(facts) == {
        ("cups", "is", "red"),
        ("cups", "is", "2"),
        ("cups", "on", "table"),
        ("man", "is", "sleeps"),  # an intransitive verb: its caption form as an attribute
        ("guy",),  # an object in no other fact
    }


def test_tsg_to_facts_applies_name_and_predicate_rewrites() -> None:
    facts = tsg_to_facts(
        _cup_on_table(),
        object_names={"guy": "person"},
        predicate_names={"on|table": "on top of"},
    )
    assert ("person",) in facts and ("cups", "on top of", "table") in facts


def test_tsg_to_facts_joins_verb_and_preposition() -> None:
    text = "a man sits on a bench"
    tsg = TSG(
        id="x",
        text=text,
        nodes=[
            TSGNode(id=0, type="object", label="man", span=(2, 5)),
            TSGNode(id=1, type="predicate", label="sit", span=(6, 10)),
            TSGNode(id=2, type="object", label="bench", span=(16, 21)),
        ],
        edges=[
            TSGEdge(source=1, target=0, type="agent"),
            TSGEdge(source=1, target=2, type="prep_arg", preposition="on"),
        ],
    )
    assert tsg_to_facts(tsg) == [("man", "sit on", "bench")]


def test_tsg_to_facts_drops_only_attributes_in_front_of_their_object() -> None:
    # "a snowy hill, the road is snowy": FACTUAL drops the modifier, not the predicate.
    text = "a snowy hill, the road is snowy"
    tsg = TSG(
        id="1",
        text=text,
        nodes=[
            TSGNode(id=0, type="attribute", label="snowy", span=(2, 7)),
            TSGNode(id=1, type="object", label="hill", span=(8, 12)),
            TSGNode(id=2, type="object", label="road", span=(18, 22)),
            TSGNode(id=3, type="attribute", label="snowy", span=(26, 31)),
        ],
        edges=[
            TSGEdge(source=1, target=0, type="has_attribute"),
            TSGEdge(source=2, target=3, type="has_attribute"),
        ],
    )
    calls: list[tuple[str, str]] = []

    def drop(attribute: str, head: str) -> bool:
        calls.append((attribute, head))
        return attribute == "snowy"

    assert tsg_to_facts(tsg, drop_attribute=drop) == [("road", "is", "snowy"), ("hill",)]
    assert calls == [("snowy", "hill")]


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
