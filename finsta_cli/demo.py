"""``finsta demo``: the main job, end to end on generated input, with the stages that exist.

The full demo (synth -> parse-text -> build-dsg -> build-hsg -> align-train -> eval) grows with
the stages; today it checks the environment and writes the artifact schemas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from finsta_cli.io.atomic import atomic_write_json, atomic_write_text

PIPELINE = ("synth", "parse-text", "build-dsg", "build-hsg", "align-train", "eval", "zeroshot")


@dataclass
class DemoResult:
    out: Path
    ready: bool
    missing: list[str]
    written: list[Path] = field(default_factory=list)
    stages_run: list[str] = field(default_factory=list)
    stages_pending: list[str] = field(default_factory=list)


def run_demo(out: Path) -> DemoResult:
    """Run every stage that exists on generated input under ``out``; report what is pending."""
    from finsta_cli.environment import collect_environment
    from finsta_cli.schema import SCHEMAS

    out.mkdir(parents=True, exist_ok=True)
    report = collect_environment()
    result = DemoResult(
        out=out, ready=report.ready, missing=[f"{m.what}: {m.reason}" for m in report.missing]
    )
    env_path = out / "env.json"
    atomic_write_json(env_path, report.model_dump(mode="json"))
    result.written.append(env_path)
    result.stages_run.append("env")
    for kind, model in SCHEMAS.items():
        path = out / "schemas" / f"{kind}.schema.json"
        atomic_write_text(path, json.dumps(model.model_json_schema(), indent=2) + "\n")
        result.written.append(path)
    result.stages_run.append("schema")
    result.stages_pending = list(PIPELINE)
    return result
