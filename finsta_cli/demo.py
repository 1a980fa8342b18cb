"""``finsta demo``: the main job, end to end on generated input, with the stages that exist.

synth (a small rendered benchmark) -> parse-text (its captions) -> build-dsg (its videos, with the
shipped detector) -> build-hsg (each caption with its video) -> scores: build-dsg against the
synth ground truth, and the HSG cross edges against the captions' facts. Every stage writes its
usual outputs under ``--out``; a second run resumes (finished items are skipped).
The remaining stages (align-train, eval, zeroshot) join as they are built.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsta_cli.io import JsonlWriter, atomic_write_json
from finsta_cli.io.stage import StageSummary

PENDING = ("align-train", "eval (retrieval, videoqa, action)", "zeroshot")


@dataclass
class StageResult:
    name: str
    summary: StageSummary
    seconds: float


@dataclass
class DemoResult:
    out: Path
    stages: list[StageResult] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    pending: tuple[str, ...] = PENDING

    @property
    def failed(self) -> int:
        return sum(stage.summary.failed for stage in self.stages)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "stages": [
                {
                    **stage.summary.to_json(),
                    "stage": stage.name,
                    "wall_seconds": round(stage.seconds, 2),
                }
                for stage in self.stages
            ],
            "metrics": self.metrics,
            "pending": list(self.pending),
        }


def _timed(result: DemoResult, name: str, step: Callable[[], StageSummary]) -> None:
    start = time.perf_counter()
    summary = step()
    result.stages.append(StageResult(name, summary, time.perf_counter() - start))


def _synth_records(data: Path) -> list[dict[str, Any]]:
    from finsta_cli.data.synth_records import SPLITS

    records = []
    for split in SPLITS:
        path = data / f"{split}.jsonl"
        if path.is_file():
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return records


def write_captions(records: list[dict[str, Any]], path: Path) -> int:
    """The captions of synth records as JSONL, with ids ``VIDEO.cK`` (build-hsg pairs them)."""
    count = 0
    with JsonlWriter(path) as writer:
        for record in records:
            for k, caption in enumerate(record["captions"]):
                writer.write({"id": f"{record['video_id']}.c{k}", "text": caption["text"]})
                count += 1
    return count


def run_demo(out: Path, *, videos: int = 12, seed: int = 0, quiet: bool = False) -> DemoResult:
    """Run every stage that exists on a freshly rendered synth set under ``out``."""
    from finsta_cli.data.synth import SynthConfig, generate_dataset
    from finsta_cli.hsg.build import BuildHSGConfig, run_build_hsg
    from finsta_cli.hsg.evaluate import score_hsg_folder
    from finsta_cli.tasks.dsg_eval import evaluate_dsg
    from finsta_cli.text.parse_stage import ParseTextConfig, run_parse_text
    from finsta_cli.video.stage import BuildDSGConfig, run_build_dsg

    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=out)
    data, tsg, dsg, hsg = out / "synth", out / "tsg.jsonl", out / "dsg", out / "hsg"
    _timed(
        result,
        "synth",
        lambda: generate_dataset(SynthConfig(videos=videos, seed=seed), data, quiet=quiet),
    )
    records = _synth_records(data)
    write_captions(records, out / "captions.jsonl")
    _timed(
        result,
        "parse-text",
        lambda: run_parse_text(
            str(out / "captions.jsonl"), str(tsg), ParseTextConfig(), quiet=quiet
        ),
    )
    _timed(
        result,
        "build-dsg",
        lambda: run_build_dsg([data / "videos"], dsg, BuildDSGConfig(), quiet=quiet),
    )
    _timed(result, "build-hsg", lambda: run_build_hsg(tsg, dsg, hsg, BuildHSGConfig(), quiet=quiet))
    dsg_metrics, _ = evaluate_dsg(data, dsg)
    result.metrics["dsg"] = dsg_metrics.to_json()
    result.metrics["hsg"] = score_hsg_folder(hsg, records).to_json()
    atomic_write_json(out / "demo.json", result.to_json())
    return result
