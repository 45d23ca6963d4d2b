"""Embeddings of a batch of photos under one model folder, plus augmented copies and autoencoder errors.

The lab's fast experiments train small heads on these instead of on pixels. Training photos also
get one embedding per augmentation (``TRAIN_VARIANTS``); other rows of those variants are NaN,
so an experiment can never train on an augmented copy of a holdout photo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ml.lab.augment import augment
from ml.preprocess import resize_batch
from ml.runtime import AUTOENCODER_FILE, INPUT_NAME, MODEL_FILE, open_session

TRAIN_VARIANTS = ("flip", "bright", "dark", "crop")  # augmented copies, for training images only
EMBEDDING_KEYS = ("original", *TRAIN_VARIANTS, "ae_error")


class EmbeddingModel:
    """The classifier (and autoencoder, when the folder has one) of a model folder, for embedding batches."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        self.session = open_session(folder / MODEL_FILE)
        ae_path = folder / AUTOENCODER_FILE
        self.autoencoder = open_session(ae_path) if ae_path.exists() else None

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Return the (n, d) embeddings of a batch of raw 0..255 pixels."""
        return self.session.run(["embedding"], {INPUT_NAME: np.asarray(pixels, np.float32)})[0]

    def autoencoder_errors(self, pixels: np.ndarray) -> np.ndarray:
        """Return the mean reconstruction error per photo (NaN without an autoencoder)."""
        if self.autoencoder is None:
            return np.full(len(pixels), np.nan, np.float32)
        side = self.autoencoder.get_inputs()[0].shape[1]
        if isinstance(side, int):  # the autoencoder may take smaller photos than the classifier
            pixels = resize_batch(pixels, side)
        error = self.autoencoder.run(["error_map"], {INPUT_NAME: np.asarray(pixels, np.float32)})[0]
        return error.reshape(len(pixels), -1).mean(axis=1).astype(np.float32)

    def batch(self, pixels: np.ndarray, train: np.ndarray) -> dict[str, np.ndarray]:
        """Return every key of ``EMBEDDING_KEYS`` for one batch; ``train`` marks the rows that get augmented copies."""
        pixels = np.asarray(pixels, np.float32)
        train = np.asarray(train, bool)
        original = self.embed(pixels)
        rows = {"original": original}
        for variant in TRAIN_VARIANTS:
            copies = np.full(original.shape, np.nan, np.float32)
            if train.any():
                copies[train] = self.embed(np.stack([augment(p, variant) for p in pixels[train]]))
            rows[variant] = copies
        rows["ae_error"] = self.autoencoder_errors(pixels)
        return rows


def embed_batches(
    folder: str | Path,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    total: int,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Embed (pixels, train mask) batches with a folder's model; return each key of ``EMBEDDING_KEYS`` stacked."""
    model = EmbeddingModel(folder)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in EMBEDDING_KEYS}
    done = 0
    for pixels, train in batches:
        for key, value in model.batch(pixels, train).items():
            parts[key].append(value)
        done += len(pixels)
        if progress:
            progress(min(1.0, done / max(total, 1)), f"{done}/{total}")
    return {key: np.concatenate(value) for key, value in parts.items() if value}
