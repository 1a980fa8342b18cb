"""The learned parser's slots: proposed from the rules' graph, gold targets, choices applied."""

from __future__ import annotations

from finsta_cli.schema import TSG
from finsta_cli.text.conventions import load_conventions
from finsta_cli.text.factual import fact_set, parse_facts
from finsta_cli.text.learned.apply import apply_choices
from finsta_cli.text.learned.counts import TrainCounts
from finsta_cli.text.learned.proposals import propose, spelling_fix
from finsta_cli.text.learned.slots import Proposal
from finsta_cli.text.learned.targets import gold_targets
from finsta_cli.text.learned.training import record_facts
from finsta_cli.text.parser import load_nlp, tsg_record

CAPTIONS = [
    "paisley table cloth under cat and computer mouse",
    "a man taking a photo at a field",
    "lady holding baby",
    "two men in front of a red car quickly pick up a box and then leave",
    "the water the bird is standing on",
    "a plate of food on a wooden table",
    "",
    "!!! ???",
]


def facts(record: dict[str, object]) -> frozenset[tuple[str, ...]]:
    return record_facts(record, load_conventions())


def proposals() -> list[Proposal]:
    nlp = load_nlp()
    conventions = load_conventions()
    return [
        propose(doc, str(i), conventions, TrainCounts.empty(), caption)
        for i, (doc, caption) in enumerate(zip(nlp.pipe(CAPTIONS), CAPTIONS, strict=True))
    ]


def test_the_rules_choices_give_back_the_rules_graph() -> None:
    nlp = load_nlp()
    conventions = load_conventions()
    for proposal, doc, caption in zip(proposals(), nlp.pipe(CAPTIONS), CAPTIONS, strict=True):
        rules = tsg_record(doc, proposal.record["id"], conventions, caption)
        assert proposal.record == rules
        assert apply_choices(proposal, [slot.rule for slot in proposal.slots]) == rules


def test_every_choice_gives_a_valid_graph_with_its_facts() -> None:
    for proposal in proposals():
        for index, slot in enumerate(proposal.slots):
            for option in range(len(slot.options)):
                choices = [s.rule for s in proposal.slots]
                choices[index] = option
                record = apply_choices(proposal, choices)
                tsg = TSG.model_validate(record)  # spans inside the text, edges well typed
                assert tsg.text == proposal.text


def test_slots_offer_the_other_readings() -> None:
    by_caption = dict(zip(CAPTIONS, proposals(), strict=True))
    cloth = by_caption[CAPTIONS[0]]
    names = {n.text for options in cloth.names.values() for n in options}
    assert {"cloth", "table cloth", "paisley table cloth"} <= names
    # "a man taking a photo at a field": "at a field" can be the man's, not the photo's.
    photo = by_caption[CAPTIONS[1]]
    at = [s for s in photo.slots if s.kind == "rel" and len(s.options) > 2]
    subjects = {
        photo.record["nodes"][o.value.agent]["label"]
        for s in at
        for o in s.options
        if o.value is not None
    }
    assert {"man", "photo"} <= subjects
    # "lady holding baby": spaCy hangs "lady" on "holding"; a verb slot offers lady hold baby.
    lady = by_caption[CAPTIONS[2]]
    verb_slots = [s for s in lady.slots if s.kind == "rel" and s.key[0] == "verb"]
    assert verb_slots
    choices = [s.rule for s in lady.slots]
    for slot in verb_slots:
        choices[lady.slots.index(slot)] = 1
    assert ("lady", "hold", "baby") in facts(apply_choices(lady, choices))


def test_predicates_with_adverbs_and_time_stay_as_the_rules_made_them() -> None:
    (proposal,) = [p for p in proposals() if p.text.startswith("two men")]
    verbs = {
        node["id"] for node in proposal.record["nodes"] if node["label"] in ("pick up", "leave")
    }
    assert verbs and all(rel.origin in verbs for rel in proposal.fixed)
    assert not any(
        o.value is not None and o.value.origin in verbs
        for s in proposal.slots
        if s.kind == "rel"
        for o in s.options
    )
    # Whatever else changes, the temporal edge between the two verbs survives.
    choices = [0 if s.kind == "rel" else s.rule for s in proposal.slots]
    record = apply_choices(proposal, choices)
    labels = {n["id"]: n["label"] for n in record["nodes"]}
    assert [(labels[e["source"]], labels[e["target"]]) for e in record["edges"]
            if e["type"] == "before"] == [("pick up", "leave")]  # fmt: skip


def test_gold_targets_mark_the_options_gold_agrees_with() -> None:
    nlp = load_nlp()
    conventions = load_conventions()
    caption = "paisley table cloth under cat"
    gold = fact_set(parse_facts("( table cloth , is , paisley ) , ( table cloth , under , cat )"))
    proposal = propose(nlp(caption), "1", conventions, TrainCounts.empty(), caption)
    targets = gold_targets(proposal, gold, conventions)
    choices = []
    for slot, good in zip(proposal.slots, targets, strict=True):
        assert good, f"{slot.kind} slot without a target"
        choices.append(good[0])
    assert facts(apply_choices(proposal, choices)) == gold


def test_spelling_fix_needs_a_frequent_word_one_edit_away() -> None:
    names = {"plate": 40, "awning": 9, "plane": 3}
    assert spelling_fix("palte", names) == "plate"  # transposition
    assert spelling_fix("awing", names) == "awning"  # insertion
    assert spelling_fix("plate", names) is None  # a known word stays
    assert spelling_fix("plan", names) is None  # "plane" is too rare to trust
    assert spelling_fix("xq", names) is None
