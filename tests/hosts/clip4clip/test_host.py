"""The clip4clip host on a randomly initialised ViT-B/32 (no download): shapes, temporal modes,
weights loaded in their accepted forms, the architecture and activation they are built as,
refusals and the frozen blocks. Tokens and weights files alone: test_tokens.py, test_weights.py."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip(
    "open_clip", reason="open_clip_torch is not installed (pip install 'finsta[clip]')"
)

from finsta_cli.errors import (  # noqa: E402
    ConfigError,
    ExitCode,
    InputError,
    MissingResourceError,
)
from finsta_cli.hosts import HostVLM  # noqa: E402
from finsta_cli.hosts.clip4clip import Clip4ClipHost, build_clip4clip  # noqa: E402
from finsta_cli.hosts.clip4clip.arch import import_open_clip  # noqa: E402
from finsta_cli.hosts.clip4clip.host import trainable_prefixes  # noqa: E402
from finsta_cli.hosts.clip4clip.weights import split_state_dict  # noqa: E402
from finsta_cli.hosts.factory import build_host, load_host, save_host  # noqa: E402
from tests.helpers import NETWORK_GUARD, repo_env  # noqa: E402

SENTENCE = "A man, quickly, picks up a red cup."


def _seeded_host(seed: int, **config: object) -> Clip4ClipHost:
    torch.manual_seed(seed)
    host = build_clip4clip(dict(config))
    host.eval()
    return host


@pytest.fixture(scope="module")
def meanp_host() -> Clip4ClipHost:
    torch.set_num_threads(2)
    return _seeded_host(0)


@pytest.fixture(scope="module")
def seq_host() -> Clip4ClipHost:
    return _seeded_host(1, temporal="seqTransf")


@pytest.fixture(scope="module")
def quick_host() -> Clip4ClipHost:
    """A ViT-B/32 with QuickGELU, as OpenAI's CLIP and CLIP4Clip were trained."""
    return _seeded_host(2, arch="ViT-B-32-quickgelu")


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    return torch.randint(0, 256, (2, 3, 224, 224, 3), dtype=torch.uint8, generator=generator)


@pytest.fixture(scope="module")
def reference() -> dict[int, list[torch.Tensor]]:
    """Outputs of the module's hosts, computed once (keyed by id(host))."""
    return {}


def _reference(
    cache: dict[int, list[torch.Tensor]], host: Clip4ClipHost, frames: torch.Tensor
) -> list[torch.Tensor]:
    if id(host) not in cache:
        cache[id(host)] = _outputs(host, frames)
    return cache[id(host)]


def _same_state(a: Clip4ClipHost, b: Clip4ClipHost) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@contextlib.contextmanager
def _captured_log() -> Iterator[list[logging.LogRecord]]:
    # The finsta logger may not propagate (the CLI's set-up), so listen on the host's own logger.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("finsta.hosts.clip4clip")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _outputs(host: Clip4ClipHost, frames: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        video = host.encode_video(frames[:1, :2])
        text = host.encode_text([SENTENCE, "two dogs"])
    assert video.patch is not None
    return [video.frame, video.patch, video.embedding, text.token, text.embedding]


def _open_clip_state(host: Clip4ClipHost) -> dict[str, torch.Tensor]:
    """The host's CLIP weights as an open_clip / OpenAI state dict (no prefix)."""
    state = {k: v.clone() for k, v in host.clip.state_dict().items()}
    state["logit_scale"] = host.logit_scale.detach().clone()
    return state


def test_encode_video_shapes(meanp_host: Clip4ClipHost, frames: torch.Tensor) -> None:
    assert isinstance(meanp_host, HostVLM)
    assert (meanp_host.frame_size, meanp_host.embed_dim, meanp_host.feature_dim) == (224, 512, 512)
    with torch.no_grad():
        video = meanp_host.encode_video(frames)
    assert video.frame.shape == (2, 3, 512)
    assert video.patch is not None and video.patch.shape == (2, 3, 49, 512)
    assert video.patch_grid == (7, 7)
    assert video.embedding.shape == (2, 512)
    expected = torch.nn.functional.normalize(video.frame, dim=-1).mean(dim=1)
    torch.testing.assert_close(video.embedding, expected)


