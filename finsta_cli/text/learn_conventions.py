"""Learning FACTUAL's naming conventions (:class:`Conventions`) from its train split.

:func:`learn_conventions` counts the annotators' decisions on ``(caption, scene_graph)`` rows;
the result ships as ``assets/text/factual_conventions.json``. Regenerate it from a FACTUAL
checkout with::

    python -m finsta_cli.text.learn_conventions FACTUAL/data/factual_sg/random/train.csv

Only train is read: dev is for measuring, test is kept back.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from finsta_cli.text.conventions import Conventions, conventions_path
from finsta_cli.text.factual import parse_facts, read_factual_csv, tsg_to_facts
from finsta_cli.text.parser import load_nlp, parse_docs
from finsta_cli.text.words import NUMBER_WORDS

# A decision is kept only when seen this often and when it wins this share of the votes.
MIN_COUNT = 2
MIN_SHARE = 0.5


def _decide(votes: Mapping[str, Counter[str]], *, min_count: int = MIN_COUNT) -> dict[str, str]:
    decided: dict[str, str] = {}
    for key, counter in votes.items():
        total = sum(counter.values())
        choice, count = counter.most_common(1)[0]
        if total >= min_count and count / total > MIN_SHARE:
            decided[key] = choice
    return decided


def _rewrites(votes: Mapping[str, Counter[str]], min_count: int = 3) -> dict[str, str]:
    """Keep ``key -> choice`` where gold writes ``choice`` clearly more often than the key.

    A key ``"pred|object"`` is a rewrite for that object only; its identity is ``pred``.
    """
    decided: dict[str, str] = {}
    for key, counter in votes.items():
        base = key.split("|", 1)[0]
        choice, count = counter.most_common(1)[0]
        if choice != base and count >= min_count and count > 2 * counter.get(base, 0):
            decided[key] = choice
    return decided


def learn_conventions(
    rows: Iterable[tuple[str, str]], *, batch_size: int = 512, spacy_model: str | None = None
) -> Conventions:
    """Count FACTUAL's decisions on ``(caption, scene_graph)`` rows (the train split).

    Two passes: modifier and "of" decisions are read from the spaCy parse against the gold
    facts; then the parser runs with them, and names and predicates that it writes differently
    from the aligned gold fact are counted as rewrites.
    """
    data = [(caption, parse_facts(graph)) for caption, graph in rows]
    nlp = load_nlp(spacy_model)
    docs = list(nlp.pipe((caption for caption, _ in data), batch_size=batch_size))

    modifier_votes: dict[str, Counter[str]] = defaultdict(Counter)
    pair_votes: dict[str, Counter[str]] = defaultdict(Counter)
    of_votes: dict[str, Counter[str]] = defaultdict(Counter)
    verb_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for doc, (_, facts) in zip(docs, data, strict=True):
        names = {part for fact in facts for part in (fact[0], fact[-1])}
        attrs = {(fact[0], fact[2]) for fact in facts if len(fact) == 3 and fact[1] == "is"}
        relations = {(fact[0], fact[2]): fact[1] for fact in facts if len(fact) == 3}
        for token in doc:
            head = token.head
            if token.dep_ in ("amod", "compound", "nummod") and head.pos_ in ("NOUN", "PROPN"):
                modifier, head_text = token.lower_, head.lower_
                value = str(NUMBER_WORDS.get(modifier, modifier))
                phrase = f" {modifier} {head_text} "
                if any(phrase in f" {name} " for name in names):
                    decision = "merge"
                elif (head_text, value) in attrs or any(
                    name.endswith(head_text) and attr == value for name, attr in attrs
                ):
                    decision = "attribute"
                elif relations.get((modifier, head_text)) == "have":
                    decision = "have"
                elif head_text in names or any(n.endswith(" " + head_text) for n in names):
                    decision = "drop"
                else:
                    continue  # the head itself is gone: no evidence about the modifier
                modifier_votes[f"{token.dep_}:{modifier}"][decision] += 1
                pair_votes[f"{modifier} {head_text}"][decision] += 1
            if token.lower_ == "of" and token.dep_ == "prep" and head.pos_ in ("NOUN", "PROPN"):
                objects = [child for child in token.children if child.dep_ == "pobj"]
                if not objects:
                    continue
                x, y = head.lower_, objects[0].lower_
                if (y, x) in relations:
                    of_votes[x]["rev:" + relations[(y, x)]] += 1
                elif (x, y) in relations:
                    of_votes[x]["fwd:" + relations[(x, y)]] += 1
                elif x not in names and y in names:
                    of_votes[x]["drop"] += 1
            if token.tag_.startswith("VB") and token.pos_ in ("VERB", "AUX"):
                # FACTUAL's lemma of this verb form: the predicate word it writes.
                verbs = {fact[1].split(" ")[0] for fact in facts if len(fact) == 3}
                if token.lemma_.lower() in verbs:
                    verb_votes[token.lower_][token.lemma_.lower()] += 1
                else:
                    close = [v for v in verbs if v[:3] == token.lower_[:3] and v != "is"]
                    if len(close) == 1:
                        verb_votes[token.lower_][close[0]] += 1
    noun_counts: Counter[str] = Counter(
        name.split(" ")[-1]
        for _, facts in data
        for fact in facts
        for name in ((fact[0],) if len(fact) == 3 and fact[1] == "is" else (fact[0], fact[-1]))
    )
    overall_of: Counter[str] = Counter()
    for counter in of_votes.values():
        overall_of.update(counter)
    compound_votes: Counter[str] = Counter()
    for key, counter in modifier_votes.items():
        if key.startswith("compound:"):
            compound_votes.update(counter)
    conventions = Conventions(
        modifiers=_decide(modifier_votes),
        default_compound=compound_votes.most_common(1)[0][0] if compound_votes else "merge",
        verb_lemmas={
            form: lemma for form, lemma in _decide(verb_votes, min_count=3).items() if form != lemma
        },
        pairs={
            key: value
            for key, value in _decide(pair_votes).items()
            if value != _decide(modifier_votes).get(key.split(" ", 1)[0], "")
        },
        of_heads=_decide(of_votes),
        default_of=overall_of.most_common(1)[0][0] if overall_of else "rev:have",
        nouns=frozenset(word for word, count in noun_counts.items() if count >= 3),
    )
    # Second pass: parse with those decisions; align each predicted relation with gold.
    object_votes: dict[str, Counter[str]] = defaultdict(Counter)
    predicate_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for index, tsg in enumerate(parse_docs(docs, conventions=conventions)):
        gold = [fact for fact in data[index][1] if len(fact) == 3]
        for fact in tsg_to_facts(tsg, drop_attribute=conventions.drops_attribute):
            if len(fact) != 3:
                continue
            subject, predicate, obj = fact
            for g_subject, g_predicate, g_obj in gold:
                if g_subject == subject and g_obj == obj:
                    predicate_votes[predicate][g_predicate] += 1
                    predicate_votes[f"{predicate}|{obj}"][g_predicate] += 1
                if g_predicate == predicate and predicate != "is":
                    if g_obj == obj:
                        object_votes[subject][g_subject] += 1
                    if g_subject == subject:
                        object_votes[obj][g_obj] += 1
    conventions.object_names = _rewrites(object_votes)
    conventions.predicate_names = _rewrites(predicate_votes)
    # "a man in a dress": FACTUAL writes "wear" for clothes; extend the rewrite to every
    # object it writes as worn, unless the votes for that object say otherwise.
    worn = Counter(
        fact[2] for _, facts in data for fact in facts if len(fact) == 3 and fact[1] == "wear"
    )
    for garment, count in worn.items():
        for preposition in ("in", "with"):
            key = f"{preposition}|{garment}"
            votes = predicate_votes.get(key, Counter())
            if (
                count >= 3
                and key not in conventions.predicate_names
                and (votes["wear"] >= votes[preposition])
            ):
                conventions.predicate_names[key] = "wear"
    return conventions


def main(argv: list[str] | None = None) -> int:
    """``python -m finsta_cli.text.learn_conventions TRAIN.csv [OUT.json]``."""
    from finsta_cli.io.atomic import atomic_write_json

    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stderr.write(
            "usage: python -m finsta_cli.text.learn_conventions TRAIN.csv [OUT.json]\n"
        )
        return 2
    out = Path(args[1]) if len(args) > 1 else conventions_path()
    conventions = learn_conventions(read_factual_csv(args[0]))
    atomic_write_json(out, conventions.to_json())
    sys.stderr.write(
        f"wrote {out}: {len(conventions.modifiers)} modifiers, {len(conventions.pairs)} pairs, "
        f"{len(conventions.of_heads)} 'of' heads, {len(conventions.object_names)} names, "
        f"{len(conventions.predicate_names)} predicates\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
