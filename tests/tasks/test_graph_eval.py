"""Evaluating a fusion checkpoint with scene graphs: the fused embeddings are the ones align-train
trains (checked against FinstaModel's own fusion code), batching does not change them, a text or
video without a graph falls back to the host embedding alone, and the refusals."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from finsta_cli.datasets import TaskDataset, load_task_dataset
from finsta_cli.errors import UsageError
from finsta_cli.hosts.frames import FrameSet, load_host_frames
from finsta_cli.tasks.embedder import encode_texts, encode_videos
from finsta_cli.tasks.graph_eval import (
    PARSE_CACHE,
    FusionEmbedder,
    GraphSources,
    caption_graphs,
    load_fusion_model,
    recorded_dsg_frames,
    video_graphs,
)
from finsta_cli.tasks.host_eval import evaluate_retrieval, run_host_eval
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.hosts.frame_count import live_decoded_videos


def _split(align_set: AlignSet, split: str) -> tuple[TaskDataset, FrameSet]:
    dataset = load_task_dataset(align_set.data, split=split)
    ids = dataset.retrieval_index()[0]
    refs = [(vid, dataset.videos[vid].path) for vid in ids]
    return dataset, load_host_frames(refs, 4, 32, align_set.cache)


def _encoder(
    checkpoint: Path, align_set: AlignSet, dataset: TaskDataset, dsg: Path, **options: Any
) -> FusionEmbedder:
    fusion = load_fusion_model(checkpoint)
    encoder = FusionEmbedder(fusion, "cpu", caption_graphs([dataset], align_set.tsg), **options)
    encoder.add_videos(video_graphs(list(dataset.videos), dsg, fusion))
    return encoder


def test_fused_embeddings_are_the_ones_align_train_trains(
    align_set: AlignSet, fusion_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsta_cli.align import model as model_module
    from finsta_cli.align.batch import attach_host_frames, collate
    from finsta_cli.align.data import build_align_data
    from finsta_cli.align.distributed import Collective

    dataset, frames = _split(align_set, "train")
    encoder = _encoder(fusion_checkpoint, align_set, dataset, align_set.dsg)
    fusion = encoder.checkpoint
    model = fusion.model
    # The training batch of every train video with its first caption, built by align-train's
    # own data code (its TSGs come from the HSGs, its DSGs from the same folder).
    entries = [(vid, [(c.text_id, c.text) for c in dataset.captions if c.video_id == vid][:1])
               for vid in frames.ids]  # fmt: skip
    data = build_align_data(
        entries, tsg_file=align_set.tsg, dsg_dir=align_set.dsg, hsg_dir=align_set.hsg,
        options=fusion.options, vocab=(fusion.node_vocab, fusion.edge_vocab),
    )  # fmt: skip
    attach_host_frames(data, frames)
    batch = collate([(v, v.captions[0]) for v in data.videos], frames, data, graphs=True, hops=2)
    # FinstaModel computes fused_t and fused_v inside and hands them to the loss: catch them.
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = model_module.symmetric_info_nce

    def spy(text: torch.Tensor, video: torch.Tensor, scale: Any) -> torch.Tensor:
        seen.append((text, video))
        return original(text, video, scale)

    monkeypatch.setattr(model_module, "symmetric_info_nce", spy)
    with torch.no_grad():
        video = model.host.encode_video(batch.frames)
        text = model.host.encode_text(batch.texts)
        scale = model.host.logit_scale.exp()
        model._graph_losses(batch, video, text, scale, Collective())
    fused_t, fused_v = seen[-1]  # the last contrast is vtc_fused
    assert bool(batch.has_tsg.all()) and bool(batch.has_dsg.all())
    ours_t = encoder.text_embeddings(batch.texts)
    ours_v = encoder.video_embeddings(frames)
    assert torch.allclose(ours_t, F.normalize(fused_t, dim=-1), atol=1e-5)
    assert torch.allclose(ours_v, F.normalize(fused_v, dim=-1), atol=1e-5)
    # ... and they are not the host's embeddings alone.
    host_t = encode_texts(model.host, batch.texts)
    assert (ours_t - host_t).abs().max() > 1e-3
    assert encoder.counts.to_json() == {"graphs_texts": 9, "graphs_missing_text": 0,
                                        "graphs_videos": 9, "graphs_missing_video": 0}  # fmt: skip


def test_fused_embeddings_add_each_graph_to_its_own_row(
    align_set: AlignSet, fusion_checkpoint: Path
) -> None:
    from torch_geometric.data import Batch

    from finsta_cli.graph import tsg_to_data

    dataset = load_task_dataset(align_set.data, split="train")
    fusion = load_fusion_model(fusion_checkpoint)
    model = fusion.model
    texts = [c.text for c in dataset.captions[:3]]
    tsg = caption_graphs([dataset], align_set.tsg)[texts[2]]
    assert tsg is not None
    graph = tsg_to_data(tsg, fusion.node_vocab, fusion.edge_vocab, fusion.options)
    with torch.no_grad():
        features = model.host.encode_text(texts)
        alone = model.fused_text_embeddings(features)
        # text 2's TSG as the only graph of the batch: it goes to row 2, the others keep the host's
        fused = model.fused_text_embeddings(features, Batch.from_data_list([graph]),
                                            torch.tensor([2]))  # fmt: skip
        single = model.fused_text_embeddings(
            model.host.encode_text(texts[2:]), Batch.from_data_list([graph])
        )
    assert torch.equal(alone, F.normalize(features.embedding, dim=-1))
    assert torch.equal(fused[:2], alone[:2])
    assert torch.allclose(fused[2], single[0], atol=1e-5)
    assert not torch.allclose(fused[2], alone[2], atol=1e-3)


def test_missing_graphs_fall_back_to_the_host_alone(
    align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    dataset, frames = _split(align_set, "train")
    gone = frames.ids[4]
    partial = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, partial)
    (partial / f"{gone}.json").unlink()
    full = _encoder(fusion_checkpoint, align_set, dataset, align_set.dsg)
    # batches of 3: the video without a DSG sits inside a batch with others
    some = _encoder(fusion_checkpoint, align_set, dataset, partial, video_batch=3, text_batch=5)
    expected, got = full.video_embeddings(frames), some.video_embeddings(frames)
    host = encode_videos(full.host, frames)
    assert torch.allclose(got[4], host[4], atol=1e-6)
    assert not torch.allclose(expected[4], host[4], atol=1e-3)
    keep = [i for i in range(len(frames.ids)) if i != 4]
    assert torch.allclose(got[keep], expected[keep], atol=1e-5)  # batching changes nothing
    assert some.counts.videos_missing == {gone}
    # a text without a TSG (here: an empty caption graph) is the host text embedding too
    texts = [c.text for c in dataset.captions[:7]]
    some.text_graphs[texts[2]] = None
    got_t, want_t = some.text_embeddings(texts), full.text_embeddings(texts)
    assert torch.allclose(got_t[2], encode_texts(full.host, texts[2:3])[0], atol=1e-6)
    assert torch.allclose(got_t[[0, 1, 3, 4, 5, 6]], want_t[[0, 1, 3, 4, 5, 6]], atol=1e-5)
    assert some.counts.texts_missing == {texts[2]}


def test_fused_evaluation_holds_one_chunk_of_frames(
    align_set: AlignSet, fusion_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset, frames = _split(align_set, "train")
    encoder = _encoder(fusion_checkpoint, align_set, dataset, align_set.dsg)
    whole = encoder.video_embeddings(frames)
    del frames
    host = encoder.host
    alive: list[int] = []
    encode = host.encode_video

    def counting(clip: torch.Tensor) -> Any:
        alive.append(live_decoded_videos(host.num_frames, host.frame_size))
        return encode(clip)

    monkeypatch.setattr(host, "encode_video", counting)
    result = evaluate_retrieval(encoder, dataset, align_set.cache, quiet=True, video_chunk=2)
    assert len(alive) == 5 and max(alive) <= 2, alive
    assert result.metrics["num_videos"] == 9 and encoder.counts.videos_missing == set()
    # the fused embeddings of the chunks are those of one pass (to float rounding)
    chunked = []
    monkeypatch.setattr(encoder, "video_embeddings", _keeping(encoder.video_embeddings, chunked))
    evaluate_retrieval(encoder, dataset, align_set.cache, quiet=True, video_chunk=2)
    assert torch.allclose(torch.cat(chunked), whole, atol=1e-6)


def test_dsgs_are_read_as_their_videos_are_embedded(
    align_set: AlignSet, fusion_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsta_cli.tasks import graph_eval

    dataset, frames = _split(align_set, "train")
    expected = _encoder(fusion_checkpoint, align_set, dataset, align_set.dsg).video_embeddings(
        frames
    )
    fusion = load_fusion_model(fusion_checkpoint)
    lazy = FusionEmbedder(fusion, "cpu", caption_graphs([dataset], align_set.tsg), video_batch=3)
    lazy.add_video_folder(frames.ids, align_set.dsg)
    reads: list[list[str]] = []
    read = graph_eval.video_graphs

    def recording(ids: list[str], *args: Any) -> Any:
        reads.append(list(ids))
        return read(ids, *args)

    monkeypatch.setattr(graph_eval, "video_graphs", recording)
    got = lazy.video_embeddings(frames)
    # one read per batch of 3 videos, and no graph kept once its video is embedded
    assert reads == [frames.ids[i : i + 3] for i in (0, 3, 6)] and lazy.video_graphs == {}
    assert torch.allclose(got, expected, atol=1e-5)
    assert lazy.counts.videos == set(frames.ids) and not lazy.counts.videos_missing


def _keeping(embed: Any, kept: list[torch.Tensor]) -> Any:
    def wrapped(frames: FrameSet) -> torch.Tensor:
        kept.append(embed(frames))
        return kept[-1]

    return wrapped


def test_videoqa_and_action_zero_shot_with_graphs(
    align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    sources = GraphSources(tmp_path / "graphs", tsg=align_set.tsg, dsg=align_set.dsg)
    qa = run_host_eval(fusion_checkpoint, align_set.data, "videoqa", split="val",
                       cache=align_set.cache, device="cpu", threads=1, quiet=True,
                       graphs=sources)  # fmt: skip
    metrics = qa.metrics
    assert metrics["with_graphs"] is True and metrics["mc_count"] > 0
    assert metrics["graphs_videos"] == 1 and metrics["graphs_missing_video"] == 0
    # every option statement and candidate answer was parsed on the fly: none is missing
    assert metrics["graphs_texts"] >= metrics["mc_count"] and metrics["graphs_missing_text"] == 0
    mc = [p for p in qa.predictions if p["kind"] == "mc"]
    assert metrics["mc_accuracy"] == pytest.approx(100 * sum(p["correct"] for p in mc) / len(mc))
    action = run_host_eval(fusion_checkpoint, align_set.data, "action", split="test",
                           cache=align_set.cache, device="cpu", threads=1, quiet=True,
                           graphs=sources)  # fmt: skip
    assert action.metrics["with_graphs"] is True and action.metrics["classes"] == 12
    assert action.metrics["graphs_texts"] == 12  # one prompt per label


def test_checkpoints_without_graph_encoders_are_refused(align_set: AlignSet) -> None:
    with pytest.raises(UsageError, match="has no scene-graph encoders") as caught:
        load_fusion_model(align_set.checkpoint)
    assert str(align_set.checkpoint) in caught.value.message
    assert "--mode fusion" in (caught.value.hint or "")


def test_recorded_dsg_frames(tmp_path: Path) -> None:
    run, dsg = tmp_path / "run", tmp_path / "dsg"
    run.mkdir()
    dsg.mkdir()
    checkpoint = run / "checkpoint.pt"
    assert recorded_dsg_frames(checkpoint) is None  # no manifest
    command = ["finsta", "align-train", "--dsg", str(dsg), "--mode", "fusion"]
    (run / "manifest.json").write_text(json.dumps({"stage": "align-train", "command": command}))
    assert recorded_dsg_frames(checkpoint) is None  # the DSG folder has no manifest
    built = {"stage": "build-dsg", "config": {"frames": 6, "fps": None}}
    (dsg / "manifest.json").write_text(json.dumps(built))
    assert recorded_dsg_frames(checkpoint) == 6
    built["config"] = {"frames": 6, "fps": 2.0}  # sampled by rate: no frame count to match
    (dsg / "manifest.json").write_text(json.dumps(built))
    assert recorded_dsg_frames(checkpoint) is None


def test_fusion_checkpoint_records_the_dsg_frame_count(
    fusion_checkpoint: Path, tmp_path: Path
) -> None:
    from finsta_cli.align.checkpoint import built_dsg_frames

    # The fixture trains on DSGs written without a build-dsg manifest: nothing recorded.
    assert load_fusion_model(fusion_checkpoint).dsg_frames is None
    payload = torch.load(fusion_checkpoint, weights_only=True)
    info = json.loads(payload["finsta"])
    payload["finsta"] = json.dumps({**info, "dsg_frames": 6})
    torch.save(payload, tmp_path / "checkpoint.pt")
    assert load_fusion_model(tmp_path / "checkpoint.pt").dsg_frames == 6
    # align-train reads the count from its --dsg folder's build-dsg manifest.
    dsg = tmp_path / "dsg"
    dsg.mkdir()
    assert built_dsg_frames(dsg) is None
    (dsg / "manifest.json").write_text(
        json.dumps({"stage": "build-dsg", "config": {"frames": 8, "fps": None}})
    )
    assert built_dsg_frames(dsg) == 8


def test_a_dsg_with_nan_features_is_scored_without_it_and_named(
    align_set: AlignSet,
    fusion_checkpoint: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.align.fixtures import write_regions

    dataset, frames = _split(align_set, "train")
    bad = frames.ids[2]
    dsg = tmp_path / "dsg"
    shutil.copytree(align_set.dsg, dsg)
    write_regions(dsg, bad, 4, nan_at=0)  # the fixture checkpoint reads no region features
    fusion = load_fusion_model(fusion_checkpoint)
    caplog.set_level("WARNING", logger="finsta")
    logger = logging.getLogger("finsta")
    logger.addHandler(caplog.handler)
    try:
        graphs = video_graphs(list(dataset.videos), dsg, fusion)
    finally:
        logger.removeHandler(caplog.handler)
    assert graphs[bad] is None  # scored with the host embedding alone
    assert all(graphs[v] is not None for v in dataset.videos if v != bad)
    assert f"{dsg / (bad + '.pt')}: tensor 'features' holds 4 NaN of" in caplog.text
    assert "scored without its DSG" in caplog.text


def test_a_second_eval_reads_the_parses_the_first_kept(
    align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    """Without --tsg every statement is parsed; with a frame cache the parses are kept there,
    and a second eval (here of the same checkpoint) writes no new ones and scores the same."""
    cache = tmp_path / "frames"
    sources = GraphSources(tmp_path / "graphs", dsg=align_set.dsg)
    runs = []
    kept: list[list[tuple[str, bytes]]] = []
    for _ in range(2):
        runs.append(run_host_eval(fusion_checkpoint, align_set.data, "videoqa", split="val",
                                  cache=cache, device="cpu", threads=1, quiet=True,
                                  graphs=sources))  # fmt: skip
        files = sorted((cache / PARSE_CACHE).glob("*/*.json"))
        kept.append([(str(p), p.read_bytes()) for p in files])
    assert kept[0] and kept[1] == kept[0]  # the second run parsed nothing: nothing new written
    texts = sum(len(json.loads(data)["texts"]) for _, data in kept[0])
    assert texts == runs[0].metrics["graphs_texts"] and runs[0].metrics["graphs_tsg"] == "parsed"
    # (the protocol cards differ: the second run read its frames from the cache)
    first, second = ({k: v for k, v in r.metrics.items() if k != "protocol"} for r in runs)
    assert second == first and runs[1].predictions == runs[0].predictions
