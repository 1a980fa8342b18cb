"""Benchmark: the rule parser's own time per caption (after spaCy), this checkout against another.

    .venv/bin/python benchmarks/parse_rules.py --captions 20000 --synth SYNTH [--before CHECKOUT]

The captions are up to N/2 synth captions (``--synth``: a ``finsta synth`` folder, its videos
in order) and FACTUAL random/train's first ones for the rest (../shared/benchmarks). Each arm is a
worker process with its checkout's ``finsta_cli`` first on ``sys.path``: it parses the captions
with spaCy once, as parse-text runs it (``nlp.pipe`` without the lemmatizer and attribute
ruler, whose outputs :class:`LemmaCache` supplies), untimed, then on each round turns fresh
copies of those Docs into TSG records (``parser.tsg_record``: the attribute and lemma memo,
token copies, repairs, the graph) and reports the CPU and wall time of that alone. A warm-up
round fills the memos first, as a long parse-text run has them. Rounds alternate between the
arms (other jobs share the cores), and the ratio before / now is printed as the median of the
per-round ratios and as the ratio of total CPU times. The records of the last round are
compared line by line as parse-text writes them (JSON): the script fails when any differs.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO.parent / "shared/benchmarks/factual_tsg/data/factual_sg/random/train.csv"


def load_captions(train: Path, synth: Path | None, count: int) -> tuple[list[str], int]:
    """N captions, up to N/2 of them synth ones (after the FACTUAL ones), and how many are."""
    synth_captions: list[str] = []
    if synth is not None:
        for path in sorted((synth / "annotations").glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            synth_captions.extend(caption["text"] for caption in record["captions"])
            if len(synth_captions) >= count // 2:
                break
        synth_captions = synth_captions[: count // 2]
    with train.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        real = [row["caption"] for row in itertools.islice(rows, count - len(synth_captions))]
    # One caption per line: newlines inside a caption would split it.
    return [" ".join(caption.split()) for caption in real + synth_captions], len(synth_captions)


def worker(captions_file: Path, records_file: Path) -> int:
    """One arm: parse once, then answer "round" (time the rules) and "dump" on stdin."""
    from finsta_cli.text.conventions import load_conventions
    from finsta_cli.text.parser import load_nlp, tsg_record
    from finsta_cli.text.tokens import LemmaCache

    captions = captions_file.read_text(encoding="utf-8").splitlines()
    nlp = load_nlp()
    lemmas = LemmaCache(nlp, attribute_ruler=True)
    conventions = load_conventions()
    parsed = list(nlp.pipe(captions, batch_size=256, disable=lemmas.skipped_components))
    gc.collect()
    gc.freeze()  # as parse-text does: the model's objects are not scanned again

    def records() -> tuple[list[dict[str, Any]], float, float]:
        docs = [doc.copy() for doc in parsed]  # the memo writes into the Doc: fresh ones
        wall, cpu = time.perf_counter(), time.process_time()
        out = [
            tsg_record(doc, str(n), conventions, text, lemmas)
            for n, (doc, text) in enumerate(zip(docs, captions, strict=True))
        ]
        return out, time.process_time() - cpu, time.perf_counter() - wall

    last, _, _ = records()  # warm-up: the memos filled
    print(json.dumps({"ready": len(captions)}), flush=True)
    for command in sys.stdin:
        if command.strip() == "round":
            last, cpu, wall = records()
            print(json.dumps({"cpu": cpu, "wall": wall}), flush=True)
        elif command.strip() == "dump":
            with records_file.open("w", encoding="utf-8") as handle:
                for record in last:
                    handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                    handle.write("\n")
            print(json.dumps({"dumped": str(records_file)}), flush=True)
    return 0


class Arm:
    def __init__(self, name: str, checkout: Path, captions: Path, tmp: Path) -> None:
        self.name = name
        self.records = tmp / f"{name}.jsonl"
        env = dict(os.environ, PYTHONPATH=str(checkout))
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(captions)]
        command += ["--records", str(self.records)]
        # The worker imports finsta_cli from its checkout: run it from there.
        self.process = subprocess.Popen(
            command, cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        if command:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: the worker stopped")
        return dict(json.loads(line))

    def round(self) -> None:
        answer = self.ask("round")
        self.cpu.append(answer["cpu"])
        self.wall.append(answer["wall"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train", type=Path, default=TRAIN, help="FACTUAL train CSV")
    parser.add_argument("--synth", type=Path, help="a finsta synth folder: half the captions")
    parser.add_argument("--before", type=Path, help="another checkout, timed side by side")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        return worker(args.worker, args.records)
    if not args.train.is_file():
        print(f"skipped: {args.train} is not present", file=sys.stderr)
        return 0
    captions, synth_count = load_captions(args.train, args.synth, args.captions)
    with tempfile.TemporaryDirectory(prefix="finsta-parse-rules-") as folder:
        tmp = Path(folder)
        source = tmp / "captions.txt"
        source.write_text("\n".join(captions) + "\n", encoding="utf-8")
        arms = [Arm("now", REPO, source, tmp)]
        if args.before is not None:
            arms.append(Arm("before", args.before.resolve(), source, tmp))
        for arm in arms:
            arm.ask("")  # ready: parsed and warmed up
        for n in range(args.rounds):
            for arm in arms if n % 2 == 0 else arms[::-1]:
                arm.round()
        for arm in arms:
            arm.ask("dump")
        digests = {arm.name: digest(arm.records) for arm in arms}
        different = 0
        if len(arms) == 2:
            now_lines = arms[0].records.read_text(encoding="utf-8").splitlines()
            before_lines = arms[1].records.read_text(encoding="utf-8").splitlines()
            different = sum(a != b for a, b in zip(now_lines, before_lines, strict=True))
        for arm in arms:
            arm.close()
    count = len(captions)
    figures: dict[str, Any] = {
        "captions": count,
        "synth_captions": synth_count,
        "rounds": args.rounds,
        "records_sha256": digests,
        "records_different": different,
    }
    for arm in arms:
        figures[f"{arm.name}_ms_per_caption_cpu"] = [
            round(1000 * cpu / count, 4) for cpu in arm.cpu
        ]
        figures[f"{arm.name}_ms_per_caption_cpu_median"] = round(
            1000 * statistics.median(arm.cpu) / count, 4
        )
    if len(arms) == 2:
        now, before = arms
        ratios = [b / a for a, b in zip(now.cpu, before.cpu, strict=True)]
        figures["ratio_before_over_now_median_of_rounds"] = round(statistics.median(ratios), 3)
        figures["ratio_before_over_now_cpu_total"] = round(sum(before.cpu) / sum(now.cpu), 3)
        figures["round_ratios"] = [round(r, 3) for r in ratios]
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        real = count - synth_count
        print(f"captions: {count} ({synth_count} synth, {real} FACTUAL random/train)")
        for arm in arms:
            rounds = ", ".join(f"{v:.3f}" for v in figures[f"{arm.name}_ms_per_caption_cpu"])
            print(
                f"{arm.name:>6}: {figures[f'{arm.name}_ms_per_caption_cpu_median']:.3f} CPU-ms per "
                f"caption (median; rounds {rounds})"
            )
        if len(arms) == 2:
            print(
                f"before / now: {figures['ratio_before_over_now_median_of_rounds']:.3f} (median "
                f"of rounds {figures['round_ratios']}), CPU total "
                f"{figures['ratio_before_over_now_cpu_total']:.3f}"
            )
            print(f"records different: {different} of {count}; sha256 {digests}")
    return 1 if different else 0


if __name__ == "__main__":
    raise SystemExit(main())
