"""The rule parser on video captions: predicate spans, order across clauses, action labels and
the scene words a caption depends on.

Hand-built parses reproduce en_core_web_sm's parses of the sentences (so the rules are tested
whatever the model does); the sentences are this file's own, not any dataset's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finsta_cli.schema import TSG
from finsta_cli.synth.generate import SPLITS, SynthConfig, generate_dataset
from finsta_cli.text.conventions import Conventions
from finsta_cli.text.factual import tsg_to_facts
from finsta_cli.text.parser import load_nlp, parse_doc, parse_texts
from finsta_cli.text.scoring import score_synth_order
from tests.text.helpers import edges_by_type, make_doc


@pytest.fixture(scope="module", autouse=True)
def _verb_lexicon() -> None:
    load_nlp()  # loading the pipeline registers its lemmatizer's verb lexicon


def span_text(tsg: TSG, label: str) -> list[str]:
    return [
        tsg.text[node.span[0] : node.span[1]]
        for node in tsg.nodes
        if node.type == "predicate" and node.label == label and node.span is not None
    ]


def test_a_verbs_span_stays_on_the_verb_when_its_phrase_places_the_object() -> None:
    # "a man is giving a review on a vehicle": "on a vehicle" places the review (review on
    # vehicle); the verb's own predicate kept the preposition's span before.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 3, "nsubj", "NOUN", "NN", "man"),
        ("is", 3, "aux", "AUX", "VBZ", "be"),
        ("giving", 3, "ROOT", "VERB", "VBG", "give"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("review", 3, "dobj", "NOUN", "NN", "review"),
        ("on", 3, "prep", "ADP", "IN", "on"),
        ("a", 8, "det", "DET", "DT", "a"),
        ("vehicle", 6, "pobj", "NOUN", "NN", "vehicle"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert span_text(tsg, "give") == ["giving"]
    assert span_text(tsg, "on") == ["on"]
    assert ("on", "review") in edges_by_type(tsg, "agent")


def arguments(tsg: TSG, predicate: int) -> set[tuple[str, str]]:
    return {
        (edge.type, tsg.nodes[edge.target].label)
        for edge in tsg.edges
        if edge.source == predicate and edge.type in ("agent", "patient", "prep_arg", "pred_attr")
    }


def test_then_orders_a_clause_read_as_the_complement_of_the_next() -> None:
    # The small model reads "A, then B" with A a complement (ccomp) of B.
    doc = make_doc([
        ("The", 2, "det", "DET", "DT", "the"),
        ("green", 2, "amod", "ADJ", "JJ", "green"),
        ("star", 3, "nsubj", "NOUN", "NN", "star"),
        ("moves", 10, "ccomp", "VERB", "VBZ", "move"),
        ("right", 3, "advmod", "ADV", "RB", "right"),
        (",", 10, "punct", "PUNCT", ",", ","),
        ("then", 10, "advmod", "ADV", "RB", "then"),
        ("the", 9, "det", "DET", "DT", "the"),
        ("green", 9, "compound", "PROPN", "NNP", "green"),
        ("ball", 10, "nsubj", "NOUN", "NN", "ball"),
        ("enters", 10, "ROOT", "VERB", "VBZ", "enter"),
        ("from", 10, "prep", "ADP", "IN", "from"),
        ("the", 13, "det", "DET", "DT", "the"),
        ("right", 11, "pobj", "NOUN", "NN", "right"),
        (".", 10, "punct", "PUNCT", ".", "."),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert edges_by_type(tsg, "before") == [("move", "enter")]


def test_after_under_the_first_clause_still_puts_its_clause_first() -> None:
    # "The purple cube enters from the top after the pink star moves up.": "after" hangs on
    # "enters" (itself tagged a plural noun, the subject of "moves") and has no object.
    doc = make_doc([
        ("The", 3, "det", "DET", "DT", "the"),
        ("purple", 2, "amod", "ADJ", "JJ", "purple"),
        ("cube", 3, "compound", "NOUN", "NN", "cube"),
        ("enters", 11, "nsubj", "NOUN", "NNS", "enter"),
        ("from", 3, "prep", "ADP", "IN", "from"),
        ("the", 6, "det", "DET", "DT", "the"),
        ("top", 4, "pobj", "NOUN", "NN", "top"),
        ("after", 3, "prep", "ADP", "IN", "after"),
        ("the", 10, "det", "DET", "DT", "the"),
        ("pink", 10, "amod", "ADJ", "JJ", "pink"),
        ("star", 11, "nsubj", "NOUN", "NN", "star"),
        ("moves", 11, "ROOT", "VERB", "VBZ", "move"),
        ("up", 11, "prt", "ADP", "RP", "up"),
        (".", 11, "punct", "PUNCT", ".", "."),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert edges_by_type(tsg, "before") == [("move up", "enter")]
    assert sorted(edges_by_type(tsg, "agent")) == [("enter", "cube"), ("move up", "star")]


def test_a_verb_read_as_the_next_verbs_subject_is_a_clause_of_its_own() -> None:
    # "a man talks to the camera then shows a phone": "talks" read as the subject of "shows".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 2, "nsubj", "NOUN", "NN", "man"),
        ("talks", 7, "nsubj", "VERB", "VBZ", "talk"),
        ("to", 2, "prep", "ADP", "IN", "to"),
        ("the", 5, "det", "DET", "DT", "the"),
        ("camera", 3, "pobj", "NOUN", "NN", "camera"),
        ("then", 7, "advmod", "ADV", "RB", "then"),
        ("shows", 7, "ROOT", "VERB", "VBZ", "show"),
        ("a", 9, "det", "DET", "DT", "a"),
        ("phone", 7, "dobj", "NOUN", "NN", "phone"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert sorted(edges_by_type(tsg, "agent")) == [("show", "man"), ("talk", "man")]
    assert edges_by_type(tsg, "patient") == [("show", "phone")]
    assert edges_by_type(tsg, "before") == [("talk", "show")]


def test_a_second_clause_read_as_a_conjunct_of_the_object_and_no_order_for_and() -> None:
    # "a boy throws a ball and a dog chases it": "chases" a conjunct of "ball", "it" left on
    # "throws". Plain "and" between two subjects' actions states no order.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("boy", 2, "nsubj", "NOUN", "NN", "boy"),
        ("throws", 2, "ROOT", "VERB", "VBZ", "throw"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("ball", 2, "dobj", "NOUN", "NN", "ball"),
        ("and", 4, "cc", "CCONJ", "CC", "and"),
        ("a", 8, "det", "DET", "DT", "a"),
        ("dog", 8, "compound", "NOUN", "NN", "dog"),
        ("chases", 4, "conj", "VERB", "VBZ", "chase"),
        ("it", 2, "dobj", "PRON", "PRP", "it"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert sorted(edges_by_type(tsg, "agent")) == [("chase", "dog"), ("throw", "boy")]
    assert sorted(edges_by_type(tsg, "patient")) == [("chase", "ball"), ("throw", "ball")]
    assert edges_by_type(tsg, "before") == []


def test_then_before_a_noun_repeats_the_verb() -> None:
    # "a cook puts salt in the pan then pepper": the left-out verb is "puts" again.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("cook", 2, "nsubj", "NOUN", "NN", "cook"),
        ("puts", 2, "ROOT", "VERB", "VBZ", "put"),
        ("salt", 2, "dobj", "NOUN", "NN", "salt"),
        ("in", 2, "prep", "ADP", "IN", "in"),
        ("the", 6, "det", "DET", "DT", "the"),
        ("pan", 4, "pobj", "NOUN", "NN", "pan"),
        ("then", 8, "advmod", "ADV", "RB", "then"),
        ("pepper", 2, "dep", "NOUN", "NN", "pepper"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    puts = [node.id for node in tsg.nodes if node.label == "put"]
    assert len(puts) == 2
    assert arguments(tsg, puts[0]) == {("agent", "cook"), ("patient", "salt")}
    assert arguments(tsg, puts[1]) == {("agent", "cook"), ("patient", "pepper")}
    assert [(e.source, e.target) for e in tsg.edges if e.type == "before"] == [tuple(puts)]
    assert span_text(tsg, "put") == ["puts", "puts"]  # both stand for the caption's verb


def test_then_before_a_phrase_repeats_the_verb_with_that_phrase() -> None:
    # "the man drives a truck onto the road and then back into the garage"
    doc = make_doc([
        ("the", 1, "det", "DET", "DT", "the"),
        ("man", 2, "nsubj", "NOUN", "NN", "man"),
        ("drives", 2, "ROOT", "VERB", "VBZ", "drive"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("truck", 2, "dobj", "NOUN", "NN", "truck"),
        ("onto", 2, "prep", "ADP", "IN", "onto"),
        ("the", 7, "det", "DET", "DT", "the"),
        ("road", 5, "pobj", "NOUN", "NN", "road"),
        ("and", 2, "cc", "CCONJ", "CC", "and"),
        ("then", 10, "advmod", "ADV", "RB", "then"),
        ("back", 2, "conj", "ADV", "RB", "back"),
        ("into", 10, "prep", "ADP", "IN", "into"),
        ("the", 13, "det", "DET", "DT", "the"),
        ("garage", 11, "pobj", "NOUN", "NN", "garage"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    drives = [node.id for node in tsg.nodes if node.label == "drive"]
    assert len(drives) == 2
    assert ("prep_arg", "road") in arguments(tsg, drives[0])
    assert arguments(tsg, drives[1]) == {("agent", "man"), ("prep_arg", "garage"),
                                         ("pred_attr", "back")}  # fmt: skip
    assert [(e.source, e.target) for e in tsg.edges if e.type == "before"] == [tuple(drives)]


@pytest.mark.parametrize(
    ("caption", "before", "overlaps"),
    [
        ("a boy kicks the ball, then a girl catches it", [("kick", "catch")], []),
        ("a man opens the door. then he walks outside", [("open", "walk")], []),
        ("a woman is talking and then a dog runs across the room", [("talk", "run")], []),
        ("first a woman cuts the onions, then she fries them", [("cut", "fry")], []),
        ("a woman washes a car, afterwards she dries it with a towel", [("wash", "dry")], []),
        ("a woman sits down after she enters the room", [("enter", "sit down")], []),
        ("after the music stops the dancers bow", [("stop", "bow")], []),
        ("a man waves at the camera before leaving the room", [("wave", "leave")], []),
        ("a girl laughs until she falls down", [("laugh", "fall down")], []),
        ("a dog barks while a cat sleeps on the sofa", [], [("bark", "sleep")]),
        ("a man is cooking as his wife watches", [], [("cook", "watch")]),
        ("two girls dance while singing a song", [], [("dance", "sing")]),
        ("the man picks up the phone and answers it", [("pick up", "answer")], []),
        ("a man returns later to add salt", [], []),
    ],
)
def test_order_words_on_the_real_pipeline(
    caption: str, before: list[tuple[str, str]], overlaps: list[tuple[str, str]]
) -> None:
    tsg = next(parse_texts([caption]))
    assert edges_by_type(tsg, "before") == before
    assert edges_by_type(tsg, "overlaps") == overlaps


def test_synth_captions_order_their_events(tmp_path: Path) -> None:
    # Every template of finsta synth that states an order ("A, then B", "First A; after that,
    # B", "Before B, A", ...) gets a before edge from the first event's predicate to the
    # second's; events told as simultaneous ("A while B", "A, and B") never get one.
    generate_dataset(SynthConfig(videos=30, seed=5), tmp_path, quiet=True)
    captions = [
        caption
        for split in SPLITS
        if (tmp_path / f"{split}.jsonl").is_file()
        for line in (tmp_path / f"{split}.jsonl").read_text().splitlines()
        for caption in json.loads(line)["captions"]
    ]
    score = score_synth_order(captions, parse_texts([c["text"] for c in captions]))
    assert score.pairs >= 20 and len(score.by_template) >= 5
    assert score.right >= 0.98 * score.pairs, score.misses
    assert score.reversed == 0
    assert score.concurrent >= 10 and score.concurrent_before == 0


# "several other people walk across a snowy field near a polar bear": FACTUAL drops "snowy"
# and the quantity words and writes "polar bear" as one name.
SNOWY_FIELD = [
    ("several", 2, "amod", "ADJ", "JJ", "several"),
    ("other", 2, "amod", "ADJ", "JJ", "other"),
    ("people", 3, "nsubj", "NOUN", "NNS", "people"),
    ("walk", 3, "ROOT", "VERB", "VBP", "walk"),
    ("across", 3, "prep", "ADP", "IN", "across"),
    ("a", 7, "det", "DET", "DT", "a"),
    ("snowy", 7, "amod", "X", "FW", "snowy"),
    ("field", 4, "pobj", "NOUN", "NN", "field"),
    ("near", 7, "prep", "ADP", "IN", "near"),
    ("a", 11, "det", "DET", "DT", "a"),
    ("polar", 11, "amod", "ADJ", "JJ", "polar"),
    ("bear", 8, "pobj", "NOUN", "NN", "bear"),
]  # fmt: skip
SNOWY_CONVENTIONS = Conventions(
    modifiers={"amod:snowy": "drop", "amod:several": "drop", "amod:other": "drop",
               "amod:polar": "merge"},
)  # fmt: skip


def test_scene_words_factual_drops_stay_in_the_graph() -> None:
    tsg = parse_doc(make_doc(SNOWY_FIELD), "1", SNOWY_CONVENTIONS)
    assert ("field", "snowy") in edges_by_type(tsg, "has_attribute")
    assert "polar bear" in {node.label for node in tsg.nodes if node.type == "object"}
    # Words that say how many or which are not scene words: still left out.
    attributes = {label for _, label in edges_by_type(tsg, "has_attribute")}
    assert not attributes & {"several", "other"}


def test_the_factual_writer_leaves_out_what_factual_drops() -> None:
    tsg = parse_doc(make_doc(SNOWY_FIELD), "1", SNOWY_CONVENTIONS)
    facts = tsg_to_facts(tsg, drop_attribute=SNOWY_CONVENTIONS.drops_attribute)
    assert ("field", "is", "snowy") not in facts
    assert ("people", "walk across", "field") in facts
    assert ("field", "is", "snowy") in tsg_to_facts(tsg)  # without the conventions: kept


def test_someone_is_a_person() -> None:
    # "someone pours milk into a cup": spaCy tags "someone" a pronoun.
    doc = make_doc([
        ("someone", 1, "nsubj", "PRON", "NN", "someone"),
        ("pours", 1, "ROOT", "VERB", "VBZ", "pour"),
        ("milk", 1, "dobj", "NOUN", "NN", "milk"),
        ("into", 1, "prep", "ADP", "IN", "into"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("cup", 3, "pobj", "NOUN", "NN", "cup"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert ("pour", "person") in edges_by_type(tsg, "agent")
    person = next(node for node in tsg.nodes if node.label == "person")
    assert tsg.text[person.span[0] : person.span[1]] == "someone"


def test_an_action_label_is_a_predicate_with_its_object() -> None:
    # "Poking frog": the small model reads one compound noun.
    doc = make_doc([
        ("Poking", 1, "compound", "NOUN", "NN", "poking"),
        ("frog", 1, "ROOT", "NOUN", "NN", "frog"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert edges_by_type(tsg, "patient") == [("poke", "frog")]
    assert span_text(tsg, "poke") == ["Poking"]


def test_a_noun_the_small_model_gives_an_ing_word_is_kept_as_a_kind() -> None:
    # "swimming pool": the -ing word names a kind of pool, no action.
    doc = make_doc([
        ("swimming", 1, "compound", "NOUN", "NN", "swimming"),
        ("pool", 1, "ROOT", "NOUN", "NN", "pool"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert [node.label for node in tsg.nodes] == ["swimming pool"]


def test_a_two_word_action_after_be_is_one_predicate() -> None:
    # "two boys are arm wrestling": "wrestling" read as a noun, the attribute of "are".
    doc = make_doc([
        ("two", 1, "nummod", "NUM", "CD", "two"),
        ("boys", 2, "nsubj", "NOUN", "NNS", "boy"),
        ("are", 2, "ROOT", "AUX", "VBP", "be"),
        ("arm", 4, "compound", "NOUN", "NN", "arm"),
        ("wrestling", 2, "attr", "NOUN", "NN", "wrestling"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert edges_by_type(tsg, "agent") == [("arm wrestle", "boys")]
    assert [node.label for node in tsg.nodes if node.type == "object"] == ["boys"]
    assert span_text(tsg, "arm wrestle") == ["wrestling"]


def test_a_subject_and_its_action_read_as_one_compound() -> None:
    # "zebra grazing on grass"
    doc = make_doc([
        ("zebra", 1, "compound", "NOUN", "NN", "zebra"),
        ("grazing", 1, "ROOT", "NOUN", "NN", "grazing"),
        ("on", 1, "prep", "ADP", "IN", "on"),
        ("grass", 2, "pobj", "NOUN", "NN", "grass"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert edges_by_type(tsg, "agent") == [("graze", "zebra")]
    assert arguments(tsg, next(n.id for n in tsg.nodes if n.label == "graze")) == {
        ("agent", "zebra"), ("prep_arg", "grass")}  # fmt: skip


def test_an_ing_word_after_clothes_is_the_wearers_action() -> None:
    # "a boy in a red shirt singing and dancing": "singing" read as the head of "shirt".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("boy", 1, "ROOT", "NOUN", "NN", "boy"),
        ("in", 1, "prep", "ADP", "IN", "in"),
        ("a", 6, "det", "DET", "DT", "a"),
        ("red", 6, "amod", "ADJ", "JJ", "red"),
        ("shirt", 6, "compound", "NOUN", "NN", "shirt"),
        ("singing", 2, "pobj", "NOUN", "NN", "singing"),
        ("and", 6, "cc", "CCONJ", "CC", "and"),
        ("dancing", 6, "conj", "NOUN", "NN", "dancing"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert sorted(edges_by_type(tsg, "agent")) == [("dance", "boy"), ("in", "boy"),
                                                   ("sing", "boy")]  # fmt: skip
    assert ("shirt", "red") in edges_by_type(tsg, "has_attribute")
    assert ("in", "shirt") in edges_by_type(tsg, "prep_arg")


def test_an_ing_word_conjoined_to_an_object_is_the_next_action() -> None:
    # "a guy playing guitar and singing a song": "singing" a conjunct of "guitar".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("guy", 1, "ROOT", "NOUN", "NN", "guy"),
        ("playing", 1, "acl", "VERB", "VBG", "play"),
        ("guitar", 2, "dobj", "NOUN", "NN", "guitar"),
        ("and", 3, "cc", "CCONJ", "CC", "and"),
        ("singing", 3, "conj", "NOUN", "NN", "singing"),
        ("a", 7, "det", "DET", "DT", "a"),
        ("song", 2, "dobj", "NOUN", "NN", "song"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    sing = next(n.id for n in tsg.nodes if n.label == "sing")
    play = next(n.id for n in tsg.nodes if n.label == "play")
    assert arguments(tsg, sing) == {("agent", "guy"), ("patient", "song")}
    assert arguments(tsg, play) == {("agent", "guy"), ("patient", "guitar")}


def test_a_person_doing_something_read_as_one_compound() -> None:
    # "a lady cutting onions": one compound noun "lady cutting onions".
    doc = make_doc([
        ("a", 3, "det", "DET", "DT", "a"),
        ("lady", 2, "compound", "NOUN", "NN", "lady"),
        ("cutting", 3, "compound", "NOUN", "NN", "cutting"),
        ("onions", 3, "ROOT", "NOUN", "NNS", "onion"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    cut = next(n.id for n in tsg.nodes if n.label == "cut")
    assert arguments(tsg, cut) == {("agent", "lady"), ("patient", "onions")}


def predicates_with_arguments(tsg: TSG) -> dict[str, set[tuple[str, str]]]:
    return {node.label: arguments(tsg, node.id) for node in tsg.nodes if node.type == "predicate"}


def test_a_subject_read_as_a_compound_of_its_ing_verb_is_its_subject() -> None:
    # "there is a man dancing while people watch": "man" a compound of "dancing".
    doc = make_doc([
        ("there", 1, "expl", "PRON", "EX", "there"),
        ("is", 1, "ROOT", "VERB", "VBZ", "be"),
        ("a", 3, "det", "DET", "DT", "a"),
        ("man", 4, "compound", "NOUN", "NN", "man"),
        ("dancing", 1, "attr", "VERB", "VBG", "dance"),
        ("while", 7, "mark", "SCONJ", "IN", "while"),
        ("people", 7, "nsubj", "NOUN", "NNS", "people"),
        ("watch", 1, "advcl", "VERB", "VBP", "watch"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert sorted(edges_by_type(tsg, "agent")) == [("dance", "man"), ("watch", "people")]
    assert edges_by_type(tsg, "overlaps") == [("dance", "watch")]


def test_an_ing_word_factual_names_as_a_thing_keeps_its_compound() -> None:
    # "grey metal railing": "railing" tagged VBG with "metal" its compound stays a name.
    doc = make_doc([
        ("grey", 2, "amod", "ADJ", "JJ", "grey"),
        ("metal", 2, "compound", "NOUN", "NN", "metal"),
        ("railing", 2, "ROOT", "VERB", "VBG", "rail"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions(nouns=frozenset({"railing"})))
    assert edges_by_type(tsg, "agent") == []


def test_a_clause_after_as_read_as_the_prepositions_object() -> None:
    # "kids laughing as a clown performs tricks": "as a clown" a phrase of "laughing", "kids"
    # the subject of "performs".
    doc = make_doc([
        ("kids", 5, "nsubj", "NOUN", "NNS", "kid"),
        ("laughing", 0, "acl", "VERB", "VBG", "laugh"),
        ("as", 1, "prep", "ADP", "IN", "as"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("clown", 2, "pobj", "NOUN", "NN", "clown"),
        ("performs", 5, "ROOT", "VERB", "VBZ", "perform"),
        ("tricks", 5, "dobj", "NOUN", "NNS", "trick"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {
        "laugh": {("agent", "kids")},
        "perform": {("agent", "clown"), ("patient", "tricks")},
    }
    assert edges_by_type(tsg, "overlaps") == [("laugh", "perform")]


def test_a_verb_read_from_a_clause_prepositions_object_takes_the_object_after_it() -> None:
    # "people cheer as a runner crosses the finish line": "crosses" a plural noun after "as",
    # "the finish line" left as the object of "cheer".
    doc = make_doc([
        ("people", 1, "nsubj", "NOUN", "NNS", "people"),
        ("cheer", 1, "ROOT", "VERB", "VBP", "cheer"),
        ("as", 1, "prep", "ADP", "IN", "as"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("runner", 5, "compound", "NOUN", "NN", "runner"),
        ("crosses", 2, "pobj", "NOUN", "NNS", "cross"),
        ("the", 8, "det", "DET", "DT", "the"),
        ("finish", 8, "compound", "NOUN", "NN", "finish"),
        ("line", 1, "dobj", "NOUN", "NN", "line"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {
        "cheer": {("agent", "people")},
        "cross": {("agent", "runner"), ("patient", "finish line")},
    }
    assert edges_by_type(tsg, "overlaps") == [("cheer", "cross")]


def test_the_subject_of_a_clause_after_as_may_have_an_of_phrase() -> None:
    # "a news anchor reports as footage of the storm plays": "footage" is what plays, and a
    # video's footage stays an object ("X of Y" for what a video shows).
    doc = make_doc([
        ("a", 3, "det", "DET", "DT", "a"),
        ("news", 2, "compound", "NOUN", "NN", "news"),
        ("anchor", 3, "compound", "NOUN", "NN", "anchor"),
        ("reports", 9, "nsubj", "NOUN", "NNS", "report"),
        ("as", 3, "prep", "ADP", "IN", "as"),
        ("footage", 4, "pobj", "NOUN", "NN", "footage"),
        ("of", 5, "prep", "ADP", "IN", "of"),
        ("the", 8, "det", "DET", "DT", "the"),
        ("storm", 6, "pobj", "NOUN", "NN", "storm"),
        ("plays", 9, "ROOT", "VERB", "VBZ", "play"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions(default_of="drop"))
    assert predicates_with_arguments(tsg) == {
        "report": {("agent", "news anchor")},
        "play": {("agent", "footage")},
        "of": {("agent", "footage"), ("prep_arg", "storm")},
    }
    assert edges_by_type(tsg, "overlaps") == [("report", "play")]
    assert edges_by_type(tsg, "before") == []


def test_a_progressive_read_as_an_adjective_is_the_verb() -> None:
    # "women are modeling clothes": "modeling" an adjective of "clothes".
    doc = make_doc([
        ("women", 1, "nsubj", "NOUN", "NNS", "woman"),
        ("are", 1, "ROOT", "AUX", "VBP", "be"),
        ("modeling", 3, "amod", "VERB", "VBG", "model"),
        ("clothes", 1, "attr", "NOUN", "NNS", "clothe"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {"model": {("agent", "women"), ("patient", "clothes")}}


def test_a_clause_after_then_read_as_a_relative_clause_of_the_object() -> None:
    # "a woman opens the door then a man walks in": "walks" a relative clause of "door".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 2, "nsubj", "NOUN", "NN", "woman"),
        ("opens", 2, "ROOT", "VERB", "VBZ", "open"),
        ("the", 4, "det", "DET", "DT", "the"),
        ("door", 2, "dobj", "NOUN", "NN", "door"),
        ("then", 8, "advmod", "ADV", "RB", "then"),
        ("a", 7, "det", "DET", "DT", "a"),
        ("man", 8, "nsubj", "NOUN", "NN", "man"),
        ("walks", 4, "relcl", "VERB", "VBZ", "walk"),
        ("in", 8, "advmod", "ADP", "IN", "in"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {
        "open": {("agent", "woman"), ("patient", "door")},
        "walk": {("agent", "man")},
    }
    assert edges_by_type(tsg, "before") == [("open", "walk")]


def test_the_main_clause_read_as_a_relative_clause_after_an_opening_after_clause() -> None:
    # "after the players shake hands the game begins": "begins" a relative clause of "hands".
    doc = make_doc([
        ("after", 3, "mark", "SCONJ", "IN", "after"),
        ("the", 2, "det", "DET", "DT", "the"),
        ("players", 3, "nsubj", "NOUN", "NNS", "player"),
        ("shake", 3, "ROOT", "VERB", "VBP", "shake"),
        ("hands", 3, "dobj", "NOUN", "NNS", "hand"),
        ("the", 6, "det", "DET", "DT", "the"),
        ("game", 7, "nsubj", "NOUN", "NN", "game"),
        ("begins", 4, "relcl", "VERB", "VBZ", "begin"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {
        "shake": {("agent", "players"), ("patient", "hands")},
        "begin": {("agent", "game")},
    }
    assert edges_by_type(tsg, "before") == [("shake", "begin")]


def test_a_phrase_after_a_pronoun_object_is_the_verbs() -> None:
    # "the chef chops onions before he fries them in a pan": "them" is no place to put "in a
    # pan"; the frying is in the pan.
    doc = make_doc([
        ("the", 1, "det", "DET", "DT", "the"),
        ("chef", 2, "nsubj", "NOUN", "NN", "chef"),
        ("chops", 2, "ROOT", "VERB", "VBZ", "chop"),
        ("onions", 2, "dobj", "NOUN", "NNS", "onion"),
        ("before", 6, "mark", "SCONJ", "IN", "before"),
        ("he", 6, "nsubj", "PRON", "PRP", "he"),
        ("fries", 2, "advcl", "VERB", "VBZ", "fry"),
        ("them", 6, "dobj", "PRON", "PRP", "they"),
        ("in", 6, "prep", "ADP", "IN", "in"),
        ("a", 10, "det", "DET", "DT", "a"),
        ("pan", 8, "pobj", "NOUN", "NN", "pan"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    fry = predicates_with_arguments(tsg)["fry"]
    assert ("prep_arg", "pan") in fry and ("patient", "onions") in fry
    assert "in" not in predicates_with_arguments(tsg)


def test_conjoined_prepositions_of_a_verb_are_both_its_arguments() -> None:
    # "a man is talking about deforestation and about climate change"
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 3, "nsubj", "NOUN", "NN", "man"),
        ("is", 3, "aux", "AUX", "VBZ", "be"),
        ("talking", 3, "ROOT", "VERB", "VBG", "talk"),
        ("about", 3, "prep", "ADP", "IN", "about"),
        ("deforestation", 4, "pobj", "NOUN", "NN", "deforestation"),
        ("and", 5, "cc", "CCONJ", "CC", "and"),
        ("about", 4, "conj", "ADP", "IN", "about"),
        ("climate", 9, "compound", "NOUN", "NN", "climate"),
        ("change", 7, "pobj", "NOUN", "NN", "change"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["talk"] == {
        ("agent", "man"),
        ("prep_arg", "deforestation"),
        ("prep_arg", "climate change"),
    }


def test_a_person_after_with_does_the_action_after_them() -> None:
    # "a car with a guy speaking about the car": the guy speaks, not the car ("a woman with
    # long hair sitting": the woman sits, as before).
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("car", 1, "ROOT", "NOUN", "NN", "car"),
        ("with", 1, "prep", "ADP", "IN", "with"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("guy", 2, "pobj", "NOUN", "NN", "guy"),
        ("speaking", 4, "acl", "VERB", "VBG", "speak"),
        ("about", 5, "prep", "ADP", "IN", "about"),
        ("the", 8, "det", "DET", "DT", "the"),
        ("car", 6, "pobj", "NOUN", "NN", "car"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert ("agent", "guy") in predicates_with_arguments(tsg)["speak"]


def test_a_clause_after_while_read_as_a_noun_with_a_participle() -> None:
    # "a woman in a red dress dancing while a man in a suit playing piano": "while" marks the
    # noun "man", "playing" hangs on "suit".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 1, "ROOT", "NOUN", "NN", "woman"),
        ("in", 1, "prep", "ADP", "IN", "in"),
        ("a", 6, "det", "DET", "DT", "a"),
        ("red", 6, "amod", "ADJ", "JJ", "red"),
        ("dress", 6, "compound", "NOUN", "NN", "dress"),
        ("dancing", 2, "pobj", "NOUN", "NN", "dancing"),
        ("while", 9, "mark", "SCONJ", "IN", "while"),
        ("a", 9, "det", "DET", "DT", "a"),
        ("man", 1, "advcl", "NOUN", "NN", "man"),
        ("in", 9, "prep", "ADP", "IN", "in"),
        ("a", 12, "det", "DET", "DT", "a"),
        ("suit", 10, "pobj", "NOUN", "NN", "suit"),
        ("playing", 12, "acl", "VERB", "VBG", "play"),
        ("piano", 13, "dobj", "NOUN", "NN", "piano"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["dance"] == {("agent", "woman")}
    assert found["play"] == {("agent", "man"), ("patient", "piano")}
    assert edges_by_type(tsg, "overlaps") == [("dance", "play")]


def test_an_opening_while_clause_gives_back_the_main_clauses_subject() -> None:
    # "while the reporter talks footage of the fire is shown": "footage" read as the object
    # of "talks", "shown" left without a subject.
    doc = make_doc([
        ("while", 3, "mark", "SCONJ", "IN", "while"),
        ("the", 2, "det", "DET", "DT", "the"),
        ("reporter", 3, "nsubj", "NOUN", "NN", "reporter"),
        ("talks", 9, "advcl", "VERB", "VBZ", "talk"),
        ("footage", 3, "dobj", "NOUN", "NN", "footage"),
        ("of", 4, "prep", "ADP", "IN", "of"),
        ("the", 7, "det", "DET", "DT", "the"),
        ("fire", 5, "pobj", "NOUN", "NN", "fire"),
        ("is", 9, "auxpass", "AUX", "VBZ", "be"),
        ("shown", 9, "ROOT", "VERB", "VBN", "show"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["talk"] == {("agent", "reporter")}
    assert found["show"] == {("agent", "footage")}
    assert edges_by_type(tsg, "overlaps") == [("show", "talk")]


def test_an_action_after_after_with_a_pronoun_object_is_no_name() -> None:
    # "a woman takes out a cake after baking it": "baking it" is an action ("on cutting
    # board" stays a name).
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 2, "nsubj", "NOUN", "NN", "woman"),
        ("takes", 2, "ROOT", "VERB", "VBZ", "take"),
        ("out", 2, "prt", "ADP", "RP", "out"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("cake", 2, "dobj", "NOUN", "NN", "cake"),
        ("after", 2, "prep", "ADP", "IN", "after"),
        ("baking", 6, "pcomp", "VERB", "VBG", "bake"),
        ("it", 7, "dobj", "PRON", "PRP", "it"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["bake"] == {("agent", "woman"), ("patient", "cake")}
    assert edges_by_type(tsg, "before") == [("bake", "take out")]


def test_a_clause_after_as_under_a_chain_of_participles() -> None:
    # "a woman sitting in a chair talking as a man listens"
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 10, "nsubj", "NOUN", "NN", "woman"),
        ("sitting", 1, "acl", "VERB", "VBG", "sit"),
        ("in", 2, "prep", "ADP", "IN", "in"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("chair", 3, "pobj", "NOUN", "NN", "chair"),
        ("talking", 2, "advcl", "VERB", "VBG", "talk"),
        ("as", 6, "prep", "ADP", "IN", "as"),
        ("a", 9, "det", "DET", "DT", "a"),
        ("man", 7, "pobj", "NOUN", "NN", "man"),
        ("listens", 10, "ROOT", "VERB", "VBZ", "listen"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["talk"] == {("agent", "woman")}
    assert found["listen"] == {("agent", "man")}
    assert ("talk", "listen") in edges_by_type(tsg, "overlaps")


def test_a_verb_after_then_hung_loosely_shares_the_subject() -> None:
    # "a man demonstrates a product then shows the price": "shows" a ``dep`` of the first verb.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 2, "nsubj", "NOUN", "NN", "man"),
        ("demonstrates", 2, "ROOT", "VERB", "VBZ", "demonstrate"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("product", 2, "dobj", "NOUN", "NN", "product"),
        ("then", 6, "advmod", "ADV", "RB", "then"),
        ("shows", 2, "dep", "VERB", "VBZ", "show"),
        ("the", 8, "det", "DET", "DT", "the"),
        ("price", 6, "dobj", "NOUN", "NN", "price"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["show"] == {("agent", "man"), ("patient", "price")}
    assert edges_by_type(tsg, "before") == [("demonstrate", "show")]


def test_a_pronoun_in_a_verbs_phrase_is_not_that_verbs_object() -> None:
    # "first a man cuts the bread then he puts butter on it": "it" is the bread.
    doc = make_doc([
        ("first", 3, "advmod", "ADV", "RB", "first"),
        ("a", 2, "det", "DET", "DT", "a"),
        ("man", 3, "nsubj", "NOUN", "NN", "man"),
        ("cuts", 8, "advcl", "VERB", "VBZ", "cut"),
        ("the", 5, "det", "DET", "DT", "the"),
        ("bread", 3, "dobj", "NOUN", "NN", "bread"),
        ("then", 8, "advmod", "ADV", "RB", "then"),
        ("he", 8, "nsubj", "PRON", "PRP", "he"),
        ("puts", 8, "ROOT", "VERB", "VBZ", "put"),
        ("butter", 8, "dobj", "NOUN", "NN", "butter"),
        ("on", 8, "prep", "ADP", "IN", "on"),
        ("it", 10, "pobj", "PRON", "PRP", "it"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    # FACTUAL's reading ("holding a ball in the air": the phrase places the object) or the
    # verb's: either way the place is the bread, not the butter.
    placed = found.get("on") == {("agent", "butter"), ("prep_arg", "bread")}
    assert placed or ("prep_arg", "bread") in found["put"]


def test_an_object_pronoun_points_back_at_the_subject_of_the_clause_before() -> None:
    # "a car stops at the light and then a bus passes it": the bus passes the car, not the
    # light (the nearest noun).
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("car", 2, "nsubj", "NOUN", "NN", "car"),
        ("stops", 2, "ROOT", "VERB", "VBZ", "stop"),
        ("at", 2, "prep", "ADP", "IN", "at"),
        ("the", 5, "det", "DET", "DT", "the"),
        ("light", 3, "pobj", "NOUN", "NN", "light"),
        ("and", 2, "cc", "CCONJ", "CC", "and"),
        ("then", 10, "advmod", "ADV", "RB", "then"),
        ("a", 9, "det", "DET", "DT", "a"),
        ("bus", 10, "nsubj", "NOUN", "NN", "bus"),
        ("passes", 2, "conj", "VERB", "VBZ", "pass"),
        ("it", 10, "dobj", "PRON", "PRP", "it"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["pass"] == {("agent", "bus"), ("patient", "car")}


@pytest.mark.parametrize(
    ("caption", "verb", "expected"),
    [
        # A person before is no "it": the nearest thing ("the ball").
        ("a boy kicks the ball and then the dog chases it", "chase", ("patient", "ball")),
        # The subject a conjoined verb shares is its own: "it" is the ball.
        ("a dog runs to the ball and picks it up", "pick up", ("patient", "ball")),
        # A pronoun in a verb's phrase is not the verb's own subject.
        ("the man throws the ball. then the dog runs after it", "run", ("prep_arg", "ball")),
        ("a cat sits on a table while a woman pets it", "pet", ("patient", "cat")),
    ],
)
def test_pronouns_on_the_real_pipeline(caption: str, verb: str, expected: tuple[str, str]) -> None:
    tsg = next(parse_texts([caption]))
    assert expected in predicates_with_arguments(tsg)[verb]


def test_an_object_hung_on_the_particle_is_the_verbs_patient() -> None:
    # "a man puts on his helmet": "helmet" the object of the particle "on".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 2, "nsubj", "NOUN", "NN", "man"),
        ("puts", 2, "ROOT", "VERB", "VBZ", "put"),
        ("on", 2, "prt", "ADP", "RP", "on"),
        ("his", 5, "poss", "PRON", "PRP$", "his"),
        ("helmet", 3, "pobj", "NOUN", "NN", "helmet"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["put on"] == {("agent", "man"), ("patient", "helmet")}


def test_an_adjective_as_a_verbs_object_is_a_thing() -> None:
    # "a girl opens a present": "present" tagged an adjective.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("girl", 2, "nsubj", "NOUN", "NN", "girl"),
        ("opens", 2, "ROOT", "VERB", "VBZ", "open"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("present", 2, "dobj", "ADJ", "JJ", "present"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["open"] == {("agent", "girl"), ("patient", "present")}


def test_a_verb_after_in_and_a_colour_is_the_persons_action() -> None:
    # "a woman in black puts on lipstick": "puts" read as what she is in ("in black puts").
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 1, "ROOT", "NOUN", "NN", "woman"),
        ("in", 1, "prep", "ADP", "IN", "in"),
        ("black", 4, "amod", "ADJ", "JJ", "black"),
        ("puts", 2, "pobj", "NOUN", "NNS", "put"),
        ("on", 1, "prep", "ADP", "IN", "on"),
        ("lipstick", 5, "pobj", "NOUN", "NN", "lipstick"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["put"] == {("agent", "woman"), ("prep_arg", "lipstick")}
    assert "puts" not in [node.label for node in tsg.nodes if node.type == "object"]


def test_a_verb_after_in_and_a_colour_takes_the_noun_read_as_the_root() -> None:
    # "a boy in blue kicks a ball": "ball" read as the root, "boy" its subject.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("boy", 6, "nsubj", "NOUN", "NN", "boy"),
        ("in", 1, "prep", "ADP", "IN", "in"),
        ("blue", 4, "amod", "ADJ", "JJ", "blue"),
        ("kicks", 2, "pobj", "NOUN", "NNS", "kick"),
        ("a", 6, "det", "DET", "DT", "a"),
        ("ball", 6, "ROOT", "NOUN", "NN", "ball"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["kick"] == {("agent", "boy"), ("patient", "ball")}


def test_an_action_the_parse_gives_to_a_scene_is_the_actors() -> None:
    # "a scene with soldiers in uniforms marching": the soldiers march.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("scene", 6, "nsubj", "NOUN", "NN", "scene"),
        ("with", 1, "prep", "ADP", "IN", "with"),
        ("soldiers", 2, "pobj", "NOUN", "NNS", "soldier"),
        ("in", 3, "prep", "ADP", "IN", "in"),
        ("uniforms", 4, "pobj", "NOUN", "NNS", "uniform"),
        ("marching", 6, "ROOT", "VERB", "VBG", "march"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["march"] == {("agent", "soldiers")}


def test_an_action_the_parse_gives_to_a_clip_is_the_people_it_shows() -> None:
    # "a movie clip showing a man and women in dresses dancing": the man and women dance (not
    # the clip, not the dresses); the clip shows them.
    doc = make_doc([
        ("a", 2, "det", "DET", "DT", "a"),
        ("movie", 2, "compound", "NOUN", "NN", "movie"),
        ("clip", 10, "nsubj", "NOUN", "NN", "clip"),
        ("showing", 2, "acl", "VERB", "VBG", "show"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("man", 3, "dobj", "NOUN", "NN", "man"),
        ("and", 5, "cc", "CCONJ", "CC", "and"),
        ("women", 5, "conj", "NOUN", "NNS", "woman"),
        ("in", 3, "prep", "ADP", "IN", "in"),
        ("dresses", 8, "pobj", "NOUN", "NNS", "dress"),
        ("dancing", 10, "ROOT", "VERB", "VBG", "dance"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["dance"] == {("agent", "man"), ("agent", "women")}
    assert ("agent", "movie clip") in found["show"]


def test_an_ing_word_after_about_is_an_action_on_the_noun() -> None:
    # "a woman talks about cooking pasta": "cooking" read as an adjective of "pasta"; a topic
    # is no event, so no order.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 2, "nsubj", "NOUN", "NN", "woman"),
        ("talks", 2, "ROOT", "VERB", "VBZ", "talk"),
        ("about", 2, "prep", "ADP", "IN", "about"),
        ("cooking", 5, "amod", "VERB", "VBG", "cook"),
        ("pasta", 3, "pobj", "NOUN", "NN", "pasta"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["cook"] == {("agent", "woman"), ("patient", "pasta")}
    assert edges_by_type(tsg, "overlaps") == []
    assert [n.label for n in tsg.nodes if n.type == "object"] == ["woman", "pasta"]


def test_an_action_hung_on_the_place_someone_is_in_is_theirs() -> None:
    # "a group of friends are in a room talking with each other": "talking" hangs on "room".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("group", 4, "nsubj", "NOUN", "NN", "group"),
        ("of", 1, "prep", "ADP", "IN", "of"),
        ("friends", 2, "pobj", "NOUN", "NNS", "friend"),
        ("are", 4, "ROOT", "AUX", "VBP", "be"),
        ("in", 4, "prep", "ADP", "IN", "in"),
        ("a", 7, "det", "DET", "DT", "a"),
        ("room", 5, "pobj", "NOUN", "NN", "room"),
        ("talking", 7, "acl", "VERB", "VBG", "talk"),
        ("with", 8, "prep", "ADP", "IN", "with"),
        ("each", 11, "det", "DET", "DT", "each"),
        ("other", 9, "pobj", "ADJ", "JJ", "other"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions(of_heads={"group": "drop"}))
    assert ("agent", "friends") in predicates_with_arguments(tsg)["talk"]


def test_a_place_an_action_and_its_object_read_as_one_name() -> None:
    # "there are people in the park playing football": "park playing football" one name.
    doc = make_doc([
        ("there", 1, "expl", "PRON", "EX", "there"),
        ("are", 1, "ROOT", "VERB", "VBP", "be"),
        ("people", 1, "attr", "NOUN", "NNS", "people"),
        ("in", 2, "prep", "ADP", "IN", "in"),
        ("the", 7, "det", "DET", "DT", "the"),
        ("park", 6, "compound", "NOUN", "NN", "park"),
        ("playing", 7, "compound", "VERB", "VBG", "play"),
        ("football", 3, "pobj", "NOUN", "NN", "football"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["play"] == {("agent", "people"), ("patient", "football")}
    assert found["in"] == {("agent", "people"), ("prep_arg", "park")}


def test_there_is_someone_doing_something_read_as_one_compound() -> None:
    # "there is a man dancing": "man dancing" a compound noun after "is" (not the two-word
    # action of "boys are arm wrestling").
    doc = make_doc([
        ("there", 1, "expl", "PRON", "EX", "there"),
        ("is", 1, "ROOT", "VERB", "VBZ", "be"),
        ("a", 3, "det", "DET", "DT", "a"),
        ("man", 4, "compound", "NOUN", "NN", "man"),
        ("dancing", 1, "attr", "NOUN", "NN", "dancing"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {"dance": {("agent", "man")}}


def test_a_pronoun_in_a_verbs_phrase_is_nothing_in_the_verbs_object() -> None:
    # "pours a glass of milk into it": not the milk in the glass; the bowl.
    tsg = next(parse_texts(["a woman holds a bowl and pours a glass of milk into it"]))
    assert ("prep_arg", "bowl") in predicates_with_arguments(tsg)["pour"]


def test_an_action_after_of_and_its_noun_is_the_nouns() -> None:
    # "a cartoon of a boy running": "running" a second complement of "of".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("cartoon", 1, "ROOT", "NOUN", "NN", "cartoon"),
        ("of", 1, "prep", "ADP", "IN", "of"),
        ("a", 4, "det", "DET", "DT", "a"),
        ("boy", 2, "pobj", "NOUN", "NN", "boy"),
        ("running", 2, "pcomp", "VERB", "VBG", "run"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["run"] == {("agent", "boy")}


def test_a_verb_after_and_read_as_a_plural_noun() -> None:
    # "a guy plays a video game and talks about it": "talks" tagged a plural noun.
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("guy", 2, "nsubj", "NOUN", "NN", "guy"),
        ("plays", 2, "ROOT", "VERB", "VBZ", "play"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("video", 5, "compound", "NOUN", "NN", "video"),
        ("game", 2, "dobj", "NOUN", "NN", "game"),
        ("and", 2, "cc", "CCONJ", "CC", "and"),
        ("talks", 2, "conj", "NOUN", "NNS", "talk"),
        ("about", 7, "prep", "ADP", "IN", "about"),
        ("it", 8, "pobj", "PRON", "PRP", "it"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["talk"] == {
        ("agent", "guy"),
        ("prep_arg", "video game"),
    }
    assert "talks" not in [node.label for node in tsg.nodes if node.type == "object"]


def test_about_after_a_place_is_what_the_verb_is_about() -> None:
    # "a man speaking at a conference about technology"
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 1, "ROOT", "NOUN", "NN", "man"),
        ("speaking", 1, "acl", "VERB", "VBG", "speak"),
        ("at", 2, "prep", "ADP", "IN", "at"),
        ("a", 5, "det", "DET", "DT", "a"),
        ("conference", 3, "pobj", "NOUN", "NN", "conference"),
        ("about", 5, "prep", "ADP", "IN", "about"),
        ("technology", 6, "pobj", "NOUN", "NN", "technology"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {
        "speak": {("agent", "man"), ("prep_arg", "conference"), ("prep_arg", "technology")}
    }


@pytest.mark.parametrize(
    ("caption", "verb", "expected"),
    [
        # A person's subject is no "it"; the clause's object is ("milk", not the nearer glass).
        ("a man pours milk into a glass then drinks it", "drink", ("patient", "milk")),
        # "he" is the man, not the food that is the nearer subject.
        ("a man is cooking and when the food is ready he serves it", "serve", ("agent", "man")),
    ],
)
def test_pronouns_prefer_the_roles_before(
    caption: str, verb: str, expected: tuple[str, str]
) -> None:
    tsg = next(parse_texts([caption]))
    assert expected in predicates_with_arguments(tsg)[verb]


def test_a_person_and_a_two_word_action_read_as_one_compound() -> None:
    # "a girl horse riding on a beach": one compound noun; spaCy lemmatises "riding" as "rid".
    doc = make_doc([
        ("a", 3, "det", "DET", "DT", "a"),
        ("girl", 2, "compound", "NOUN", "NN", "girl"),
        ("horse", 3, "compound", "NOUN", "NN", "horse"),
        ("riding", 3, "ROOT", "VERB", "VBG", "rid"),
        ("on", 3, "prep", "ADP", "IN", "on"),
        ("a", 6, "det", "DET", "DT", "a"),
        ("beach", 4, "pobj", "NOUN", "NN", "beach"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions(verb_lemmas={"riding": "ride"}))
    assert predicates_with_arguments(tsg) == {
        "horse ride": {("agent", "girl"), ("prep_arg", "beach")}
    }


@pytest.mark.parametrize(
    ("rows", "label", "agent"),
    [
        (
            [  # "two men sword fighting"
                ("two", 2, "nummod", "NUM", "CD", "two"),
                ("men", 2, "compound", "NOUN", "NNS", "man"),
                ("sword", 3, "compound", "NOUN", "NN", "sword"),
                ("fighting", 3, "ROOT", "NOUN", "NN", "fighting"),
            ],
            "sword fight",
            "men",
        ),
        (
            [  # "friends video calling each other": "video" read as the root
                ("friends", 1, "compound", "PROPN", "NNP", "friends"),
                ("video", 1, "ROOT", "NOUN", "NN", "video"),
                ("calling", 1, "acl", "VERB", "VBG", "call"),
                ("each", 4, "det", "DET", "DT", "each"),
                ("other", 2, "dobj", "ADJ", "JJ", "other"),
            ],
            "video call",
            "friends",
        ),
    ],
)
def test_two_word_actions_of_people(rows: list, label: str, agent: str) -> None:
    tsg = parse_doc(make_doc(rows), "1", Conventions())
    assert predicates_with_arguments(tsg)[label] >= {("agent", agent)}
    assert "sword" not in [node.label for node in tsg.nodes if node.type == "object"]


def test_a_two_word_action_label_stands_alone_and_things_do_not_act() -> None:
    # "Arm wrestling" (a Kinetics label): the action, with no one named; "ski pole laying on
    # the ground": no one does "pole laying".
    label = make_doc([
        ("Arm", 1, "compound", "NOUN", "NN", "arm"),
        ("wrestling", 1, "ROOT", "NOUN", "NN", "wrestling"),
    ])  # fmt: skip
    assert predicates_with_arguments(parse_doc(label, "1", Conventions())) == {"arm wrestle": set()}
    tsg = next(parse_texts(["ski pole laying on the ground"]))
    assert "pole lay" not in {node.label for node in tsg.nodes}


def test_what_a_thing_has_stays_an_object_before_of() -> None:
    # "the features of a phone": FACTUAL's default for a noun it never saw before "of" drops
    # it; a video caption talks about the features.
    tsg = next(parse_texts(["a man describes the features of a phone"]))
    assert predicates_with_arguments(tsg)["describe"] == {
        ("agent", "man"),
        ("patient", "features"),
    }
    assert ("have", "phone") in edges_by_type(tsg, "agent")


def test_a_tool_after_with_is_the_actions() -> None:
    # "somebody slices white onion with sharp knife": "with" hung on "onion".
    doc = make_doc([
        ("somebody", 1, "nsubj", "PRON", "NN", "somebody"),
        ("slices", 1, "ROOT", "VERB", "VBZ", "slice"),
        ("white", 3, "amod", "ADJ", "JJ", "white"),
        ("onion", 1, "dobj", "NOUN", "NN", "onion"),
        ("with", 3, "prep", "ADP", "IN", "with"),
        ("sharp", 6, "amod", "ADJ", "JJ", "sharp"),
        ("knife", 4, "pobj", "NOUN", "NN", "knife"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["slice"] == {
        ("agent", "person"),
        ("patient", "onion"),
        ("prep_arg", "knife"),
    }


@pytest.mark.parametrize(
    ("caption", "verb", "expected", "relation"),
    [
        # A tool after the object, hung on the verb: still the action's (FACTUAL: "woman hit
        # with racket").
        ("a man cuts a paper with scissors", "cut", ("prep_arg", "scissors"), None),
        # Holding is no use of a tool: the cup has the spoon.
        ("a woman holds a cup with a spoon", "hold", ("patient", "cup"), "with"),
    ],
)
def test_tools_on_the_real_pipeline(
    caption: str, verb: str, expected: tuple[str, str], relation: str | None
) -> None:
    tsg = next(parse_texts([caption]))
    found = predicates_with_arguments(tsg)
    assert expected in found[verb]
    assert (relation in found) == (relation is not None)


def test_a_place_after_by_is_no_agent() -> None:
    # "a man getting interviewed by a beach"
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 1, "ROOT", "NOUN", "NN", "man"),
        ("getting", 3, "auxpass", "AUX", "VBG", "getting"),
        ("interviewed", 1, "acl", "VERB", "VBN", "interview"),
        ("by", 3, "agent", "ADP", "IN", "by"),
        ("a", 6, "det", "DET", "DT", "a"),
        ("beach", 4, "pobj", "NOUN", "NN", "beach"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["interview"] == {
        ("agent", "man"),
        ("prep_arg", "beach"),
    }
    # "surrounded by the sea": the sea does the surrounding.
    tsg = next(parse_texts(["an island surrounded by the sea"]))
    assert ("agent", "sea") in predicates_with_arguments(tsg)["surround"]


def test_a_phrase_hung_on_something_is_the_verbs() -> None:
    # "a man talking something about the new smart phones"
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("man", 1, "ROOT", "NOUN", "NN", "man"),
        ("talking", 1, "acl", "VERB", "VBG", "talk"),
        ("something", 2, "dobj", "PRON", "NN", "something"),
        ("about", 3, "prep", "ADP", "IN", "about"),
        ("the", 8, "det", "DET", "DT", "the"),
        ("new", 8, "amod", "ADJ", "JJ", "new"),
        ("smart", 8, "amod", "ADJ", "JJ", "smart"),
        ("phones", 4, "pobj", "NOUN", "NNS", "phone"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["talk"] == {("agent", "man"), ("prep_arg", "phones")}


def test_an_action_hung_on_what_someone_wears_is_theirs() -> None:
    # "a girl wearing cloth sleeping": "sleeping" hangs on "cloth".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("girl", 1, "ROOT", "NOUN", "NN", "girl"),
        ("wearing", 1, "acl", "VERB", "VBG", "wear"),
        ("cloth", 2, "dobj", "NOUN", "NN", "cloth"),
        ("sleeping", 3, "acl", "VERB", "VBG", "sleep"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["sleep"] == {("agent", "girl")}


def test_a_person_and_their_action_read_as_compounds_of_the_object() -> None:
    # "gameplay footage of someone playing minecraft": "someone" and "playing" (tagged a verb)
    # compounds of "minecraft".
    doc = make_doc([
        ("gameplay", 1, "compound", "NOUN", "NN", "gameplay"),
        ("footage", 1, "ROOT", "NOUN", "NN", "footage"),
        ("of", 1, "prep", "ADP", "IN", "of"),
        ("someone", 5, "compound", "PRON", "NN", "someone"),
        ("playing", 5, "compound", "VERB", "VBG", "play"),
        ("minecraft", 2, "pobj", "NOUN", "NN", "minecraft"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["play"] == {("agent", "person"), ("patient", "minecraft")}


def test_a_plural_object_with_nothing_after_it_stays_a_noun() -> None:
    # "all persons are wearing bikini dresses": "dresses" is no verb with "bikini" its subject.
    doc = make_doc([
        ("all", 1, "det", "DET", "DT", "all"),
        ("persons", 3, "nsubj", "NOUN", "NNS", "person"),
        ("are", 3, "aux", "AUX", "VBP", "be"),
        ("wearing", 3, "ROOT", "VERB", "VBG", "wear"),
        ("bikini", 5, "compound", "NOUN", "NN", "bikini"),
        ("dresses", 3, "dobj", "NOUN", "NNS", "dress"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg) == {
        "wear": {("agent", "persons"), ("patient", "bikini dresses")}
    }


def test_an_ing_complement_after_an_object_is_the_objects_action() -> None:
    # "screen showing some people talking": the people talk.
    doc = make_doc([
        ("screen", 0, "ROOT", "NOUN", "NN", "screen"),
        ("showing", 0, "acl", "VERB", "VBG", "show"),
        ("some", 3, "det", "DET", "DT", "some"),
        ("people", 1, "dobj", "NOUN", "NNS", "people"),
        ("talking", 1, "xcomp", "VERB", "VBG", "talk"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    assert predicates_with_arguments(tsg)["talk"] == {("agent", "people")}


@pytest.mark.parametrize(
    ("caption", "verb", "expected"),
    [
        # Who one plays with is the action's (FACTUAL: "man play with dog").
        ("a man playing frisbee with his dog", "play", ("prep_arg", "dog")),
        ("a team is playing badminton with a team in white", "play", ("prep_arg", "team")),
        # What a talk is about, even after the news it is on.
        ("a man talks on the news about the election", "talk", ("prep_arg", "election")),
    ],
)
def test_companions_and_topics_on_the_real_pipeline(
    caption: str, verb: str, expected: tuple[str, str]
) -> None:
    tsg = next(parse_texts([caption]))
    assert expected in predicates_with_arguments(tsg)[verb]


def test_a_second_subject_after_with_and_is_what_the_first_is_with() -> None:
    # "a woman with blonde hair and a black shirt is talking": "shirt" read as a second
    # subject of "talking".
    doc = make_doc([
        ("a", 1, "det", "DET", "DT", "a"),
        ("woman", 10, "nsubj", "NOUN", "NN", "woman"),
        ("with", 1, "prep", "ADP", "IN", "with"),
        ("blonde", 4, "amod", "ADJ", "JJ", "blonde"),
        ("hair", 2, "pobj", "NOUN", "NN", "hair"),
        ("and", 1, "cc", "CCONJ", "CC", "and"),
        ("a", 8, "det", "DET", "DT", "a"),
        ("black", 8, "amod", "ADJ", "JJ", "black"),
        ("shirt", 10, "nsubj", "NOUN", "NN", "shirt"),
        ("is", 10, "aux", "AUX", "VBZ", "be"),
        ("talking", 10, "ROOT", "VERB", "VBG", "talk"),
    ])  # fmt: skip
    tsg = parse_doc(doc, "1", Conventions())
    found = predicates_with_arguments(tsg)
    assert found["talk"] == {("agent", "woman")}
    # ... and a person there is a second subject indeed.
    tsg = next(parse_texts(["a man with a hat and a woman are dancing"]))
    assert predicates_with_arguments(tsg)["dance"] == {("agent", "man"), ("agent", "woman")}
