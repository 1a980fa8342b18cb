"""``finsta zeroshot --task T``: evaluate a host on a split it was never trained on, no head."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from finsta_cli.cli.host_task import (
    AllowPartialOpt,
    CacheOpt,
    CheckpointOpt,
    DataOpt,
    DeviceOpt,
    DsgFramesOpt,
    DsgOpt,
    FormatOpt,
    SeedOpt,
    SubtitlesOpt,
    ThreadsOpt,
    TsgOpt,
    VideoChunkOpt,
    VideoRootOpt,
    WithGraphsOpt,
    run_host_task,
)
from finsta_cli.cli.options import (
    ConfigOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    VerboseOpt,
    command,
    given_options,
    with_default,
)
from finsta_cli.tasks.eval_config import ZeroShotConfig as Config


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
    ctx: typer.Context,
    task: Annotated[ZeroShotTask, typer.Option("--task", help="What to evaluate.")],
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help=with_default(
                "Split to evaluate.",
                Config,
                "split",
                none="test_unseen in a synth folder, else test",
            ),
        ),
    ] = None,
    dataset_format: FormatOpt = "auto",
    video_root: VideoRootOpt = None,
    subtitles: SubtitlesOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for metrics.json  [default: CHECKPOINT_DIR/zeroshot-TASK-SPLIT]",
        ),
    ] = None,
    allow_partial: AllowPartialOpt = False,
    with_graphs: WithGraphsOpt = False,
    tsg: TsgOpt = None,
    dsg: DsgOpt = None,
    dsg_frames: DsgFramesOpt = None,
    cache: CacheOpt = None,
    video_chunk: VideoChunkOpt = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Zero-shot evaluation: nothing is trained on the target split (synth: test_unseen).

    retrieval ranks captions and videos; videoqa scores "question option" texts or ranks the
    split's answers; action scores the prompts "a video of {label}". Captioning does not apply
    (a captioner needs training): finsta eval --task captioning --finetune.
    """
    from finsta_cli.config import load_config

    resolved = load_config(Config, config, given_options(ctx, Config), set_ or ())
    run_host_task(
        task.value, resolved, checkpoint=checkpoint, data=data,
        split=resolved.split or _default_split(data), dataset_format=dataset_format,
        video_root=video_root, out=out, json_out=json_out, quiet=quiet,
        command_name="zeroshot", tsg=tsg, dsg=dsg,
        subtitles=subtitles,
    )  # fmt: skip
