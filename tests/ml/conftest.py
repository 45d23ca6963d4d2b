"""Fixtures of the ML engine tests; the tiny models and their pictures live in ``tests.fixtures.models``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from tests.fixtures.models import (  # noqa: F401
    CLASSES,
    make_image_folder,
    scratch_run,
    shape_classifier,
    shape_export,
    shapes_dir,
    tiny_config,
)

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
