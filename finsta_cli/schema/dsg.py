"""Dynamic scene graph (DSG) records: what ``build-dsg`` writes, one per video."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, NonNegativeFloat, NonNegativeInt, model_validator

from finsta_cli.schema.base import VersionedRecord

Unit = float


class DSGObject(BaseModel):
    """A detected object in one sampled frame; ``box`` is xyxy normalised by frame size."""

    track_id: NonNegativeInt = Field(description="the same object keeps its id across frames")
    label: str = Field(min_length=1, description="class name")
    class_id: NonNegativeInt | None = None
    score: float = Field(ge=0.0, le=1.0)
    box: tuple[Unit, Unit, Unit, Unit] = Field(description="x1, y1, x2, y2 in [0, 1]")
    attributes: dict[str, str] = Field(
        default_factory=dict, description="e.g. colour, size, motion"
    )

    @model_validator(mode="after")
    def _check_box(self) -> DSGObject:
        x1, y1, x2, y2 = self.box
        if not (0.0 <= x1 <= x2 <= 1.0 and 0.0 <= y1 <= y2 <= 1.0):
            raise ValueError(f"box {self.box} is not x1<=x2, y1<=y2 inside [0, 1]")
        return self


class DSGRelation(BaseModel):
    """A relation between two objects of the same frame, named by their track ids."""

    subject: NonNegativeInt
    object: NonNegativeInt
    predicate: str = Field(min_length=1, description="e.g. 'left of', 'touching', 'in front of'")
    score: float | None = Field(default=None, ge=0.0, le=1.0)


class DSGFrame(BaseModel):
    """One sampled frame: its spatial graph."""

    index: NonNegativeInt = Field(description="0-based index of the frame in the decoded video")
    time: NonNegativeFloat = Field(description="timestamp in seconds")
    objects: list[DSGObject] = Field(default_factory=list)
    relations: list[DSGRelation] = Field(default_factory=list)


class DSGTrack(BaseModel):
    """An object followed over the sampled frames, with attributes of the whole track."""

    track_id: NonNegativeInt
    label: str = Field(min_length=1)
    frames: list[NonNegativeInt] = Field(description="positions in the record's frame list")
    attributes: dict[str, str] = Field(default_factory=dict, description="e.g. motion: 'left'")


class TemporalCoreference(BaseModel):
    """Joins consecutive occurrences of one track (positions in the record's frame list)."""

    track_id: NonNegativeInt
    source_frame: NonNegativeInt
    target_frame: NonNegativeInt


class DSG(VersionedRecord):
    """The dynamic scene graph of one video: spatial graphs of sampled frames joined over time."""

    SCHEMA_KIND: ClassVar[str] = "dsg"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    record: Literal["dsg"] = "dsg"
    video_id: str = Field(min_length=1)
    source: str | None = Field(default=None, description="path of the video or frame folder")
    fps: float | None = Field(default=None, gt=0)
    num_frames: NonNegativeInt | None = Field(default=None, description="frames in the video")
    width: NonNegativeInt | None = None
    height: NonNegativeInt | None = None
    frames: list[DSGFrame] = Field(default_factory=list)
    tracks: list[DSGTrack] = Field(default_factory=list)
    coreference: list[TemporalCoreference] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_graph(self) -> DSG:
        previous = -1
        present: list[set[int]] = []
        for frame in self.frames:
            if frame.index <= previous:
                raise ValueError(f"frame indices must increase: {frame.index} after {previous}")
            previous = frame.index
            ids = {obj.track_id for obj in frame.objects}
            if len(ids) != len(frame.objects):
                raise ValueError(f"frame {frame.index} has two objects with one track id")
            for relation in frame.relations:
                if relation.subject not in ids or relation.object not in ids:
                    raise ValueError(
                        f"frame {frame.index}: relation {relation.predicate!r} names a track "
                        "that is not in the frame"
                    )
            present.append(ids)
        track_ids = {track.track_id for track in self.tracks}
        for track in self.tracks:
            for position in track.frames:
                if position >= len(present) or track.track_id not in present[position]:
                    raise ValueError(f"track {track.track_id} is not in frame {position}")
        for edge in self.coreference:
            if edge.track_id not in track_ids:
                raise ValueError(f"coreference names unknown track {edge.track_id}")
            if not edge.source_frame < edge.target_frame < len(present):
                raise ValueError(
                    f"coreference of track {edge.track_id} joins frames "
                    f"{edge.source_frame} -> {edge.target_frame}, which is not forward in time"
                )
            for position in (edge.source_frame, edge.target_frame):
                if edge.track_id not in present[position]:
                    raise ValueError(f"track {edge.track_id} is not in frame {position}")
        return self
