"""Generated images and one small trained classifier shared by the export, quantization and detector tests.

Everything heavy is built once per test session and cached here (several test
modules use it), so the whole group trains one network and exports it once.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from tests import shapes as shapes_module

SIZE = 32
CLASSES = ("circle", "square", "triangle")
TAGS = ("dark",)  # tag "dark": the background is darker than usual (independent of the class)

_cache: dict = {}


def draw_shape(label: str, rng: np.random.Generator, size: int = SIZE, dark: bool = False) -> np.ndarray:
    """Draw one class image on a grey (or, tagged "dark", dark grey) background; return 0..255 RGB floats."""
    return np.asarray(shapes_module.draw_shape(label, rng, size, (20, 70) if dark else (90, 170)), np.float32)


def shapes(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Return images, labels and tag lists of the three shape classes, a third of them 'dark'."""
    rng = np.random.default_rng(seed)
    images, labels, tags = [], [], []
    for index, label in enumerate(CLASSES):
        for i in range(per_class):
            dark = i % 3 == 0
            images.append(draw_shape(label, rng, dark=dark))
            labels.append(index)
            tags.append(["dark"] if dark else [])
    return np.stack(images), np.array(labels), tags


def noise_images(count: int, seed: int) -> np.ndarray:
    """Return uniform random-pixel images (out of distribution)."""
    return np.random.default_rng(seed).integers(0, 256, size=(count, SIZE, SIZE, 3)).astype(np.float32)


def blank_images() -> np.ndarray:
    """Return flat single-colour images, from black to white (out of distribution)."""
    colours = [(0, 0, 0), (255, 255, 255), (128, 128, 128), (255, 0, 0), (0, 0, 255), (250, 250, 0)]
    return np.stack([np.full((SIZE, SIZE, 3), c, np.float32) for c in colours])


def line_images(count: int, seed: int) -> np.ndarray:
    """Return another family of pictures: thin bright lines crossing a black background (out of distribution)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        image = Image.new("RGB", (SIZE, SIZE), (0, 0, 0))
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            points = [tuple(int(v) for v in rng.integers(0, SIZE, 2)) for _ in range(2)]
            draw.line(points, fill=(255, 255, int(rng.integers(0, 255))), width=2)
        out.append(np.asarray(image, np.float32))
    return np.stack(out)


def build_classifier(num_classes: int = len(CLASSES), size: int = SIZE):
    """Return a small CNN with the engine's head: conv, depthwise conv, pointwise conv, GAP, Dense logits, softmax."""
    from ml.backend import keras

    layers = keras.layers
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(64, 3, padding="same", use_bias=False, name="conv2")(x)
    x = layers.BatchNormalization(name="conv2_bn")(x)
    x = layers.ReLU(name="conv2_relu")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.ReLU(name="dw_relu")(x)
    x = layers.Conv2D(128, 1, activation="relu", name="pw")(x)
    x = layers.GlobalAveragePooling2D(name="embedding")(x)
    x = layers.Dropout(0.1, name="dropout")(x)
    x = layers.Dense(num_classes, name="logits", kernel_regularizer=keras.regularizers.l2(1e-4))(x)
    outputs = layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="tiny")


def trained(seed: int = 0) -> dict:
    """Train the small classifier on generated shapes once per session; return model and data."""
    if "trained" not in _cache:
        from ml.backend import keras

        keras.utils.set_random_seed(seed)
        x, y, tags = shapes(per_class=60, seed=seed)
        xv, yv, tags_v = shapes(per_class=20, seed=seed + 1)
        xh, yh, tags_h = shapes(per_class=20, seed=seed + 2)
        model = build_classifier()
        model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=8, batch_size=16, verbose=0, validation_data=(xv, yv))
        _cache["trained"] = {
            "model": model,
            "train": (x, y),
            "train_tags": tags,
            "val": (xv, yv),
            "val_tags": tags_v,
            "holdout": (xh, yh),
            "holdout_tags": tags_h,
        }
    return _cache["trained"]


def exported(tmp_path_factory) -> dict:
    """Prune, export, quantize and fit the detector, autoencoder and tags once; return the folder and sections."""
    if "exported" not in _cache:
        from ml.export import export_all

        data = trained()
        out = tmp_path_factory.mktemp("exported")
        events: list = []
        result = export_all(
            data["model"],
            out,
            train=data["train"],
            holdout=data["holdout"],
            prune=0.5,
            quantize=("int8", "float16"),
            prune_epochs=2,
            prune_learning_rate=5e-4,
            batch_size=16,
            autoencoder_epochs=25,
            train_tags=data["train_tags"],
            val=data["val"],
            val_tags=data["val_tags"],
            progress=events.append,
            classes=list(CLASSES),
        )
        _cache["exported"] = {**result, "out": out, "events": events}
    return _cache["exported"]
