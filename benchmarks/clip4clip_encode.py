"""clip4clip host speed: meanP vs seqTransf, eval encode and a training step, side by side.

Builds a randomly initialised clip4clip host (open_clip, no download) in both temporal modes and
times, in one run: ``encode_video`` in eval mode (frames/s), ``encode_text`` in eval mode
(texts/s) and one training step (video + text forward, backward through the trainable blocks;
frames/s). Prints each figure, the seqTransf / meanP ratios and an fp32 matmul GFLOP/s before and
after, so a loaded machine shows as such.

    python benchmarks/clip4clip_encode.py --videos 2 --frames 12 --threads 2

Needs ``pip install 'finsta[clip]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from finsta_cli.hosts.clip4clip import build_clip4clip
from finsta_cli.runtime import configure_threads

CAPTION = "a man quickly picks up a red cup from the table"


def matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * size**3 / (time.perf_counter() - start) / 1e9


def measure(
    temporal: str, arch: str, videos: int, frames: int, texts: int, repeats: int
) -> dict[str, float]:
    torch.manual_seed(0)
    host = build_clip4clip({"arch": arch, "temporal": temporal})
    size = host.frame_size
    clip = torch.randint(0, 256, (videos, frames, size, size, 3), dtype=torch.uint8)
    captions = [CAPTION] * texts
    host.eval()
    with torch.no_grad():
        host.encode_video(clip[:1, :2])  # warm-up
        host.encode_text(captions[:2])
        start = time.perf_counter()
        for _ in range(repeats):
            host.encode_video(clip)
        video_s = (time.perf_counter() - start) / repeats
        start = time.perf_counter()
        for _ in range(repeats):
            host.encode_text(captions)
        text_s = (time.perf_counter() - start) / repeats
    host.train()
    start = time.perf_counter()
    for _ in range(repeats):
        host.zero_grad(set_to_none=True)
        video = host.encode_video(clip)
        text = host.encode_text(captions[:videos])
        (video.embedding @ text.embedding.T).sum().backward()
    train_s = (time.perf_counter() - start) / repeats
    return {
        "encode_video_frames_per_s": videos * frames / video_s,
        "encode_text_texts_per_s": texts / text_s,
        "train_step_frames_per_s": videos * frames / train_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="ViT-B-32")
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--texts", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    configure_threads(args.threads)
    before = matmul_gflops()
    results = {
        mode: measure(mode, args.arch, args.videos, args.frames, args.texts, args.repeats)
        for mode in ("meanP", "seqTransf")
    }
    after = matmul_gflops()
    ratios = {key: results["seqTransf"][key] / results["meanP"][key] for key in results["meanP"]}
    report = {
        "arch": args.arch,
        "threads": torch.get_num_threads(),
        "matmul_gflops_before_after": [round(before, 1), round(after, 1)],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "results": {m: {k: round(v, 2) for k, v in r.items()} for m, r in results.items()},
        "seqTransf_over_meanP": {k: round(v, 3) for k, v in ratios.items()},
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"{args.arch}, {report['threads']} threads, {args.videos} x {args.frames} frames, "
        f"matmul {before:.0f} -> {after:.0f} GFLOP/s, load {report['load_average']}"
    )
    for key in results["meanP"]:
        print(
            f"{key:28s} meanP {results['meanP'][key]:8.2f}  seqTransf "
            f"{results['seqTransf'][key]:8.2f}  ratio {ratios[key]:.3f}"
        )


if __name__ == "__main__":
    main()
