"""lite host speed: the frozen towers cold (computed) vs warm (memoised), for encoding and for one
host-only training step.

Builds the ``lite`` host (the towers from their installed packages) and times, on random frames
(the towers' cost does not depend on what the pixels show) and distinct captions:

- ``encode_video`` in eval mode, cold (every clip new: EfficientNet-Lite0 runs) and warm (the
  same clips again: memory cache), and warm from the disk cache alone (memory emptied);
- ``encode_text`` in eval mode, cold and warm;
- one align-train host-only step (video + text forward, the symmetric InfoNCE, backward, AdamW
  step over the trainable parameters) on a batch of new videos and captions (cold), then the
  same batch again (warm, mean of ``--repeats``).

Prints an fp32 matmul GFLOP/s figure before and after, so a loaded machine shows as such. The
caches are pointed at a temporary folder, so earlier runs do not make "cold" warm.

    python benchmarks/lite_host.py --batch 16 --frames 8 --size 160 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import torch

from finsta_cli.runtime import configure_threads

COLOURS = ("red", "blue", "green", "yellow", "black", "white", "purple", "orange")
THINGS = ("cup", "ball", "box", "book", "bottle", "hat", "shoe", "phone")


def matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * size**3 / (time.perf_counter() - start) / 1e9


def captions(count: int, offset: int) -> list[str]:
    out = []
    for i in range(offset, offset + count):
        colour, thing = COLOURS[i % len(COLOURS)], THINGS[(i // len(COLOURS)) % len(THINGS)]
        out.append(f"A person picks up the {colour} {thing}, then puts it down {i} times.")
    return out


def measure(args: argparse.Namespace) -> dict[str, float]:
    from finsta_cli.align.losses import symmetric_info_nce
    from finsta_cli.hosts import build_host
    from finsta_cli.hosts.feature_cache import feature_cache

    start = time.perf_counter()
    torch.manual_seed(0)
    host = build_host(
        "lite", {"temporal": args.temporal, "frame_size": args.size, "num_frames": args.frames}
    )
    build_s = time.perf_counter() - start
    generator = torch.Generator().manual_seed(0)

    def clips(count: int) -> torch.Tensor:
        shape = (count, args.frames, args.size, args.size, 3)
        return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)

    out: dict[str, float] = {"build_s": build_s}
    host.eval()
    with torch.no_grad():
        video = clips(args.videos)
        start = time.perf_counter()
        host.encode_video(video)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        host.encode_video(video)
        warm = time.perf_counter() - start
        feature_cache().memory.clear()
        start = time.perf_counter()
        host.encode_video(video)
        disk = time.perf_counter() - start
        frames = args.videos * args.frames
        out |= {"encode_video_cold_frames_per_s": frames / cold,
                "encode_video_warm_frames_per_s": frames / warm,
                "encode_video_disk_frames_per_s": frames / disk}  # fmt: skip
        texts = captions(args.texts, 0)
        start = time.perf_counter()
        host.encode_text(texts)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        host.encode_text(texts)
        warm = time.perf_counter() - start
        out |= {"encode_text_cold_texts_per_s": args.texts / cold,
                "encode_text_warm_texts_per_s": args.texts / warm}  # fmt: skip
    host.train()
    parameters = host.trainable_parameters()
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)
    batch_frames, batch_texts = clips(args.batch), captions(args.batch, 10_000)

    def step() -> float:
        begin = time.perf_counter()
        video = host.encode_video(batch_frames)
        text = host.encode_text(batch_texts)
        loss = symmetric_info_nce(text.embedding, video.embedding, host.logit_scale.exp())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - begin

    out["train_step_cold_s"] = step()
    out["train_step_warm_s"] = sum(step() for _ in range(args.repeats)) / args.repeats
    out["trainable_parameters"] = float(sum(p.numel() for p in parameters))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--temporal", default="seqTransf", choices=("meanP", "seqTransf"))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--videos", type=int, default=16, help="for the encode_video figures")
    parser.add_argument("--texts", type=int, default=64, help="for the encode_text figures")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    configure_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="finsta-lite-bench-") as cache:
        os.environ["FINSTA_CACHE_DIR"] = cache
        before = matmul_gflops()
        results = measure(args)
        after = matmul_gflops()
    report = {
        "temporal": args.temporal,
        "batch": args.batch,
        "frames": args.frames,
        "size": args.size,
        "threads": torch.get_num_threads(),
        "matmul_gflops_before_after": [round(before, 1), round(after, 1)],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "results": {k: round(v, 3) for k, v in results.items()},
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"lite {args.temporal}, {report['threads']} threads, batch {args.batch} x {args.frames} "
        f"frames at {args.size} px, matmul {before:.0f} -> {after:.0f} GFLOP/s, "
        f"load {report['load_average']}"
    )
    for key, value in report["results"].items():  # type: ignore[attr-defined]
        print(f"{key:34s} {value:10.3f}")


if __name__ == "__main__":
    main()
