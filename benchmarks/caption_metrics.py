"""Captioning metrics: the speed of both routes, and how far the pure-Python route is from
pycocoevalcap on real captions.

``speed`` scores generated captions (VIDEOS x REFS references, words drawn from a Zipf-like
vocabulary) with the pure-Python route (tokenizer, BLEU, ROUGE-L, CIDEr-D, and end to end) and
with pycocoevalcap's PTB tokenizer, Bleu, Rouge and Cider; METEOR is timed apart, on the first
``--meteor-videos`` videos (its JVM loads paraphrase tables first)::

    python benchmarks/caption_metrics.py speed --videos 10000 --refs 20 --meteor-videos 1000

``agreement`` reads real English captions (MSR-VTT 1k-A, FACTUAL's Visual Genome region
captions) from ``--benchmarks``, tokenizes them with the PTB jar and with
:mod:`finsta_cli.captioning.ptb`, counts the captions tokenized differently, and scores two caption
sets on both token sets: FACTUAL images with 2+ regions (prediction: the first region's caption,
references: the others) and MSR-VTT 1k-A (prediction: the video's caption, references: 5 captions
of its category, seeded); and, as a held-out check of the tokenizer (its rules were checked
on those captions), English texts it was not tuned on: NExT-QA questions and answer options and
ActivityNet-QA questions grouped by video, Something-Else labels by template (scored the same
way, first text as the prediction). ``--check-reference`` also runs pycocoevalcap's own Bleu, Rouge
and Cider on the PTB tokens and prints how far the Python metrics are from them::

    python benchmarks/caption_metrics.py agreement --check-reference
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from finsta_cli.captioning import metrics  # noqa: E402
from finsta_cli.captioning.ptb import tokenize  # noqa: E402

METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider")


def _timed(label: str, func: Callable[[], Any], times: dict[str, float]) -> Any:
    """Run ``func``; print its wall time and the CPU time of this process and of the children
    (the JVMs) it waited for: on a shared machine the CPU times are the steadier figures."""
    start, cpu = time.perf_counter(), os.times()
    value = func()
    end = os.times()
    times[label] = time.perf_counter() - start
    own = end.user + end.system - cpu.user - cpu.system
    children = end.children_user + end.children_system - cpu.children_user - cpu.children_system
    print(f"  {label:<28} wall {times[label]:7.2f} s  cpu {own:7.2f} s  jvm cpu {children:6.2f} s",
          flush=True)  # fmt: skip
    return value


def generated_captions(
    videos: int, refs: int, seed: int = 0
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """References and predictions of 6-14 words from a 3,000-word vocabulary (Zipf-like)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 8))) for _ in range(3000)]
    weights = [1 / (rank + 1) for rank in range(len(vocab))]

    def caption() -> str:
        return " ".join(rng.choices(vocab, weights, k=rng.randint(6, 14)))

    references = {f"video{i}": [caption() for _ in range(refs)] for i in range(videos)}
    return references, {v: caption() for v in references}


def speed(args: argparse.Namespace) -> None:
    references, predictions = generated_captions(args.videos, args.refs)
    print(f"{args.videos} videos x {args.refs} references, 1 prediction each")
    times: dict[str, float] = {}
    print("python route")
    refs = _timed(
        "tokenize",
        lambda: [[tuple(tokenize(t)) for t in references[v]] for v in references],
        times,
    )
    hyps = [tuple(tokenize(predictions[v])) for v in references]
    _timed("bleu 1-4", lambda: metrics.bleu_scores(refs, hyps), times)
    _timed("rouge-l", lambda: metrics.rouge_l_score(refs, hyps), times)
    _timed("cider-d", lambda: metrics.cider_d_score(refs, hyps), times)
    ours = _timed(
        "score_captions (end to end)",
        lambda: metrics.score_captions(references, predictions, backend="python"),
        times,
    )
    if not (metrics.java_available() and metrics.pycocoevalcap_available()):
        print("pycocoevalcap route: skipped (needs pycocoevalcap and java)")
        return
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    print("pycocoevalcap route")

    def ptb() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        with metrics.quiet_output():
            tokenizer = PTBTokenizer()
            gts = tokenizer.tokenize(
                {v: [{"caption": c} for c in r] for v, r in references.items()}
            )
            res = tokenizer.tokenize({v: [{"caption": c}] for v, c in predictions.items()})
        return gts, res

    gts, res = _timed("ptb tokenizer (jvm)", ptb, times)
    bleu = _timed("bleu 1-4", lambda: Bleu(4).compute_score(gts, res, verbose=0)[0], times)
    rouge = _timed("rouge-l", lambda: Rouge().compute_score(gts, res)[0], times)
    cider = _timed("cider-d", lambda: Cider().compute_score(gts, res)[0], times)
    theirs = dict(zip(METRICS, [*bleu, rouge, cider], strict=True))
    print("  max |python - pycocoevalcap|: "
          f"{max(abs(getattr(ours, m) - theirs[m]) for m in METRICS):.2e}")  # fmt: skip
    if args.meteor_videos:
        subset = list(references)[: args.meteor_videos]

        def meteor() -> float:
            with metrics.quiet_output():
                return float(
                    Meteor().compute_score(
                        {v: gts[v] for v in subset}, {v: res[v] for v in subset}
                    )[0]
                )

        _timed(f"meteor ({len(subset)} videos)", meteor, times)


