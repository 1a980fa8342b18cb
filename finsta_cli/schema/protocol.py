"""The protocol card in every ``eval`` and ``zeroshot`` metrics.json: what was scored and how.

A figure means little without its protocol (which split, how many items, how frames were
sampled, how several captions per video were handled, which weights exactly). The card says all
of it in one object, ``metrics["protocol"]``, also printed under ``--json``. Fields that do not
apply to a task (frames for ``eval --task tsg``) or are not known (the git commit of an
installed package) are left out. ``finsta schema protocol`` prints its JSON Schema.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, NonNegativeInt

from finsta_cli.schema.base import VersionedRecord

ProtocolMode = Literal["eval", "zeroshot", "finetune"]


class DatasetCard(BaseModel):
    """The data scored: the path given, the file read, its format and split."""

    path: str = Field(description="the --data (or --gold) path as given")
    file: str | None = Field(default=None, description="the annotation file read from it")
    format: str = Field(description="the format read (the one detected with --format auto)")
    format_detected: bool = Field(description="true when --format was auto")
    split: str | None = None
    train_split: str | None = Field(default=None, description="finetune: the head's split")
    video_root: str | None = None
    subtitles: str | None = Field(
        default=None,
        description="videoqa: the subtitles file given to the text side, or 'dataset' for the "
        "dataset's own; None without subtitles",
    )


class ItemCounts(BaseModel):
    """What was scored; only the counts that apply to the task are set."""

    videos: NonNegativeInt | None = Field(default=None, description="videos embedded")
    failed_videos: NonNegativeInt | None = Field(
        default=None, description="videos that could not be decoded: not scored"
    )
    captions: NonNegativeInt | None = Field(default=None, description="retrieval queries")
    references: NonNegativeInt | None = Field(
        default=None, description="captioning: the gold reference captions of the scored videos"
    )
    hard_negatives: NonNegativeInt | None = None
    questions_mc: NonNegativeInt | None = None
    questions_open: NonNegativeInt | None = None
    actions: NonNegativeInt | None = None
    classes: NonNegativeInt | None = None
    frames: NonNegativeInt | None = Field(default=None, description="dsg: frames scored")
    missing_predictions: NonNegativeInt | None = Field(
        default=None, description="dsg: gold videos without a prediction (all missed)"
    )


class CaptionsPerVideo(BaseModel):
    """How many captions each retrieved video has (retrieval)."""

    min: NonNegativeInt
    max: NonNegativeInt
    mean: float


class FramesCard(BaseModel):
    """How each video became the frames the host read."""

    per_video: int = Field(description="frames per video (the host's num_frames)")
    size: int = Field(description="their side in pixels (the host's frame_size)")
    sampling: str = Field(description="which frames, and how they were resized")
    cache: str | None = Field(default=None, description="the frame cache folder, if any")
    from_cache: NonNegativeInt = Field(
        default=0, description="videos whose frames the cache already held (same frames)"
    )
    decoded: NonNegativeInt = Field(default=0, description="videos decoded in this run")


class WeightsLoad(BaseModel):
    """How the checkpoint's weights fit the model (hosts.factory.WeightsReport)."""

    complete: bool = Field(description="false: a partial load (--allow-partial)")
    missing: NonNegativeInt = 0
    unexpected: NonNegativeInt = 0
    mismatched: NonNegativeInt = 0
    missing_keys: list[str] = Field(default_factory=list, description="the first few")
    unexpected_keys: list[str] = Field(default_factory=list, description="the first few")
    mismatched_shapes: list[dict[str, Any]] = Field(
        default_factory=list, description="the first few: key, weights and model shapes"
    )


class CheckpointCard(BaseModel):
    """The weights scored, by content."""

    path: str
    sha256: str = Field(description="of the file's bytes")
    bytes: NonNegativeInt
    load: WeightsLoad | None = None


class HostCard(BaseModel):
    """The host model: its name and the config that rebuilds it (long lists summarised)."""

    name: str
    config: dict[str, Any] = Field(default_factory=dict)
    embed_dim: int | None = None


class GraphsCard(BaseModel):
    """Whether scene graphs took part (``--with-graphs``) and where they came from."""

    used: bool
    tsg: str | None = Field(default=None, description="TSG JSONL, or 'parsed' on the fly")
    dsg: str | None = Field(default=None, description="DSG folder (given or built)")
    dsg_frames: int | None = None
    missing_text: NonNegativeInt | None = None
    missing_video: NonNegativeInt | None = None


class SoftwareCard(BaseModel):
    """The code that scored: finsta (and its git commit when run from a checkout), torch."""

    finsta: str
    git_commit: str | None = Field(default=None, description="absent outside a git checkout")
    git_dirty: bool | None = Field(default=None, description="uncommitted changes to tracked files")
    torch: str | None = None
    python: str


class RuntimeCard(BaseModel):
    device: str
    threads: int | None = None


class ProtocolCard(VersionedRecord):
    """What a metrics.json scored and how (module docstring)."""

    SCHEMA_KIND: ClassVar[str] = "protocol"
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    record: Literal["protocol"] = "protocol"
    command: str = Field(description="eval or zeroshot")
    mode: ProtocolMode = Field(
        description="zeroshot: no head; finetune: a task head trained on train_split first; "
        "eval: scored as is"
    )
    task: str
    dataset: DatasetCard
    predictions: str | None = Field(default=None, description="tsg/dsg: the file scored")
    items: ItemCounts
    scoring: dict[str, str] = Field(
        default_factory=dict, description="how each figure is computed, in words"
    )
    captions_per_video: CaptionsPerVideo | None = None
    frames: FramesCard | None = None
    checkpoint: CheckpointCard | None = None
    host: HostCard | None = None
    graphs: GraphsCard | None = None
    seed: int | None = None
    epochs: int | None = Field(default=None, description="finetune: full-batch head epochs")
    software: SoftwareCard
    runtime: RuntimeCard | None = None

    def to_json(self) -> dict[str, Any]:
        """The card as metrics.json holds it (fields not set or not known left out)."""
        return self.model_dump(mode="json", exclude_none=True)
