"""EfficientNet-Lite0 written in finsta: ImageNet's answer for a real photo, equality with timm's
implementation given the same weights, TensorFlow SAME padding, shapes, and refusals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from finsta_cli.errors import InputError
from finsta_cli.hosts.efficientnet import (
    EfficientNetLite,
    SameConv2d,
    load_efficientnet_lite0,
    preprocess,
)
from tests.hosts.towers import needs_efficientnet

# ImageNet class ids of buses.
BUS_CLASSES = {779: "school bus", 654: "minibus", 874: "trolleybus"}


def _bus_jpg() -> Path:
    # ultralytics ships a street photo with a bus; located without importing ultralytics.
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ultralytics is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "bus.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path


@pytest.fixture(scope="module")
def model() -> EfficientNetLite:
    return load_efficientnet_lite0()


@needs_efficientnet
def test_imagenet_top1_of_the_bus_photo_is_a_bus(model: EfficientNetLite) -> None:
    from PIL import Image

    image = Image.open(_bus_jpg()).convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.array(image)).unsqueeze(0)  # (1, 224, 224, 3) uint8
    with torch.no_grad():
        probabilities = model(preprocess(pixels.permute(0, 3, 1, 2))).softmax(dim=-1)[0]
    top = int(probabilities.argmax())
    assert top in BUS_CLASSES, (top, float(probabilities[top]))
    # Measured: minibus 0.92 (symmetric padding instead of SAME: 0.85; without the (x-127)/128
    # preprocessing the answer is not a bus at all).
    assert float(probabilities[top]) > 0.5


@needs_efficientnet
def test_equals_timm_with_the_same_weights(model: EfficientNetLite) -> None:
    # timm (an optional extra, installed with open_clip) has its own tf_efficientnet_lite0:
    # an independent implementation. Its state dict lists the same tensors in the same order.
    timm = pytest.importorskip("timm")
    reference = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    ours = model.state_dict()
    theirs = reference.state_dict()
    assert len(ours) == len(theirs)
    mapped = {}
    for (name, value), (their_name, their_value) in zip(ours.items(), theirs.items(), strict=True):
        assert value.shape == their_value.shape, (name, their_name)
        mapped[their_name] = value
    reference.load_state_dict(mapped)
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-4)
        assert torch.allclose(model.head(model.blocks(x)), reference.forward_features(x), atol=1e-4)


@needs_efficientnet
def test_feature_maps_are_one_thirty_second_of_the_frame(model: EfficientNetLite) -> None:
    with torch.no_grad():
        block = model.blocks(torch.zeros(1, 3, 160, 160))
        assert block.shape == (1, 320, 5, 5)
        assert model.head(block).shape == (1, 1280, 5, 5)
    assert not any(p.requires_grad for p in model.parameters()) and not model.training


def test_same_padding_puts_the_odd_pixel_at_the_bottom_right() -> None:
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, 3, stride=2)
    x = torch.randn(1, 2, 8, 8)
    expected = F.conv2d(F.pad(x, [0, 1, 0, 1]), conv.weight, stride=2)
    assert torch.allclose(conv(x), expected)
    assert conv(torch.randn(1, 2, 9, 7)).shape[-2:] == (5, 4)  # ceil(H / 2)
    five = SameConv2d(2, 2, 5, stride=1, groups=2)
    assert five(x).shape == x.shape


def test_another_architecture_is_refused_naming_the_file(tmp_path: Path) -> None:
    state = EfficientNetLite().state_dict()
    state.pop("_fc.bias")
    path = tmp_path / "other.pth"
    torch.save(state, path)
    with pytest.raises(InputError, match=r"other\.pth: not EfficientNet-Lite0 weights"):
        load_efficientnet_lite0(str(path))
