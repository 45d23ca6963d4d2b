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
from ml.preprocess import load_pixels
from ml.runtime import input_size as serving_input_size

LAB_MAX_IMAGES = 400  # keeps the first computation of a version under a minute on two cores
BATCH = 16  # photos read and embedded at once: bounds memory on large projects
# The shared cache is computed on processing, so the lab reads far more photos of it in seconds.
LAB_BACKBONE_MAX_IMAGES = 3000


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
        return load_pixels(fh, size)


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


def _batches(images: list, size: int):
    """Yield (pixels, train mask) per batch, reading each photo only when its batch is due."""
    for start in range(0, len(images), BATCH):
        chunk = images[start : start + BATCH]
        yield np.stack([image_pixels(image, size) for image in chunk]), np.array([i.split == "train" for i in chunk])


def project_backbone_features(project, progress=None) -> ProjectFeatures | None:
    """Return the project's images in the frozen pretrained backbone's space, from the shared cache.

    The embeddings are the ones the quick model, active learning and label quality read (computed
    once per image when it was processed; gaps filled here): "original" is each photo's, "flip" its
    mirror's. None when no pretrained weights are available (the caller falls back to a version's).
    """
    from apps.common.exceptions import ApplicationError
    from apps.embeddings.selectors import project_embeddings

    if progress is not None:
        progress(0.0, "embeddings")
    images = list(project.images.order_by("pk")[:LAB_BACKBONE_MAX_IMAGES])
    try:
        cache = project_embeddings(project, image_ids=[image.pk for image in images])
    except ApplicationError:
        return None
    rows = cache.rows([image.pk for image in images])
    images = [image for image, row in zip(images, rows, strict=True) if row >= 0]  # unreadable photos have none
    rows = rows[rows >= 0]
    classes = list(project.classes)
    index = {name: i for i, name in enumerate(classes)}
    return ProjectFeatures(
        image_ids=np.array([image.pk for image in images], np.int64),
        labels=np.array([index.get(image.label, -1) for image in images], np.int64),
        splits=np.array([image.split for image in images]),
        classes=classes,
        embeddings={"original": cache.x[rows], "flip": cache.x_mirror[rows]} if len(rows) else {},
        ae_error=None,
    )


def version_features(version, progress=None) -> ProjectFeatures:
    """Return the embeddings of the project's images under a version, computing only what is missing."""
    from ml.lab.embeddings import TRAIN_VARIANTS, embed_batches

    project = version.project
    card = model_card(version)
    classes = list(card["classes"])
    size = input_size(card)
    images = list(project.images.order_by("pk")[:LAB_MAX_IMAGES])
    path = _cache_path(version)
    cache = _load_cache(path)
    known = {int(i): row for row, i in enumerate(cache.get("ids", np.zeros(0, np.int64)))}
    missing = [image for image in images if image.pk not in known]
    if missing:
        folder = Path(artifacts_local_dir(version))
        arrays = {"ids": np.array([image.pk for image in missing], np.int64)}
        arrays.update(embed_batches(folder, _batches(missing, size), total=len(missing), progress=progress))
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


def project_features_forget(project_id: int) -> int:
    """Remove the project's cached lab features under every version; return how many files went.

    Called when photos are deleted (apps.uploads.deletion): their embeddings must not stay on disk.
    The cache is rebuilt from the remaining photos the next time an experiment needs it.
    """
    removed = 0
    for path in (Path(settings.RIIM_MODEL_CACHE_DIR) / "lab").glob(f"features-{project_id}-*.npz"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