def test_patches_share_the_class_token_projection(
    meanp_host: Clip4ClipHost, frames: torch.Tensor
) -> None:
    visual = meanp_host.clip.visual
    captured: list[torch.Tensor] = []
    handle = visual.transformer.register_forward_hook(lambda m, i, o: captured.append(o))
    try:
        with torch.no_grad():
            video = meanp_host.encode_video(frames[:1, :1])
    finally:
        handle.remove()
    with torch.no_grad():
        projected = visual.ln_post(captured[0]) @ visual.proj  # (1, 1 + P, E)
    torch.testing.assert_close(video.frame[0, 0], projected[0, 0])
    assert video.patch is not None
    torch.testing.assert_close(video.patch[0, 0], projected[0, 1:])


def test_frames_of_another_size_are_resized(meanp_host: Clip4ClipHost) -> None:
    odd = torch.randint(0, 256, (1, 2, 120, 160, 3), dtype=torch.uint8)
    with torch.no_grad():
        video = meanp_host.encode_video(odd)
    assert video.frame.shape == (1, 2, 512)
    assert video.patch is not None and video.patch.shape == (1, 2, 49, 512)
    with pytest.raises(ValueError, match="uint8"):
        meanp_host.encode_video(odd.float())


def test_encode_text_shapes_mask_and_embedding(meanp_host: Clip4ClipHost) -> None:
    with torch.no_grad():
        text = meanp_host.encode_text([SENTENCE, "two dogs"])
    assert text.token.shape == (2, 13, 512)  # padded to the longest text
    assert text.offsets.shape == (2, 13, 2)
    assert text.mask.dtype == torch.bool
    assert text.mask.sum(dim=1).tolist() == [13, 4]  # <sot> 11 pieces <eot>; <sot> two dogs <eot>
    assert text.offsets[0, 0].tolist() == [-1, -1] and text.offsets[0, 12].tolist() == [-1, -1]
    torch.testing.assert_close(text.embedding[0], text.token[0, 12])
    # The EOT embedding is exactly what CLIP's own text encoder gives.
    ids = meanp_host.tokenizer([SENTENCE, "two dogs"])
    with torch.no_grad():
        reference = meanp_host.clip.encode_text(ids)
    torch.testing.assert_close(text.embedding, reference, rtol=1e-4, atol=1e-4)


def test_long_text_is_truncated_keeping_eot(meanp_host: Clip4ClipHost) -> None:
    with torch.no_grad():
        text = meanp_host.encode_text([" ".join(["word"] * 120)])
    assert int(text.mask.sum()) == 77
    torch.testing.assert_close(text.embedding[0], text.token[0, 76])


def test_meanp_is_blind_to_frame_order_and_seqtransf_is_not(
    meanp_host: Clip4ClipHost, seq_host: Clip4ClipHost, frames: torch.Tensor
) -> None:
    both_orders = torch.cat([frames[:1], frames[:1].flip(1)])  # one video, then reversed
    with torch.no_grad():
        mean = meanp_host.encode_video(both_orders)
        seq = seq_host.encode_video(both_orders).embedding
    torch.testing.assert_close(mean.embedding[0], mean.embedding[1], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mean.frame[0], mean.frame[1].flip(0), rtol=1e-5, atol=1e-6)
    assert (seq[0] - seq[1]).abs().max() > 1e-4


