"""``finsta parse-text``: captions -> textual scene graphs (TSG JSONL or FACTUAL lines)."""

from typing import Annotated

import typer

from finsta_cli.cli.options import (
    ConfigOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    QuietOpt,
    ShardOpt,
    SpacyModelOpt,
    VerboseOpt,
    command,
    finish_stage,
    shard_option,
)


@command
def parse_text(
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
        str | None,
        typer.Option(
            "--format",
            help="tsg: one TSG JSON record per caption; factual: caption TAB facts "
            "in FACTUAL syntax [default: tsg].",
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format", help="auto (by suffix), text, jsonl or csv [default: auto]."
        ),
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option("--id-field", help="JSONL key / CSV column of the id [default: id]."),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option("--text-field", help="JSONL key / CSV column of the caption [default: text]."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="nlp.pipe batch [default: 256].")
    ] = None,
    n_process: Annotated[
        int | None,
        typer.Option("--n-process", min=1, help="spaCy worker processes [default: 1]."),
    ] = None,
    spacy_model: SpacyModelOpt = None,
    max_chars: Annotated[
        int | None,
        typer.Option("--max-chars", min=1, help="Cut longer captions [default: 10000]."),
    ] = None,
    parser: Annotated[
        str | None,
        typer.Option(
            "--parser",
            help="rules: the spaCy rule parser; learned: a trained model re-decides the rules' "
            "choices (FACTUAL conventions, slower) [default: rules].",
        ),
    ] = None,
    parser_model: Annotated[
        str | None,
        typer.Option(
            "--parser-model",
            help="Learned parser folder from finsta train-parser "
            "[default: assets/text/learned_parser].",
        ),
    ] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
    shard: ShardOpt = None,
    limit: LimitOpt = None,
) -> None:
    """Parse captions into textual scene graphs, one record per caption, in input order.

    Exit 0 when every caption parsed, 3 when some lines failed (listed in failures.jsonl beside
    the output; the others are written).
    """
    from finsta_cli.config import load_config
    from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text

    resolved = load_config(
        ParseTextConfig,
        config,
        {
            "format": output_format,
            "input_format": input_format,
            "id_field": id_field,
            "text_field": text_field,
            "batch_size": batch_size,
            "n_process": n_process,
            "spacy_model": spacy_model,
            "max_chars": max_chars,
            "parser": parser,
            "parser_model": parser_model,
        },
    )
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
