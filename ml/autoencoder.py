"""A small convolutional autoencoder whose reconstruction error shows *where* an image is unusual.

Trained on the project's own images, it learns to redraw what the class photos
usually look like; regions it cannot redraw (an object it never saw, a blank
patch, noise) come back with a large per-pixel error. The exported ONNX graph
takes raw 0..255 pixels at ``size`` x ``size`` and outputs the reconstruction and
the per-pixel squared error averaged over colour channels (``error_map``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.backend import keras, tf
from ml.events import ProgressFn
from ml.graphs import to_onnx
from ml.preprocess import resize_batch
from ml.progress import EpochReporter
from ml.runtime import AUTOENCODER_FILE, INPUT_NAME

OUTPUT_NAMES = ("reconstruction", "error_map")
DEFAULT_SIZE = 64  # coarse enough to train in seconds, fine enough to point at a region
FILTERS = (16, 32, 64)  # each stride-2 stage halves the side: 64 -> 8 at the bottleneck
DEFAULT_EPOCHS = 10  # the error map only has to be coarse; each epoch costs a full pass over the images
LEARNING_RATE = 2e-3
OPSET = 17


def build_autoencoder(size: int = DEFAULT_SIZE) -> keras.Model:
    """Return an untrained conv autoencoder mapping 0..255 pixels to a [0, 1] reconstruction."""
    layers = keras.layers
    inputs = keras.Input((size, size, 3), name=INPUT_NAME)
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    for i, width in enumerate(FILTERS, start=1):
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name=f"encode{i}")(x)
    for i, width in enumerate(reversed(FILTERS), start=1):
        x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu", name=f"decode{i}")(x)
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def train_autoencoder(
    images: np.ndarray,
    size: int = DEFAULT_SIZE,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = 32,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> tuple[keras.Model, dict]:
    """Train the autoencoder on 0..255 images; return it and a report for the card."""
    keras.utils.set_random_seed(seed)
    x = resize_batch(images, size)
    model = build_autoencoder(size)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    callbacks = [EpochReporter(progress, epochs, "autoencoder", "autoencoder.epoch")] if progress else []
    history = model.fit(
        x, x / 255.0, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=callbacks
    )
    errors = np.mean((model.predict(x, batch_size=64, verbose=0) - x / 255.0) ** 2, axis=-1)
    per_image = errors.mean(axis=(1, 2))
    report = {
        "file": AUTOENCODER_FILE,
        "input": {"name": INPUT_NAME, "size": size, "channels": 3, "range": [0, 255], "layout": "NHWC"},
        "outputs": list(OUTPUT_NAMES),
        "filters": list(FILTERS),
        "epochs": epochs,
        "images": int(len(x)),
        "loss": [float(v) for v in history.history["loss"]],
        # Scale for drawing error maps: a pixel above p99 of the training pixels is unusual.
        "pixel_error": {f"p{q}": float(np.percentile(errors, q)) for q in (50, 90, 99)},
        "image_error": {f"p{q}": float(np.percentile(per_image, q)) for q in (50, 90, 99)},
    }
    return model, report


def error_model(autoencoder: keras.Model) -> keras.Model:
    """Wrap the autoencoder so it also outputs the per-pixel squared error (mean over channels)."""
    inputs = keras.Input(autoencoder.input_shape[1:], name=INPUT_NAME)
    reconstruction = autoencoder(inputs)
    target = keras.layers.Rescaling(1.0 / 255, name="target")(inputs)
    squared = keras.layers.Lambda(lambda t: tf.square(t[0] - t[1]), name="squared_error")([reconstruction, target])
    error = keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=-1), name=OUTPUT_NAMES[1])(squared)
    pixels = keras.layers.Rescaling(255.0, name=OUTPUT_NAMES[0])(reconstruction)
    return keras.Model(inputs, {OUTPUT_NAMES[0]: pixels, OUTPUT_NAMES[1]: error}, name="autoencoder_error")


def export_autoencoder(autoencoder: keras.Model, path: str | Path) -> Path:
    """Write ``autoencoder.onnx`` with outputs ``reconstruction`` (0..255) and ``error_map``."""
    return to_onnx(error_model(autoencoder), path, opset=OPSET)