def test_trainable_parameters_exclude_frozen_blocks(meanp_host: Clip4ClipHost) -> None:
    names = {n for n, p in meanp_host.named_parameters() if p.requires_grad}
    trainable = {id(p) for p in meanp_host.trainable_parameters()}
    assert trainable == {id(p) for n, p in meanp_host.named_parameters() if n in names}
    assert any(n.startswith("clip.visual.transformer.resblocks.11.") for n in names)
    assert any(n.startswith("clip.visual.transformer.resblocks.10.") for n in names)
    assert not any(n.startswith("clip.visual.transformer.resblocks.9.") for n in names)
    assert any(n.startswith("clip.transformer.resblocks.11.") for n in names)
    assert not any(n.startswith("clip.transformer.resblocks.0.") for n in names)
    assert {"logit_scale", "clip.visual.proj", "clip.text_projection"} <= names
    assert "clip.visual.conv1.weight" not in names and "clip.token_embedding.weight" not in names


def test_train_layers_choose_the_blocks() -> None:
    none = trainable_prefixes(0, 12, 12)
    assert none is not None and not any(".resblocks." in p for p in none)
    assert "clip.ln_final." in none and "temporal." in none
    three = trainable_prefixes(3, 12, 6)
    assert three is not None
    assert {p for p in three if ".resblocks." in p} == {
        *(f"clip.visual.transformer.resblocks.{i}." for i in (9, 10, 11)),
        *(f"clip.transformer.resblocks.{i}." for i in (3, 4, 5)),
    }
    assert trainable_prefixes(-1, 12, 12) is None  # everything
    assert trainable_prefixes(40, 12, 12) is not None


def test_gradients_reach_only_trainable_parameters(meanp_host: Clip4ClipHost) -> None:
    meanp_host.zero_grad(set_to_none=True)
    text = meanp_host.encode_text(["a red cup"])
    video = meanp_host.encode_video(torch.zeros(1, 2, 224, 224, 3, dtype=torch.uint8))
    loss = (text.embedding * video.embedding).sum() * meanp_host.logit_scale.exp()
    loss.backward()
    with_grad = {n for n, p in meanp_host.named_parameters() if p.grad is not None}
    trainable = {n for n, p in meanp_host.named_parameters() if p.requires_grad}
    assert with_grad and with_grad <= trainable
    meanp_host.zero_grad(set_to_none=True)


def test_round_trip_through_a_finsta_checkpoint(
    tmp_path: Path,
    seq_host: Clip4ClipHost,
    frames: torch.Tensor,
    reference: dict[int, list[torch.Tensor]],
) -> None:
    path = tmp_path / "host.pt"
    save_host(path, seq_host)
    loaded = load_host(path)
    assert isinstance(loaded, Clip4ClipHost)
    assert loaded.host_config() == seq_host.host_config()
    assert loaded.weights_source == "state dict"
    expected = _reference(reference, seq_host, frames)
    for a, b in zip(_outputs(loaded, frames), expected, strict=True):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_open_clip_training_checkpoint_loads(tmp_path: Path, meanp_host: Clip4ClipHost) -> None:
    # open_clip's own training checkpoints: {"epoch", "state_dict": {"module.visual...": ...}}.
    state = {"module." + k: v for k, v in _open_clip_state(meanp_host).items()}
    path = tmp_path / "epoch_1.pt"
    torch.save({"epoch": 1, "name": "run", "state_dict": state}, path)
    torch.manual_seed(123)  # another random init, overwritten by the file
    loaded = build_host("clip4clip", {"weights": str(path)})
    assert isinstance(loaded, Clip4ClipHost) and loaded.weights_source == str(path)
    assert _same_state(loaded, meanp_host)


