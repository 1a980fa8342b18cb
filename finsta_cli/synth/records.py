"""Records of the synthetic benchmark: one ``SynthVideo`` per video (annotations/<id>.json and
one line of <split>.jsonl), with per-frame ground truth, events, captions, hard negatives and QA."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from finsta_cli.schema.base import VersionedRecord

SPLITS: tuple[str, ...] = ("train", "val", "test", "test_unseen")
Split = Literal["train", "val", "test", "test_unseen"]
Aspect = Literal["spatial", "temporal", "attribute", "object"]


class SynthObject(BaseModel):
    """An object of the video, constant over time."""

    track_id: int = Field(ge=0)
    shape: str = Field(description="detector class name")
    colour: str
    size: Literal["small", "large"]
    class_id: int = Field(ge=0, description="detector class id (index in dataset.json classes)")
    depth: float = Field(description="drawing order: a larger depth is nearer the camera")
    motion: str = Field(description="motion class of the first event it does; else stay_still")


class FrameObject(BaseModel):
    """One object in one frame. Boxes are xyxy normalised by the frame size.

    ``box`` is the visible part (clipped to the frame, occluded pixels removed; None when
    nothing shows), ``full_box`` the whole object (may extend past the frame), ``center`` the
    object's centre, ``visible`` the fraction of its pixels that show, ``in_frame`` the fraction
    inside the frame, ``labelled`` whether the frame's YOLO label file lists it.
    """

    track_id: int = Field(ge=0)
    box: list[float] | None
    full_box: list[float]
    center: list[float]
    depth: float
    visible: float = Field(ge=0, le=1)
    in_frame: float = Field(ge=0, le=1)
    labelled: bool


class SynthFrame(BaseModel):
    """Ground truth of one frame: objects at least partly in view and their relations."""

    index: int = Field(ge=0)
    time: float = Field(ge=0)
    objects: list[FrameObject]
    relations: list[list[Any]] = Field(
        description="[subject track id, predicate, object track id]; predicates: left of, "
        "right of, above, below, touching, in front of, behind"
    )


class Fact(BaseModel):
    """What a caption clause states, in terms a checker verifies against the ground truth.

    Objects are named by description (colour, shape, optional size), not by track id, so that a
    hard negative that changes a colour or a class names an object that is not there.
    """

    kind: str = Field(
        description="move, still, approach, retreat, enter, leave, collide, pass, relation"
    )
    subject: dict[str, str]
    object: dict[str, str] | None = None
    direction: str | None = None
    relation: str | None = Field(
        default=None, description="front/behind for pass; a predicate for kind=relation"
    )
    when: str | None = Field(default=None, description="start/end for kind=relation")


class Caption(BaseModel):
    """A true description: every fact holds, and for each ``[i, j]`` in ``order`` fact i happens
    before fact j."""

    text: str
    facts: list[Fact]
    order: list[list[int]] = Field(default_factory=list)
    template: str = Field(description="which template wrote it")


class HardNegative(BaseModel):
    """A false caption that differs from captions[source] in exactly one tagged aspect."""

    text: str
    aspect: Aspect
    source: int = Field(ge=0, description="index of the true caption it was made from")
    facts: list[Fact]
    order: list[list[int]] = Field(default_factory=list)
    change: dict[str, Any] = Field(description="what changed: fact index, field, from, to")


class MCQuestion(BaseModel):
    question: str
    options: list[str] = Field(min_length=5, max_length=5)
    answer: int = Field(ge=0, le=4)
    type: str


class OpenQuestion(BaseModel):
    question: str
    answer: str
    type: str


class SynthVideo(VersionedRecord):
    """Everything known about one rendered video."""

    SCHEMA_KIND: ClassVar[str] = "synth_video"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    record: Literal["synth_video"] = "synth_video"
    video_id: str
    split: Split
    index: int = Field(ge=0)
    seed: int
    video: str = Field(description="path of the mp4, relative to the dataset folder")
    labels: str = Field(description="folder of the per-frame YOLO label files, relative")
    width: int
    height: int
    fps: float
    num_frames: int
    background: dict[str, Any]
    objects: list[SynthObject]
    main_object: int
    action: str = Field(description="action label: the main object's motion class")
    action_id: int
    events: list[dict[str, Any]] = Field(
        description="scripted events: id, kind, subject, object, direction, relation, start, end"
    )
    frames: list[SynthFrame]
    captions: list[Caption] = Field(default_factory=list)
    negatives: list[HardNegative] = Field(default_factory=list)
    qa_mc: list[MCQuestion] = Field(default_factory=list)
    qa_open: list[OpenQuestion] = Field(default_factory=list)


def ground_truth_dsg(record: SynthVideo | dict[str, Any], source: str | None = None) -> Any:
    """The ground-truth dynamic scene graph of a synth video (to score ``build-dsg`` against).

    Every frame keeps the objects that show (their visible box, label = shape class, score 1,
    colour/size/motion attributes) and the relations between them; tracks list the frames where
    each object shows; coreference edges join consecutive occurrences of a track.
    """
    from finsta_cli.schema.dsg import (
        DSG,
        DSGFrame,
        DSGObject,
        DSGRelation,
        DSGTrack,
        TemporalCoreference,
    )

    video = record if isinstance(record, SynthVideo) else SynthVideo.model_validate(record)
    info = {o.track_id: o for o in video.objects}
    frames: list[DSGFrame] = []
    seen: dict[int, list[int]] = {}
    for position, frame in enumerate(video.frames):
        objects = []
        for item in frame.objects:
            if item.box is None:
                continue
            obj = info[item.track_id]
            box = tuple(min(1.0, max(0.0, v)) for v in item.box)
            objects.append(
                DSGObject(
                    track_id=item.track_id,
                    label=obj.shape,
                    class_id=obj.class_id,
                    score=1.0,
                    box=box,
                    attributes={"colour": obj.colour, "size": obj.size, "motion": obj.motion},
                )
            )
            seen.setdefault(item.track_id, []).append(position)
        shown = {o.track_id for o in objects}
        relations = [
            DSGRelation(subject=int(s), predicate=str(p), object=int(o))
            for s, p, o in frame.relations
            if s in shown and o in shown
        ]
        frames.append(
            DSGFrame(index=frame.index, time=frame.time, objects=objects, relations=relations)
        )
    tracks = [
        DSGTrack(
            track_id=tid,
            label=info[tid].shape,
            frames=positions,
            attributes={
                "colour": info[tid].colour,
                "size": info[tid].size,
                "motion": info[tid].motion,
            },
        )
        for tid, positions in sorted(seen.items())
    ]
    coreference = [
        TemporalCoreference(track_id=tid, source_frame=a, target_frame=b)
        for tid, positions in sorted(seen.items())
        for a, b in itertools.pairwise(positions)
    ]
    return DSG(
        video_id=video.video_id,
        source=source or video.video,
        fps=video.fps,
        num_frames=video.num_frames,
        width=video.width,
        height=video.height,
        frames=frames,
        tracks=tracks,
        coreference=coreference,
    )
