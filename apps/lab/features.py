"""Embeddings of a project's images under one model version, computed once and cached on disk.

Versions are immutable, so the embedding of an image under a version never changes:
the cache (an .npz per version in the model cache folder) only ever grows. Labels and
splits are read from the database each time, so relabeling is seen at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from apps.training.artifacts import artifacts_local_dir
from ml.card import CARD_FILE, read_card
from ml.inference import load_pixels, serving_input_size

LAB_MAX_IMAGES = 400  # keeps the first computation of a version under a minute on two cores
BATCH = 16
TRAIN_VARIANTS = ("flip", "bright", "dark", "crop")  # augmented copies, for training images only


@dataclass
class ProjectFeatures:
    """Cached embeddings of a project's images, aligned with their labels and splits."""

    image_ids: np.ndarray
    labels: np.ndarray  # class index, -1 when the image has no usable label
    splits: np.ndarray
    classes: list[str]
    embeddings: dict[str, np.ndarray]  # variant -> (n, d); rows of holdout images are NaN for augmented variants
    ae_error: np.ndarray | None  # mean autoencoder error per image, when the version has an autoencoder

    def select(self, split: str | None = None, labeled: bool = True) -> np.ndarray:
        """Return the row indices of the images of one split (or all) that have a label."""
        mask = np.ones(len(self.image_ids), bool)
        if split is not None:
            mask &= self.splits == split
        if labeled:
            mask &= self.labels >= 0
        return np.flatnonzero(mask)


def model_card(version) -> dict:
    card_path = Path(artifacts_local_dir(version)) / CARD_FILE
    return read_card(card_path) if card_path.exists() else dict(version.metadata)


def input_size(card: dict) -> int:
    """Return the square input size of a card (written as [h, w] or as one number)."""
    return serving_input_size(card)


def image_pixels(image, size: int) -> np.ndarray:
    with image.file.open("rb") as fh:
        return load_pixels(fh.read(), size)


def _cache_path(version) -> Path:
    return Path(settings.RIIM_MODEL_CACHE_DIR) / "lab" / f"features-{version.project_id}-{version.pk}.npz"


def _load_cache(path: Path) -> dict:
    if not path.exists():
        return {}
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def _save_cache(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{uuid.uuid4().hex[:6]}.npz")
    np.savez(partial, **arrays)
    partial.replace(path)  # atomic: a reader never sees half a file


def _autoencoder_errors(session, pixels: np.ndarray) -> np.ndarray:
    from PIL import Image as PILImage

    side = session.get_inputs()[0].shape[1]
    if isinstance(side, int) and side != pixels.shape[1]:
        pixels = np.stack(
            [
                np.asarray(
                    PILImage.fromarray(p.clip(0, 255).astype(np.uint8)).resize((side, side), PILImage.BILINEAR),
                    np.float32,
                )
                for p in pixels
            ]
        )
    error = session.run(["error_map"], {"image": pixels.astype(np.float32)})[0]
    return error.reshape(len(pixels), -1).mean(axis=1)


def version_features(version, progress=None) -> ProjectFeatures:
    """Return the embeddings of the project's images under a version, computing only what is missing."""
    from ml.inference import open_session
    from ml.lab.augment import augment

    project = version.project
    card = model_card(version)
    classes = list(card["classes"])
    size = input_size(card)
    images = list(project.images.order_by("pk")[:LAB_MAX_IMAGES])
    path = _cache_path(version)
    cache = _load_cache(path)
    known = {int(i): row for row, i in enumerate(cache.get("ids", np.zeros(0, np.int64)))}
    missing = [image for image in images if image.pk not in known]
    folder = Path(artifacts_local_dir(version))
    if missing:
        session = open_session(folder / "model.onnx")
        autoencoder = open_session(folder / "autoencoder.onnx") if (folder / "autoencoder.onnx").exists() else None
        new = {"original": [], **{v: [] for v in TRAIN_VARIANTS}, "ae_error": []}
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            pixels = np.stack([image_pixels(image, size) for image in chunk])
            emb = session.run(["embedding"], {"image": pixels})[0]
            new["original"].append(emb)
            train = np.array([image.split == "train" for image in chunk])
            for variant in TRAIN_VARIANTS:
                rows = np.full(emb.shape, np.nan, np.float32)
                if train.any():
                    copies = np.stack([augment(p, variant) for p in pixels[train]])
                    rows[train] = session.run(["embedding"], {"image": copies})[0]
                new[variant].append(rows)
            errors = _autoencoder_errors(autoencoder, pixels) if autoencoder else np.full(len(chunk), np.nan)
            new["ae_error"].append(errors.astype(np.float32))
            if progress:
                progress(min(1.0, (start + len(chunk)) / len(missing)), f"{start + len(chunk)}/{len(missing)}")
        arrays = {"ids": np.array([image.pk for image in missing], np.int64)}
        arrays.update({key: np.concatenate(value) for key, value in new.items()})
        if cache:
            arrays = {key: np.concatenate([cache[key], arrays[key]]) for key in arrays}
        _save_cache(path, arrays)
        cache = arrays
        known = {int(i): row for row, i in enumerate(cache["ids"])}
    rows = np.array([known[image.pk] for image in images], np.int64)
    index = {name: i for i, name in enumerate(classes)}
    ae = cache["ae_error"][rows] if len(rows) else np.zeros(0)
    return ProjectFeatures(
        image_ids=np.array([image.pk for image in images], np.int64),
        labels=np.array([index.get(image.label, -1) for image in images], np.int64),
        splits=np.array([image.split for image in images]),
        classes=classes,
        embeddings={v: cache[v][rows] for v in ("original", *TRAIN_VARIANTS)} if len(rows) else {},
        ae_error=None if (len(ae) == 0 or np.all(np.isnan(ae))) else ae,
    )