def test_clip4clip_checkpoint_with_temporal_weights_loads(
    tmp_path: Path, seq_host: Clip4ClipHost
) -> None:
    # CLIP4Clip's pytorch_model.bin: clip.* + frame_position_embeddings + transformerClip + heads.
    state = {"clip." + k: v for k, v in _open_clip_state(seq_host).items()}
    assert seq_host.temporal is not None
    for key, value in seq_host.temporal.state_dict().items():
        key = key.replace("position_embeddings.", "frame_position_embeddings.")
        key = key.replace("transformer.", "transformerClip.")
        state[key] = value.clone()
    state["similarity_dense.weight"] = torch.zeros(1, 512)
    path = tmp_path / "pytorch_model.bin.4"
    torch.save(state, path)
    loaded = build_clip4clip({"temporal": "seqTransf", "weights": str(path)})
    assert loaded.weights_source == str(path)
    assert _same_state(loaded, seq_host)

    # A plain CLIP checkpoint into a seqTransf host: the temporal module starts from the text
    # tower, as CLIP4Clip initialises it.
    plain = _open_clip_state(seq_host)
    with _captured_log() as records:
        loaded.load_pretrained_state(plain, "plain-clip.pt")
    assert loaded.temporal is not None
    block = loaded.temporal.state_dict()["transformer.resblocks.2.attn.in_proj_weight"]
    assert torch.equal(block, plain["transformer.resblocks.2.attn.in_proj_weight"])
    assert any("initialised" in r.getMessage() for r in records)


def test_meanp_host_ignores_temporal_weights(quick_host: Clip4ClipHost) -> None:
    state = _open_clip_state(quick_host)  # its own weights: loading them changes nothing
    state["frame_position_embeddings.weight"] = torch.zeros(77, 512)
    try:
        with _captured_log() as records:
            quick_host.load_pretrained_state(state, "with-temporal.pt")
        assert any("not used by a meanP host" in r.getMessage() for r in records)
        assert torch.equal(quick_host.clip.visual.proj, state["visual.proj"])
    finally:
        quick_host.weights_source = None


def _activations(host: Clip4ClipHost) -> set[str]:
    return {type(m.mlp.gelu).__name__ for m in host.clip.visual.transformer.resblocks}


def test_clip4clip_checkpoint_is_built_with_quickgelu(
    tmp_path: Path, quick_host: Clip4ClipHost
) -> None:
    # CLIP4Clip's pytorch_model.bin (meanP): clip.* with clip.logit_scale, trained with QuickGELU.
    # GELU and QuickGELU hold the same tensors: only the keys say which one the file needs.
    path = tmp_path / "pytorch_model.bin.2"
    torch.save({"clip." + k: v for k, v in _open_clip_state(quick_host).items()}, path)
    loaded = build_clip4clip({"weights": str(path)})
    assert loaded.host_config()["arch"] == "ViT-B-32-quickgelu"
    assert loaded.quick_gelu and _activations(loaded) == {"QuickGELU"}
    assert _same_state(loaded, quick_host)
    # The resolved architecture is what a finsta checkpoint of it records and rebuilds.
    saved = tmp_path / "host.pt"
    save_host(saved, loaded)
    assert _activations(load_host(saved)) == {"QuickGELU"}  # type: ignore[arg-type]


def test_clip4clip_checkpoint_into_a_gelu_arch_is_refused(
    tmp_path: Path, quick_host: Clip4ClipHost, meanp_host: Clip4ClipHost
) -> None:
    state = {"clip." + k: v for k, v in _open_clip_state(quick_host).items()}
    path = tmp_path / "pytorch_model.bin.2"
    torch.save(state, path)
    with pytest.raises(InputError) as info:
        build_clip4clip({"arch": "ViT-B-32", "weights": str(path)})
    assert info.value.message == (
        f"{path}: a CLIP4Clip checkpoint, trained with QuickGELU, but arch 'ViT-B-32' uses GELU: "
        "loaded into it, its features would be wrong"
    )
    assert info.value.hint is not None and "arch: ViT-B-32-quickgelu" in info.value.hint
    # A host already built with GELU refuses it too, and keeps its own weights.
    before = meanp_host.clip.visual.proj.clone()
    with pytest.raises(InputError, match="uses GELU"):
        meanp_host.load_pretrained_state(state, "c4c.bin")
    assert torch.equal(meanp_host.clip.visual.proj, before)
    # seqTransf files say CLIP4Clip by their temporal keys alone.
    temporal = {"transformerClip.resblocks.0.ln_1.weight": torch.ones(512)}
    with pytest.raises(InputError, match="CLIP4Clip checkpoint"):
        meanp_host.load_pretrained_state({**_open_clip_state(quick_host), **temporal}, "seq.bin")


