"""``finsta zeroshot --task T``: evaluate a host on a split it was never trained on, no head."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.host_task import (
    CacheOpt,
    CheckpointOpt,
    DataOpt,
    DsgFramesOpt,
    DsgOpt,
    FormatOpt,
    SplitOpt,
    ThreadsOpt,
    TsgOpt,
    VideoChunkOpt,
    VideoRootOpt,
    WithGraphsOpt,
    run_host_task,
)
from finsta_cli.cli.options import DeviceOpt, JsonOpt, QuietOpt, SeedOpt, VerboseOpt, command


class ZeroShotTask(str, enum.Enum):
    retrieval = "retrieval"
    videoqa = "videoqa"
    action = "action"


def _default_split(data: Path | None) -> str:
    """synth folders keep a zero-shot split (held-out combinations): test_unseen."""
    if data is not None and data.is_dir() and (data / "test_unseen.jsonl").is_file():
        return "test_unseen"
    return "test"


@command
def zeroshot(
    task: Annotated[ZeroShotTask, typer.Option("--task", help="What to evaluate.")],
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    split: SplitOpt = None,
    dataset_format: FormatOpt = "auto",
    video_root: VideoRootOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for metrics.json [CHECKPOINT_DIR/zeroshot-T-S]."),
    ] = None,
    with_graphs: WithGraphsOpt = False,
    tsg: TsgOpt = None,
    dsg: DsgOpt = None,
    dsg_frames: DsgFramesOpt = None,
    cache: CacheOpt = None,
    video_chunk: VideoChunkOpt = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = None,
    seed: SeedOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Zero-shot evaluation: nothing is trained on the target split (synth: test_unseen).

    retrieval ranks captions and videos; videoqa scores "question option" texts or ranks the
    split's answers; action scores the prompts "a video of {label}".
    """
    run_host_task(
        task.value, checkpoint=checkpoint, data=data, split=split or _default_split(data),
        dataset_format=dataset_format, video_root=video_root, finetune=False,
        train_split="train", out=out, cache=cache, threads=threads, device=device, seed=seed,
        json_out=json_out, quiet=quiet, command_name="zeroshot", with_graphs=with_graphs,
        tsg=tsg, dsg=dsg, dsg_frames=dsg_frames, video_chunk=video_chunk,
    )  # fmt: skip
