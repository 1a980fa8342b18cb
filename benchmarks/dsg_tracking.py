"""Benchmark: track consistency (IDF1) of build-dsg's two trackers on sparse keyframes.

    nice -n 5 .venv/bin/python benchmarks/dsg_tracking.py --synth data/synth-eval

Side by side in one run, `--tracker hungarian` vs `--tracker bytetrack` on the same boxes:

- synth (the test split of --synth, or 40 freshly rendered videos' test + val splits) with
  ground-truth boxes, at --frames 16 (every other frame or denser) and --frames 6 (sparse);
- synth with the detector's boxes (a build-dsg run with --weights, turned into a detections
  file, so both trackers see the same boxes; appearance is the box colour, no region features);
- Something-Else (../shared/benchmarks/something_else_ssv2, real SSv2 clips): its object boxes
  (hands left out: two hands share one category) without their ids, at --frames 16 and at every
  annotated frame, scored against the ids of the annotation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from finsta_cli.schema.dsg import DSG
from finsta_cli.synth.records import ground_truth_dsg
from finsta_cli.tasks.dsg_eval import evaluate_dsg
from finsta_cli.video.detect import detection_lines
from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

REPO = Path(__file__).resolve().parent.parent
SOMETHING_ELSE = REPO.parent / "shared" / "benchmarks" / "something_else_ssv2"
TRACKERS = ("hungarian", "bytetrack")


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")
    return path


def idf1(inputs: list[Path], gold: Path, root: Path, name: str, **options: Any) -> float:
    out = root / name
    summary = run_build_dsg(inputs, out, BuildDSGConfig(device="cpu", **options), quiet=True)
    if summary.failed:
        raise SystemExit(f"{name}: {summary.failed} videos failed ({summary.failures})")
    metrics, _ = evaluate_dsg(gold, out)
    return metrics.idf1


def something_else_gold(root: Path) -> tuple[Path, Path] | None:
    """Gold DSG records (objects only, annotated ids) and a detections file without ids."""
    annotations = SOMETHING_ELSE / "annotations.json"
    if not annotations.is_file():
        return None
    data = json.loads(annotations.read_text())
    gold = root / "se-gold"
    gold.mkdir()
    lines = []
    for video_id, frames in data.items():
        folder = SOMETHING_ELSE / "videos" / video_id
        from PIL import Image

        with Image.open(sorted(folder.glob("*.jpg"))[0]) as first:
            width, height = first.size
        dsg_frames = []
        for frame in sorted(frames, key=lambda f: f["name"]):
            index = int(Path(frame["name"]).stem) - 1
            objects = []
            for label in frame["labels"]:
                if not str(label["standard_category"]).isdigit():
                    continue
                b = label["box2d"]
                box = [
                    min(max(b["x1"] / width, 0.0), 1.0),
                    min(max(b["y1"] / height, 0.0), 1.0),
                    min(max(b["x2"] / width, 0.0), 1.0),
                    min(max(b["y2"] / height, 0.0), 1.0),
                ]
                box = [
                    min(box[0], box[2]),
                    min(box[1], box[3]),
                    max(box[0], box[2]),
                    max(box[1], box[3]),
                ]
                objects.append(
                    {
                        "track_id": int(label["standard_category"]),
                        "label": str(label["category"]),
                        "score": 1.0,
                        "box": box,
                    }
                )
            if len({o["track_id"] for o in objects}) != len(objects):
                continue  # an annotation slip: one id twice in a frame
            dsg_frames.append({"index": index, "time": index / 12.0, "objects": objects})
        dsg_frames.sort(key=lambda f: f["index"])
        record = DSG.model_validate({"video_id": video_id, "frames": dsg_frames})
        (gold / f"{video_id}.json").write_text(record.model_dump_json())
        lines += detection_lines(record)
    return gold, write_lines(root / "se-detections.jsonl", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, help="a finsta synth folder (its test split)")
    parser.add_argument("--weights", help="detector checkpoint [the shipped one]")
    parser.add_argument("--seed", type=int, default=4242)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="finsta-bench-track-"))
    rows: dict[str, dict[str, float]] = {}
    try:
        if args.synth is None:
            from finsta_cli.synth.generate import SynthConfig, generate_dataset

            args.synth = root / "synth"
            generate_dataset(SynthConfig(videos=40, seed=args.seed), args.synth, quiet=True)
        split = args.synth / "test.jsonl"
        records = [json.loads(line) for line in split.open()]
        gt_lines = [line for r in records for line in detection_lines(ground_truth_dsg(r))]
        gt_file = write_lines(root / "gt.jsonl", gt_lines)
        for frames in (16, 6):
            rows[f"synth test, ground-truth boxes, --frames {frames}"] = {
                t: idf1(
                    [split],
                    split,
                    root,
                    f"gt-{t}-{frames}",
                    detector="file",
                    detections=str(gt_file),
                    tracker=t,
                    frames=frames,
                )
                for t in TRACKERS
            }
        for frames in (16, 6):
            detected = root / f"yolo-{frames}"
            run_build_dsg(
                [split],
                detected,
                BuildDSGConfig(device="cpu", weights=args.weights, frames=frames),
                quiet=True,
            )
            lines = []
            for path in sorted(detected.glob("*.json")):
                if path.name != "manifest.json":
                    lines += detection_lines(DSG.model_validate_json(path.read_text()))
            boxes = write_lines(root / f"yolo-{frames}.jsonl", lines)
            rows[f"synth test, detector boxes, --frames {frames}"] = {
                t: idf1(
                    [split],
                    split,
                    root,
                    f"det-{t}-{frames}",
                    detector="file",
                    detections=str(boxes),
                    tracker=t,
                    frames=frames,
                )
                for t in TRACKERS
            }
        found = something_else_gold(root)
        if found is not None:
            gold, boxes = found
            for frames in (16, 1000):
                label = "every annotated frame" if frames == 1000 else f"--frames {frames}"
                rows[f"Something-Else objects, {label}"] = {
                    t: idf1(
                        [SOMETHING_ELSE / "videos"],
                        gold,
                        root,
                        f"se-{t}-{frames}",
                        detector="file",
                        detections=str(boxes),
                        tracker=t,
                        frames=frames,
                    )
                    for t in TRACKERS
                }
        width = max(len(k) for k in rows)
        print(f"{'IDF1':<{width}}  " + "  ".join(f"{t:>9}" for t in TRACKERS))
        for name, values in rows.items():
            print(f"{name:<{width}}  " + "  ".join(f"{values[t]:9.4f}" for t in TRACKERS))
        print(json.dumps(rows))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
