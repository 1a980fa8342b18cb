"""``finsta synth``: render the compositional spatio-temporal video benchmark with its annotations.

One video per item, each from its own seeded random streams (scene, text), so a video depends
only on ``(seed, index, config)``: the same seed gives identical files, videos can be rendered in
any order, by several worker processes or by ``--shard`` jobs, and a run that was stopped resumes.
Layout of ``--out DIR`` (documented in docs/synth.md)::

    videos/<id>.mp4              H.264, 256x256, 16-32 frames at 8 fps
    annotations/<id>.json        the full record of one video (SynthVideo)
    labels/<id>/<frame>.txt      YOLO detection labels, one file per frame
    train.jsonl val.jsonl test.jsonl test_unseen.jsonl   the records, one per line per split
    dataset.json                 class names, vocabularies, held-out combinations, split counts
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from finsta_cli.config import StageConfig
from finsta_cli.io.atomic import atomic_write_json
from finsta_cli.io.executor import ExecutorConfig
from finsta_cli.io.hashing import hash_json
from finsta_cli.io.jsonl import JsonlWriter
from finsta_cli.io.progress import get_logger
from finsta_cli.io.shard import Shard
from finsta_cli.io.stage import StageItem, StagePaths, StageRun, StageSummary
from finsta_cli.synth.records import (
    SPLITS,
    FrameObject,
    SynthFrame,
    SynthObject,
    SynthVideo,
)
from finsta_cli.synth.render import (
    BACKGROUNDS,
    COLOURS,
    SHAPES,
    SIZES,
    Placement,
    composite_frame,
    make_background,
    make_sprite,
    sprite_side,
    write_mp4,
)
from finsta_cli.synth.scene import MOTIONS, Scene, heldout_combos, plan_scene

log = get_logger("synth")


class SynthConfig(StageConfig):
    """Options of ``finsta synth`` (the ``synth:`` section of a config file)."""

    SECTION: ClassVar[str] = "synth"
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"workers", "executor"})

    videos: int = Field(default=100, ge=1, description="number of videos over all splits")
    seed: int = Field(default=0, ge=0)
    width: int = Field(default=256, ge=64, le=1024)
    height: int = Field(default=256, ge=64, le=1024)
    fps: int = Field(default=8, ge=1, le=60)
    min_frames: int = Field(default=16, ge=12)
    max_frames: int = Field(default=32, ge=12, le=256)
    splits: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.7, "val": 0.1, "test": 0.1, "test_unseen": 0.1},
        description="fraction of the videos in each split",
    )
    min_visible: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="an object gets a YOLO label in a frame when at least this fraction shows",
    )
    crf: int = Field(default=20, ge=0, le=51, description="libx264 constant rate factor")
    workers: int = Field(default=1, ge=1, le=64, description="rendering processes")
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @model_validator(mode="after")
    def _check(self) -> SynthConfig:
        if self.min_frames > self.max_frames:
            raise ValueError(f"min_frames {self.min_frames} > max_frames {self.max_frames}")
        unknown = set(self.splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown split(s) {sorted(unknown)}; known: {list(SPLITS)}")
        if any(value < 0 for value in self.splits.values()) or sum(self.splits.values()) <= 0:
            raise ValueError("split fractions must be >= 0 and not all 0")
        return self


@dataclass(frozen=True)
class VideoJob:
    """What one worker needs to render video ``index``."""

    index: int
    video_id: str
    split: str
    out: str
    config: dict[str, Any]


def video_id(seed: int, index: int) -> str:
    return f"synth-s{seed}-{index:05d}"


def assign_splits(config: SynthConfig) -> list[str]:
    """The split of every video index: counts by largest remainder, order shuffled by the seed.

    Every split with a positive fraction gets at least one video when there are enough videos.
    """
    names = [name for name in SPLITS if config.splits.get(name, 0) > 0]
    total = sum(config.splits[name] for name in names)
    exact = [config.videos * config.splits[name] / total for name in names]
    counts = [int(value) for value in exact]
    order = sorted(range(len(names)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: config.videos - sum(counts)]:
        counts[i] += 1
    if config.videos >= len(names):
        for i, count in enumerate(counts):
            if count == 0:
                donor = max(range(len(names)), key=lambda j: counts[j])
                counts[donor] -= 1
                counts[i] = 1
    labels = [name for name, count in zip(names, counts, strict=False) for _ in range(count)]
    rng = np.random.default_rng([config.seed, 7919])
    return [labels[i] for i in rng.permutation(len(labels))]


def scene_for(config: SynthConfig, index: int, split: str) -> tuple[Scene, np.random.Generator]:
    """The planned scene of video ``index`` and the random stream that renders it."""
    rng = np.random.default_rng([config.seed, index, 0])
    num_frames = int(rng.integers(config.min_frames, config.max_frames + 1))
    main_motion = str(rng.choice(MOTIONS))
    background = str(rng.choice(BACKGROUNDS))
    scene = plan_scene(
        rng,
        width=config.width,
        height=config.height,
        num_frames=num_frames,
        main_motion=main_motion,
        unseen=split == "test_unseen",
        background=background,
    )
    return scene, rng


def _norm_box(box: tuple[float, float, float, float], width: int, height: int) -> list[float]:
    x1, y1, x2, y2 = box
    return [
        round(x1 / width, 5),
        round(y1 / height, 5),
        round(x2 / width, 5),
        round(y2 / height, 5),
    ]


def frame_relations(
    scene: Scene, frame: int, boxes: dict[int, tuple[float, float, float, float]], present: set[int]
) -> list[tuple[int, str, int]]:
    """Geometric relations of one frame between objects in view, from the ground truth.

    For each pair (i < j): "left of"/"right of" and "above"/"below" from the centres (when they
    differ by more than 2% of the frame), "touching" when their boxes meet, and "in front of" /
    "behind" when they overlap (the nearer one is in front).
    """
    relations: list[tuple[int, str, int]] = []
    tolerance = 0.02 * min(scene.width, scene.height)
    ids = sorted(present)
    for a_pos, i in enumerate(ids):
        for j in ids[a_pos + 1 :]:
            a, b = scene.objects[i], scene.objects[j]
            (ax, ay), (bx, by) = a.positions[frame], b.positions[frame]
            if ax < bx - tolerance:
                relations.append((i, "left of", j))
            elif ax > bx + tolerance:
                relations.append((i, "right of", j))
            if ay < by - tolerance:
                relations.append((i, "above", j))
            elif ay > by + tolerance:
                relations.append((i, "below", j))
            ba, bb = boxes[i], boxes[j]
            gap = max(bb[0] - ba[2], ba[0] - bb[2], bb[1] - ba[3], ba[1] - bb[3])
            if gap < -0.5:
                front = a.depth > b.depth
                relations.append((i, "in front of" if front else "behind", j))
            elif gap <= 0.5:
                relations.append((i, "touching", j))
    return relations


def render_video(job: VideoJob) -> tuple[list[str], dict[str, Any]]:
    """Render one video and write its mp4, YOLO labels and annotation; return paths and record."""
    from finsta_cli.synth.text import annotate_text

    config = SynthConfig.model_validate(job.config)
    scene, rng = scene_for(config, job.index, job.split)
    side = min(config.width, config.height)
    background, background_params = make_background(
        rng, scene.background, config.width, config.height
    )
    sprites = {
        obj.track_id: make_sprite(obj.shape, obj.colour, sprite_side(obj.size, side))
        for obj in scene.objects
    }
    frames: list[np.ndarray] = []
    records: list[SynthFrame] = []
    label_lines: list[list[str]] = []
    for t in range(scene.num_frames):
        placements = [
            Placement(
                track_id=obj.track_id,
                sprite=sprites[obj.track_id],
                cx=float(obj.positions[t, 0]),
                cy=float(obj.positions[t, 1]),
                depth=obj.depth,
                brightness=obj.brightness,
            )
            for obj in scene.objects
        ]
        pixels, visibility = composite_frame(background, placements)
        frames.append(pixels)
        objects: list[FrameObject] = []
        lines: list[str] = []
        full_boxes: dict[int, tuple[float, float, float, float]] = {}
        present: set[int] = set()
        for obj, vis in zip(scene.objects, visibility, strict=False):
            sprite = sprites[obj.track_id]
            cx, cy = float(obj.positions[t, 0]), float(obj.positions[t, 1])
            full = (cx + sprite.left, cy + sprite.top, cx + sprite.right, cy + sprite.bottom)
            full_boxes[obj.track_id] = full
            if vis.visible_box is None and vis.in_frame_fraction == 0:
                continue
            present.add(obj.track_id)
            labelled = vis.visible_box is not None and vis.visible_fraction >= config.min_visible
            objects.append(
                FrameObject(
                    track_id=obj.track_id,
                    box=_norm_box(vis.visible_box, config.width, config.height)
                    if vis.visible_box is not None
                    else None,
                    full_box=_norm_box(full, config.width, config.height),
                    center=[round(cx / config.width, 5), round(cy / config.height, 5)],
                    depth=obj.depth,
                    visible=round(vis.visible_fraction, 4),
                    in_frame=round(vis.in_frame_fraction, 4),
                    labelled=labelled,
                )
            )
            if labelled and vis.visible_box is not None:
                x1, y1, x2, y2 = vis.visible_box
                lines.append(
                    f"{SHAPES.index(obj.shape)} {(x1 + x2) / 2 / config.width:.6f} "
                    f"{(y1 + y2) / 2 / config.height:.6f} {(x2 - x1) / config.width:.6f} "
                    f"{(y2 - y1) / config.height:.6f}"
                )
        relations = frame_relations(scene, t, full_boxes, present)
        records.append(
            SynthFrame(
                index=t,
                time=round(t / config.fps, 4),
                objects=objects,
                relations=[[s, p, o] for s, p, o in relations],
            )
        )
        label_lines.append(lines)
    text_rng = np.random.default_rng([config.seed, job.index, 1])
    text = annotate_text(scene, records, text_rng)
    main = scene.objects[scene.main]
    record = SynthVideo(
        video_id=job.video_id,
        split=job.split,
        index=job.index,
        seed=config.seed,
        video=f"videos/{job.video_id}.mp4",
        labels=f"labels/{job.video_id}",
        width=config.width,
        height=config.height,
        fps=config.fps,
        num_frames=scene.num_frames,
        background=background_params,
        objects=[
            SynthObject(
                track_id=obj.track_id,
                shape=obj.shape,
                colour=obj.colour,
                size=obj.size,
                class_id=SHAPES.index(obj.shape),
                depth=obj.depth,
                motion=obj.motion,
            )
            for obj in scene.objects
        ],
        main_object=scene.main,
        action=main.motion,
        action_id=MOTIONS.index(main.motion),
        events=[event.to_json() for event in scene.events],
        frames=records,
        **text,
    )
    out = Path(job.out)
    video_path = out / "videos" / f"{job.video_id}.mp4"
    video_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = video_path.with_name(f".{video_path.name}.tmp{os.getpid()}.mp4")
    try:
        write_mp4(tmp, frames, config.fps, crf=config.crf)
        os.replace(tmp, video_path)
    finally:
        tmp.unlink(missing_ok=True)
    label_dir = _write_labels(out / "labels", job.video_id, label_lines)
    annotation = out / "annotations" / f"{job.video_id}.json"
    payload = record.model_dump(mode="json")
    atomic_write_json(annotation, payload, indent=None)
    return [str(video_path), str(label_dir), str(annotation)], payload


def _write_labels(root: Path, vid: str, label_lines: list[list[str]]) -> Path:
    """One YOLO label file per frame, written into a hidden folder then renamed into place."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / vid
    tmp = root / f".{vid}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for t, lines in enumerate(label_lines):
        (tmp / f"{t:04d}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def dataset_info(config: SynthConfig, splits: list[str]) -> dict[str, Any]:
    """dataset.json: vocabularies, detector classes, held-out combinations, split sizes."""
    return {
        "name": "finsta-synth",
        "seed": config.seed,
        "videos": config.videos,
        "classes": list(SHAPES),
        "colours": list(COLOURS),
        "sizes": list(SIZES),
        "motions": list(MOTIONS),
        "actions": list(MOTIONS),
        "heldout_combinations": sorted([list(c) for c in heldout_combos()]),
        "splits": {name: splits.count(name) for name in SPLITS if name in splits},
        "config": config.model_dump(mode="json", exclude=set(config.RUNTIME_FIELDS)),
    }


def render_outputs(item: StageItem[VideoJob]) -> list[str]:
    """Render one item's video (the per-item function of ``--executor ray``); its paths."""
    return render_video(item.payload)[0]


def _jobs(config: SynthConfig, out: Path, splits: list[str]) -> Iterator[StageItem[VideoJob]]:
    payload = config.model_dump(mode="json")
    key = config.output_hash()
    for index, split in enumerate(splits):
        vid = video_id(config.seed, index)
        job = VideoJob(index=index, video_id=vid, split=split, out=str(out), config=payload)
        yield StageItem(
            id=vid, input_hash=hash_json([key, index, split]), payload=job, source=split
        )


def generate_dataset(
    config: SynthConfig,
    out: Path,
    *,
    force: bool = False,
    shard: Shard | None = None,
    limit: int | None = None,
    quiet: bool = False,
) -> StageSummary:
    """Render ``config.videos`` videos into ``out`` and write the per-split JSONL indexes."""
    out.mkdir(parents=True, exist_ok=True)
    splits = assign_splits(config)
    paths = StagePaths.for_dir(out, shard)
    run: StageRun[VideoJob] = StageRun(
        "synth", paths, config, force=force, limit=limit, quiet=quiet, total=len(splits)
    )
    with run:
        selected: list[StageItem[VideoJob]] = []
        if config.executor.kind == "ray":  # --workers is the number of actors unless set there
            workers = config.executor.workers or config.workers
            executor = config.executor.model_copy(update={"workers": workers})
            with run.timed("render"):
                run.run(_jobs(config, out, splits), render_outputs, executor=executor)
        else:
            selected = list(run.select(_jobs(config, out, splits)))
        with run.timed("render"):
            if config.workers > 1 and len(selected) > 1:
                context = get_context("spawn")
                with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
                    futures: list[Future[tuple[list[str], dict[str, Any]]]] = [
                        pool.submit(render_video, item.payload) for item in selected
                    ]
                    for item, future in zip(selected, futures, strict=False):
                        try:
                            outputs, _ = future.result()
                        except Exception as exc:
                            run.fail(item, exc)
                        else:
                            run.done(item, outputs)
            else:
                for item in selected:
                    try:
                        outputs, _ = render_video(item.payload)
                    except Exception as exc:
                        run.fail(item, exc)
                    else:
                        run.done(item, outputs)
        with run.timed("index"):
            write_indexes(config, out, splits)
    assert run.summary is not None
    return run.summary


def write_indexes(config: SynthConfig, out: Path, splits: list[str]) -> dict[str, int]:
    """Gather annotations/<id>.json into one JSONL per split; missing videos are left out."""
    import json

    written: dict[str, int] = {}
    writers = {name: JsonlWriter(out / f"{name}.jsonl") for name in SPLITS if name in splits}
    for writer in writers.values():
        writer.__enter__()
    try:
        for index, split in enumerate(splits):
            path = out / "annotations" / f"{video_id(config.seed, index)}.json"
            if not path.is_file():
                continue
            writers[split].write(json.loads(path.read_text(encoding="utf-8")))
            written[split] = written.get(split, 0) + 1
    except BaseException as exc:
        for writer in writers.values():
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    for writer in writers.values():
        writer.__exit__(None, None, None)
    info = dataset_info(config, splits)
    info["written"] = written
    atomic_write_json(out / "dataset.json", info)
    return written
