"""Tokens copied from spaCy parses: the lemma and attribute-ruler cache gives the pipeline's own."""

from __future__ import annotations

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
