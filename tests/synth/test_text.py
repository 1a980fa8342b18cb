"""Captions, hard negatives and QA of rendered synth videos."""

from __future__ import annotations

from collections import Counter
from typing import Any

from finsta_cli.synth.check import GroundTruth


def _strip(fact: dict[str, Any], field: str | None = None) -> dict[str, Any]:
    return {k: v for k, v in fact.items() if k != field}


def _refs_without(fact: dict[str, Any], name: str) -> dict[str, Any]:
    out = dict(fact)
    for key in ("subject", "object"):
        if out.get(key):
            out[key] = {k: v for k, v in out[key].items() if k != name}
    return out


def test_captions_are_true_varied_and_at_least_two(synth_records: list[dict[str, Any]]) -> None:
    templates: Counter[str] = Counter()
    texts = set()
    for record in synth_records:
        truth = GroundTruth.from_record(record)
        assert len(record["captions"]) >= 2
        assert len({c["text"] for c in record["captions"]}) == len(record["captions"])
        for caption in record["captions"]:
            assert truth.caption_holds(caption["facts"], caption["order"]), caption["text"]
            templates[caption["template"]] += 1
            texts.add(caption["text"])
            assert caption["text"][0].isupper() and caption["text"].endswith(".")
    assert len(templates) >= 6
    assert len(texts) > 0.9 * sum(len(r["captions"]) for r in synth_records)


def test_each_hard_negative_differs_only_in_its_tagged_aspect(
    synth_records: list[dict[str, Any]],
) -> None:
    aspects: Counter[str] = Counter()
    for record in synth_records:
        truth = GroundTruth.from_record(record)
        for negative in record["negatives"]:
            source = record["captions"][negative["source"]]
            pos, neg = source["facts"], negative["facts"]
            aspect = negative["aspect"]
            aspects[aspect] += 1
            assert negative["text"] != source["text"]
            assert not truth.caption_holds(neg, negative["order"]), negative["text"]
            assert negative["order"] == source["order"] and len(pos) == len(neg)
            if aspect == "temporal":
                i, j = negative["change"]["swap"]
                swapped = list(pos)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert neg == swapped and neg != pos
            elif aspect == "spatial":
                k, name = negative["change"]["fact"], negative["change"]["field"]
                assert name in ("direction", "relation", "kind")
                assert pos[k][name] != neg[k][name]
                assert _strip(pos[k], name) == _strip(neg[k], name)
                assert [f for i, f in enumerate(pos) if i != k] == [
                    f for i, f in enumerate(neg) if i != k
                ]
            else:
                name = "colour" if aspect == "attribute" else "shape"
                assert [_refs_without(f, name) for f in pos] == [
                    _refs_without(f, name) for f in neg
                ]
                assert pos != neg
    assert set(aspects) == {"spatial", "temporal", "attribute", "object"}


def test_questions_are_well_formed(synth_records: list[dict[str, Any]]) -> None:
    types: Counter[str] = Counter()
    for record in synth_records:
        assert record["qa_mc"] and record["qa_open"]
        for item in record["qa_mc"]:
            assert len(item["options"]) == 5 == len(set(item["options"]))
            assert 0 <= item["answer"] < 5
            types[item["type"]] += 1
        for item in record["qa_open"]:
            assert item["question"].endswith("?") and item["answer"]
            types["open_" + item["type"]] += 1
        objects = record["objects"]
        count = next(q for q in record["qa_open"] if q["type"] == "count")
        assert count["answer"] == ("one", "two", "three", "four", "five")[len(objects) - 1]
    assert {"action", "subject", "after", "count"} <= set(types)
    assert types["open_after"] > 0 and types["open_subject"] > 0


def test_subject_questions_name_the_one_object_that_does_it(
    synth_records: list[dict[str, Any]],
) -> None:
    checked = 0
    for record in synth_records:
        names = {f"{o['colour']} {o['shape']}" for o in record["objects"]}
        for item in record["qa_open"]:
            if item["type"] == "subject":
                assert item["answer"] in names
                checked += 1
    assert checked > 0
