"""The records every dataset reader yields: videos, captions, hard negatives, questions, actions.

A :class:`TaskDataset` is one split in these records, whatever the format it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class VideoRef:
    """A video of the dataset; ``path`` is None when its file is not on disk, and ``expected``
    is then the first path looked for (None when no folder was given to look in)."""

    video_id: str
    path: Path | None
    expected: Path | None = None

    @property
    def location(self) -> Path | None:
        """Where the video is, else where it was expected (what a "not found" names)."""
        return self.path if self.path is not None else self.expected


# Zero-shot action recognition scores one text per label, made from this template.
ACTION_PROMPT = "a video of {label}"


@dataclass(frozen=True)
class Caption:
    """A true caption of ``video_id``; ids are ``VIDEO.cK`` (K = its index among the video's)."""

    text_id: str
    video_id: str
    text: str


@dataclass(frozen=True)
class HardNegative:
    """A false caption of ``video_id`` made from caption ``source_text_id`` by changing one
    ``aspect`` (synth: spatial, temporal, attribute, object)."""

    video_id: str
    text: str
    source_text_id: str
    aspect: str


Segment = tuple[float, float]
"""A part of a video, ``(start, end)`` in seconds, ``0 <= start < end``."""


def clip_id(video_id: str, segment: Segment | None) -> str:
    """The key a video's ``segment`` is embedded under: ``VIDEO@START-END`` (seconds, at most
    three decimals, no trailing zeros: ``vid@7.2-18``); the video id itself without a segment."""
    if segment is None:
        return video_id

    def seconds(value: float) -> str:
        return f"{value:.3f}".rstrip("0").rstrip(".")

    return f"{video_id}@{seconds(segment[0])}-{seconds(segment[1])}"


@dataclass(frozen=True)
class QAItem:
    """A question about ``video_id``; multiple choice when ``options`` is set (then
    ``answer == options[answer_index]``), open-ended otherwise.

    ``segment``: the part of the (long) video the question is about, which is what the host
    sees (None: the whole video). ``subtitles``: the subtitle text of that part, given to the
    text side after the question and option (None: none)."""

    qa_id: str
    video_id: str
    question: str
    answer: str
    options: tuple[str, ...] | None = None
    answer_index: int | None = None
    qtype: str | None = None
    segment: Segment | None = None
    subtitles: str | None = None

    @property
    def clip_id(self) -> str:
        """The key of what the host sees: the video, or ``VIDEO@START-END`` (:func:`clip_id`)."""
        return clip_id(self.video_id, self.segment)


@dataclass(frozen=True)
class SubtitleLine:
    """One subtitle of a video: ``text`` shown from ``start`` to ``end`` (seconds)."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class ActionItem:
    """The action label of a video."""

    video_id: str
    label: str


@dataclass(frozen=True)
class RejectedRow:
    """A row a reader refused while collecting rejections (``finsta data check``): ``where`` is
    ``FILE:LINE``, ``reason`` the error it would have raised."""

    where: str
    reason: str


@dataclass
class TaskDataset:
    """One split of an evaluation dataset, in the common records.

    ``videos`` keeps the order of first appearance; ``labels`` is the action label set (as the
    dataset lists it, else sorted). ``name`` is the format that was read.
    """

    name: str
    split: str
    videos: dict[str, VideoRef]
    captions: list[Caption]
    negatives: list[HardNegative]
    qa_mc: list[QAItem]
    qa_open: list[QAItem]
    actions: list[ActionItem]
    labels: list[str]
    source: Path | None = None
    video_root: Path | None = None  # the folder given to look for videos in, if any
    # Rows refused while collecting rejections (datasets.builder.collecting_rejections); empty
    # otherwise, as a reader then raises on the first bad row.
    rejected: list[RejectedRow] = field(default_factory=list)
    # The dataset's own subtitles by video id (VIOLIN's ``sub``), used when asked for
    # (datasets.longform.attach_subtitles); empty for the other formats.
    subtitles: dict[str, list[SubtitleLine]] = field(default_factory=dict)

    def segments(self) -> dict[str, tuple[str, Segment]]:
        """The video segments the questions are about: ``clip id -> (video id, segment)``
        (:attr:`QAItem.clip_id`), in question order; empty when no question has a segment."""
        found: dict[str, tuple[str, Segment]] = {}
        for item in [*self.qa_mc, *self.qa_open]:
            if item.segment is not None:
                found.setdefault(item.clip_id, (item.video_id, item.segment))
        return found

    def retrieval_index(self) -> tuple[list[str], list[int]]:
        """The retrieval gallery and each caption's place in it.

        Returns ``(video_ids, caption_video)``: the videos that have at least one caption, in
        dataset order, and for each entry of ``captions`` the index of its video in that list
        (the ``caption_video`` argument of the retrieval metrics).
        """
        gallery: dict[str, int] = {}
        for caption in self.captions:
            gallery.setdefault(caption.video_id, len(gallery))
        order = {video_id: i for i, video_id in enumerate(self.videos)}
        ordered = sorted(gallery, key=lambda v: order.get(v, len(order)))
        position = {video_id: i for i, video_id in enumerate(ordered)}
        return ordered, [position[c.video_id] for c in self.captions]

    def captions_by_video(self) -> dict[str, list[str]]:
        """Each captioned video's captions (the references of captioning), videos in dataset
        order, captions in file order."""
        grouped: dict[str, list[str]] = {}
        for caption in self.captions:
            grouped.setdefault(caption.video_id, []).append(caption.text)
        order = {video_id: i for i, video_id in enumerate(self.videos)}
        return dict(sorted(grouped.items(), key=lambda item: order.get(item[0], len(order))))

    def caption_texts(self) -> dict[str, str]:
        """Caption text by ``text_id`` (to find a hard negative's source caption)."""
        return {c.text_id: c.text for c in self.captions}

    def counts(self) -> dict[str, int]:
        """How many records of each kind (for logs and metrics.json)."""
        return {
            "videos": len(self.videos),
            "videos_on_disk": sum(1 for v in self.videos.values() if v.path is not None),
            "captions": len(self.captions),
            "negatives": len(self.negatives),
            "qa_mc": len(self.qa_mc),
            "qa_open": len(self.qa_open),
            "actions": len(self.actions),
            "labels": len(self.labels),
        }
