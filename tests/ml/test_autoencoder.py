"""Convolutional autoencoder: where an image is unusual."""

import numpy as np

from tests.fixtures import models as fx


def _planted() -> np.ndarray:
    """Return a holdout shape image with a black-and-white checkerboard planted in its top-left corner."""
    image = fx.shape_splits()["holdout"][0][0].copy()
    checker = (np.indices((10, 10)).sum(axis=0) % 2 * 255).astype(np.float32)
    image[:10, :10] = checker[..., None]
    return image


def test_error_map_is_larger_on_the_planted_region(shape_export):
    """The ONNX autoencoder's per-pixel error is several times larger on the planted patch than elsewhere."""
    from ml.runtime import INPUT_NAME, open_session

    session = open_session(shape_export["out"] / "autoencoder.onnx")
    error = session.run(["error_map"], {INPUT_NAME: _planted()[None]})[0][0]
    assert error.shape == (fx.SIZE, fx.SIZE)
    inside = error[:10, :10].mean()
    outside = error[12:, 12:].mean()
    assert inside > 3 * outside


def test_reconstruction_is_in_pixel_range(shape_export, shape_classifier):
    """The reconstruction output is in 0..255 and close to ordinary images."""
    from ml.runtime import INPUT_NAME, open_session

    session = open_session(shape_export["out"] / "autoencoder.onnx")
    images = shape_classifier["holdout"][0][:4]
    reconstruction, error = session.run(["reconstruction", "error_map"], {INPUT_NAME: images})
    assert reconstruction.min() >= 0 and reconstruction.max() <= 255
    np.testing.assert_allclose(error, np.mean(((reconstruction - images) / 255) ** 2, axis=-1), atol=1e-5)


def test_report_records_training(shape_export):
    """The card's autoencoder section records its input size and a decreasing training loss."""
    report = shape_export["sections"]["autoencoder"]
    assert report["input"]["size"] == fx.SIZE
    assert report["loss"][-1] < report["loss"][0]
