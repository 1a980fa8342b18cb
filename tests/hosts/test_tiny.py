"""The tiny host: feature shapes, character offsets, meanP vs seqTransf under frame reordering,
the vocabulary round trip through a checkpoint, and refused options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from finsta_cli.errors import UsageError
from finsta_cli.hosts import HostVLM, build_host, load_host, save_host
from finsta_cli.hosts.tiny import DEFAULTS, SPECIALS, TinyHost, build_vocab, word_spans

CAPTIONS = [
    "The red cube moves left, then the blue ball rolls up.",
    "A small green star doesn't move.",
    "Two cubes approach each other quickly.",
]
SMALL = {"frame_size": 32, "num_frames": 4, "feature_dim": 32, "embed_dim": 24, "heads": 2}


def _host(temporal: str = "meanP", seed: int = 0, **options: object) -> TinyHost:
    torch.manual_seed(seed)
    host = build_host("tiny", {**SMALL, "temporal": temporal, **options}, texts=CAPTIONS)
    assert isinstance(host, TinyHost)
    host.eval()
    return host


def _frames(batch: int = 2, count: int = 4, size: int = 32, seed: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, count, size, size, 3)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)


def test_is_a_host_vlm() -> None:
    assert isinstance(_host(), HostVLM)


@torch.no_grad()
def test_video_shapes() -> None:
    host = _host()
    out = host.encode_video(_frames(batch=3))
    assert out.frame.shape == (3, 4, 32)
    assert out.embedding.shape == (3, 24)
    assert out.patch is not None and out.patch_grid == (2, 2)
    assert out.patch.shape == (3, 4, 4, 32)  # 32 px / 16 = a 2 x 2 patch grid


@torch.no_grad()
def test_video_other_sizes_and_frame_counts() -> None:
    host = _host()
    out = host.encode_video(_frames(batch=1, count=6, size=48))  # resized to 32, 6 frames
    assert out.frame.shape == (1, 6, 32) and out.embedding.shape == (1, 24)
    with pytest.raises(UsageError, match="at most 64 frames"):
        host.encode_video(_frames(batch=1, count=65, size=32))


@torch.no_grad()
def test_text_shapes_and_mask() -> None:
    host = _host()
    out = host.encode_text(CAPTIONS)
    lengths = [len(word_spans(text)) + 1 for text in CAPTIONS]  # + [CLS]
    assert out.token.shape == (3, max(lengths), 32)
    assert out.embedding.shape == (3, 24)
    assert out.mask.dtype == torch.bool and out.mask.sum(dim=1).tolist() == lengths
    assert out.offsets.shape == (3, max(lengths), 2)


@torch.no_grad()
def test_offsets_point_at_the_words() -> None:
    host = _host()
    out = host.encode_text(CAPTIONS)
    for b, text in enumerate(CAPTIONS):
        assert out.offsets[b, 0].tolist() == [-1, -1]  # [CLS]
        pieces = [
            text[start:end]
            for (start, end), used in zip(
                out.offsets[b].tolist(), out.mask[b].tolist(), strict=True
            )
            if used and start >= 0
        ]
        assert pieces == [text[s:e] for _, s, e in word_spans(text)]
        padding = out.offsets[b][~out.mask[b]]
        assert (padding == -1).all()
    first = [CAPTIONS[0][s:e] for s, e in out.offsets[0, 1:6].tolist()]
    assert first == ["The", "red", "cube", "moves", "left"]
    second = [CAPTIONS[1][s:e] for s, e in out.offsets[1, 1:7].tolist()]
    assert second == ["A", "small", "green", "star", "doesn't", "move"]


def test_tokens_are_cut_at_max_tokens() -> None:
    host = _host(max_tokens=5)
    out = host.encode_text([CAPTIONS[0]])
    assert out.token.shape[1] == 5
    assert CAPTIONS[0][int(out.offsets[0, 4, 0]) : int(out.offsets[0, 4, 1])] == "moves"


def test_unknown_words_map_to_unk() -> None:
    host = _host()
    ids, _, _ = host.tokenizer(["zebra cube"])
    assert ids[0].tolist() == [host.tokenizer.index["[CLS]"], host.tokenizer.index["[UNK]"],
                               host.tokenizer.index["cube"]]  # fmt: skip


@torch.no_grad()
def test_meanp_is_blind_to_frame_order_and_seqtransf_is_not() -> None:
    frames = _frames(batch=2, count=4)
    reversed_frames = frames.flip(1)
    mean = _host("meanP", motion=False)
    a, b = mean.encode_video(frames), mean.encode_video(reversed_frames)
    assert torch.allclose(a.embedding, b.embedding, atol=1e-5)
    assert torch.allclose(a.frame, b.frame.flip(1), atol=1e-5)
    seq = _host("seqTransf", motion=False)
    c, d = seq.encode_video(frames), seq.encode_video(reversed_frames)
    assert not torch.allclose(c.embedding, d.embedding, atol=1e-4)
    # The same frames twice give the same answer: the difference is the order, not noise.
    assert torch.allclose(c.embedding, seq.encode_video(frames).embedding)


@torch.no_grad()
def test_motion_channels_show_each_frame_what_changed_since_the_previous_one() -> None:
    host = _host("meanP")  # a new host has them
    assert host.motion and host.cnn[0][0].in_channels == 6
    frames = _frames(batch=1, count=4)
    moved = frames.clone()
    moved[0, 1] = moved[0, 1].roll(5, dims=0)  # frame 1 changes: frames 1 and 2 see it
    a, b = host.encode_video(frames).frame[0], host.encode_video(moved).frame[0]
    changed = [not torch.allclose(a[t], b[t], atol=1e-5) for t in range(4)]
    assert changed == [False, True, True, False]
    # Played backwards, each frame's change is reversed: even meanP tells the two apart.
    backwards = host.encode_video(frames.flip(1)).embedding
    assert not torch.allclose(host.encode_video(frames).embedding, backwards, atol=1e-4)
    # A still video has no change to show: its frames equal a single frame's.
    still = frames[:, :1].expand(-1, 4, -1, -1, -1)
    single = host.encode_video(frames[:, :1]).frame[0, 0]
    assert torch.allclose(host.encode_video(still).frame[0], single.expand(4, -1), atol=1e-5)


def test_a_checkpoint_from_before_motion_channels_loads_without_them(tmp_path: Path) -> None:
    host = _host("seqTransf", seed=2, motion=False)
    path = tmp_path / "host.pt"
    save_host(path, host)
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["host_config"])
    del config["motion"], config["word_std"]  # what a checkpoint written before them held
    payload["host_config"] = json.dumps(config)
    torch.save(payload, path)
    loaded = load_host(path)
    assert isinstance(loaded, TinyHost) and not loaded.motion
    frames = _frames()
    assert torch.equal(loaded.encode_video(frames).embedding, host.encode_video(frames).embedding)


def test_word_std_sets_the_word_embedding_scale() -> None:
    host = _host(word_std=0.02)
    weight = host.token_embedding.weight.detach()
    assert float(weight[1:].std()) == pytest.approx(0.02, rel=0.3)
    assert torch.count_nonzero(weight[0]) == 0  # [PAD] stays zero
    assert float(_host().token_embedding.weight.detach()[1:].std()) == pytest.approx(1.0, rel=0.3)


def test_seqtransf_has_a_temporal_encoder_and_meanp_none() -> None:
    assert _host("seqTransf").temporal_encoder is not None
    assert _host("meanP").temporal_encoder is None


@torch.no_grad()
@pytest.mark.parametrize("temporal", ["meanP", "seqTransf"])
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path: Path, temporal: str) -> None:
    host = _host(temporal, seed=5)
    path = tmp_path / "host.pt"
    save_host(path, host, {"note": "test"})
    loaded = load_host(path)
    assert isinstance(loaded, TinyHost)
    assert loaded.tokenizer.vocab == host.tokenizer.vocab
    assert loaded.host_config() == host.host_config()
    frames = _frames()
    assert torch.equal(loaded.encode_video(frames).embedding, host.encode_video(frames).embedding)
    texts = [*CAPTIONS, "an unseen zebra word"]
    a, b = loaded.encode_text(texts), host.encode_text(texts)
    assert torch.equal(a.embedding, b.embedding) and torch.equal(a.offsets, b.offsets)


def test_checkpoint_keeps_the_vocabulary_without_texts(tmp_path: Path) -> None:
    host = _host()
    path = tmp_path / "host.pt"
    save_host(path, host)
    loaded = load_host(path)
    # Built from CAPTIONS only: 'zebra' stays unknown after loading too.
    assert "zebra" not in loaded.tokenizer.index  # type: ignore[attr-defined]
    assert loaded.tokenizer.vocab[: len(SPECIALS)] == list(SPECIALS)  # type: ignore[attr-defined]


def test_vocab_order_and_size() -> None:
    vocab = build_vocab(["b a a", "c b a"], max_size=5)
    assert vocab == [*SPECIALS, "a", "b"]
    assert build_vocab(["x"], max_size=2) == list(SPECIALS)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(UsageError, match=r"unknown tiny-host option.*frame_sise"):
        build_host("tiny", {"frame_sise": 32}, texts=CAPTIONS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temporal": "seqLSTM"}, "temporal must be meanP or seqTransf"),
        ({"frame_size": 40}, "multiple of 16"),
        ({"frame_size": 16}, "at least 32"),
        ({"motion": "no"}, "motion must be true or false, not 'no'"),
        ({"word_std": 0}, "word_std must be a number above 0"),
        ({"word_std": "abc"}, "word_std must be a number above 0, not 'abc'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_host("tiny", options, texts=CAPTIONS)


def test_no_vocabulary_and_no_texts_is_refused() -> None:
    with pytest.raises(UsageError, match="needs a vocabulary"):
        build_host("tiny", {})


def test_unknown_host_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown host 'tiniest'"):
        build_host("tiniest", {}, texts=CAPTIONS)


def test_defaults_are_documented() -> None:
    host = build_host("tiny", {}, texts=CAPTIONS)
    assert host.frame_size == DEFAULTS["frame_size"] == 96
    assert host.num_frames == DEFAULTS["num_frames"]
    assert {p.data_ptr() for p in host.trainable_parameters()} == {
        p.data_ptr() for p in host.parameters()
    }


def test_short_rows_are_padded_and_an_empty_batch_has_no_rows() -> None:
    tokenizer = _host().tokenizer
    ids, mask, offsets = tokenizer(["cube", "the red cube moves"])
    pad = tokenizer.index["[PAD]"]
    assert ids.shape == mask.shape == (2, 5) and offsets.shape == (2, 5, 2)
    assert ids[0, 2:].tolist() == [pad] * 3 and mask[0].tolist() == [True, True] + [False] * 3
    assert offsets[0, 1].tolist() == [0, 4] and (offsets[0, 2:] == -1).all()
    empty = tokenizer([])
    assert [t.shape[0] for t in empty] == [0, 0, 0]
