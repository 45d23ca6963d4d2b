"""Shared fixtures for the ML engine tests: tiny generated images, trained once per session."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from tests.shapes import draw_shape

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CLASSES = ("circle", "square", "triangle")


def make_image_folder(root: Path, per_class: int, seed: int, classes=CLASSES, size: int = 40) -> Path:
    """Write an ImageFolder tree of generated shapes."""
    rng = np.random.default_rng(seed)
    for label in classes:
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            fmt = "png" if i % 2 else "jpg"
            draw_shape(label, rng, size).save(root / label / f"{label}_{i:03d}.{fmt}")
    return root


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory) -> Path:
    """An ImageFolder with 24 images per class of three shape classes."""
    return make_image_folder(tmp_path_factory.mktemp("shapes"), per_class=24, seed=0)


@pytest.fixture(scope="session")
def holdout_manifest(tmp_path_factory) -> Path:
    """A CSV manifest (path,label,tags,split) with a fixed holdout and one corrupt file."""
    root = make_image_folder(tmp_path_factory.mktemp("manifest"), per_class=16, seed=1, classes=CLASSES[:2])
    rows = []
    for label in CLASSES[:2]:
        files = sorted((root / label).iterdir())
        for i, file in enumerate(files):
            split = "holdout" if i < 5 else "train"
            rows.append({"path": f"{label}/{file.name}", "label": label, "tags": "red;shape", "split": split})
    (root / "broken.jpg").write_bytes(b"not an image at all")
    rows.append({"path": "broken.jpg", "label": "circle", "tags": "", "split": "train"})
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "tags", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


@pytest.fixture(scope="session")
def tiny_config():
    """A scratch configuration small enough to train in seconds on 2 CPU cores."""
    from ml.config import TrainConfig

    return TrainConfig(
        backbone="scratch",
        image_size=32,
        batch_size=16,
        epochs=8,
        fine_tune_epochs=0,
        augment="none",
        dropout=0.1,
        folds=3,
        kfold_epochs=2,
        patience=8,
        learning_rate=3e-3,
        scratch_filters=(16, 32),
        seed=0,
    )


@pytest.fixture(scope="session")
def scratch_run(shapes_dir, tiny_config, tmp_path_factory):
    """Train the tiny scratch model once; several tests read its outputs."""
    from ml.training import train

    events = []
    out = tmp_path_factory.mktemp("scratch_run")
    result = train(tiny_config, shapes_dir, out, progress=events.append)
    return result, out, events