def _real_captions(benchmarks: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Caption groups: FACTUAL region captions by image, MSR-VTT 1k-A captions by category."""
    factual = benchmarks / "factual_tsg" / "data" / "factual_sg"
    by_image: dict[str, list[str]] = defaultdict(list)
    for name in ("random/dev.csv", "length/dev.csv", "random/train.csv"):
        with open(factual / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                by_image[row["image_id"]].append(row["caption"])
    msrvtt = json.loads((benchmarks / "msrvtt_1ka" / "msrvtt_test_1k.json").read_text())
    by_category: dict[int, list[str]] = defaultdict(list)
    for record in msrvtt:
        by_category[record["category"]].append(record["caption"])
    rng = random.Random(0)
    msrvtt_sets = []
    for record in msrvtt:
        others = [c for c in by_category[record["category"]] if c != record["caption"]]
        msrvtt_sets.append([record["caption"], *rng.sample(others, min(5, len(others)))])
    return [group for group in by_image.values() if len(group) >= 2], msrvtt_sets


def _held_out_texts(benchmarks: Path) -> list[list[str]]:
    """English text the tokenizer's rules were not tuned on, grouped by video: NExT-QA
    questions and answer options, ActivityNet-QA questions, Something-Else labels by template."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in ("val.csv", "test.csv"):
        with open(benchmarks / "nextqa" / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                texts = [row["question"]] + [row[f"a{k}"] for k in range(5)]
                groups["nextqa/" + row["video"]] += texts
    questions = json.loads((benchmarks / "activitynet_qa" / "test_q.json").read_text())
    for record in questions:
        groups["anet/" + record["video_name"]].append(record["question"])
    labels = json.loads((benchmarks / "something_else_ssv2" / "labels_known.json").read_text())
    for record in labels.values():
        groups["ssv2/" + record["template"]] += [record["template"], record["label"]]
    return [list(dict.fromkeys(g)) for g in groups.values() if len(set(g)) >= 2]


def agreement(args: argparse.Namespace) -> None:
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    factual_sets, msrvtt_sets = _real_captions(args.benchmarks)
    held_out = _held_out_texts(args.benchmarks)
    captions = sorted({c for group in factual_sets + msrvtt_sets + held_out for c in group})
    with metrics.quiet_output():
        jar = PTBTokenizer().tokenize(
            {str(i): [{"caption": " ".join(c.split())}] for i, c in enumerate(captions)}
        )
    ptb_tokens = {c: tuple(jar[str(i)][0].split()) for i, c in enumerate(captions)}
    our_tokens = {c: tuple(tokenize(c)) for c in captions}
    tuned = {c for group in factual_sets + msrvtt_sets for c in group}
    differ = [c for c in captions if ptb_tokens[c] != our_tokens[c]]
    for label, chosen in (("captions (the rules were checked on these)", tuned),
                          ("held-out texts", set(captions) - tuned)):  # fmt: skip
        count = sum(1 for c in differ if c in chosen)
        print(f"{len(chosen)} distinct {label}: {count} tokenized differently")
    for caption in differ[:10]:
        print(f"  {caption!r}: ptb {' '.join(ptb_tokens[caption])!r}, "
              f"ours {' '.join(our_tokens[caption])!r}")  # fmt: skip
    named = (("FACTUAL images", factual_sets), ("MSR-VTT 1k-A", msrvtt_sets),
             ("held-out QA/labels", held_out))  # fmt: skip
    for name, sets in named:
        scores = {}
        for label, tokens in (("ptb", ptb_tokens), ("python", our_tokens)):
            refs = [[tokens[c] for c in group[1:]] for group in sets]
            hyps = [tokens[group[0]] for group in sets]
            bleu = metrics.bleu_scores(refs, hyps)
            values = [*bleu, metrics.rouge_l_score(refs, hyps), metrics.cider_d_score(refs, hyps)]
            scores[label] = dict(zip(METRICS, values, strict=True))
        print(f"{name}: {len(sets)} videos")
        for metric in METRICS:
            ptb, ours = scores["ptb"][metric], scores["python"][metric]
            print(f"  {metric:<8} ptb tokens {ptb:.6f}  python tokens {ours:.6f}  "
                  f"|diff| {abs(ptb - ours):.2e}")  # fmt: skip
        if args.check_reference:
            _check_reference(sets, ptb_tokens, scores["ptb"])


def _check_reference(
    sets: list[list[str]], tokens: dict[str, tuple[str, ...]], ours: dict[str, float]
) -> None:
    """pycocoevalcap's Bleu, Rouge and Cider on the PTB tokens vs the Python metrics on them."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {str(i): [" ".join(tokens[c]) for c in group[1:]] for i, group in enumerate(sets)}
    res = {str(i): [" ".join(tokens[group[0]])] for i, group in enumerate(sets)}
    bleu = Bleu(4).compute_score(gts, res, verbose=0)[0]
    values = [*bleu, Rouge().compute_score(gts, res)[0], Cider().compute_score(gts, res)[0]]
    worst = max(abs(float(v) - ours[m]) for m, v in zip(METRICS, values, strict=True))
    print(f"  pycocoevalcap on the same tokens: max |diff| {worst:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    speed_parser = commands.add_parser("speed")
    speed_parser.add_argument("--videos", type=int, default=10_000)
    speed_parser.add_argument("--refs", type=int, default=20)
    speed_parser.add_argument("--meteor-videos", type=int, default=1000)
    agreement_parser = commands.add_parser("agreement")
    agreement_parser.add_argument(
        "--benchmarks", type=Path, default=REPO.parent / "shared" / "benchmarks"
    )
    agreement_parser.add_argument("--check-reference", action="store_true")
    args = parser.parse_args()
    speed(args) if args.command == "speed" else agreement(args)


if __name__ == "__main__":
    main()
