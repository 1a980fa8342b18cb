"""Cross-edge precision / recall of build-hsg on finsta synth videos (ground truth known).

Renders a synth set, parses its captions with parse-text, and builds HSGs twice: on the
ground-truth DSGs (matching errors come from parsing and the matcher alone) and, when a DSG folder
from build-dsg is given, on detected DSGs (detection, tracking and attribute errors too).

    python benchmarks/hsg_match.py --videos 60 --seed 11 [--dsg sgs/ --data SYNTH_DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from finsta_cli.data.synth_dsg import synth_to_dsg
from finsta_cli.hsg.evaluate import CrossEdgeScore, score_pair
from finsta_cli.hsg.lexicon import load_lexicon
from finsta_cli.io import atomic_write_json, output_path
from finsta_cli.schema import HSG

SPLITS = ("train", "val", "test", "test_unseen")


def finsta(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "finsta_cli", *args, "-q"], check=True)


def records(data: Path) -> dict[str, dict]:
    out = {}
    for split in SPLITS:
        path = data / f"{split}.jsonl"
        if path.is_file():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                out[record["video_id"]] = record
    return out


def evaluate(hsg_dir: Path, truth: dict[str, dict]) -> CrossEdgeScore:
    lexicon = load_lexicon()
    total = CrossEdgeScore()
    for path in sorted(hsg_dir.glob("*--*.json")):
        hsg = HSG.model_validate_json(path.read_text())
        record = truth[hsg.video_id]
        caption = record["captions"][int(hsg.text_id.rsplit(".c", 1)[1])]
        score = score_pair(hsg, record, caption, lexicon)
        total.objects.add(score.objects)
        total.predicates.add(score.predicates)
        total.pairs += 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data", type=Path, help="an existing synth folder (else one is rendered)")
    parser.add_argument("--dsg", type=Path, help="build-dsg output for the same videos")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = args.data or root / "synth"
        if args.data is None:
            finsta(
                "synth", "--out", str(data), "--videos", str(args.videos), "--seed", str(args.seed)
            )
        truth = records(data)
        gold_dsg = root / "gold_dsg"
        with (root / "captions.jsonl").open("w") as captions:
            for video_id, record in truth.items():
                dsg = synth_to_dsg(record)
                atomic_write_json(
                    output_path(gold_dsg, video_id, ".json"), dsg.model_dump(mode="json")
                )
                for k, caption in enumerate(record["captions"]):
                    captions.write(
                        json.dumps({"id": f"{video_id}.c{k}", "text": caption["text"]}) + "\n"
                    )
        finsta("parse-text", str(root / "captions.jsonl"), "--out", str(root / "tsg.jsonl"))
        runs = {"ground-truth DSG": gold_dsg}
        if args.dsg is not None:
            runs["build-dsg DSG"] = args.dsg
        for name, dsg_dir in runs.items():
            out = root / f"hsg-{len(name)}"
            finsta(
                "build-hsg",
                "--tsg",
                str(root / "tsg.jsonl"),
                "--dsg",
                str(dsg_dir),
                "--out",
                str(out),
            )
            score = evaluate(out, truth)
            print(f"{name}: {score.pairs} pairs")
            for kind, counts in (("object", score.objects), ("predicate", score.predicates)):
                print(
                    f"  {kind} edges: precision {counts.precision:.3f} "
                    f"({counts.correct}/{counts.predicted}), "
                    f"recall {counts.recall:.3f} ({counts.found}/{counts.gold})"
                )


if __name__ == "__main__":
    main()
