"""The learned parser: training on a tiny slice, what it learns, model files, the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finsta_cli.errors import MissingResourceError
from finsta_cli.schema import TSG
from finsta_cli.text.conventions import load_conventions
from finsta_cli.text.factual import fact_set, parse_facts, read_factual_csv
from finsta_cli.text.learned.apply import apply_choices
from finsta_cli.text.learned.counts import learn_alternatives
from finsta_cli.text.learned.model import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    default_model_path,
    load_learned_parser,
)
from finsta_cli.text.learned.training import (
    TrainOptions,
    evaluate_parser,
    record_facts,
    train_learned_parser,
)
from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text
from finsta_cli.text.parser import load_nlp, tsg_record
from tests.text.helpers import VOCABULARY
from tests.text.learned.helpers import tiny_rows, write_csv


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    train = write_csv(folder / "train.csv", tiny_rows(0, 30))
    train_learned_parser(
        train, folder / "model", options=TrainOptions(epochs=4, seed=1, learning_rate=0.03)
    )
    return folder / "model"


def test_training_writes_a_plain_tensor_dict_and_json(tiny_model: Path) -> None:
    weights = torch.load(tiny_model / WEIGHTS_FILE, weights_only=True)
    assert all(isinstance(tensor, torch.Tensor) for tensor in weights.values())
    config = json.loads((tiny_model / CONFIG_FILE).read_text())
    assert config["format"] == "finsta-learned-parser"
    assert config["shape"]["features"] == len(config["features"]) == weights["embed"].shape[0]
    assert config["info"]["train_captions"] == 60


def test_training_is_deterministic_for_a_seed(tiny_model: Path, tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", tiny_rows(0, 30))
    train_learned_parser(
        train, tmp_path / "again", options=TrainOptions(epochs=4, seed=1, learning_rate=0.03)
    )
    first = torch.load(tiny_model / WEIGHTS_FILE, weights_only=True)
    second = torch.load(tmp_path / "again" / WEIGHTS_FILE, weights_only=True)
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_the_model_learns_what_gold_does_otherwise(tiny_model: Path, tmp_path: Path) -> None:
    # Unseen captions of the same kinds: the rules write "( boys , is , walking )", gold not.
    rows = tiny_rows(30, 10)
    nlp = load_nlp()
    conventions = load_conventions()
    docs = list(nlp.pipe(caption for caption, _ in rows))
    rules = evaluate_parser(None, docs, rows, conventions)
    learned = evaluate_parser(load_learned_parser(tiny_model), docs, rows, conventions)
    assert rules.set_match == 50.0  # the "on" captions only
    assert learned.set_match == 100.0


def test_learned_records_are_full_graphs_for_any_caption(tiny_model: Path) -> None:
    parser = load_learned_parser(tiny_model)
    captions = [
        "two men quickly pick up a box and then leave",
        "",
        "🙂 ??",
        "a man who is holding a cup walks past the shop while it rains",
        "The purple cube moves right while the blue cube stays where it is.",
    ]
    nlp = load_nlp()
    docs = list(nlp.pipe(captions))
    records = parser.records(docs, [str(i) for i in range(len(captions))], captions)
    conventions = load_conventions()
    for doc, caption, record in zip(docs, captions, records, strict=True):
        tsg = TSG.model_validate(record)
        assert tsg.text == caption and all(node.span is not None for node in tsg.nodes)
        # Adverbs and temporal order stay as the rules made them.
        rules = TSG.model_validate(tsg_record(doc, "1", conventions, caption))
        for kind in ("before", "overlaps", "pred_attr"):
            assert edges(tsg, kind) == edges(rules, kind)
    assert edges(TSG.model_validate(records[0]), "before") == [("pick up", "leave")]


def edges(tsg: TSG, kind: str) -> list[tuple[str, str]]:
    return sorted(
        (tsg.nodes[e.source].label, tsg.nodes[e.target].label) for e in tsg.edges if e.type == kind
    )


def test_stage_writes_learned_records_and_redoes_them_for_another_model(
    tiny_model: Path, tmp_path: Path
) -> None:
    source = tmp_path / "c.txt"
    source.write_text("two girls smiling\na blue boat on the sand\n")
    out = tmp_path / "facts.txt"
    config = ParseTextConfig(format="factual", parser="learned", parser_model=str(tiny_model))
    summary = run_parse_text(str(source), str(out), config, quiet=True)
    assert summary.done == 2
    assert out.read_text().splitlines() == [
        "two girls smiling\t( girls , is , 2 )",
        "a blue boat on the sand\t( boat , is , blue ) , ( boat , on , sand )",
    ]
    manifest = json.loads((tmp_path / "facts.manifest.json").read_text())
    assert any(entry["path"] == str(tiny_model) for entry in manifest["inputs"])
    assert run_parse_text(str(source), str(out), config, quiet=True).skipped == 2
    # The same path with other weights: resume must not reuse the earlier records.
    other = tmp_path / "other"
    other.mkdir()
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        (other / name).write_bytes((tiny_model / name).read_bytes())
    config_file = other / CONFIG_FILE
    data = json.loads(config_file.read_text())
    data["margin"] = 99.0  # never overrule the rules
    config_file.write_text(json.dumps(data))
    moved = config.model_copy(update={"parser_model": str(other)})
    summary = run_parse_text(str(source), str(out), moved, quiet=True)
    assert summary.done == 2 and summary.skipped == 0
    assert (
        out.read_text().splitlines()[0]
        == "two girls smiling\t( girls , is , 2 ) , ( girls , is , smiling )"
    )


def test_missing_or_corrupt_model_files_are_missing_resources(
    tiny_model: Path, tmp_path: Path
) -> None:
    with pytest.raises(MissingResourceError, match="learned parser file not found"):
        load_learned_parser(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / CONFIG_FILE).write_bytes((tiny_model / CONFIG_FILE).read_bytes())
    (broken / WEIGHTS_FILE).write_bytes(b"not a torch file")
    with pytest.raises(MissingResourceError, match="not a learned parser weights file"):
        load_learned_parser(broken)
    from tests.pickles import Touch

    marker = tmp_path / "MARKER"
    weights = torch.load(tiny_model / WEIGHTS_FILE, weights_only=True)
    torch.save({**weights, "payload": Touch(marker)}, broken / WEIGHTS_FILE)
    with pytest.raises(MissingResourceError) as info:
        load_learned_parser(broken)
    assert info.value.message == (
        f"{broken / WEIGHTS_FILE}: refused: the file carries pickled objects, not plain "
        "tensors (posix.system)"
    )
    assert not marker.exists()
    (broken / WEIGHTS_FILE).write_bytes((tiny_model / WEIGHTS_FILE).read_bytes())
    (broken / CONFIG_FILE).write_text('{"format": "something else"}')
    with pytest.raises(MissingResourceError, match="not a learned parser config"):
        load_learned_parser(broken / WEIGHTS_FILE)  # a file inside the folder names it too
    wrong = json.loads((tiny_model / CONFIG_FILE).read_text())
    wrong["shape"]["dim"] = 8  # the tensors do not fit
    (broken / CONFIG_FILE).write_text(json.dumps(wrong))
    with pytest.raises(MissingResourceError, match="shape"):
        load_learned_parser(broken)


def test_alternatives_are_what_gold_writes_between_the_same_objects() -> None:
    rules = [fact_set(parse_facts("( sign , with , letters )"))] * 3 + [
        fact_set(parse_facts("( food , on , plate )"))
    ] * 3
    gold = [fact_set(parse_facts("( sign , have , letters )"))] * 3 + [
        fact_set(parse_facts("( plate , have , food )"))
    ] * 3
    assert learn_alternatives(rules, gold) == {"on": ["rev:have"], "with": ["have"]}


def test_shipped_model_loads_and_beats_the_rules_on_dev(shared_benchmarks: Path) -> None:
    """Guards against a stale asset: the shipped model must still beat the rules it edits."""
    parser = load_learned_parser()
    assert parser.path == str(default_model_path())
    dev = shared_benchmarks / "factual_tsg/data/factual_sg/random/dev.csv"
    rows = read_factual_csv(dev)[:300]
    nlp = load_nlp()
    docs = list(nlp.pipe(caption for caption, _ in rows))
    conventions = load_conventions()
    rules = evaluate_parser(None, docs, rows, conventions)
    learned = evaluate_parser(parser, docs, rows, conventions)
    assert learned.micro_f1 > rules.micro_f1 + 1.0
    assert learned.set_match >= rules.set_match
    record = parser.records(docs[:1], ["1"], [rows[0][0]])[0]
    assert record_facts(record, conventions)  # it parses


WORDS = st.sampled_from(
    [*VOCABULARY, "lady", "baby", "walking", "with", "hat", "wet", "suit", "palte"]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(
        st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=16).map(" ".join)),
        min_size=1,
        max_size=3,
    ),
    data=st.data(),
)
def test_random_text_and_any_choices_give_valid_graphs(
    texts: list[str], data: st.DataObject
) -> None:
    parser = load_learned_parser()
    nlp = load_nlp()
    docs = list(nlp.pipe(texts))
    for record, text in zip(parser.records(docs, ["1"] * len(texts), texts), texts, strict=True):
        assert TSG.model_validate(record).text == text
    for doc, text in zip(docs, texts, strict=True):
        proposal = parser.propose(doc, "1", text)
        choices = [
            data.draw(st.integers(0, len(slot.options) - 1), label=slot.kind)
            for slot in proposal.slots
        ]
        TSG.model_validate(apply_choices(proposal, choices))
