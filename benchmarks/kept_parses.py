"""Benchmark: reading eval --with-graphs' kept parses as the eval now does, against the earlier way.

    .venv/bin/python benchmarks/kept_parses.py --captions 8000 --per-file 86 --rounds 5

Parses N captions (FACTUAL random/train, ../shared/benchmarks) with the rules parser, keeps
them as ``tasks.graph_eval.ParseCache`` does (one file per batch of ``--per-file`` texts: a
question's statements), and also in the earlier layout (JSONL, one ``{"text", "tsg"}`` line per
text, each read with ``json.loads`` and ``TSG.model_validate``). "now" reads as the embedder
does (``ParseCache.read`` with the cyclic garbage collector paused: ``collector_paused``),
"earlier" as it did (the JSONL, the collector running), in this process with spaCy and torch
loaded as in an eval. Rounds alternate the two readers over the same TSGs and check they give
the same ones; the ratio earlier / now of the CPU times is printed (median of rounds), and
the JSON files read with the collector running, for the format's own share.
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO.parent / "shared/benchmarks/factual_tsg/data/factual_sg/random/train.csv"


def read_jsonl(folder: Path) -> dict[str, Any]:
    """The earlier reader: a JSONL file per batch, each line parsed and validated alone."""
    from finsta_cli.schema import TSG

    found: dict[str, Any] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            record = entry["tsg"]
            found[str(entry["text"])] = None if record is None else TSG.model_validate(record)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=8000)
    parser.add_argument("--per-file", type=int, default=86)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train", type=Path, default=TRAIN, help="FACTUAL train CSV")
    args = parser.parse_args()
    if not args.train.is_file():
        print(f"skipped: {args.train} is not present", file=sys.stderr)
        return 0
    from finsta_cli.schema import TSG
    from finsta_cli.tasks.graph_eval import ParseCache, collector_paused
    from finsta_cli.text.parser import parse_texts

    with args.train.open(encoding="utf-8", newline="") as handle:
        rows = itertools.islice(csv.DictReader(handle), args.captions)
        captions = list(dict.fromkeys(" ".join(row["caption"].split()) for row in rows))
    tsgs: dict[str, TSG | None] = dict(zip(captions, parse_texts(captions), strict=True))
    with tempfile.TemporaryDirectory(prefix="finsta-kept-parses-") as tmp:
        root = Path(tmp)
        cache = ParseCache(root / "now", "fingerprint")
        earlier = root / "earlier"
        earlier.mkdir()
        texts = list(tsgs)
        for start in range(0, len(texts), args.per_file):
            batch = {text: tsgs[text] for text in texts[start : start + args.per_file]}
            cache.write(batch)
            lines = [
                json.dumps({"text": t, "tsg": None if g is None else g.model_dump(mode="json")})
                for t, g in batch.items()
            ]
            (earlier / f"{start:08d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        cpu_of: dict[str, list[float]] = {"now": [], "earlier": [], "json, collector on": []}
        for n in range(args.rounds):
            for arm in list(cpu_of) if n % 2 == 0 else list(cpu_of)[::-1]:
                cpu = time.process_time()
                if arm == "now":
                    with collector_paused():
                        found = cache.read()
                else:
                    found = cache.read() if arm.startswith("json") else read_jsonl(earlier)
                cpu_of[arm].append(time.process_time() - cpu)
                if found != tsgs:
                    print(f"{arm}: not the TSGs written", file=sys.stderr)
                    return 1
                del found
        now_cpu, earlier_cpu = cpu_of["now"], cpu_of["earlier"]
    ratios = [e / n for e, n in zip(earlier_cpu, now_cpu, strict=True)]
    files = -(-len(texts) // args.per_file)
    print(f"{len(texts)} texts in {files} files; CPU s per read (median of {args.rounds} rounds):")
    print(f"  now (JSON, collector paused):      {statistics.median(now_cpu):.3f}")
    print(f"  earlier (JSONL, a line at a time): {statistics.median(earlier_cpu):.3f}")
    json_on = statistics.median(cpu_of["json, collector on"])
    print(f"  JSON, collector on:                {json_on:.3f}")
    rounds = [round(r, 2) for r in ratios]
    print(f"earlier / now: {statistics.median(ratios):.2f} (rounds {rounds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
