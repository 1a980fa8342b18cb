"""The :class:`TaskDatasetBuilder` every reader fills: numbers captions, refuses duplicates."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from finsta_cli.datasets.records import (
    ActionItem,
    Caption,
    HardNegative,
    QAItem,
    RejectedRow,
    TaskDataset,
    VideoRef,
)
from finsta_cli.datasets.videos import existing_video, expected_video, find_video
from finsta_cli.errors import InputError

_COLLECTING: ContextVar[bool] = ContextVar("collecting_rejections", default=False)


@contextmanager
def collecting_rejections() -> Iterator[None]:
    """Within this block, builders record a bad row (:meth:`TaskDatasetBuilder.row`) as a
    :class:`RejectedRow` and readers go on, instead of raising on the first one."""
    token = _COLLECTING.set(True)
    try:
        yield
    finally:
        _COLLECTING.reset(token)


class TaskDatasetBuilder:
    """Accumulates records, numbers captions per video and refuses duplicate ids."""

    def __init__(self, name: str, split: str, source: Path) -> None:
        self.name, self.split, self.source = name, split, source
        self.videos: dict[str, VideoRef] = {}
        self.captions: list[Caption] = []
        self.negatives: list[HardNegative] = []
        self.qa_mc: list[QAItem] = []
        self.qa_open: list[QAItem] = []
        self.actions: dict[str, ActionItem] = {}
        self._caption_count: dict[str, int] = {}
        self._qa_ids: set[str] = set()
        self.rejected: list[RejectedRow] = []
        self.collecting = _COLLECTING.get()

    @contextmanager
    def row(self, where: str) -> Iterator[None]:
        """Read one row (``where`` = ``FILE:LINE``) in this block: an :class:`InputError`
        raised in it propagates, or, while collecting rejections, is recorded, what the row had
        added so far is taken back, and the reader goes on with the next row."""
        mark = self._mark() if self.collecting else None
        try:
            yield
        except InputError as exc:
            if mark is None:
                raise
            self._undo(mark)
            self.reject(where, exc.message)

    def reject(self, where: str, reason: str) -> None:
        """Record a refused row (``reason`` without its ``where`` prefix when it has one)."""
        if reason.startswith(where + ": "):
            reason = reason[len(where) + 2 :]
        self.rejected.append(RejectedRow(where, reason))

    def bad_lines(self, path: Path) -> Callable[[int, str], None] | None:
        """``iter_jsonl``'s ``on_error`` for ``path``: while collecting rejections, a line that
        is not a JSON object is recorded and skipped; otherwise None (the line raises)."""
        if not self.collecting:
            return None
        return lambda line, reason: self.reject(f"{path}:{line}", reason)

    def bad_items(self, path: Path) -> Callable[[str, str], None] | None:
        """``json_objects``' ``on_error`` for ``path``: while collecting rejections, an item of a
        JSON list that is not an object is recorded (as ``path: item N``) and skipped;
        otherwise None (the item raises)."""
        if not self.collecting:
            return None
        return lambda item, reason: self.reject(f"{path}: {item}", reason)

    def _mark(self) -> tuple[int, ...]:
        return (
            len(self.videos),
            len(self.captions),
            len(self.negatives),
            len(self.qa_mc),
            len(self.qa_open),
            len(self.actions),
        )

    def _undo(self, mark: tuple[int, ...]) -> None:
        """Take back the records added since ``mark`` (new videos and actions are the last
        keys of their dicts; a known video given its file in the row keeps it)."""
        videos, captions, negatives, qa_mc, qa_open, actions = mark
        while len(self.videos) > videos:
            self.videos.popitem()
        for caption in self.captions[captions:]:
            self._caption_count[caption.video_id] -= 1
        del self.captions[captions:], self.negatives[negatives:]
        for item in [*self.qa_mc[qa_mc:], *self.qa_open[qa_open:]]:
            self._qa_ids.discard(item.qa_id)
        del self.qa_mc[qa_mc:], self.qa_open[qa_open:]
        while len(self.actions) > actions:
            self.actions.popitem()

    def video(self, video_id: str, path: Path | None, expected: Path | None = None) -> None:
        """Add a video (again: a known one without a file takes the ``path`` now given)."""
        known = self.videos.get(video_id)
        if known is None or (known.path is None and path is not None):
            self.videos[video_id] = VideoRef(video_id, path, None if path else expected)

    def find(self, video_id: str, root: Path | None, names: Sequence[str]) -> None:
        """Add a video, looking for its file under ``root`` only the first time it is named."""
        if video_id not in self.videos:
            self.video(video_id, find_video(root, names), expected_video(root, names))

    def at(self, video_id: str, path: Path) -> None:
        """Add a video whose file the dataset names: ``path``, when it is on disk."""
        self.video(video_id, existing_video(path), path)

    def caption_count(self, video_id: str) -> int:
        """How many captions of ``video_id`` were added so far (the next one's index)."""
        return self._caption_count.get(video_id, 0)

    def caption(self, video_id: str, text: str) -> str:
        """Add the video's next caption; its id is ``VIDEO.cK``, K counting the video's captions."""
        k = self.caption_count(video_id)
        self._caption_count[video_id] = k + 1
        text_id = f"{video_id}.c{k}"
        self.captions.append(Caption(text_id, video_id, text))
        return text_id

    def negative(self, video_id: str, text: str, source: int, aspect: str) -> None:
        """Add a hard negative made from the video's caption number ``source`` (id ``VIDEO.cK``)."""
        self.negatives.append(HardNegative(video_id, text, f"{video_id}.c{source}", aspect))

    def question(self, item: QAItem, where: str) -> None:
        """Add a question (multiple choice when it has options); an id seen before raises."""
        if item.qa_id in self._qa_ids:
            raise InputError(f"{where}: question id {item.qa_id!r} appears twice")
        self._qa_ids.add(item.qa_id)
        (self.qa_mc if item.options is not None else self.qa_open).append(item)

    def action(self, video_id: str, label: str, where: str) -> None:
        """Set the video's action label; a second, different label raises."""
        known = self.actions.get(video_id)
        if known is not None and known.label != label:
            raise InputError(
                f"{where}: video {video_id!r} has two action labels, {known.label!r} and {label!r}"
            )
        self.actions[video_id] = ActionItem(video_id, label)

    def build(self, labels: Sequence[str] | None = None) -> TaskDataset:
        """The dataset; ``labels`` is the label set when the dataset lists one, else the labels
        its videos carry, sorted."""
        seen = sorted({a.label for a in self.actions.values()})
        return TaskDataset(
            name=self.name,
            split=self.split,
            videos=self.videos,
            captions=self.captions,
            negatives=self.negatives,
            qa_mc=self.qa_mc,
            qa_open=self.qa_open,
            actions=list(self.actions.values()),
            labels=list(labels) if labels else seen,
            source=self.source,
            rejected=self.rejected,
        )
