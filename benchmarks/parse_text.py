"""Benchmark: `finsta parse-text` captions/s against bare spaCy `nlp.pipe`, side by side in one run.

    .venv/bin/python benchmarks/parse_text.py --captions 10000 [--parser learned]

Both run over the same captions (the first N of FACTUAL random/train from
../shared/benchmarks) with the same spaCy pipeline and components (the parser's: NER and the
rest excluded) and the same batch size. "bare" only runs `nlp.pipe` and drops the Docs;
"parse-text" is the whole stage as the command runs it: reading the caption file, `nlp.pipe`,
the rules, TSG records validated and written as JSONL, the resume ledger and the manifest (the
stage gets the lemmatizer's lemmas from a cache instead of running that component in
`nlp.pipe`: same lemmas, computed once per word, POS and morphology).
Rounds alternate between the two; the ratio parse-text / bare (captions/s) is reported as the
median of the per-round ratios, since other processes share the cores (goal >= 0.9). The best
rate of each and the ratio of total CPU times are printed beside it.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO.parent / "shared/benchmarks/factual_tsg/data/factual_sg/random/train.csv"


def load_captions(path: Path, count: int) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row["caption"] for row in itertools.islice(csv.DictReader(handle), count)]
    # One caption per line: newlines inside a caption would split it.
    return [" ".join(caption.split()) for caption in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train", type=Path, default=TRAIN, help="FACTUAL train CSV")
    parser.add_argument(
        "--parser", choices=("rules", "learned"), default="rules", help="parse-text --parser"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.train.is_file():
        print(f"skipped: {args.train} is not present", file=sys.stderr)
        return 0

    from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text
    from finsta_cli.text.parser import load_nlp

    captions = load_captions(args.train, args.captions)
    nlp = load_nlp()
    config = ParseTextConfig(batch_size=args.batch_size, parser=args.parser)
    for _ in nlp.pipe(captions[:500], batch_size=args.batch_size):  # warm caches
        pass
    bare_wall: list[float] = []
    stage_wall: list[float] = []
    bare_cpu: list[float] = []
    stage_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "captions.txt"
        source.write_text("\n".join(captions) + "\n", encoding="utf-8")
        out = Path(tmp) / "tsg.jsonl"
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            for _doc in nlp.pipe(captions, batch_size=args.batch_size):
                pass
            bare_wall.append(time.perf_counter() - wall)
            bare_cpu.append(time.process_time() - cpu)
            wall, cpu = time.perf_counter(), time.process_time()
            summary = run_parse_text(str(source), str(out), config, force=True, quiet=True)
            stage_wall.append(time.perf_counter() - wall)
            stage_cpu.append(time.process_time() - cpu)
            if summary.done != len(captions):
                print(f"parse-text wrote {summary.done} of {len(captions)}", file=sys.stderr)
                return 1
    n = len(captions)
    # Other processes share these cores: each round's ratio compares two neighbouring runs,
    # and the median of those ratios is the figure least moved by load changing over time.
    ratios = [b / s for b, s in zip(bare_wall, stage_wall, strict=True)]
    figures = {
        "captions": n,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "components": nlp.pipe_names,
        "parser": args.parser,
        "bare_nlp_pipe_captions_per_s": round(n / min(bare_wall), 1),
        "parse_text_captions_per_s": round(n / min(stage_wall), 1),
        "ratio_median_of_rounds": round(statistics.median(ratios), 3),
        "ratio_best_rates": round(min(bare_wall) / min(stage_wall), 3),
        "ratio_cpu_time": round(sum(bare_cpu) / sum(stage_cpu), 3),
        "round_ratios": [round(r, 3) for r in ratios],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"captions: {n} (FACTUAL random/train), batch {args.batch_size}, {args.rounds} rounds, "
            f"--parser {args.parser}"
        )
        print(f"components: {', '.join(nlp.pipe_names)}")
        print(
            f"bare nlp.pipe: {figures['bare_nlp_pipe_captions_per_s']:8.1f} captions/s (best round)"
        )
        print(f"parse-text:    {figures['parse_text_captions_per_s']:8.1f} captions/s (best round)")
        print(f"ratio parse-text / bare, median of rounds: {figures['ratio_median_of_rounds']:.3f}")
        print(
            f"  per round: {figures['round_ratios']}; best rates: "
            f"{figures['ratio_best_rates']:.3f}; CPU time: {figures['ratio_cpu_time']:.3f} "
            "(goal >= 0.9)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
