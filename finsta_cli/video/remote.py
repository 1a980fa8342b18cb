"""build-dsg's per-video function for ``--executor ray``: a Ray actor's detection pipeline.

:class:`VideoGraphBuilder` is what :meth:`StageRun.run <finsta_cli.io.stage.StageRun.run>`
ships to each actor: the first video it is handed loads the detector (once per actor, on the
device Ray gave the actor), and every video goes through the same
:class:`~finsta_cli.video.pipeline.DetectionPipeline` as on the local path (decode -> detect ->
assemble -> write ``.pt`` then ``.json``, atomically). The driver keeps selection, the ledger,
failures.jsonl and the manifest; a video's failure travels back to it as the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsta_cli.errors import FinstaError
from finsta_cli.io.stage import PhaseTimings, StageItem
from finsta_cli.video.decode import VideoSource

if TYPE_CHECKING:
    from finsta_cli.video.assemble import AssemblySettings, GraphWriter
    from finsta_cli.video.attributes import AttributeOptions
    from finsta_cli.video.decode import DecodeOptions
    from finsta_cli.video.detect import DetectorOptions
    from finsta_cli.video.detections import Detector
    from finsta_cli.video.relations import RelationOptions
    from finsta_cli.video.track import Tracker


def actor_device(requested: str, gpu_ids: Sequence[Any]) -> str:
    """The device of a Ray actor asked for ``requested`` (``--device``) and given ``gpu_ids``.

    Ray lists only an actor's own GPUs in its ``CUDA_VISIBLE_DEVICES``, so a CUDA device there
    is ``cuda:0`` whatever its number on the node; an actor given no GPU runs ``auto`` on the
    CPU (a GPU that Ray did not give it belongs to another actor).
    """
    from finsta_cli.runtime import resolve_device

    choice = requested.strip().lower()
    if gpu_ids and (choice == "auto" or choice.startswith("cuda")):
        return resolve_device("cuda:0")
    if not gpu_ids and choice == "auto":
        return "cpu"
    return resolve_device(requested)


@dataclass
class _VideoRecord:
    """Stands in for the stage run inside an actor: what the pipeline records of one video."""

    timings: PhaseTimings = field(default_factory=PhaseTimings)
    outputs: list[Path] | None = None
    error: BaseException | str | None = None

    def timed(self, phase: str) -> AbstractContextManager[None]:
        return self.timings.timed(phase)

    def done(self, item: StageItem[VideoSource], outputs: Sequence[Any]) -> None:
        self.outputs = [Path(path) for path in outputs]

    def fail(
        self,
        item: StageItem[VideoSource] | str,
        error: BaseException | str,
        source: str | None = None,
    ) -> None:
        self.error = error


class VideoGraphBuilder:
    """Builds one video's DSG files with build-dsg's pipeline, loaded on the first call.

    Shipped to each Ray actor unloaded (only the options and the output folder travel); the
    detector then loads once per actor, not once per video.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        device: str,
        detector: DetectorOptions,
        decode: DecodeOptions,
        batch: int,
        prefetch: int,
        tracker: Tracker,
        relations: RelationOptions,
        attributes: AttributeOptions,
    ) -> None:
        self.out_dir, self.requested_device = out_dir, device
        self.detector, self.decode, self.batch, self.prefetch = detector, decode, batch, prefetch
        self.tracker, self.relations, self.attributes = tracker, relations, attributes
        self._loaded: tuple[Detector, GraphWriter, AssemblySettings] | None = None
        self.device: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None, "device": None}

    def _load(self) -> tuple[Detector, GraphWriter, AssemblySettings]:
        if self._loaded is None:
            import ray

            from finsta_cli.video.assemble import AssemblySettings, GraphWriter
            from finsta_cli.video.detect import make_detector

            self.device = actor_device(self.requested_device, ray.get_gpu_ids())
            # torch's threads as on the local path (--set threads, else the node's CPUs): the
            # detector's sums, and so the bytes written, depend on them.
            detector = make_detector(self.detector, self.device)
            settings = AssemblySettings.for_detector(
                detector, self.out_dir, self.tracker, self.relations, self.attributes
            )
            # Each video is written before the next is taken: the actors overlap one another.
            self._loaded = detector, GraphWriter("thread"), settings
        return self._loaded

    def __call__(self, item: StageItem[VideoSource]) -> list[Path]:
        from finsta_cli.video.decode import PrefetchingReader
        from finsta_cli.video.pipeline import DetectionPipeline

        detector, writer, settings = self._load()
        record = _VideoRecord()
        pipeline = DetectionPipeline(detector, writer, settings, record, batch=self.batch)
        pipeline.process(PrefetchingReader([item], self.decode, depth=self.prefetch))
        if record.error is not None:
            if isinstance(record.error, BaseException):
                raise record.error
            raise FinstaError(record.error)
        assert record.outputs is not None
        return record.outputs
