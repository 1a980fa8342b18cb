"""How far a checkpoint's text embedding moves between a caption and its hard negatives.

For each hard negative of a synth split (the true caption with two events swapped, a direction
flipped, ...), the cosine between the embedding of the true caption and of the negative, and
the share of pairs whose true caption scores higher on the video; both per aspect. A cosine
near 1 means the embedding cannot tell the pair apart, whatever the video side does.

    python benchmarks/negative_cosine.py --checkpoint D/runs/seed0/seqTransf-host/checkpoint.pt \\
        --data D/synth --split val
    python benchmarks/negative_cosine.py --checkpoint D/runs/seed0/seqTransf-fusion/checkpoint.pt \\
        --data D/synth --split val --tsg D/tsg.jsonl --dsg D/dsg    # the fused embeddings too

(D: a ``finsta demo`` output folder.)
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="a synth folder")
    parser.add_argument("--split", default="val")
    parser.add_argument("--tsg", type=Path, help="fusion checkpoints: the captions' TSGs")
    parser.add_argument("--dsg", type=Path, help="fusion checkpoints: the videos' DSG folder")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from finsta_cli.datasets import load_task_dataset
    from finsta_cli.hosts.factory import host_from_payload, load_checkpoint
    from finsta_cli.hosts.frames import load_host_frames
    from finsta_cli.runtime import configure_threads
    from finsta_cli.tasks.embedder import Scorer, encode_texts, encode_videos

    configure_threads(args.threads)
    dataset = load_task_dataset(args.data, args.split)
    texts = dataset.caption_texts()
    negatives = [n for n in dataset.negatives if n.source_text_id in texts]
    if not negatives:
        raise SystemExit(f"{args.data}: split {args.split!r} has no hard negatives")
    host = host_from_payload(load_checkpoint(args.checkpoint), args.checkpoint)
    host.eval()
    scorers: dict[str, Scorer] = {"host": host}
    video_ids = sorted({n.video_id for n in negatives})
    if args.tsg is not None and args.dsg is not None:
        from finsta_cli.tasks.graph_eval import (
            FusionEmbedder,
            caption_graphs,
            load_fusion_model,
            video_graphs,
        )

        fusion = load_fusion_model(args.checkpoint)
        fused = FusionEmbedder(fusion, "cpu", caption_graphs([dataset], args.tsg))
        fused.add_videos(video_graphs(video_ids, args.dsg, fusion))
        scorers["fused"] = fused
    refs = [(v, dataset.videos[v].path if v in dataset.videos else None) for v in video_ids]
    frames = load_host_frames(refs, host.num_frames, host.frame_size)
    rows = torch.tensor([frames.position(n.video_id) for n in negatives])
    for name, scorer in scorers.items():
        videos = encode_videos(scorer, frames)[rows]
        true = encode_texts(scorer, [texts[n.source_text_id] for n in negatives])
        false = encode_texts(scorer, [n.text for n in negatives])
        cosine = (true * false).sum(-1)
        wins = ((true * videos).sum(-1) > (false * videos).sum(-1)).float()
        by_aspect: dict[str, list[int]] = defaultdict(list)
        for i, negative in enumerate(negatives):
            by_aspect[negative.aspect].append(i)
        for aspect, index in sorted(by_aspect.items()):
            pick = torch.tensor(index)
            print(f"{name:5s} {aspect:9s} pairs {len(index):4d}  cosine(true, negative) "
                  f"{float(cosine[pick].mean()):.4f}  true caption wins "
                  f"{100 * float(wins[pick].mean()):5.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
