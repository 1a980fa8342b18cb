"""Where the order of two synth events goes on its way through finsta's graphs, and how a host
scores the temporal-order hard negatives (docs/benchmarks.md, "Temporal-order negatives").

1. parse-text's ``before`` edges against the gold event order of every synth caption that states
   an order (``order`` in the record): correct, missing, reversed, per caption template. Each
   clause is found in the caption by re-writing it from its fact (``synth_text.clause``, every
   wording variant) and a predicate node belongs to the clause its span starts in.
2. with ``--hsg``: each PTC anchor of those captions (:func:`finsta_cli.align.data.hsg_anchors`, as
   align-train builds them) against the frames of its own event and of the other event.
3. with ``--predictions``: the temporal hard negatives of an ``eval --task retrieval`` run split
   by whether the caption names the events in the order they happen ("A, then B") or in the
   other order ("B after A", "Before B, A"), right and wrong.

    python benchmarks/temporal_audit.py --synth D/synth --tsg D/tsg.jsonl --hsg D/hsg \\
        --split test --predictions RUN/eval-test/predictions.jsonl ...
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Any

from finsta_cli.align.data import hsg_anchors
from finsta_cli.graph import GraphOptions, tsg_node_index
from finsta_cli.schema import HSG, TSG
from finsta_cli.synth.text import clause

SPLITS = ("train", "val", "test", "test_unseen")
# Templates that name the later event first: "{1} after {0}.", "Before {1}, {0}."
SURFACE_REVERSED = frozenset({"later", "before_lead"})


def clause_span(text: str, fact: dict[str, Any]) -> tuple[int, int] | None:
    """[start, end) of a fact's clause in a caption (the longest wording that occurs)."""
    low = text.lower()
    best: tuple[int, int] | None = None
    for sizes in (False, True):
        for variant in range(4):
            words = clause(fact, variant, sizes).lower()
            at = low.find(words)
            if at >= 0 and (best is None or len(words) > best[1] - best[0]):
                best = (at, at + len(words))
    return best


def _records(synth: Path, splits: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for split in splits:
        path = synth / f"{split}.jsonl"
        if path.is_file():
            out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return out


def audit_order(
    records: list[dict[str, Any]], tsgs: dict[str, TSG], hsg: Path | None
) -> dict[str, Any]:
    edges: collections.Counter[str] = collections.Counter()
    by_template: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    ptc: collections.Counter[str] = collections.Counter()
    for record in records:
        video = record["video_id"]
        for k, caption in enumerate(record["captions"]):
            text_id = f"{video}.c{k}"
            tsg = tsgs.get(text_id)
            if tsg is None or not caption["order"]:
                continue
            i, j = caption["order"][0]
            spans = (
                clause_span(caption["text"], caption["facts"][i]),
                clause_span(caption["text"], caption["facts"][j]),
            )
            if spans[0] is None or spans[1] is None:
                edges["clause not found"] += 1
                continue
            first, then = (
                {n.id for n in tsg.nodes if n.type == "predicate" and n.span
                 and span[0] <= n.span[0] < span[1]}
                for span in spans
            )  # fmt: skip
            forward = any(e.type == "before" and e.source in first and e.target in then
                          for e in tsg.edges)  # fmt: skip
            backward = any(e.type == "before" and e.source in then and e.target in first
                           for e in tsg.edges)  # fmt: skip
            kind = ("both" if forward and backward else "correct" if forward
                    else "reversed" if backward else "missing")  # fmt: skip
            edges[kind] += 1
            by_template[caption["template"]][kind] += 1
            if hsg is not None:
                _audit_ptc(hsg / f"{video}--{text_id}.json", record, (i, j), spans, ptc)  # type: ignore[arg-type]
    return {"edges": dict(edges), "by_template": {t: dict(c) for t, c in by_template.items()},
            "ptc": dict(ptc)}  # fmt: skip


def _audit_ptc(
    path: Path,
    record: dict[str, Any],
    order: tuple[int, int],
    spans: tuple[tuple[int, int], tuple[int, int]],
    out: collections.Counter[str],
) -> None:
    if not path.is_file():
        return
    graph = HSG.model_validate_json(path.read_bytes())
    rows = tsg_node_index(graph.tsg, GraphOptions())
    tracks = {o.track_id for f in graph.dsg.frames for o in f.objects}
    _, anchors = hsg_anchors(graph, rows, tracks, 3)
    node_of = {row: node for node, row in rows.items()}
    frame_of = [f.index for f in graph.dsg.frames]
    events = record["events"][:2]
    for anchor in anchors:
        span = graph.tsg.nodes[node_of[anchor.node]].span
        assert span is not None
        own = next((k for k, s in enumerate(spans) if s[0] <= span[0] < s[1]), None)
        if own is None:
            out["outside both clauses (a relation sentence)"] += 1
            continue
        start, end = frame_of[anchor.positive[0]], frame_of[anchor.positive[1]]

        def overlap(event: dict[str, Any], s: int = start, e: int = end) -> int:
            return max(0, min(e, event["end"]) - max(s, event["start"]) + 1)

        mine, other = overlap(events[order[own]]), overlap(events[order[1 - own]])
        out["own event only" if mine and not other else "mostly own event" if mine > other
            else "mostly the other event" if other > mine else "neither / tie"] += 1  # fmt: skip


def audit_predictions(synth: Path, split: str, predictions: Path) -> dict[str, Any]:
    template: dict[tuple[str, str], str] = {}
    for record in _records(synth, (split,)):
        for negative in record["negatives"]:
            if negative["aspect"] == "temporal":
                source = record["captions"][negative["source"]]["template"]
                template[(record["video_id"], negative["text"])] = source
    counts: collections.Counter[str] = collections.Counter()
    for line in predictions.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("aspect") != "temporal":
            continue
        reversed_ = template[(row["video_id"], row["negative"])] in SURFACE_REVERSED
        order = "later event named first" if reversed_ else "events named in order"
        counts[f"{order}: {'right' if row['correct'] else 'wrong'}"] += 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth", type=Path, required=True)
    parser.add_argument("--tsg", type=Path, required=True)
    parser.add_argument("--hsg", type=Path)
    parser.add_argument("--split", default="test", help="split of --predictions")
    parser.add_argument("--predictions", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    tsgs = {}
    for line in args.tsg.read_text(encoding="utf-8").splitlines():
        record = TSG.model_validate_json(line)
        tsgs[record.id] = record
    report = audit_order(_records(args.synth, SPLITS), tsgs, args.hsg)
    total = sum(report["edges"].values())
    print(f"ordered event pairs in captions: {total}")
    for kind, count in sorted(report["edges"].items(), key=lambda kv: -kv[1]):
        print(f"  before edge {kind}: {count} ({100 * count / total:.1f} %)")
    for name, counts in sorted(report["by_template"].items()):
        print(f"  template {name}: {counts}")
    if report["ptc"]:
        print(f"PTC anchors of those captions: {report['ptc']}")
    for path in args.predictions:
        print(f"{path}: temporal negatives {audit_predictions(args.synth, args.split, path)}")


if __name__ == "__main__":
    main()
