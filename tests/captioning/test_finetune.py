"""Training the caption head on a host's frame features and captioning a split
(finsta_cli/captioning/finetune.py) on the session's synth set with the tiny host: the head
learns its training captions, the nearest-caption baseline copies training captions, the run
is deterministic with the seed, and the written files read back."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from finsta_cli.captioning.config import CaptionHeadConfig
from finsta_cli.captioning.finetune import (
    CaptionSettings,
    host_frame_features,
    run_caption_eval,
    train_and_caption,
    write_caption_eval,
)
from finsta_cli.captioning.head import load_caption_head
from finsta_cli.captioning.vocab import caption_words
from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import UsageError
from finsta_cli.hosts.factory import load_host
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)

SMALL = CaptionHeadConfig(width=64, heads=2, ff_width=128, batch_size=16, lr=2e-3)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_frame_features_are_the_hosts(align_set: AlignSet) -> None:
    host = load_host(align_set.checkpoint)
    train = load_task_dataset(align_set.data, split="train")
    ids = list(train.captions_by_video())
    features = host_frame_features(host, train, ids, align_set.cache, quiet=True, chunk=4)
    assert features.ids == ids and not features.failures
    assert features.frames.shape == (len(ids), host.num_frames, host.feature_dim)
    assert torch.allclose(features.embeddings.norm(dim=1), torch.ones(len(ids)))
    whole = host_frame_features(host, train, ids, align_set.cache, quiet=True, chunk=32)
    assert torch.allclose(whole.frames, features.frames, atol=1e-5)  # chunks change nothing


def test_the_head_learns_its_training_captions(align_set: AlignSet) -> None:
    host = load_host(align_set.checkpoint)
    train = load_task_dataset(align_set.data, split="train")
    references = train.captions_by_video()
    settings = CaptionSettings(head=SMALL, epochs=40, decode="greedy")
    run = train_and_caption(host, train, train, settings, cache=align_set.cache, quiet=True)
    assert run.train_losses[-1] < 0.5 * run.train_losses[0]
    assert set(run.predictions) == set(references) == set(run.baseline)
    # The baseline copies a training caption; on the training split it finds the video itself.
    assert all(run.baseline[v] == references[v][0] for v in references)
    learned = sum(run.predictions[v] in [" ".join(caption_words(r)) for r in references[v]]
                  for v in references)  # fmt: skip
    assert learned >= len(references) // 2, run.predictions


def test_run_caption_eval_writes_scores_predictions_and_head(
    align_set: AlignSet, tmp_path: Path
) -> None:
    settings = CaptionSettings(head=SMALL, epochs=3, decode="beam", beam=2,
                               metrics_backend="python")  # fmt: skip
    options = {"split": "val", "settings": settings, "cache": align_set.cache, "device": "cpu",
               "threads": 1, "quiet": True, "seed": 5}  # fmt: skip
    result = run_caption_eval(align_set.checkpoint, align_set.data, **options)  # type: ignore[arg-type]
    again = run_caption_eval(align_set.checkpoint, align_set.data, **options)  # type: ignore[arg-type]
    assert again.predictions == result.predictions

    def without_cache_counts(metrics: dict[str, Any]) -> dict[str, Any]:
        """The metrics but the card's frame counts (the first run may fill the frame cache)."""
        frames = {k: v for k, v in metrics["protocol"]["frames"].items()
                  if k not in ("from_cache", "decoded")}  # fmt: skip
        return {**metrics, "protocol": {**metrics["protocol"], "frames": frames}}

    assert without_cache_counts(again.metrics) == without_cache_counts(result.metrics)
    assert again.metrics["protocol"]["frames"]["decoded"] == 0  # all read from the cache now
    metrics = result.metrics
    assert metrics["task"] == "captioning" and metrics["split"] == "val"
    assert metrics["backend"] == "python" and metrics["meteor"] is None
    assert metrics["baseline"]["backend"] == "python" and "cider" in metrics["baseline"]
    assert metrics["decode"] == {"method": "beam", "max_length": 24, "beam": 2,
                                 "length_penalty": 1.0}  # fmt: skip
    assert len(metrics["train"]["losses"]) == 3 and metrics["train"]["seed"] == 5
    out = tmp_path / "out"
    write_caption_eval(result, out)
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert rows == result.predictions and all(set(r) == {"video_id", "caption"} for r in rows)
    head, vocab = load_caption_head(out / "caption_head.pt")
    assert vocab.words == result.run.vocab.words and head.config == SMALL
    assert json.loads((out / "metrics.json").read_text())["head_file"] == "caption_head.pt"
    with pytest.raises(UsageError, match="another --split"):
        run_caption_eval(align_set.checkpoint, align_set.data, split="train", settings=settings)


def test_train_host_updates_the_hosts_trainable_parameters(align_set: AlignSet) -> None:
    host = load_host(align_set.checkpoint)
    before = [p.detach().clone() for p in host.trainable_parameters()]
    train = load_task_dataset(align_set.data, split="train")
    val = load_task_dataset(align_set.data, split="val")
    frozen = CaptionSettings(head=SMALL, epochs=2, decode="greedy")
    train_and_caption(host, val, train, frozen, cache=align_set.cache, quiet=True)
    assert all(torch.equal(a, b) for a, b in zip(before, host.trainable_parameters(), strict=True))
    tuned = CaptionSettings(head=SMALL, epochs=2, decode="greedy", train_host=True)
    run = train_and_caption(host, val, train, tuned, cache=align_set.cache, quiet=True)
    after = host.trainable_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert set(run.predictions) == set(val.captions_by_video()) and len(run.train_losses) == 2


def test_the_head_trains_with_deterministic_kernels_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With more than one thread the token embedding's backward accumulated in thread order, so
    two runs of a seed differed (the demo's CIDEr by 0.7); training runs under torch's
    deterministic kernels on the CPU, and the setting is put back afterwards."""
    import finsta_cli.captioning.finetune as finetune
    from finsta_cli.captioning.vocab import CaptionVocab

    seen: list[bool] = []
    real_loss = finetune.caption_loss

    def recording_loss(*args: Any, **kwargs: Any) -> torch.Tensor:
        seen.append(torch.are_deterministic_algorithms_enabled())
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(finetune, "caption_loss", recording_loss)
    vocab = CaptionVocab.build(["a red ball rolls", "a blue cube spins"])
    targets = [vocab.encode(text, 8) for text in ["a red ball rolls", "a blue cube spins"]]
    frames = torch.randn(2, 3, 16)
    before = torch.are_deterministic_algorithms_enabled()
    settings = CaptionSettings(head=SMALL, epochs=2)
    finetune.train_caption_head(frames, [0, 1], targets, vocab, settings, device="cpu")
    assert seen and all(seen)
    assert torch.are_deterministic_algorithms_enabled() == before
