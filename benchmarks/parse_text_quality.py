"""Benchmark: parse-text's graphs on real video captions (hand-written gold) and on synth facts.

    .venv/bin/python benchmarks/parse_text_quality.py --gold GOLD.txt [--errors 20]
    .venv/bin/python benchmarks/parse_text_quality.py --synth-videos 400 --synth-seed 0
    .venv/bin/python benchmarks/parse_text_quality.py --spans MSRVTT_1KA.json

``--gold``: a hand-written gold file of captions with their objects, modifier words, predicates
(verb, agents, objects), relations and order words (format in ``finsta_cli/text/scoring.py``);
the figures are the share of each found in the TSGs (docs/benchmarks.md says how the MSR-VTT
gold was written; it is data derived from MSR-VTT and is not in the repository).
``--synth-videos N --synth-seed S`` renders a ``finsta synth`` set (or reads ``--synth-data
DIR``) and counts the captions' ordered event pairs whose predicates get the right ``before``
edge. ``--spans FILE`` (captions: MSR-VTT's JSON list, a JSONL file with ``caption``, or one per
line) counts the captions with a predicate whose character span misses its verb. ``--parser
learned`` runs the learned parser instead of the rules.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MSRVTT = REPO.parent / "shared/benchmarks/msrvtt_1ka/msrvtt_test_1k.json"
SPLITS = ("train", "val", "test", "test_unseen")


def parse(texts: list[str], parser: str) -> list[Any]:
    """TSGs of the texts, by the rules or the learned parser."""
    from finsta_cli.schema import TSG
    from finsta_cli.text import load_nlp, parse_texts

    if parser == "rules":
        return list(parse_texts(texts))
    from finsta_cli.text.learned import load_learned_parser

    learned = load_learned_parser()
    docs = list(load_nlp().pipe(texts, batch_size=256))
    ids = [str(n) for n in range(1, len(texts) + 1)]
    return [TSG.model_validate(record) for record in learned.records(docs, ids, texts)]


def read_captions(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return [str(item["caption"]) for item in json.loads(text)]
    if path.suffix == ".jsonl":
        return [str(json.loads(line)["caption"]) for line in text.splitlines() if line.strip()]
    return [line for line in text.splitlines() if line.strip()]


def synth_captions(data: Path) -> list[dict[str, Any]]:
    captions = []
    for split in SPLITS:
        path = data / f"{split}.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                captions.extend(json.loads(line)["captions"])
    return captions


def show(name: str, found: int, total: int) -> None:
    print(f"  {name:<30} {found:5d} / {total:<5d} {100 * found / max(total, 1):6.1f} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, help="hand-written gold captions (JSONL)")
    parser.add_argument("--synth-videos", type=int, help="render this many synth videos")
    parser.add_argument("--synth-seed", type=int, default=0)
    parser.add_argument("--synth-data", type=Path, help="an existing finsta synth folder")
    parser.add_argument("--spans", type=Path, help="captions to check predicate spans on")
    parser.add_argument("--parser", choices=("rules", "learned"), default="rules")
    parser.add_argument("--errors", type=int, default=0, help="list this many misses of each kind")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not (args.gold or args.synth_videos or args.synth_data or args.spans):
        parser.error("give --gold, --synth-videos / --synth-data or --spans")

    from finsta_cli.errors import InputError
    from finsta_cli.text.scoring import (
        read_gold,
        score_gold,
        score_synth_order,
        spans_off_the_verb,
    )

    figures: dict[str, Any] = {"parser": args.parser}
    if args.gold:
        try:
            items = read_gold(args.gold)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        score = score_gold(items, parse([item.text for item in items], args.parser))
        figures["gold"] = {"file": str(args.gold), **score.figures()}
        if not args.json:
            gold = score.figures()
            print(f"gold {args.gold} ({score.captions} captions), --parser {args.parser}")
            show("objects found", score.objects_found, score.objects)
            show(
                "objects predicted, in gold", score.predicted_objects_right, score.predicted_objects
            )
            show("modifier words kept", score.modifiers_kept, score.modifiers)
            show("predicates: span on the verb", score.predicates_on_verb, score.predicates)
            show("predicates: right arguments", score.predicates_right, score.predicates)
            show("relations between nouns", score.relations_right, score.relations)
            show("order words -> right edge", score.orders_right, score.orders)
            print(f"  {'order edges reversed':<30} {score.orders_reversed:5d}")
            for word, counts in gold["order"]["by_word"].items():
                print(f"    {word:<12} {counts['right']:3d} / {counts['gold']}")
            for miss in score.misses[: args.errors]:
                print(f"    miss: {json.dumps(miss, ensure_ascii=False)}")
    if args.synth_videos or args.synth_data:
        with tempfile.TemporaryDirectory() as tmp:
            data = args.synth_data
            if data is None:
                data = Path(tmp) / "synth"
                command = [sys.executable, "-m", "finsta_cli", "synth", "--out", str(data)]
                command += ["--videos", str(args.synth_videos), "--seed", str(args.synth_seed)]
                subprocess.run([*command, "-q"], check=True)
            captions = synth_captions(data)
        synth = score_synth_order(captions, parse([c["text"] for c in captions], args.parser))
        figures["synth"] = {"data": str(args.synth_data or "rendered"), **synth.figures()}
        figures["synth"].update(videos=args.synth_videos, seed=args.synth_seed)
        if not args.json:
            print(
                f"synth captions: {len(captions)}, ordered event pairs {synth.pairs}: right "
                f"{synth.right} ({100 * synth.right / max(synth.pairs, 1):.1f} %), reversed "
                f"{synth.reversed}, none {synth.none}"
            )
            print(
                f"  told as simultaneous ({synth.concurrent} pairs): overlaps "
                f"{synth.concurrent_overlaps}, before (wrong) {synth.concurrent_before}"
            )
            for template, (right, total) in sorted(synth.by_template.items()):
                print(f"  {template:<12} {right:4d} / {total}")
            for miss in synth.misses[: args.errors]:
                print(f"    {miss}")
    if args.spans:
        from finsta_cli.text import load_nlp

        texts = read_captions(args.spans)
        docs = list(load_nlp().pipe(texts, batch_size=256))
        wrong = []
        for doc, tsg in zip(docs, parse(texts, args.parser), strict=True):
            found = spans_off_the_verb(tsg, [(token.idx, token.lemma_) for token in doc])
            if found:
                wrong.append(f"{tsg.text} | {'; '.join(found)}")
        figures["spans"] = {"file": str(args.spans), "captions": len(texts), "wrong": len(wrong)}
        if not args.json:
            print(
                f"spans: {len(wrong)} of {len(texts)} captions have a predicate whose span "
                "misses its verb"
            )
            for line in wrong[: args.errors]:
                print(f"    {line}")
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
