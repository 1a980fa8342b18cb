"""Can a video head over the lite host's frozen EfficientNet-Lite0 cells tell which of two
events came first? A probe of the video side alone (no text, no retrieval).

Data: the videos of a synth set (``--synth``, its ``train`` and ``val`` splits) that show two
events one after the other (the first ends before the second starts) whose subjects look
different (colour or shape). Each gives two items: (video, A, B) labelled "A first" and (video,
B, A) labelled "B first", with A and B the subjects' colour and shape. So a head that cannot
see order scores 50 % on ``val`` whatever it learns about which objects are present.

Features: each video's 8 frames at 160 px through EfficientNet-Lite0's head layer, exactly as
the lite host reads them (``finsta_cli.hosts.frames`` decoding, the host's tower code and its
feature cache, so a second run and a later align-train on the same set reuse them): T x 25
cells x 1280 channels.

Heads (each then a 2-layer MLP over the video vector and the two objects' colour and shape
embeddings, trained with binary cross-entropy on both items of each video):

- ``blind``: the mean over frames of W pooled (order-free: the control);
- ``pooled``: the lite host's seqTransf video side with ``motion_source: pooled``:
  LayerNorm(W pooled_t + M (pooled_t - pooled_{t-1})) + time positions -> Transformer -> mean;
- ``cellsabs``: the same with the change the mean absolute change of the cells;
- ``attended``: the same with ``motion_source: attended`` (the host's own function,
  ``finsta_cli.hosts.lite.attended_change``: the cells averaged with softmax weights on how
  much each changed since the previous frame).

    python benchmarks/order_probe.py --synth W/synth --steps 800 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from finsta_cli.hosts.frames import load_host_frames
from finsta_cli.hosts.lite import LiteHost, attended_change, build_lite

HEADS = ("blind", "pooled", "cellsabs", "attended")


def ordered_pairs(record: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The looks (colour, shape) of the subjects of the first two events of ``record`` that
    follow one another and whose subjects look different; None when there are none."""
    look = {o["track_id"]: (o["colour"], o["shape"]) for o in record["objects"]}
    events = sorted(record["events"], key=lambda e: e["start"])
    for i, first in enumerate(events):
        for second in events[i + 1 :]:
            a, b = look[first["subject"]], look[second["subject"]]
            if first["end"] < second["start"] and a != b:
                return a, b
    return None


