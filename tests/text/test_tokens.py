"""Tokens copied from spaCy parses: the lemma and attribute-ruler cache gives the pipeline's own."""

from __future__ import annotations

import json
from pathlib import Path

from finsta_cli.synth.generate import SPLITS, SynthConfig, generate_dataset
from finsta_cli.text.conventions import load_conventions
from finsta_cli.text.parser import load_nlp, tsg_record
from finsta_cli.text.tokens import LemmaCache, copy_tokens


def test_lemma_cache_gives_the_lemmatizers_lemmas_and_the_same_graphs() -> None:
    nlp = load_nlp()
    captions = [
        "two men quickly picked up the boxes and then left",
        "the dog isn't sleeping on the couches",
        "a woman was riding bikes while children ran",
        "The purple star slides to the right.",
        "leaves are falling; the geese flew away",
        "the cube's better side is bigger",
    ]
    cache = LemmaCache(nlp)
    conventions = load_conventions()
    full = list(nlp.pipe(captions))
    bare = list(nlp.pipe(captions, disable=["lemmatizer"]))
    assert any(not token.lemma for doc in bare for token in doc)  # the cache has work to do
    for caption, with_lemmas, without in zip(captions, full, bare, strict=True):
        expected = [token.lemma_ for token in with_lemmas]
        assert [t.lemma_ for t in copy_tokens(without, caption, cache)] == expected
        assert tsg_record(without, "1", conventions, caption, cache) == tsg_record(
            with_lemmas, "1", conventions, caption
        )


def test_attribute_cache_stands_in_for_the_attribute_ruler_exactly() -> None:
    nlp = load_nlp()
    captions = [
        "there is a plate of food on the table",  # "there is": a two-word pattern
        "we are gon na leave , but it is late",  # "gon na", "but" as an adverb
        "nothin'  here",  # a regular expression, a space token
        "I saw you and it saw me",  # pronouns by dependency
        "the dog that is sleeping has done it",  # aux, relative "that", "has" as a verb
        "a man riding a horse on the beach",
        "a man riding a horse on the beach",  # the second time from the memo only
    ]
    cache = LemmaCache(nlp, attribute_ruler=True)
    assert cache.skipped_components == ["lemmatizer", "attribute_ruler"]
    conventions = load_conventions()
    full = list(nlp.pipe(captions))
    bare = list(nlp.pipe(captions, disable=cache.skipped_components))
    assert not bare[0].has_annotation("POS")  # the cache has work to do
    for caption, with_ruler, without in zip(captions, full, bare, strict=True):
        tokens = copy_tokens(without, caption, cache)
        assert [(t.pos_, t.tag_, t.dep_, t.lemma_) for t in tokens] == [
            (t.pos_, t.tag_, t.dep_, t.lemma_) for t in with_ruler
        ]
    annotated = list(nlp.pipe(captions, disable=cache.skipped_components))
    for with_ruler, without in zip(full, annotated, strict=True):
        cache.annotate(without)  # the same attributes written into the Doc
        assert [(t.pos_, str(t.morph)) for t in without] == [
            (t.pos_, str(t.morph)) for t in with_ruler
        ]
    fresh = list(nlp.pipe(captions, disable=cache.skipped_components))
    for caption, with_ruler, without in zip(captions, full, fresh, strict=True):
        assert tsg_record(without, "1", conventions, caption, cache) == tsg_record(
            with_ruler, "1", conventions, caption
        )
    assert cache.attributes  # the memo filled


def test_fast_path_records_equal_the_full_pipelines_on_a_sample(tmp_path: Path) -> None:
    # parse-text's path (nlp.pipe without the lemmatizer and attribute ruler, both read from
    # LemmaCache into copy_tokens' rows) against the whole pipeline, on synth captions and
    # video-caption-like sentences: the same records, byte for byte, with the memo cold and
    # warm, and the Docs left as nlp.pipe made them unless a lemma was new.
    generate_dataset(SynthConfig(videos=12, seed=11), tmp_path, quiet=True)
    captions = [
        caption["text"]
        for split in SPLITS
        if (tmp_path / f"{split}.jsonl").is_file()
        for line in (tmp_path / f"{split}.jsonl").read_text().splitlines()
        for caption in json.loads(line)["captions"]
    ]
    captions += [
        "a man in a red shirt is talking about cars while a woman drives",
        "two girls dance while singing",
        "a woman with blonde hair and a black shirt is talking",
        "kids laughing as a clown performs tricks",
        "the cube slides to the right , then the cone moves left",
        "someone is cutting onions with a sharp knife in the kitchen",
        "there is a man dancing on the stage",
        "people are gon na watch the game",
    ]
    nlp = load_nlp()
    conventions = load_conventions()
    cache = LemmaCache(nlp, attribute_ruler=True)
    expected = [
        json.dumps(tsg_record(doc, str(n), conventions, text), separators=(",", ":"))
        for n, (doc, text) in enumerate(zip(nlp.pipe(captions), captions, strict=True))
    ]
    for _ in range(2):  # the memo cold, then warm
        docs = list(nlp.pipe(captions, disable=cache.skipped_components))
        got = [
            json.dumps(tsg_record(doc, str(n), conventions, text, cache), separators=(",", ":"))
            for n, (doc, text) in enumerate(zip(docs, captions, strict=True))
        ]
        assert got == expected
    # Warm, nothing is written back but where the ruler itself runs ("there is", "gon na").
    assert [n for n, doc in enumerate(docs) if doc.has_annotation("POS")] == [
        len(docs) - 2,
        len(docs) - 1,
    ]
