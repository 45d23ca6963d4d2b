"""Training elsewhere: a zip with the labeled dataset, the config and a script/notebook that run the same ml engine."""
import io
import json
import zipfile
from pathlib import Path

from django.conf import settings

from apps.common.csv_writer import csv_writer
from apps.training.configs import DEFAULT_CONFIG
from apps.training.services import dataset_snapshot
from ml.config import options_of

BUNDLE_README = """# {name}: training bundle

Labeled images of the RIIM project `{slug}` in the ImageFolder layout, split as the
platform splits them (`test` photos are never trained on and never used to choose anything: they
only report; the platform's validation photos stay on the platform, which compares versions on them):

    dataset/train/<class>/...    dataset/test/<class>/...    dataset/manifest.csv

`ml/` is the same training engine the platform runs. On Google Colab, a cloud GPU VM
(Vertex AI Workbench, SageMaker) or any computer with Python 3.10+:

    pip install ./riim-ml
    bash train.sh            # or open riim_train.ipynb in Jupyter / Colab

The result is `model/` (ONNX, TFLite, model card). Zip that folder and upload it on the
project's versions page ("Import a model"): it is checked against the card schema,
scored on the project's sealed test photos and registered as a candidate version.
"""

TRAIN_SH = """#!/usr/bin/env bash
# Train with the exported configuration; ImageNet weights are downloaded by Keras when online.
set -euo pipefail
python -m ml train --data dataset/manifest.csv --out model {flags}
python -m ml validate model
(cd model && zip -qr ../model.zip .)
echo "Upload model.zip on the project's versions page."
"""


def _cli_flags(config: dict) -> str:
    """Write a run configuration as `python -m ml train` flags; what it leaves unset takes the engine's default, as on the worker."""
    flags = []
    for option in options_of("classroom"):
        value = config.get(option.name)
        if value is None or value is False or (option.many and not value):
            continue
        if option.kind is bool:
            flags.append(option.flag)
        else:
            flags.append(f"{option.flag} {','.join(map(str, value)) if option.many else value}")
    return " ".join(flags)


def _notebook(flags: str) -> dict:
    def cell(kind, source):
        base = {"cell_type": kind, "metadata": {}, "source": source}
        return base | ({"outputs": [], "execution_count": None} if kind == "code" else {})

    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            cell("markdown", "# RIIM: train the class model\nUpload this bundle's zip, unzip it, and run every cell."),
            cell("code", "!pip install -q ./riim-ml"),
            cell("code", f"!python -m ml train --data dataset/manifest.csv --out model {flags}"),
            cell("code", "from ml.card import read_card; print(read_card('model')['metrics'])"),
            cell("code", "!python -m ml validate model && cd model && zip -qr ../model.zip ."),
            cell("markdown", "Download `model.zip` and import it on the project's versions page."),
        ],
    }


def training_bundle_write(*, project, out_path: Path, config=None) -> dict:
    """Write the bundle zip; return counts per split and class."""
    config = {**DEFAULT_CONFIG, **(config or {})}
    snapshot = dataset_snapshot(project=project)
    images = {img.pk: img for img in project.images.filter(pk__in=[row[0] for row in snapshot])}
    counts: dict = {}
    manifest = io.StringIO()
    writer = csv_writer(manifest)
    writer.writerow(["path", "label", "tags", "split"])
    repo_root = Path(settings.BASE_DIR)
    flags = _cli_flags(config)
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for image_id, label, split in snapshot:
            if split == "validation":  # the platform's activation rule reads them; the engine needs none
                continue
            image = images[image_id]
            relative = f"{split}/{label}/{image.pk}{Path(image.file.name).suffix}"
            with image.file.open("rb") as fh:
                bundle.writestr(f"dataset/{relative}", fh.read())
            writer.writerow([relative, label, ";".join(image.tags), split])
            counts.setdefault(split, {}).setdefault(label, 0)
            counts[split][label] += 1
        bundle.writestr("dataset/manifest.csv", manifest.getvalue())
        bundle.writestr("config.json", json.dumps(config, indent=2, ensure_ascii=False))
        bundle.writestr("README.md", BUNDLE_README.format(name=project.name, slug=project.slug))
        bundle.writestr("train.sh", TRAIN_SH.format(flags=flags))
        bundle.writestr("riim_train.ipynb", json.dumps(_notebook(flags), indent=1))
        bundle.write(repo_root / "pyproject.toml", "riim-ml/pyproject.toml")
        for path in sorted((repo_root / "ml").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                bundle.write(path, f"riim-ml/{path.relative_to(repo_root).as_posix()}")
    return counts