def test_openai_and_open_clip_state_dicts_get_their_activation(
    tmp_path: Path, quick_host: Clip4ClipHost, meanp_host: Clip4ClipHost
) -> None:
    # OpenAI's CLIP state dict (re-saved from its TorchScript file) carries three scalars.
    openai = dict(_open_clip_state(quick_host))
    openai.update(
        input_resolution=torch.tensor(224), context_length=torch.tensor(77),
        vocab_size=torch.tensor(49408),
    )  # fmt: skip
    path = tmp_path / "ViT-B-32.state.pt"
    torch.save(openai, path)
    assert build_clip4clip({"weights": str(path)}).host_config()["arch"] == "ViT-B-32-quickgelu"
    # open_clip's own files do not say: GELU, as before, by the shapes of the tensors.
    plain = tmp_path / "open_clip_model.pt"
    torch.save(_open_clip_state(meanp_host), plain)
    built = build_clip4clip({"weights": str(plain)})
    assert built.host_config()["arch"] == "ViT-B-32" and _activations(built) == {"GELU"}
    assert _same_state(built, meanp_host)


def test_pretrained_tags_download_only_when_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_host: Clip4ClipHost
) -> None:
    import open_clip

    fetched = tmp_path / "open_clip_model.safetensors"
    calls: list[dict[str, object]] = []

    def download(cfg: dict[str, object], **kwargs: object) -> str:
        calls.append(cfg)
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in _open_clip_state(quick_host).items()}, fetched)
        return str(fetched)

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", download)
    monkeypatch.delenv("FINSTA_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(MissingResourceError) as info:
        build_clip4clip({"pretrained": "openai"})
    assert info.value.exit_code == 4 and not calls
    assert "ViT-B-32-quickgelu/openai" in info.value.message
    assert info.value.hint is not None and "--allow-download" in info.value.hint
    assert "FINSTA_ALLOW_DOWNLOAD=1" in info.value.hint

    monkeypatch.setenv("FINSTA_ALLOW_DOWNLOAD", "1")
    host = build_clip4clip({"pretrained": "openai"})
    assert len(calls) == 1 and host.weights_source == str(fetched)
    assert host.host_config()["arch"] == "ViT-B-32-quickgelu" and _same_state(host, quick_host)
    with pytest.raises(InputError, match="uses GELU"):  # openai's weights are QuickGELU
        build_clip4clip({"pretrained": "openai", "arch": "ViT-B-32"})
    with pytest.raises(ConfigError, match="no pretrained weights 'laion9b'"):
        build_clip4clip({"pretrained": "laion9b"})
    with pytest.raises(ConfigError, match="not both"):
        build_clip4clip({"pretrained": "openai", "weights": str(fetched)})

    def offline(cfg: dict[str, object], **kwargs: object) -> str:
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", offline)
    with pytest.raises(MissingResourceError, match=r"could not download .*name resolution"):
        build_clip4clip({"pretrained": "openai"})


@pytest.mark.slow
def test_safetensors_file_loads(tmp_path: Path, meanp_host: Clip4ClipHost) -> None:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "open_clip_model.safetensors"
    state = {k: v.contiguous() for k, v in _open_clip_state(meanp_host).items()}
    safetensors_torch.save_file(state, str(path))
    loaded = _seeded_host(5, weights=str(path))
    assert _same_state(loaded, meanp_host)


def test_mismatched_weights_name_the_first_bad_keys(meanp_host: Clip4ClipHost) -> None:
    state = _open_clip_state(meanp_host)
    wrong = dict(state, **{"visual.proj": torch.zeros(768, 256)})
    with pytest.raises(InputError, match=r"visual\.proj \(768, 256\) vs \(768, 512\)"):
        meanp_host.load_pretrained_state(wrong, "wrong.pt")
    missing = {k: v for k, v in state.items() if k != "ln_final.weight"}
    with pytest.raises(InputError, match=r"missing from the file: ln_final\.weight"):
        meanp_host.load_pretrained_state(missing, "missing.pt")
    extra = dict(state, **{"visual.extra_head": torch.zeros(2)})
    with pytest.raises(InputError, match=r"does not have: visual\.extra_head"):
        meanp_host.load_pretrained_state(extra, "extra.pt")
    with pytest.raises(InputError, match="no CLIP weights"):
        meanp_host.load_pretrained_state({"foo.weight": torch.zeros(2)}, "foo.pt")


def test_seqtransf_from_plain_clip_initialises_like_clip4clip(seq_host: Clip4ClipHost) -> None:
    state = _open_clip_state(seq_host)
    init = seq_host._temporal_from_text_tower(split_state_dict(state)[0])
    assert torch.equal(
        init["transformer.resblocks.3.mlp.c_fc.weight"],
        state["transformer.resblocks.3.mlp.c_fc.weight"],
    )
    assert "transformer.resblocks.4.ln_1.weight" not in init  # only 4 temporal blocks
    assert torch.equal(init["position_embeddings.weight"], state["positional_embedding"])


def test_missing_weights_file_is_exit_4(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "ViT-B-32.pt"
    with pytest.raises(MissingResourceError, match="weights file not found") as info:
        build_clip4clip({"weights": str(path)})
    assert str(path) in str(info.value)
    assert info.value.exit_code == ExitCode.MISSING_RESOURCE == 4


def test_missing_open_clip_is_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "open_clip", None)  # import now raises ImportError
    with pytest.raises(MissingResourceError, match="open_clip_torch") as info:
        import_open_clip()
    assert "pip install" in str(info.value) and info.value.exit_code == 4


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean 'temporal'"):
        build_clip4clip({"temporl": "meanP"})
    with pytest.raises(ConfigError, match="temporal"):
        build_clip4clip({"temporal": "seqLSTM"})
    with pytest.raises(ConfigError, match="unknown arch"):
        build_clip4clip({"arch": "ViT-B-33"})
    with pytest.raises(ConfigError, match="not supported"):
        build_clip4clip({"arch": "RN50"})
    with pytest.raises(ConfigError, match="built-in"):
        build_clip4clip({"arch": "hf-hub:someone/model"})


OFFLINE_SMOKE = """
import torch
from finsta_cli.hosts.factory import build_host
host = build_host("clip4clip", {"temporal": "seqTransf"})
with torch.no_grad():
    video = host.encode_video(torch.zeros(1, 2, 224, 224, 3, dtype=torch.uint8))
    text = host.encode_text(["a red cup"])
print("clip4clip-ok", tuple(video.embedding.shape), tuple(text.embedding.shape))
"""


def test_building_and_encoding_makes_no_network_access(tmp_path: Path) -> None:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD, encoding="utf-8")
    log = tmp_path / "network.log"
    env = repo_env()
    env["PYTHONPATH"] = str(guard) + ":" + env["PYTHONPATH"]
    env["FINSTA_NETLOG"] = str(log)
    env["HOME"] = str(tmp_path / "home")
    env["OMP_NUM_THREADS"] = "2"
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME", "XDG_CACHE_HOME"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SMOKE], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "clip4clip-ok (1, 512) (1, 512)" in result.stdout
    assert not log.exists(), f"network attempted:\n{log.read_text()}"
    # A host without weights says so, once, when first used; open_clip's own notice is muted.
    assert result.stderr.count("random weights") == 1, result.stderr[-2000:]
    assert "No pretrained weights loaded" not in result.stderr
