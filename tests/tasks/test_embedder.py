"""The embeddings evaluation scores: a host's own (batched, refused when not finite), and a
dataset's videos embedded a chunk at a time as in one pass."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from finsta_cli.datasets import load_task_dataset
from finsta_cli.errors import NonFiniteError
from finsta_cli.hosts.factory import load_host
from finsta_cli.hosts.frames import load_host_frames
from finsta_cli.tasks.embedder import (
    HostEmbedder,
    as_embedder,
    embed_videos,
    encode_texts,
    encode_videos,
    require_finite_embeddings,
)
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


def test_non_finite_embeddings_are_refused_naming_the_items() -> None:
    embeddings = torch.zeros(4, 3)
    assert require_finite_embeddings(embeddings, "video", list("abcd")) is embeddings
    embeddings[1, 2] = float("nan")
    embeddings[3, 0] = float("-inf")
    with pytest.raises(NonFiniteError) as info:
        require_finite_embeddings(embeddings, "video", ["v0", "v1", "v2", "v3"])
    assert info.value.message == (
        "the model gives NaN or infinite video embeddings for 2 of 4 videos (e.g. 'v1', 'v3'): "
        "no metrics are computed from them"
    )
    require_finite_embeddings(torch.zeros(0, 3), "text", [])  # nothing to embed: fine


def test_a_host_embeds_in_batches_as_in_one_call(align_set: AlignSet) -> None:
    host = load_host(align_set.checkpoint, "cpu")
    texts = [c.text for c in load_task_dataset(align_set.data, split="train").captions[:7]]
    embedder = as_embedder(host, text_batch=3)
    assert isinstance(embedder, HostEmbedder) and as_embedder(embedder) is embedder
    assert embedder.summary() == {"with_graphs": False}
    assert (embedder.num_frames, embedder.embed_dim) == (host.num_frames, host.embed_dim)
    with torch.no_grad():
        whole = F.normalize(host.encode_text(texts).embedding, dim=-1)
    got = encode_texts(host, texts, batch=3)
    assert got.shape == whole.shape and torch.allclose(got, whole, atol=1e-6)
    assert torch.allclose(got.norm(dim=1), torch.ones(len(texts)), atol=1e-6)


def test_chunked_embeddings_are_those_of_one_pass(align_set: AlignSet) -> None:
    host = load_host(align_set.checkpoint, "cpu")
    train = load_task_dataset(align_set.data, split="train")
    ids = [*train.retrieval_index()[0], "gone"]  # a video that fails, in the last chunk
    refs = [(vid, train.videos[vid].path if vid in train.videos else None) for vid in ids]
    frames = load_host_frames(refs, host.num_frames, host.frame_size, align_set.cache)
    # a chunk that is a multiple of the encoder batch: the same batches, the same numbers
    exact = embed_videos(host, train, ids, align_set.cache, True, chunk=4, batch=2)
    assert exact.ids == frames.ids and exact.failures == frames.failures
    assert torch.equal(exact.embeddings, encode_videos(host, frames, batch=2))
    # any other chunk: other batches, the same embeddings to float rounding
    other = embed_videos(host, train, ids, align_set.cache, True, chunk=3)
    assert torch.allclose(other.embeddings, encode_videos(host, frames), atol=1e-6)
    assert torch.equal(other.rows(frames.ids[3:1:-1]), other.embeddings[[3, 2]])
