"""Class activation maps with numpy."""

import numpy as np


def test_cam_highlights_where_the_class_evidence_is():
    """A feature map active in one corner gives a CAM that peaks in that corner."""
    from ml.cam import class_activation_map, normalize, upsample

    maps = np.zeros((4, 4, 2), np.float32)
    maps[0, 3, 0] = 5.0  # channel 0 fires top-right
    maps[3, 0, 1] = 5.0  # channel 1 fires bottom-left
    kernel = np.array([[1.0, -1.0], [-1.0, 1.0]], np.float32)  # class 0 <- channel 0, class 1 <- channel 1
    cam0 = normalize(class_activation_map(maps, kernel, 0))
    assert np.unravel_index(cam0.argmax(), cam0.shape) == (0, 3)
    assert cam0.min() == 0 and cam0.max() == 1
    big = upsample(cam0, 32)
    assert big.shape == (32, 32) and big[:8, 24:].mean() > big[24:, :8].mean()


def test_overlay_keeps_image_shape():
    """The heat-map overlay is an RGB image of the input's size."""
    from ml.cam import overlay

    image = np.full((20, 30, 3), 100, np.float32)
    out = overlay(image, np.linspace(0, 1, 12).reshape(3, 4))
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
