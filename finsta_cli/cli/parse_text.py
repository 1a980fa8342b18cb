"""``finsta parse-text``: captions -> textual scene graphs (TSG JSONL or FACTUAL lines)."""

from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    CpusPerWorkerOpt,
    ExecutorOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    NumGpusOpt,
    QuietOpt,
    RayAddressOpt,
    SetOpt,
    ShardOpt,
    SpacyModelOpt,
    VerboseOpt,
    WorkersOpt,
    command,
    executor_overrides,
    finish_stage,
    given_options,
    shard_option,
    with_default,
)
from finsta_cli.text.parse_stage import InputFormat, OutputFormat, ParserKind
from finsta_cli.text.parse_stage import ParseTextConfig as Config


@command
def parse_text(
    ctx: typer.Context,
    input: Annotated[
        str,
        typer.Argument(
            help="Captions: a text file (one per line), a JSONL file, a CSV file, or - for stdin.",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", help="Output file (TSG JSONL or FACTUAL lines), or - for stdout."
        ),
    ],
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            help=with_default(
                "tsg: one TSG JSON record per caption; factual: caption TAB facts in FACTUAL "
                "syntax.",
                Config,
                "format",
            ),
        ),
    ] = None,
    input_format: Annotated[
        InputFormat | None,
        typer.Option(
            "--input-format",
            help=with_default("auto (by suffix), text, jsonl or csv.", Config, "input_format"),
        ),
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field", help=with_default("JSONL key / CSV column of the id.", Config, "id_field")
        ),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option(
            "--text-field",
            help=with_default("JSONL key / CSV column of the caption.", Config, "text_field"),
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", min=1, help=with_default("nlp.pipe batch.", Config, "batch_size")
        ),
    ] = None,
    n_process: Annotated[
        int | None,
        typer.Option(
            "--n-process", min=1, help=with_default("spaCy worker processes.", Config, "n_process")
        ),
    ] = None,
    spacy_model: SpacyModelOpt = None,
    max_chars: Annotated[
        int | None,
        typer.Option(
            "--max-chars", min=1, help=with_default("Cut longer captions.", Config, "max_chars")
        ),
    ] = None,
    parser: Annotated[
        ParserKind | None,
        typer.Option(
            "--parser",
            help=with_default(
                "rules: the spaCy rule parser; learned: a trained model re-decides the rules' "
                "choices (FACTUAL conventions, slower).",
                Config,
                "parser",
            ),
        ),
    ] = None,
    parser_model: Annotated[
        str | None,
        typer.Option(
            "--parser-model",
            help=with_default(
                "Learned parser folder from finsta train-parser.",
                Config,
                "parser_model",
                none="assets/text/learned_parser",
            ),
        ),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
    executor_kind: ExecutorOpt = None,
    workers: WorkersOpt = None,
    num_gpus: NumGpusOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = None,
    ray_address: RayAddressOpt = None,
) -> None:
    """Parse captions into textual scene graphs, one record per caption, in input order.

    Exit 0 when every caption parsed, 3 when some lines failed (listed in failures.jsonl beside
    the output; the others are written).
    """
    from finsta_cli.config import load_config
    from finsta_cli.text.parse_stage import run_parse_text

    executor = executor_overrides(executor_kind, workers, num_gpus, cpus_per_worker, ray_address)
    overrides = given_options(ctx, Config, format=output_format, **executor)
    resolved = load_config(Config, config, overrides, set_ or ())
    if parser_model is not None and resolved.parser != "learned":
        from finsta_cli.errors import UsageError

        raise UsageError("--parser-model is for --parser learned")
    if json_out and out == "-":
        from finsta_cli.errors import UsageError

        raise UsageError("--json and --out - both write to stdout: choose one")
    summary = run_parse_text(
        input,
        out,
        resolved,
        shard=shard_option(shard),
        force=force,
        limit=limit,
        quiet=quiet,
    )
    finish_stage(summary, json_out=json_out, extra={"out": out})
