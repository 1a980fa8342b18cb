"""Tests of finsta_cli/video/features.py: boxes back into the network's input, RoI pooling per
level."""

from __future__ import annotations

import numpy as np

from finsta_cli.video.features import input_boxes, pool_region_features


def test_input_boxes_invert_ultralytics_scale_boxes() -> None:
    from finsta_cli.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.utils.ops import scale_boxes

    boxes = np.array([[10.0, 20.0, 300.0, 200.0], [0.0, 0.0, 640.0, 360.0]], np.float32)
    letterboxed = input_boxes(boxes, (360, 640), (160, 256))
    back = scale_boxes((160, 256), letterboxed.copy(), (360, 640))
    np.testing.assert_allclose(back, boxes, atol=1.0)


def test_roi_features_pool_each_level() -> None:
    import torch

    maps = [
        torch.arange(4.0).repeat_interleave(8 * 8).reshape(1, 4, 8, 8),
        torch.full((1, 6, 4, 4), 5.0),
    ]
    boxes = [torch.tensor([[0.0, 0.0, 16.0, 16.0], [8.0, 8.0, 32.0, 32.0]])]
    [features] = pool_region_features(maps, [4.0, 8.0], boxes)
    assert features.shape == (2, 10)
    np.testing.assert_allclose(features[0, :4].numpy(), [0, 1, 2, 3], atol=1e-5)
    np.testing.assert_allclose(features[:, 4:].numpy(), 5.0, atol=1e-5)
    [none] = pool_region_features(maps, [4.0, 8.0], [torch.zeros((0, 4))])
    assert none.shape == (0, 10)