def load_split(
    synth: Path, split: str, limit: int, host: LiteHost, cache: Path | None
) -> tuple[Tensor, list[tuple[tuple[str, str], tuple[str, str]]]]:
    """(N, T, P, C) float16 cells and the (first, second) looks of the split's usable videos."""
    chosen: list[tuple[str, Path]] = []
    pairs = []
    for line in (synth / f"{split}.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        pair = ordered_pairs(record)
        if pair is not None and len(chosen) < limit:
            chosen.append((record["video_id"], synth / record["video"]))
            pairs.append(pair)
    frames = load_host_frames(chosen, host.num_frames, host.frame_size, cache)
    keep = [i for i, (video_id, _) in enumerate(chosen) if video_id not in frames.failures]
    maps = torch.stack([host._clip_features(clip) for clip in frames.frames])
    cells = maps.flatten(3).transpose(2, 3).contiguous()  # (N, T, P, C)
    return cells, [pairs[i] for i in keep]


class Probe(nn.Module):
    def __init__(self, kind: str, colours: list[str], shapes: list[str]) -> None:
        super().__init__()
        self.kind = kind
        self.sharpness = nn.Parameter(torch.tensor(1.0 + math.log(2.0)))  # the host's start
        channels, dim = 1280, 256
        self.projection = nn.Linear(channels, dim)
        self.motion = nn.Linear(channels, dim, bias=False)
        self.norm = nn.LayerNorm(dim)
        self.time = nn.Parameter(torch.randn(1, 64, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, 4, 2 * dim, 0.1, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.dropout = nn.Dropout(0.1)
        self.out = nn.Linear(dim, dim)
        self.colour, self.shape = nn.Embedding(len(colours), 64), nn.Embedding(len(shapes), 64)
        self.score = nn.Sequential(
            nn.Linear(dim + 128, 256), nn.GELU(), nn.Dropout(0.1), nn.Linear(256, 1)
        )

    def video(self, cells: Tensor) -> Tensor:
        x = cells.float()
        pooled = x.mean(dim=2)
        frame = self.projection(self.dropout(pooled))
        if self.kind == "blind":
            return self.out(self.norm(frame).mean(dim=1))
        if self.kind == "pooled":
            step = pooled[:, 1:] - pooled[:, :-1]
        elif self.kind == "cellsabs":
            step = (x[:, 1:] - x[:, :-1]).abs().mean(dim=2)
        else:
            step = attended_change(x, self.sharpness)
        change = torch.cat([torch.zeros_like(pooled[:, :1]), step], 1)
        frame = self.norm(frame + self.motion(self.dropout(change)))
        frame = frame + self.encoder(frame + self.time[:, : frame.shape[1]])
        return self.out(frame.mean(dim=1))

    def forward(self, cells: Tensor, first: Tensor, second: Tensor) -> Tensor:
        video = self.video(cells)
        a = self.colour(first[:, 0]) + self.shape(first[:, 1])
        b = self.colour(second[:, 0]) + self.shape(second[:, 1])
        return self.score(torch.cat([video, a, b], 1)).squeeze(1)


def accuracy(probe: Probe, cells: Tensor, a: Tensor, b: Tensor) -> float:
    probe.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(a), 64):
            chunk = cells[i : i + 64]
            right += int((probe(chunk, a[i : i + 64], b[i : i + 64]) > 0).sum())
            right += int((probe(chunk, b[i : i + 64], a[i : i + 64]) < 0).sum())
    probe.train()
    return 100 * right / (2 * len(a))


def train_probe(kind: str, seed: int, steps: int, data: dict[str, Any], colours: list[str],
                shapes: list[str]) -> dict[str, float]:  # fmt: skip
    torch.manual_seed(seed)
    probe = Probe(kind, colours, shapes)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / steps))
    )
    generator = torch.Generator().manual_seed(seed)
    cells, a, b = data["train"]
    batch = 32
    for _ in range(steps):
        index = torch.randint(len(a), (batch,), generator=generator)
        chunk = cells[index]
        logits = torch.cat([probe(chunk, a[index], b[index]), probe(chunk, b[index], a[index])])
        target = torch.cat([torch.ones(batch), torch.zeros(batch)])
        loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    sample = slice(0, min(300, len(a)))
    return {
        "val": accuracy(probe, *data["val"]),
        "train_sample": accuracy(probe, cells[sample], a[sample], b[sample]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth", type=Path, required=True, help="a finsta synth folder")
    parser.add_argument("--train", type=int, default=2400, help="at most this many videos")
    parser.add_argument("--val", type=int, default=400)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS))
    parser.add_argument("--frame-cache", type=Path, help="host frame cache [none]")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = json.loads((args.synth / "dataset.json").read_text(encoding="utf-8"))
    colours, shapes = list(dataset["colours"]), list(dataset["classes"])
    host = build_lite({"temporal": "seqTransf"})
    data: dict[str, Any] = {}
    begin = time.perf_counter()
    for split, limit in (("train", args.train), ("val", args.val)):
        cells, pairs = load_split(args.synth, split, limit, host, args.frame_cache)
        a = torch.tensor([[colours.index(p[0][0]), shapes.index(p[0][1])] for p in pairs])
        b = torch.tensor([[colours.index(p[1][0]), shapes.index(p[1][1])] for p in pairs])
        data[split] = (cells, a, b)
    counts = {split: len(value[1]) for split, value in data.items()}
    print(f"videos with two ordered events: {counts} ({time.perf_counter() - begin:.0f} s); "
          f"one val video is {100 / counts['val']:.2f} points")  # fmt: skip
    print(f"{'head':<10} {'seed':>4} {'val %':>6} {'train %':>8} {'s':>5}")
    results = []
    for kind in args.heads:
        for seed in args.seeds:
            start = time.perf_counter()
            figures = train_probe(kind, seed, args.steps, data, colours, shapes)
            seconds = time.perf_counter() - start
            results.append({"head": kind, "seed": seed, **figures, "seconds": seconds})
            print(f"{kind:<10} {seed:>4} {figures['val']:>6.1f} {figures['train_sample']:>8.1f} "
                  f"{seconds:>5.0f}", flush=True)  # fmt: skip
    print(json.dumps({"videos": counts, "steps": args.steps, "results": results}))


if __name__ == "__main__":
    main()
