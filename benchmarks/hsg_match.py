"""Cross-edge precision / recall of build-hsg on finsta synth videos (ground truth known).

Renders a synth set, parses its captions with parse-text, and builds HSGs on the ground-truth
DSGs (matching errors come from parsing and the matcher alone) and, when a DSG folder from
build-dsg is given, on detected DSGs (detection, tracking and attribute errors too). The rule
matcher always runs; ``--matcher embed`` / ``hybrid`` (with ``--host-checkpoint``) run beside it
on the same TSGs and DSGs, so the figures are side by side from one run.

    python benchmarks/hsg_match.py --videos 60 --seed 11 [--dsg sgs/ --data SYNTH_DIR]
    python benchmarks/hsg_match.py --matcher embed --matcher hybrid --host-checkpoint CKPT
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from finsta_cli.hsg.evaluate import score_hsg_folder
from finsta_cli.io import atomic_write_json, output_path
from finsta_cli.synth.dsg import synth_to_dsg

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data", type=Path, help="an existing synth folder (else one is rendered)")
    parser.add_argument("--dsg", type=Path, help="build-dsg output for the same videos")
    parser.add_argument(
        "--matcher",
        action="append",
        choices=("embed", "hybrid"),
        default=[],
        help="also run this matcher (repeatable); rules always runs",
    )
    parser.add_argument("--host-checkpoint", type=Path, help="align-train checkpoint (embed)")
    parser.add_argument("--embed-threshold", type=float, help="build-hsg --embed-threshold")
    parser.add_argument(
        "--embed-predicate-threshold", type=float, help="build-hsg --embed-predicate-threshold"
    )
    args = parser.parse_args()
    if args.matcher and args.host_checkpoint is None:
        parser.error("--matcher embed/hybrid needs --host-checkpoint")
    matchers = ["rules", *dict.fromkeys(args.matcher)]
    embed_options = ["--host-checkpoint", str(args.host_checkpoint)] if args.matcher else []
    if args.embed_threshold is not None:
        embed_options += ["--embed-threshold", str(args.embed_threshold)]
    if args.embed_predicate_threshold is not None:
        embed_options += ["--embed-predicate-threshold", str(args.embed_predicate_threshold)]
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
            for matcher in matchers:
                out = root / f"hsg-{len(name)}-{matcher}"
                start = time.perf_counter()
                finsta(
                    "build-hsg",
                    "--tsg",
                    str(root / "tsg.jsonl"),
                    "--dsg",
                    str(dsg_dir),
                    "--out",
                    str(out),
                    "--matcher",
                    matcher,
                    *(embed_options if matcher != "rules" else []),
                )
                seconds = time.perf_counter() - start
                score = score_hsg_folder(out, truth.values())
                print(f"{name}, {matcher} matcher: {score.pairs} pairs, build-hsg {seconds:.1f} s")
                for kind, counts in (("object", score.objects), ("predicate", score.predicates)):
                    print(
                        f"  {kind} edges: precision {counts.precision:.3f} "
                        f"({counts.correct}/{counts.predicted}), "
                        f"recall {counts.recall:.3f} ({counts.found}/{counts.gold})"
                    )


if __name__ == "__main__":
    main()
