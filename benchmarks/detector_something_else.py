"""Benchmark: build-dsg's detectors against the Something-Else boxes, and their speed on CPU.

    nice -n 10 .venv/bin/python benchmarks/detector_something_else.py

Gold: ../shared/benchmarks/something_else_ssv2 (13 Something-Something-v2 clips, 555 annotated
frames, 240 px high; boxes of the objects an action involves and of the hands). Each detector
(``yolo`` with the shipped synth weights, ``nanodet``; both built by build-dsg's own
``make_detector`` at their build-dsg defaults) runs on every annotated frame as decoded from
its JPEG. At IoU 0.5, per frame, a one-to-one assignment (Hungarian on IoU, the scorer of
``finsta eval --task dsg``) between gold boxes and detections, labels ignored:

- recall of objects and of hands apart (hands are no COCO class), and of both together;
- precision: detections matched to a gold box / detections. Something-Else boxes only the
  objects of the action, so a right detection of anything else (the person, the table) counts
  as false here: precision is a lower bound;
- per gold category: its recall, and the labels the detector gave the boxes it found; label
  recall for the categories that have a COCO class (bottle, book, glass -> cup or wine glass,
  wireless mouse -> mouse);
- per detector class: how many detections, and the share that matched a gold box;
- recall and precision of nanodet at other score thresholds (from one run at ``--conf 0.05``);
- with ``--nanodet-sizes 320 256``: nanodet's figures and speed at smaller inputs;
- speed: frames/s of ``detect`` (pre-processing, network, decoding, region features) in
  batches of 16 at the detector's input size, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO.parent / "shared" / "benchmarks" / "something_else_ssv2"
# Something-Else categories with a COCO-80 counterpart: the labels that count as right.
COCO_OF = {
    "bottle": {"bottle"},
    "book": {"book"},
    "glass": {"cup", "wine glass"},
    "wireless mouse": {"mouse"},
}
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def read_gold(root: Path) -> list[tuple[str, Path, list[tuple[str, bool, np.ndarray]]]]:
    """(video id, frame image, [(category, is hand, xyxy pixels)]) per annotated frame."""
    data = json.loads((root / "annotations.json").read_text(encoding="utf-8"))
    frames = []
    for video_id, records in sorted(data.items()):
        for record in records:
            labels = [
                (
                    str(label["category"]),
                    str(label.get("standard_category")) == "hand",
                    np.array([label["box2d"][k] for k in ("x1", "y1", "x2", "y2")], np.float32),
                )
                for label in record.get("labels", [])
            ]
            frames.append((video_id, root / "videos" / str(record["name"]), labels))
    return frames


def run_detector(
    kind: str,
    images: list[np.ndarray],
    conf: float | None,
    batch: int,
    imgsz: int | None = None,
) -> Any:
    from finsta_cli.video.detect import FrameKey, make_detector
    from finsta_cli.video.stage import BuildDSGConfig

    options: dict[str, Any] = {"detector": kind, "batch": batch, "device": "cpu"}
    if imgsz is not None:
        options["imgsz"] = imgsz
    if conf is not None:
        options.update(conf=conf, max_objects=100)
    config = BuildDSGConfig(**options)
    detector = make_detector(config, "cpu")
    found = []
    started = time.perf_counter()
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        keys = [FrameKey("se", start + i, im.shape[1], im.shape[0]) for i, im in enumerate(chunk)]
        found.extend(detector.detect(chunk, keys))
    seconds = time.perf_counter() - started
    return detector, found, len(images) / seconds, config


def score(
    gold: list[tuple[str, Path, list[tuple[str, bool, np.ndarray]]]],
    found: list[Any],
    names: dict[int, str],
    threshold: float = 0.0,
    max_objects: int = 20,
) -> dict[str, Any]:
    from finsta_cli.tasks.dsg_eval import FrameObject, match_objects

    counts: Counter[str] = Counter()
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    for (_, _, labels), detections in zip(gold, found, strict=True):
        keep = np.flatnonzero(detections.scores >= threshold)[:max_objects]
        gold_objects = [FrameObject(i, "object", box) for i, (_, _, box) in enumerate(labels)]
        predicted = [FrameObject(int(j), "object", detections.boxes[j]) for j in keep]
        pairs, _ = match_objects(gold_objects, predicted)
        matched_gold = {g: p for g, p in pairs}
        matched_pred = {p for _, p in pairs}
        for index, (category, hand, _) in enumerate(labels):
            kind = "hands" if hand else "objects"
            counts[f"{kind}_gold"] += 1
            per_category[category]["gold"] += 1
            if index in matched_gold:
                counts[f"{kind}_found"] += 1
                per_category[category]["found"] += 1
                label = names[int(detections.classes[keep[matched_gold[index]]])]
                per_category[category][f"as {label}"] += 1
                if label in COCO_OF.get(category, set()):
                    per_category[category]["label_right"] += 1
        counts["detections"] += len(keep)
        counts["detections_matched"] += len(matched_pred)
        for position, j in enumerate(keep):
            label = names[int(detections.classes[j])]
            per_class[label]["detections"] += 1
            per_class[label]["matched"] += int(position in matched_pred)

    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else 0.0

    return {
        "recall_objects": ratio(counts["objects_found"], counts["objects_gold"]),
        "recall_hands": ratio(counts["hands_found"], counts["hands_gold"]),
        "recall_all": ratio(
            counts["objects_found"] + counts["hands_found"],
            counts["objects_gold"] + counts["hands_gold"],
        ),
        "precision": ratio(counts["detections_matched"], counts["detections"]),
        "detections_per_frame": ratio(counts["detections"], len(gold)),
        "counts": dict(counts),
        "per_category": {k: dict(v) for k, v in sorted(per_category.items())},
        "per_class": {
            k: dict(v) for k, v in sorted(per_class.items(), key=lambda kv: -kv[1]["detections"])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--nanodet-sizes",
        type=int,
        nargs="*",
        default=[],
        help="also run nanodet at these input sizes (recall, precision, frames/s)",
    )
    args = parser.parse_args()
    from PIL import Image

    gold = read_gold(args.gold)
    images = [np.asarray(Image.open(path).convert("RGB")) for _, path, _ in gold]
    results: dict[str, Any] = {}
    for kind in ("yolo", "nanodet"):
        detector, found, fps, config = run_detector(kind, images, None, args.batch)
        results[kind] = score(gold, found, detector.names)
        results[kind].update(
            frames_per_s=round(fps, 1), imgsz=config.imgsz, conf=config.conf, iou=config.iou
        )
    detector, found, _, config = run_detector("nanodet", images, 0.05, args.batch)
    sweep = {}
    for threshold in THRESHOLDS:
        figures = score(gold, found, detector.names, threshold, max_objects=20)
        sweep[threshold] = {
            k: figures[k] for k in ("recall_objects", "recall_hands", "recall_all", "precision")
        }
    results["nanodet_thresholds"] = sweep

    print(f"Something-Else, {len(gold)} frames, IoU 0.5, labels ignored\n")
    print("| measure | yolo (synth weights) | nanodet |")
    print("|---|---|---|")
    for key in (
        "recall_objects",
        "recall_hands",
        "recall_all",
        "precision",
        "detections_per_frame",
        "frames_per_s",
        "imgsz",
        "conf",
        "iou",
    ):
        print(f"| {key} | {results['yolo'][key]} | {results['nanodet'][key]} |")
    if args.nanodet_sizes:
        print("\nnanodet by input size (defaults otherwise):\n")
        print("| imgsz | recall objects | recall hands | recall all | precision | frames/s |")
        print("|---|---|---|---|---|---|")
    for size in args.nanodet_sizes:
        detector, found, fps, config = run_detector("nanodet", images, None, args.batch, size)
        figures = score(gold, found, detector.names)
        results[f"nanodet_{size}"] = {**figures, "frames_per_s": round(fps, 1)}
        print(
            f"| {config.imgsz} | {figures['recall_objects']} | {figures['recall_hands']} | "
            f"{figures['recall_all']} | {figures['precision']} | {round(fps, 1)} |"
        )
    print("\nnanodet by score threshold (max 20 objects a frame):\n")
    print("| conf | recall objects | recall hands | recall all | precision |")
    print("|---|---|---|---|---|")
    for threshold, figures in sweep.items():
        print(
            f"| {threshold} | {figures['recall_objects']} | {figures['recall_hands']} | "
            f"{figures['recall_all']} | {figures['precision']} |"
        )
    print("\nnanodet per gold category (recall; labels given to the boxes found):\n")
    print("| category | boxes | recall | label right | labels given |")
    print("|---|---|---|---|---|")
    for category, figures in results["nanodet"]["per_category"].items():
        given = sorted(
            ((k[3:], v) for k, v in figures.items() if k.startswith("as ")), key=lambda kv: -kv[1]
        )
        right = figures.get("label_right", 0) if category in COCO_OF else "-"
        recall = round(figures.get("found", 0) / figures["gold"], 2)
        labels = ", ".join(f"{k} {v}" for k, v in given[:4])
        print(f"| {category} | {figures['gold']} | {recall} | {right} | {labels} |")
    print("\nnanodet per detected class (detections; share matching a gold box):\n")
    print("| class | detections | matched |")
    print("|---|---|---|")
    for label, figures in list(results["nanodet"]["per_class"].items())[:15]:
        share = round(figures["matched"] / figures["detections"], 2)
        print(f"| {label} | {figures['detections']} | {share} |")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
